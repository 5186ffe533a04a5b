package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"

	"microshop/shop/pcstore"
	"microshop/tenants/fault"
)

// job is one scheduled task: a pass over one shop that the runner makes for
// every shop (or one, from the command line). To add a job, add an entry
// to jobs whose pass calls the domain's service.
type job struct {
	name  string
	every string // cron schedule, e.g. "@every 1m"
	// after names the job this one runs right after in the same tick,
	// instead of on its own schedule (every is then empty).
	after string
	about string // what it does, for `microshop jobs`
	// shop is the pass over one shop; its report is a struct of counts.
	shop func(a *app, ctx context.Context, tenantID string) (report any, err error)
	// tick, when set, is what the schedule runs instead of walking the
	// shops under the job's lease (the job then coordinates its shops
	// itself); shop remains what an operator's run does.
	tick func(a *app, ctx context.Context) error
	// everyReplica runs tick on every replica at every tick (work on the
	// replica's own memory); otherwise one replica runs it per due time,
	// as the passes over shops (replica.go).
	everyReplica bool
}

// jobs lists every scheduled job, in the order the schedule runs them.
// Distribution runs right after the order pass, so completions are
// delivered before commission settles.
var jobs = []job{
	{name: "orders", every: "@every 1m", shop: (*app).orderPass,
		about: "cancel unpaid orders past their timeout, reject orders interrupted while placing, complete orders shipped long enough ago, deliver pending order events"},
	{name: "distribution", after: "orders", shop: (*app).distributionPass,
		about: "settle commission past its after-sale window, close decided withdrawals, roll team sales up the tree"},
	{name: "payments", every: "@every 1m", shop: (*app).paymentPass,
		about: "ask WeChat Pay about unpaid orders whose payment notification may have been lost (back-off: 30 s, 1, 2, 4 … min after placing) and confirm those it says were paid; settle refunds still processing the same way; end withdrawals whose transfer WeChat Pay finished"},
	{name: "reconcile", every: "@every 1h", shop: (*app).reconcilePass,
		about: "download WeChat Pay's trade bill of the previous China day (from 10:00 China time, once a day is reconciled it is not again) and compare it with the shop's payments and refunds; the result is at /api/v1/payments/reconciliation"},
	{name: "points", every: "@every 1m", shop: (*app).pointsPass,
		about: "repair interrupted check-in awards, expire due points once, send expiry and daily check-in reminders"},
	{name: "messages", every: "@every 1m", shop: (*app).messagePass,
		about: "refresh the audience hourly, start scheduled campaigns, send what is due, retry, resolve deliveries a dead replica left (each shop's dispatch also holds the shop's lease)"},
	{name: "pcstore", every: "@every 1m", shop: (*app).pcstorePass, tick: (*app).pcstoreDue,
		about: "start the PC-store syncs that are due and resume interrupted ones, in the background; run once, it syncs each linked shop in the foreground"},
	{name: "credit", every: "CRON_TZ=Asia/Shanghai 30 2 * * *", shop: (*app).creditPass,
		about: "once a day (02:30 China time): compute each shop's credit over the last 90 days by the published formula and give the penalties the published rules call for (each rule once per 30 days); recount product ratings a crash left short (server/credit.go)"},
	{name: "market", every: "@every 6h", shop: (*app).marketPass, tick: (*app).marketRebuild, everyReplica: true,
		about: "feed every listed shop's on-sale products to the market again and rebuild this replica's search index from the market's table; run once for one shop, it feeds that shop"},
	{name: "aftersale", every: "@every 1m", shop: (*app).afterSalePass,
		about: "act on after-sale deadlines that passed, each once (unanswered requests approved, unshipped refund-only requests refunded, returns never shipped closed, returns never confirmed refunded), resend refunds a dead process left sending, queue escalations for the platform (server/aftersale.go)"},
	{name: "vote", every: "@every 1m", shop: (*app).votePass,
		about: "record votes a crash left pending (MongoDB), tell the voters of group deals that opened, each voter once, before the deal opens to everyone, run the brushing checks (server/vote.go)"},
	{name: "vote-market", every: "@every 5m", shop: (*app).voteMarketPass, tick: (*app).voteMarketTick,
		about: "record market votes a crash left pending (MongoDB), run the brushing checks on the market's open and latest vote rounds, removing the products they flag (server/vote_market.go)"},
	{name: "placement", every: "@every 1m", shop: (*app).placementPass, tick: (*app).placementTick,
		about: "MongoDB: move the pooled shops an operator asked to move (POST /api/ops/v1/tenants/{id}/placement/move) to a database of their own, and finish moves that stopped half way; other shops stay where they are (server/placement.go)"},
	{name: "wechat", every: "@every 30m", shop: (*app).wechatAuthorizationPass,
		about: "refresh the access token of each official account a shop authorised by scanning when it is due (one replica, under the token's lease); a refresh token WeChat no longer takes ends the authorisation, and the shop's messages go to its inbox (server/wxcomponent.go)"},
}

// The passes over one shop, each over its domain's service.

func (a *app) marketPass(ctx context.Context, tenantID string) (any, error) {
	return a.market.Feed(ctx, tenantID)
}

// marketRebuild rebuilds this replica's market index, feeding again the
// listed shops written within marketRefeed (with the due index; every
// listed shop without it): a shop idle that long has in the market's table
// what its catalog and ratings say, and is not opened.
func (a *app) marketRebuild(ctx context.Context) error {
	var refeed func(string) bool
	if a.due != nil {
		ids, err := a.due.Active(ctx, a.due.Now().Add(-marketRefeed))
		if err != nil {
			return err
		}
		written := make(map[string]bool, len(ids))
		for _, id := range ids {
			written[id] = true
		}
		refeed = func(id string) bool { return written[id] }
	}
	_, err := a.market.RebuildFeeding(ctx, refeed)
	return err
}

// marketRefeed is how far back the market job looks for written shops:
// two of its intervals (a feed a crash or an error missed is retried once
// more) and a margin.
const marketRefeed = 12*time.Hour + 10*time.Minute

func (a *app) orderPass(ctx context.Context, tenantID string) (any, error) {
	return a.orders.RunJobs(ctx, tenantID)
}

func (a *app) paymentPass(ctx context.Context, tenantID string) (any, error) {
	pay, err := a.orders.QueryPayments(ctx, tenantID)
	if err != nil {
		return pay, err
	}
	tr, err := a.dist.QueryTransfers(ctx, tenantID)
	return paymentReport{Queried: pay.Queried, Settled: pay.Settled, Failed: pay.Failed, RefundsQueried: pay.RefundsQueried,
		RefundsSettled: pay.Refunds, TransfersQueried: tr.Queried, TransfersPaid: tr.Paid, TransfersFailed: tr.Failed,
		TransferErrors: tr.Errors}, err
}

// paymentReport is what the payments pass did: payments asked about and
// confirmed (order.QueryReport), refunds asked about and settled, and
// withdrawals' transfers asked about and ended (distribution.TransferReport).
type paymentReport struct {
	Queried, Settled, Failed                                         int
	RefundsQueried, RefundsSettled                                   int
	TransfersQueried, TransfersPaid, TransfersFailed, TransferErrors int
}

func (a *app) distributionPass(ctx context.Context, tenantID string) (any, error) {
	return a.dist.RunJobs(ctx, tenantID)
}

func (a *app) reconcilePass(ctx context.Context, tenantID string) (any, error) {
	return a.orders.ReconcileJob(ctx, tenantID)
}

func (a *app) pointsPass(ctx context.Context, tenantID string) (any, error) {
	return a.points.RunJobs(ctx, tenantID)
}

func (a *app) messagePass(ctx context.Context, tenantID string) (any, error) {
	return a.msgs.RunJobs(ctx, tenantID, messageBudget)
}

// pcstoreDue starts the due syncs of every shop (the syncer keeps the
// schedule and takes each shop's lease).
func (a *app) pcstoreDue(ctx context.Context) error { return a.pcstore.RunDue(ctx) }

// pcstorePass syncs the shop with its linked PC store in the foreground;
// a shop without a link has nothing to sync.
func (a *app) pcstorePass(ctx context.Context, tenantID string) (any, error) {
	var r struct{ Synced, Created, Updated, Unchanged, OffSale, Failed int64 }
	if _, err := a.pcstore.Link(ctx, tenantID); errors.Is(err, fault.ErrNotFound) {
		return r, nil
	} else if err != nil {
		return r, fmt.Errorf("read the pc store link: %w", err)
	}
	run, err := a.pcstore.Sync(ctx, tenantID, "script")
	if err != nil {
		return r, fmt.Errorf("sync the pc store: %w", err)
	}
	c := run.Counts
	r.Synced, r.Created, r.Updated, r.Unchanged, r.OffSale, r.Failed = 1, c.Created, c.Updated, c.Unchanged, c.OffSale, c.Failed
	if run.Status != pcstore.Succeeded {
		return r, fmt.Errorf("pc store sync %s ended %s: %s", run.ID, run.Status, run.Error)
	}
	return r, nil
}

// cronLease bounds how long one replica may hold a job's pass before
// another may take over (it is renewed while the pass runs).
const cronLease = 2 * time.Minute

// messageBudget bounds one shop's share of a message pass.
const messageBudget = 10 * time.Second

// errLeaseHeld is a job that did not run: another replica or process is
// running it.
var errLeaseHeld = errors.New("another process holds the job's lease (its pass is running): try again in a minute")

// errSlotDone is a scheduled run that did not run: a replica already ran
// the job for this due time (replica.go).
var errSlotDone = errors.New("the job already ran for this due time")

// findJob returns the job named name.
func findJob(name string) (job, error) {
	var names []string
	for _, j := range jobs {
		if j.name == name {
			return j, nil
		}
		names = append(names, j.name)
	}
	return job{}, fmt.Errorf("unknown job %q; the jobs are %s", name, strings.Join(names, ", "))
}

// shopRun is what a job did in one shop.
type shopRun struct {
	tenantID string
	counts   []count
	err      error
}

// jobRun is what one run of a job did.
type jobRun struct {
	shops []shopRun
	took  time.Duration
}

// failed counts the shops where the job failed.
func (r jobRun) failed() int {
	n := 0
	for _, s := range r.shops {
		if s.err != nil {
			n++
		}
	}
	return n
}

// totals adds the shops' counts up.
func (r jobRun) totals() []count {
	var sum []count
	for _, s := range r.shops {
		for i, c := range s.counts {
			if i == len(sum) {
				sum = append(sum, count{name: c.name})
			}
			sum[i].n += c.n
		}
	}
	return sum
}

// runJob runs j for the shops tenantIDs (every shop when nil) under the
// job's lease, one shop after the other; a shop's failure or panic is
// recorded and the next shop goes on. errLeaseHeld says another process is
// running the job.
func (a *app) runJob(ctx context.Context, j job, tenantIDs []string) (jobRun, error) {
	start := time.Now()
	var r jobRun
	ran, err := a.leaser.Run(ctx, "cron:"+j.name, cronLease, func(ctx context.Context) error {
		return a.onceADueTime(ctx, j, func(ctx context.Context) error {
			ids, upTo, err := a.jobShops(ctx, j, tenantIDs) // on the schedule, a converted job's due shops (due.go)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := ctx.Err(); err != nil {
					return err // stopping, or the lease was lost
				}
				report, err := a.runShop(ctx, j, id)
				a.dueFinished(ctx, j, id, upTo, report, err)
				r.shops = append(r.shops, shopRun{tenantID: id, counts: countsOf(report), err: err})
			}
			return nil
		})
	})
	r.took = time.Since(start)
	if err == nil && !ran {
		err = errLeaseHeld // not a run of this process: not counted
	} else if !errors.Is(err, errSlotDone) {
		a.metrics.job(j.name, r.took, err != nil || r.failed() > 0)
	}
	if err != nil {
		return r, fmt.Errorf("job %s: %w", j.name, err)
	}
	return r, nil
}

// runShop is j's pass over one shop, a panic turned into its error.
func (a *app) runShop(ctx context.Context, j job, tenantID string) (report any, err error) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("job panicked", "job", j.name, "tenant", tenantID, "value", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.shop(a, ctx, tenantID)
}

// scheduled is j's run on the schedule, logged: a line per shop that
// failed or did something.
func (a *app) scheduled(ctx context.Context, j job) {
	msg := j.name + " jobs"
	if j.tick != nil {
		start := time.Now()
		err := a.runTick(ctx, j)
		switch {
		case errors.Is(err, errLeaseHeld), errors.Is(err, errSlotDone):
			a.log.Debug(msg+": another replica runs it", "reason", err)
			return
		case err != nil:
			a.log.Error(msg, "err", err)
		}
		a.metrics.job(j.name, time.Since(start), err != nil)
		return
	}
	r, err := a.runJob(withScheduled(ctx), j, nil)
	for _, s := range r.shops {
		switch {
		case s.err != nil:
			a.log.Error(msg, "tenant", s.tenantID, "err", s.err)
		case did(s.counts):
			a.log.Info(msg, append([]any{"tenant", s.tenantID}, countAttrs(s.counts)...)...)
		}
	}
	switch {
	case errors.Is(err, errLeaseHeld):
		a.log.Debug(msg + ": another replica holds the lease")
	case errors.Is(err, errSlotDone):
		a.log.Debug(msg + ": another replica ran it for this due time")
	case err != nil:
		a.log.Error(msg, "err", err)
	}
}

// startCron joins the replicas' register (refusing the WeChat sandbox
// beside another replica: replica.go) and schedules every job, "@every"
// aligned to the clock so that replicas tick together; each cron entry
// skips a tick while its previous run is still going and recovers from
// panics. Stopping the returned cron (Stop) waits for running jobs.
func (a *app) startCron(ctx context.Context) (*cron.Cron, error) {
	if err := a.joinReplicas(ctx); err != nil {
		return nil, err
	}
	logger := cron.PrintfLogger(slog.NewLogLogger(a.log.Handler(), slog.LevelError))
	c := cron.New(cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	for _, j := range jobs {
		if j.after != "" {
			continue
		}
		sched, err := jobSchedule(j.every)
		if err != nil {
			return nil, fmt.Errorf("schedule job %s (%q): %w", j.name, j.every, err)
		}
		c.Schedule(sched, cron.FuncJob(func() {
			a.scheduled(ctx, j)
			for _, next := range jobs {
				if next.after == j.name {
					a.scheduled(ctx, next)
				}
			}
		}))
	}
	c.Start()
	return c, nil
}

// count is one number of a job's report, named in snake_case.
type count struct {
	name string
	n    int64
}

// countsOf lists the integer fields of a job's report (a struct), in order.
func countsOf(report any) []count {
	v := reflect.ValueOf(report)
	if v.Kind() != reflect.Struct {
		return nil
	}
	var cs []count
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || !f.CanInt() {
			continue
		}
		cs = append(cs, count{name: snake(v.Type().Field(i).Name), n: f.Int()})
	}
	return cs
}

// did says whether any count is not zero.
func did(cs []count) bool {
	for _, c := range cs {
		if c.n != 0 {
			return true
		}
	}
	return false
}

// countAttrs is cs as log attributes.
func countAttrs(cs []count) []any {
	attrs := make([]any, 0, 2*len(cs))
	for _, c := range cs {
		attrs = append(attrs, c.name, c.n)
	}
	return attrs
}

// snake turns a Go field name into snake_case: ExpiryReminders is
// expiry_reminders.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
