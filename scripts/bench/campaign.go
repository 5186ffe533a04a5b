package main

// The campaign scenario, -scenario campaign (issue 6, "Benchmark" (b)):
//
//	go run ./scripts/bench -scenario campaign          # 10,000 then 100,000 fans
//	go run ./scripts/bench -scenario campaign -short   # 10,000 then 30,000 fans
//
// This process runs the sandbox WeChat simulator. For each audience size it
// prepares a fresh SQLite data directory: a shop with a sandbox official
// account and that many fans following it (fan records and audience
// records inserted directly; each fan follows the simulated account). Then
// a child process (this binary again) opens the directory, wires the
// message service as the server does (WeChatSender over tenants/wechat, the
// SDK pointed at the simulator) and sends one text campaign to every fan,
// timing it and sampling its own memory. Outside every fan's
// customer-service window, each goes by broadcast, 10,000 openids a request
// (WeChat allows 60 requests a minute).
//
// It prints messages/s, the time from creating the campaign to its last
// delivery recorded, and the child's peak heap and RSS for each size: the
// dispatcher streams recipients (pages of 500 materialised, 100 sent, at
// most one broadcast batch held), so memory must stay flat as the audience
// grows. It then checks in the simulator that every fan received the
// broadcast once.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"microshop/shop/fan"
	"microshop/shop/message"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// campaignChildEnv carries the child's job (JSON) in its environment.
const campaignChildEnv = "MICROSHOP_BENCH_CAMPAIGN_CHILD"

var campaignSchemas = []engine.Schema{fan.Schema, order.Schema, wechat.Schema, message.Schema}

const campaignText = "Autumn tea is in: 20% off this week"

// campaignJob is what the child is told.
type campaignJob struct {
	Dir, Tenant, Sim string
	Fans             int
}

// campaignResult is what the child reports.
type campaignResult struct {
	Fans       int     `json:"fans"`
	Sent       int64   `json:"sent"`
	Other      int64   `json:"other"`
	Seconds    float64 `json:"seconds"`
	ToLastSec  float64 `json:"to_last_sec"`
	PeakHeapMB float64 `json:"peak_heap_mb"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	BaseHeapMB float64 `json:"base_heap_mb"`
	FirstErr   string  `json:"first_error,omitempty"`
	Broadcasts int64   `json:"broadcasts"`
	Inboxes    int64   `json:"inboxes"`
}

func campaignScenario(ctx context.Context, o options) error {
	if job := os.Getenv(campaignChildEnv); job != "" {
		return campaignChild(ctx, job)
	}
	sizes := []int{10_000, 100_000}
	if o.short {
		sizes = []int{10_000, 30_000}
	}
	fmt.Printf("microshop bench, campaign: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	sim := sandbox.New(sandbox.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var results []campaignResult
	for _, n := range sizes {
		dir, err := os.MkdirTemp("", "microshop-bench-campaign-")
		if err != nil {
			return err
		}
		step := time.Now()
		job, openIDs, appID, err := campaignPrepare(ctx, sim, dir, n)
		if err != nil {
			os.RemoveAll(dir)
			return err
		}
		fmt.Printf("%d fans following the shop's sandbox account, prepared in %s\n", n, time.Since(step).Round(time.Millisecond))
		b, _ := json.Marshal(job)
		cmd := exec.CommandContext(ctx, exe, "-scenario", "campaign")
		cmd.Env = append(os.Environ(), campaignChildEnv+"="+string(b))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		err = cmd.Run()
		if !o.keepTemp {
			os.RemoveAll(dir)
		}
		if err != nil {
			return fmt.Errorf("campaign to %d fans: %v\n%s", n, err, out.String())
		}
		var res campaignResult
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil {
			return fmt.Errorf("campaign to %d fans: %v: %s", n, err, out.String())
		}
		// Every fan received the broadcast, once.
		once, other := 0, 0
		for _, id := range openIDs {
			k := 0
			for _, l := range sim.Fan(appID, id).Chat {
				if l.From == "shop" && strings.Contains(l.Text, campaignText) {
					k++
				}
			}
			if k == 1 {
				once++
			} else {
				other++
			}
		}
		fmt.Printf("  sent %d (%d broadcasts, %d to the inbox only), other outcomes %d; in the simulator %d fans have it once, %d not exactly once\n",
			res.Sent, res.Broadcasts, res.Inboxes, res.Other, once, other)
		if res.FirstErr != "" {
			fmt.Printf("  first error: %s\n", res.FirstErr)
		}
		results = append(results, res)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nfans\tmessages/s\tto the last message\tpeak heap\tpeak RSS\theap before")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%.0f\t%.1fs\t%.1f MB\t%.1f MB\t%.1f MB\n", r.Fans, float64(r.Sent)/r.Seconds, r.ToLastSec,
			r.PeakHeapMB, r.PeakRSSMB, r.BaseHeapMB)
	}
	tw.Flush()
	if len(results) == 2 && results[0].PeakHeapMB > 0 {
		g := results[1].PeakHeapMB / results[0].PeakHeapMB
		verdict := "PASS"
		if g > 1.5 {
			verdict = "MISS"
		}
		fmt.Printf("peak heap %dx the audience: %.2fx (flat: at most 1.5x) %s\n", results[1].Fans/max(results[0].Fans, 1), g, verdict)
	}
	return nil
}

// campaignPrepare makes the shop and its n following fans in dir.
func campaignPrepare(ctx context.Context, sim *sandbox.Simulator, dir string, n int) (campaignJob, []string, string, error) {
	eng, err := tenants.OpenSQLite(dir, campaignSchemas...)
	if err != nil {
		return campaignJob{}, nil, "", err
	}
	defer eng.Close()
	tid := engine.NewID()
	if err := eng.Provision(ctx, tid); err != nil {
		return campaignJob{}, nil, "", err
	}
	accounts := wechat.New(wechat.NewStore(eng), tenants.NewStore(eng), wechat.Options{Sandbox: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	st, err := accounts.Settings(ctx, tid)
	if err != nil {
		return campaignJob{}, nil, "", err
	}
	db, err := eng.SQL(tid)
	if err != nil {
		return campaignJob{}, nil, "", err
	}
	long := engine.TimeText(time.Now().Add(-time.Hour))
	openIDs := make([]string, 0, n)
	for lo := 0; lo < n; lo += 1000 {
		err := db.Tx(ctx, func(tx *engine.SQLTx) error {
			for i := lo; i < min(lo+1000, n); i++ {
				openID := sim.OpenID(st.AppID, "bench-"+strconv.Itoa(i))
				fanID := fan.IDForOpenID(tid, openID)
				if _, err := tx.Exec(ctx, `INSERT INTO fans (tenant_id, id, openid, subscribed, source, subscribed_at, last_event_at,
					last_push_at, created_at) VALUES (?, ?, ?, 1, 'wechat_follow', ?, ?, ?, ?)`, fanID, openID, long, long, long, long); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO audience (tenant_id, fan_id, openid, subscribed, last_active_at, created_at)
					VALUES (?, ?, ?, 1, ?, ?)`, fanID, openID, long, long); err != nil {
					return err
				}
				sim.Follow(st.AppID, openID)
				openIDs = append(openIDs, openID)
			}
			return nil
		})
		if err != nil {
			return campaignJob{}, nil, "", err
		}
	}
	return campaignJob{Dir: dir, Tenant: tid, Sim: sim.BaseURL(), Fans: n}, openIDs, st.AppID, nil
}

// campaignShops is the child's one shop.
type campaignShops struct{ t tenants.Tenant }

func (s campaignShops) TenantByID(context.Context, string) (tenants.Tenant, error) { return s.t, nil }

// campaignChild is the child process: one campaign to every fan, its
// figures as JSON on stdout.
func campaignChild(ctx context.Context, raw string) error {
	var job campaignJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		return err
	}
	simURL, err := url.Parse(job.Sim)
	if err != nil {
		return err
	}
	util.SetURIModifier(func(uri string) string {
		u, err := url.Parse(uri)
		if err != nil || !strings.HasSuffix(u.Host, "weixin.qq.com") {
			return uri
		}
		u.Scheme, u.Host = simURL.Scheme, simURL.Host
		return u.String()
	})
	eng, err := tenants.OpenSQLite(job.Dir, campaignSchemas...)
	if err != nil {
		return err
	}
	defer eng.Close()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	t := tenants.Tenant{ID: job.Tenant, Slug: "bench-campaign", Name: "Bench Tea", TimeZone: tenants.DefaultTimeZone}
	accounts := wechat.New(wechat.NewStore(eng), tenants.NewStore(eng), wechat.Options{Sandbox: true, Log: discard})
	store := message.NewStore(eng)
	svc := message.NewService(message.Options{Store: store, Fans: fan.NewStore(eng), Sender: message.WeChatSender{Accounts: accounts},
		Tenants: campaignShops{t}, Log: discard})
	if _, err := svc.SaveSettings(ctx, t.ID, message.Settings{Rate: 1000, Templates: map[string]string{}}); err != nil {
		return err
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	res := campaignResult{Fans: job.Fans, BaseHeapMB: float64(m.HeapInuse) / (1 << 20)}
	var c message.Campaign
	peak, err := sampleHeap(func() error {
		start := time.Now()
		var err error
		c, err = svc.CreateCampaign(ctx, t, message.CampaignRequest{Name: "Bench", Kind: message.KindText, Text: campaignText,
			Rule: &message.Rule{}}, "bench")
		if err != nil {
			return err
		}
		svc.Wait() // the dispatch the creation kicked
		for {
			got, err := svc.Campaign(ctx, t.ID, c.ID)
			if err != nil {
				return err
			}
			if got.Status == message.CampaignDone {
				c = got
				break
			}
			if time.Since(start) > 30*time.Minute {
				return fmt.Errorf("the campaign is not done after 30 minutes: %+v", got)
			}
			if _, err := svc.Dispatch(ctx, t.ID, 10*time.Minute); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		res.Seconds = time.Since(start).Seconds()
		return nil
	})
	if err != nil {
		return err
	}
	res.PeakHeapMB, res.PeakRSSMB = float64(peak)/(1<<20), selfPeakRSS()
	res.ToLastSec = c.FinishedAt.Sub(c.CreatedAt).Seconds()
	res.Sent = c.Counts[message.Sent]
	for st, n := range c.Counts {
		if st != message.Sent {
			res.Other += n
		}
	}
	after := ""
	for {
		ds, err := store.Deliveries(ctx, t.ID, c.ID, "", after, 500)
		if err != nil {
			return err
		}
		for _, d := range ds {
			switch {
			case d.Channel == message.ChannelMass:
				res.Broadcasts++
			case d.Channel == message.ChannelInbox:
				res.Inboxes++
			}
			if d.Status != message.Sent && res.FirstErr == "" {
				res.FirstErr = d.Status + ": " + d.Reason
			}
		}
		if len(ds) < 500 {
			break
		}
		after = ds[len(ds)-1].ID
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}
