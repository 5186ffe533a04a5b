package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"microshop/shop/order"
	"microshop/tenants"
)

// noEnv is an empty environment: flags and defaults only.
func noEnv(string) string { return "" }

// runCommand runs the command line args as main would and returns its
// output and error.
func runCommand(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errs bytes.Buffer
	err = run(t.Context(), args, noEnv, &out, &errs)
	return out.String(), errs.String(), err
}

func TestJobsTable(t *testing.T) {
	names := map[string]job{}
	for _, j := range jobs {
		if _, dup := names[j.name]; dup {
			t.Errorf("job %s listed twice", j.name)
		}
		names[j.name] = j
		if j.shop == nil || j.about == "" {
			t.Errorf("job %s lacks its pass over a shop or its description", j.name)
		}
	}
	for _, j := range jobs {
		if j.after != "" {
			if first, ok := names[j.after]; !ok || first.after != "" || j.every != "" {
				t.Errorf("job %s runs after %q, which is not a job on its own schedule (or it has a schedule too)", j.name, j.after)
			}
			continue
		}
		if _, err := cron.ParseStandard(j.every); err != nil {
			t.Errorf("job %s: schedule %q: %v", j.name, j.every, err)
		}
	}
}

func TestJobsCommandLists(t *testing.T) {
	out, _, err := runCommand(t, "jobs")
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	for _, want := range []string{"NAME", "orders", "distribution", "after orders", "points", "messages", "pcstore",
		"@every 1m", "cancel unpaid orders"} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs does not list %q:\n%s", want, out)
		}
	}
	// The binary answers the same way.
	bin, err := exec.Command(serverBinary(t), "jobs").CombinedOutput()
	if err != nil || !strings.Contains(string(bin), "distribution") {
		t.Errorf("microshop jobs: %v\n%s", err, bin)
	}
	if bin, err := exec.Command(serverBinary(t), "jobs", "run", "nope").CombinedOutput(); err == nil ||
		!strings.Contains(string(bin), `unknown job "nope"`) {
		t.Errorf("microshop jobs run nope: %v\n%s", err, bin)
	}
}

func TestJobsCommandRefuses(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown job", []string{"jobs", "run", "nope", "--data", data}, `unknown job "nope"; the jobs are orders, distribution`},
		{"unknown shop", []string{"jobs", "run", "orders", "--shop", "nosuch", "--data", data, "--wechat", "sandbox"}, `no shop has the slug "nosuch"`},
		{"no job name", []string{"jobs", "run"}, "one job name"},
		{"two job names", []string{"jobs", "run", "orders", "points"}, "one job name"},
		{"unknown command", []string{"jobs", "start", "orders"}, `unknown command "start"`},
		{"shop without run", []string{"jobs", "--shop", "demo"}, "--shop goes with jobs run"},
		{"bad flag value", []string{"jobs", "run", "orders", "--log-format", "xml"}, "--log-format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCommand(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want it to say %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestJobsCommandRunsOneShop runs the order pass for one shop from the
// command line over a SQLite data directory: that shop's unpaid order past
// its timeout is cancelled, the other shop's is left for the next pass.
func TestJobsCommandRunsOneShop(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	e, err := tenants.OpenSQLite(data, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ctx, testConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)), e)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.echo)
	// Orders placed two hours ago are past the unpaid timeout.
	a.orders.SetClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
	placed := map[string]string{} // shop id -> order id
	var shops []shop
	for _, slug := range []string{"jobs-one", "jobs-two"} {
		s := signUp(t, srv.URL, slug)
		p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
		placed[s.ID] = placeOrder(t, srv.URL, slug, p.ID, "", 1)
		shops = append(shops, s)
	}
	srv.Close()
	a.finish(ctx)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	out, errs, err := runCommand(t, "jobs", "run", "orders", "--shop", "jobs-one", "--data", data)
	if err != nil {
		t.Fatalf("jobs run orders: %v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
	}
	for _, want := range []string{"orders: shop jobs-one (" + shops[0].ID + "): expired=1 recovered=0", "orders: shops=1 failed=0 took="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "jobs-two") {
		t.Errorf("the run visited another shop:\n%s", out)
	}

	e, err = tenants.OpenSQLite(data, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	store := order.NewStore(e)
	for i, want := range []string{order.Cancelled, order.PendingPayment} {
		o, err := store.Get(ctx, shops[i].ID, placed[shops[i].ID])
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != want {
			t.Errorf("shop %s: order %s, want %s", shops[i].Slug, o.Status, want)
		}
		if want == order.Cancelled && o.CancelReason != "not paid in time" {
			t.Errorf("cancel reason %q", o.CancelReason)
		}
	}
}

// TestJobRunner walks every shop under the job's lease: a shop that panics
// is recorded and logged while the next goes on; the schedule logs what
// each shop did; a lease held elsewhere stops the run.
func TestJobRunner(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	ctx := t.Context()
	bad, good := signUp(t, srv.URL, "runner-bad"), signUp(t, srv.URL, "runner-good")
	var log bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&log, nil))
	j := job{name: "probe", shop: func(_ *app, _ context.Context, tenantID string) (any, error) {
		if tenantID == bad.ID {
			panic("boom")
		}
		return struct{ Done, SentOut int }{1, 2}, nil
	}}

	r, err := a.runJob(ctx, j, nil)
	if err != nil || len(r.shops) != 2 || r.failed() != 1 {
		t.Fatalf("run: %+v %v", r, err)
	}
	if got := describe(r.totals(), nil); got != "done=1 sent_out=2" {
		t.Errorf("totals %q", got)
	}

	a.scheduled(ctx, j)
	for _, want := range []string{`msg="probe jobs" tenant=` + good.ID + " done=1 sent_out=2",
		`msg="probe jobs" tenant=` + bad.ID + ` err="panic: boom"`, `msg="job panicked"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}

	other := tenants.NewLeaser(a.tenants.Store())
	if ok, err := other.Try(ctx, "cron:probe", time.Minute); !ok || err != nil {
		t.Fatalf("take the lease elsewhere: %v %v", ok, err)
	}
	if r, err := a.runJob(ctx, j, nil); !errors.Is(err, errLeaseHeld) || len(r.shops) != 0 {
		t.Errorf("run while another holds the lease: %+v %v", r, err)
	}
}
