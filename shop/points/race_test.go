package points

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// unflush puts the fan's applied entry back in the account's outbox and
// takes it out of the ledger: the state Apply leaves when it stops between
// its account write and the flush (MongoDB only).
func unflush(t *testing.T, f *fixture, fanID string, en Entry) {
	t.Helper()
	ctx := context.Background()
	m := f.e.Mongo(f.shop.ID)
	if _, err := m.C("points_ledger").DeleteOne(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "key", Value: en.Key}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pending", Value: []Entry{en}}, {Key: "dirty", Value: true}}}}); err != nil {
		t.Fatal(err)
	}
}

// TestEntryDuringFlush: an applied entry is found by Entry while the
// account's outbox is being copied to the ledger. Entry used to read the
// ledger before the outbox, the reverse of the order an entry moves in, so
// a flush between its two reads hid the entry (a refund's clawback or a
// returned redemption was then skipped for good).
func TestEntryDuringFlush(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		if e.Kind() != engine.Mongo {
			t.Skip("the outbox exists on MongoDB only; SQLite writes the account and the entries in one transaction")
		}
		f := newFixture(t, e)
		ctx := context.Background()
		// Through one connection a reader's two reads are never more than
		// one operation of the flush apart (the driver serves goroutines in
		// turn), so the pause a real pool's scheduling and network put
		// between them is made here: the reader waits between its reads
		// for the concurrent flush to end (or 20ms).
		t.Cleanup(func() { readGap = nil })
		// Each case is what copies the outbox while a reader looks the entry
		// up.
		cases := []struct {
			name  string
			flush func(fanID string, round int) error
		}{
			{"Flush", func(id string, _ int) error { return f.store.Flush(ctx, f.shop.ID, id) }},
			{"Apply of another batch", func(id string, round int) error {
				_, err := f.store.Apply(ctx, f.shop.ID, id, Batch{Ops: []Op{{Key: fmt.Sprint("other", round), Kind: KindAdjust, Points: 1}},
					At: f.now()})
				return err
			}},
			{"Account", func(id string, _ int) error {
				_, err := f.store.Account(ctx, f.shop.ID, id)
				return err
			}},
		}
		const rounds = 12
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := f.fan()
				missed := 0
				for round := range rounds {
					key := fmt.Sprint("grant", round)
					res := f.apply(id, Op{Key: key, Kind: KindAdjust, Points: 10})
					unflush(t, f, id, res.Entries[0])
					done := make(chan struct{})
					readGap = func() {
						select {
						case <-done:
						case <-time.After(20 * time.Millisecond):
						}
					}
					var wg sync.WaitGroup
					var flushErr, readErr error
					wg.Add(2)
					go func() {
						defer wg.Done()
						defer close(done)
						time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
						flushErr = tc.flush(id, round)
					}()
					go func() {
						defer wg.Done()
						for finished := false; !finished; {
							select {
							case <-done:
								finished = true // one more look after the flush
							default:
							}
							if _, readErr = f.store.Entry(ctx, f.shop.ID, id, key); readErr != nil {
								return
							}
						}
					}()
					wg.Wait()
					if flushErr != nil {
						t.Fatal(flushErr)
					}
					if errors.Is(readErr, fault.ErrNotFound) {
						missed++
					} else if readErr != nil {
						t.Fatal(readErr)
					}
				}
				if missed > 0 {
					t.Fatalf("an applied entry read as not found in %d of %d flushes", missed, rounds)
				}
				f.checkConsistent(id)
			})
		}
	})
}
