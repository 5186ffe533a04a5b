package pcstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/pcstore/source"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Scheduling and run limits.
const (
	// leaseTTL is how long a shop's sync lease lasts without renewal (the
	// leaser renews it every third of that): a crashed replica's run is
	// resumed by another within it.
	leaseTTL = 90 * time.Second
	// staleAfter is when a running run with no heartbeat shows as
	// interrupted.
	staleAfter = 2 * leaseTTL
	// rescanEvery is how often RunDue re-reads every shop's link; between
	// rescans it keeps the schedule in memory.
	rescanEvery = 10 * time.Minute
	// maxResumes is how often an interrupted run is resumed before it is
	// given up as failed.
	maxResumes = 5
	// scheduledSlots bounds the scheduled syncs running at once on one
	// replica.
	scheduledSlots = 4
	// previewBudget bounds the time a preview spends reading the source.
	previewBudget = 20 * time.Second
	// previewMaxItems and previewMaxBytes bound what a preview remembers
	// of the products it reads (their ids, to find the ones listed twice):
	// past either it stops, as at its time budget.
	previewMaxItems = 50_000
	previewMaxBytes = 4 << 20
	// previewsPerShop bounds the previews of one shop running at once on
	// one replica.
	previewsPerShop = 2
	// MaxUploadBytes bounds an uploaded feed.
	MaxUploadBytes = 256 << 20
)

// ShopLister lists every shop, for the scheduler (tenants.Store does).
type ShopLister interface {
	TenantIDs(ctx context.Context) ([]string, error)
}

// Syncer is pcstore's service: it links shops to their PC stores (link.go)
// and keeps their catalogs in sync: previews (preview.go), runs (in the
// background, resumable, one replica per shop at a time through a lease per
// shop: this file and sync.go), and the schedule (schedule.go). Handlers
// call it, never the Store.
type Syncer struct {
	store   Store
	catalog *catalog.Catalog
	leaser  *tenants.Leaser
	shops   ShopLister
	client  *source.Client
	images  ImageStore // nil: images are not copied (images.go)
	due     DueIndex   // nil: the schedule is kept in memory (schedule.go)
	log     *slog.Logger
	now     func() time.Time
	// BatchSize is how many products are applied between checkpoints.
	BatchSize int
	// ImageRecheck is how long a copied image is used without asking the
	// PC store whether it changed.
	ImageRecheck time.Duration
	// previewItems and previewBytes bound a preview's memory (tests set
	// them lower).
	previewItems int
	previewBytes int64

	ctx    context.Context // runs live as long as this, not their request
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}

	mu       sync.Mutex
	active   map[string]*activeRun      // by tenant: runs on this replica
	schedule map[string]time.Time       // by tenant: when its link is next due
	previews map[string]int             // by tenant: previews running on this replica
	held     map[string]map[string]bool // by tenant: uploads being stored or previewed here (upload.go)
	scanned  time.Time
}

type activeRun struct {
	runID string
	done  chan struct{}
}

// NewSyncer returns a syncer; call Shutdown to stop its runs.
func NewSyncer(store Store, cat *catalog.Catalog, leaser *tenants.Leaser, shops ShopLister, client *source.Client, log *slog.Logger) *Syncer {
	ctx, cancel := context.WithCancel(context.Background())
	return &Syncer{store: store, catalog: cat, leaser: leaser, shops: shops, client: client, log: log, now: time.Now,
		BatchSize: 100, ImageRecheck: DefaultImageRecheck, previewItems: previewMaxItems, previewBytes: previewMaxBytes,
		ctx: ctx, cancel: cancel, slots: make(chan struct{}, scheduledSlots),
		active: map[string]*activeRun{}, schedule: map[string]time.Time{}, previews: map[string]int{},
		held: map[string]map[string]bool{}}
}

// Client is the HTTP client the syncer fetches with.
func (s *Syncer) Client() *source.Client { return s.client }

// Shutdown stops the runs in progress (each stays resumable: the next
// replica to sync the shop carries it on) and waits for them, or for ctx.
func (s *Syncer) Shutdown(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stamp is the time records are written with: now, in UTC, to the
// millisecond (what both engines keep).
func (s *Syncer) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// source builds the reader of a spec.
func (s *Syncer) source(tenantID string, sp Spec, secret string) (source.Source, error) {
	var src source.Source
	var err error
	switch {
	case sp.UploadID != "":
		id := sp.UploadID
		src = source.NewFeedReader(func(ctx context.Context) (io.ReadCloser, int64, error) {
			return s.store.OpenUpload(ctx, tenantID, id)
		})
	case sp.Type == source.Shopify:
		src, err = source.NewShopify(s.client, sp.URL)
	case sp.Type == source.WooCommerce:
		src, err = source.NewWooCommerce(s.client, sp.URL, sp.Key, secret)
	case sp.Type == source.Feed:
		src, err = source.NewFeedURL(s.client, sp.URL)
	default:
		err = fmt.Errorf("unknown store type %q", sp.Type)
	}
	if err != nil {
		return nil, fault.Invalid("url", "%v", err)
	}
	return src, nil
}

func (l Link) options(now time.Time) source.Options {
	return source.Options{Prices: source.Prices{Default: l.Currency, Rates: l.Rates}, AssumedStock: l.AssumedStock, Now: now}
}

// Start begins a sync of the shop in the background (or resumes its
// interrupted one) and returns the run. A sync already running, here or on
// another replica, is a conflict; the running run is returned with it when
// known.
func (s *Syncer) Start(ctx context.Context, tenantID, trigger string) (Run, error) {
	link, err := s.store.GetLink(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) {
		return Run{}, fault.Conflict("no PC store is linked to this shop yet: link one first (POST /api/v1/pcstore/link)")
	}
	if err != nil {
		return Run{}, err
	}
	return s.start(tenantID, link, trigger, nil)
}

// Sync runs a sync in the foreground and returns the finished run.
func (s *Syncer) Sync(ctx context.Context, tenantID, trigger string) (Run, error) {
	r, err := s.Start(ctx, tenantID, trigger)
	if err != nil {
		return r, err
	}
	return s.Wait(ctx, tenantID, r.ID)
}

// Wait waits for a run on this replica to end (or for ctx) and returns it
// as stored.
func (s *Syncer) Wait(ctx context.Context, tenantID, runID string) (Run, error) {
	s.mu.Lock()
	a := s.active[tenantID]
	s.mu.Unlock()
	if a != nil && a.runID == runID {
		select {
		case <-a.done:
		case <-ctx.Done():
		}
	}
	return s.Run(context.WithoutCancel(ctx), tenantID, runID)
}

// Busy is the conflict of a second sync of a shop; RunID names the running
// one when it is known.
type Busy struct {
	Err   *fault.Error
	RunID string
}

func (b *Busy) Error() string { return b.Err.Error() }

// Unwrap lets the error handler see the 409.
func (b *Busy) Unwrap() error { return b.Err }

// busy is the 409 for a sync already running, here (on this server) or on
// another; each wording is a format of its own, for the error catalog.
func busy(runID string, here bool) *Busy {
	var err *fault.Error
	switch {
	case here && runID != "":
		err = fault.Conflict("a sync of this shop is already running on this server (run %s); wait for it to finish", runID)
	case here:
		err = fault.Conflict("a sync of this shop is already running on this server; wait for it to finish")
	case runID != "":
		err = fault.Conflict("a sync of this shop is already running on another server (run %s); wait for it to finish", runID)
	default:
		err = fault.Conflict("a sync of this shop is already running on another server; wait for it to finish")
	}
	return &Busy{Err: err, RunID: runID}
}

// start takes the shop's lease and runs the sync in the background. slot,
// when given, is released when the run ends (scheduled runs).
func (s *Syncer) start(tenantID string, link Link, trigger string, slot chan struct{}) (Run, error) {
	return s.launch(tenantID, link.CurrentRun, slot, func(ctx context.Context) (Run, error) {
		return s.prepare(ctx, tenantID, link, trigger)
	}, func(ctx context.Context, run Run) {
		s.execute(ctx, tenantID, run)
	})
}

// launch runs one run of the shop in the background, holding its lease
// (one run per shop at a time, here and on every replica): begin creates
// (or picks up) the run, body carries it out. It returns the run once
// begun, or the conflict with the shop's running one (known, when on
// another replica, as other). slot, when given, is released at the end.
func (s *Syncer) launch(tenantID, other string, slot chan struct{}, begin func(context.Context) (Run, error),
	body func(context.Context, Run)) (Run, error) {
	release := func() {
		if slot != nil {
			<-slot
		}
	}
	a := &activeRun{done: make(chan struct{})}
	s.mu.Lock()
	if cur := s.active[tenantID]; cur != nil {
		runID := cur.runID // set under s.mu by the running one
		s.mu.Unlock()
		release()
		r, _ := s.store.GetRun(s.ctx, tenantID, runID)
		return r, busy(runID, true)
	}
	s.active[tenantID] = a
	s.mu.Unlock()
	s.lookAt(tenantID, s.now().Add(leaseTTL)) // a run dies with its process: the scheduler resumes it

	type started struct {
		run Run
		err error
	}
	ready := make(chan started, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer release()
		defer func() {
			s.mu.Lock()
			delete(s.active, tenantID)
			s.mu.Unlock()
			close(a.done)
		}()
		ran, err := s.leaser.Run(s.ctx, leaseName(tenantID), leaseTTL, func(ctx context.Context) error {
			run, err := begin(ctx)
			if err == nil {
				s.mu.Lock()
				a.runID = run.ID
				s.mu.Unlock()
			}
			ready <- started{run, err}
			if err != nil {
				return err
			}
			body(ctx, run)
			return nil
		})
		if !ran {
			if err == nil {
				err = busy(other, false)
			}
			ready <- started{err: err}
		} else if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("pcstore sync", "tenant", tenantID, "err", err)
		}
	}()
	st := <-ready
	if st.err != nil {
		<-a.done // nothing runs: let the next Start in
	}
	return st.run, st.err
}

func leaseName(tenantID string) string { return "pcstore-sync:" + tenantID }

// prepare creates the run, or picks up the shop's interrupted one.
func (s *Syncer) prepare(ctx context.Context, tenantID string, link Link, trigger string) (Run, error) {
	now := s.stamp()
	if link.CurrentRun != "" {
		r, err := s.store.GetRun(ctx, tenantID, link.CurrentRun)
		switch {
		case err == nil && r.Status == Running:
			r.Resumes++
			r.HeartbeatAt = now
			if r.Resumes > maxResumes {
				r.Status, r.Error, r.FinishedAt = Failed, fmt.Sprintf("interrupted %d times; given up", maxResumes), now
				_ = s.store.SaveRun(ctx, tenantID, r)
				_ = s.store.FinishLinkRun(ctx, tenantID, r.ID, s.nextRun(link, now), link.LastCount)
			} else {
				if err := s.store.SaveRun(ctx, tenantID, r); err != nil {
					return Run{}, err
				}
				s.log.Info("pcstore sync resumed", "tenant", tenantID, "run", r.ID, "after_page", r.Page, "resumes", r.Resumes)
				return r, nil
			}
		case err != nil && !errors.Is(err, fault.ErrNotFound):
			return Run{}, err
		}
	}
	key, err := s.sourceKey(tenantID, link)
	if err != nil {
		return Run{}, err
	}
	r := Run{ID: engine.NewID(), Status: Running, Trigger: trigger, Spec: link.spec(key), Total: link.LastCount,
		StartedAt: now, HeartbeatAt: now}
	if err := s.store.CreateRun(ctx, tenantID, r); err != nil {
		return Run{}, err
	}
	if err := s.store.SetLinkRun(ctx, tenantID, r.ID); err != nil {
		return Run{}, err
	}
	s.log.Info("pcstore sync started", "tenant", tenantID, "run", r.ID, "source", r.Spec.describe(), "trigger", trigger)
	return r, nil
}

func (s *Syncer) sourceKey(tenantID string, link Link) (string, error) {
	src, err := s.source(tenantID, link.spec(""), link.Secret)
	if err != nil {
		return "", err
	}
	return src.Key(), nil
}

func (s *Syncer) nextRun(link Link, now time.Time) time.Time {
	if link.IntervalMinutes <= 0 || link.URL == "" {
		return time.Time{}
	}
	return now.Add(time.Duration(link.IntervalMinutes) * time.Minute)
}

// Run returns a run; a running one whose heartbeat stopped shows as
// "interrupted" (it is resumed by the next sync of the shop).
func (s *Syncer) Run(ctx context.Context, tenantID, id string) (Run, error) {
	if !engine.ValidID(id) {
		return Run{}, fault.NotFound("run") // not a 400: a malformed id names no run
	}
	r, err := s.store.GetRun(ctx, tenantID, id)
	if err != nil {
		return Run{}, err
	}
	return s.display(r), nil
}

// Interrupted is how a run that stopped without finishing shows.
const Interrupted = "interrupted"

func (s *Syncer) display(r Run) Run {
	if r.Status == Running && s.now().Sub(r.HeartbeatAt) > staleAfter {
		r.Status = Interrupted
	}
	return r
}

// Runs lists the shop's runs, newest first.
func (s *Syncer) Runs(ctx context.Context, tenantID string, before time.Time, limit int) ([]Run, error) {
	rs, err := s.store.ListRuns(ctx, tenantID, before, limit)
	for i := range rs {
		rs[i] = s.display(rs[i])
	}
	return rs, err
}

// RunErrors lists a run's failed products.
func (s *Syncer) RunErrors(ctx context.Context, tenantID, runID string, offset, limit int) ([]RunError, error) {
	return s.store.RunErrors(ctx, tenantID, runID, offset, limit)
}
