package fan_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestNewFanFirstPushes: a new fan's first two events arrive at once (a
// follow and the first message, say); both are applied. On MongoDB both
// upserts can miss the fan and one insert then loses on _id, which used to
// read as "a later event won" and dropped the event.
//
// Through enginetest's one connection FerretDB runs the two upserts one
// after the other, so the race needs several connections: the "pooled"
// case opens them. FerretDB loses updates through several connections, so
// there only the events' outcomes are checked, not the fans' fields.
func TestNewFanFirstPushes(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		firstPushes(t, e, enginetest.Tenant(t, e), true)
	})
	t.Run("pooled", func(t *testing.T) {
		e, tenant := openMongo(t, options.Client()) // the driver's default pool
		firstPushes(t, e, tenant, os.Getenv(enginetest.MongoURIEnv) != "")
	})
}

// firstPushes sends many new fans two events each at once and checks that
// every event was applied and, if fields, what the fans show.
func firstPushes(t *testing.T, e *engine.Engine, tenant string, fields bool) {
	ctx := context.Background()
	s := fan.NewStore(e)
	t0 := time.Now().UTC().Truncate(time.Second)
	// Each case's two events touch different "latest" times, so neither
	// may be ignored; check says what the fan shows after both.
	cases := []struct {
		name   string
		events [2]fan.Event
		check  func(f fan.Fan) bool
	}{
		{"follow and message", [2]fan.Event{{Kind: fan.Subscribed, Scene: "q", Source: fan.SourceWeChatQR, At: at(t0, 1)},
			{Kind: fan.Wrote, Source: fan.SourceWeChatMessage, At: at(t0, 2)}},
			func(f fan.Fan) bool {
				return f.Subscribed && f.FirstScene == "q" && f.SubscribedAt.Equal(at(t0, 1)) && f.LastMessageAt.Equal(at(t0, 2))
			}},
		{"scan and message", [2]fan.Event{{Kind: fan.Scanned, Scene: "s", At: at(t0, 1)}, {Kind: fan.Wrote, At: at(t0, 2)}},
			func(f fan.Fan) bool {
				return f.FirstScene == "s" && f.Scene == "s" && f.SubscribedAt.Equal(at(t0, 1)) && f.LastMessageAt.Equal(at(t0, 2))
			}},
		{"message and click", [2]fan.Event{{Kind: fan.Wrote, At: at(t0, 1)}, {Kind: fan.Clicked, At: at(t0, 2)}},
			func(f fan.Fan) bool { return f.LastMessageAt.Equal(at(t0, 1)) && f.LastEventAt.Equal(at(t0, 2)) }},
		{"unfollow and message", [2]fan.Event{{Kind: fan.Unsubscribed, At: at(t0, 1)}, {Kind: fan.Wrote, At: at(t0, 2)}},
			func(f fan.Fan) bool {
				return !f.Subscribed && f.UnsubscribedAt.Equal(at(t0, 1)) && f.LastMessageAt.Equal(at(t0, 2))
			}},
	}
	const fans = 12
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			openID := func(i int) string { return fmt.Sprintf("o%s%d", strings.ReplaceAll(tc.name, " ", ""), i) }
			var wg sync.WaitGroup
			dropped := make(chan string, 2*fans)
			for i := range fans {
				for _, ev := range tc.events {
					ev.FanID, ev.OpenID = fan.IDForOpenID(tenant, openID(i)), openID(i)
					wg.Add(1)
					go func() {
						defer wg.Done()
						ok, err := s.Apply(ctx, tenant, ev)
						if err != nil {
							t.Error(err)
						} else if !ok {
							dropped <- fmt.Sprintf("%s of %s", ev.Kind, ev.OpenID)
						}
					}()
				}
			}
			wg.Wait()
			close(dropped)
			var lost []string
			for d := range dropped {
				lost = append(lost, d)
			}
			if len(lost) > 0 {
				t.Errorf("%d of %d events dropped: %v", len(lost), 2*fans, lost)
			}
			for i := range fans {
				f, err := s.Get(ctx, tenant, fan.IDForOpenID(tenant, openID(i)))
				if err != nil || (fields && !tc.check(f)) {
					t.Fatalf("fan %d after both events: %+v %v", i, f, err)
				}
			}
		})
	}
}
