package pcstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	// MaxUploadBytes bounds an uploaded feed.
	MaxUploadBytes = 256 << 20
)

// ShopLister lists every shop, for the scheduler (tenants.Store does).
type ShopLister interface {
	TenantIDs(ctx context.Context) ([]string, error)
}

// Syncer links shops to their PC stores and keeps their catalogs in sync:
// previews, runs (in the background, resumable, one replica per shop at a
// time through a lease per shop), and the schedule.
type Syncer struct {
	store   Store
	catalog *catalog.Catalog
	leaser  *tenants.Leaser
	shops   ShopLister
	client  *source.Client
	log     *slog.Logger
	now     func() time.Time
	// BatchSize is how many products are applied between checkpoints.
	BatchSize int

	ctx    context.Context // runs live as long as this, not their request
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}

	mu       sync.Mutex
	active   map[string]*activeRun // by tenant: runs on this replica
	schedule map[string]time.Time  // by tenant: when its link is next due
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
		BatchSize: 100, ctx: ctx, cancel: cancel, slots: make(chan struct{}, scheduledSlots),
		active: map[string]*activeRun{}, schedule: map[string]time.Time{}}
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

// Link returns the shop's link.
func (s *Syncer) Link(ctx context.Context, tenantID string) (Link, error) {
	return s.store.GetLink(ctx, tenantID)
}

// Unlink removes the shop's link: syncing stops; imported products stay.
func (s *Syncer) Unlink(ctx context.Context, tenantID string) error {
	if err := s.store.DeleteLink(ctx, tenantID); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.schedule, tenantID)
	s.mu.Unlock()
	return s.store.DeleteUploads(ctx, tenantID)
}

// SaveLink checks the PC store at in, previews what would be imported, and
// saves the link; nothing is imported until a sync is started.
func (s *Syncer) SaveLink(ctx context.Context, tenantID string, in LinkInput) (Link, Preview, error) {
	old, err := s.store.GetLink(ctx, tenantID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Link{}, Preview{}, err
	}
	l, err := in.build(old, false)
	if err != nil {
		return Link{}, Preview{}, err
	}
	return s.previewAndSave(ctx, tenantID, old, l)
}

// SaveUpload stores an uploaded feed, previews it and links the shop to it
// (in's type and URL are ignored; its rates and stock settings apply).
func (s *Syncer) SaveUpload(ctx context.Context, tenantID, name string, r io.Reader, in LinkInput) (Link, Preview, error) {
	old, err := s.store.GetLink(ctx, tenantID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Link{}, Preview{}, err
	}
	in.Type, in.URL = source.Feed, ""
	l, err := in.build(old, true)
	if err != nil {
		return Link{}, Preview{}, err
	}
	if name == "" {
		name = "feed"
	}
	up := Upload{ID: engine.NewID(), Name: clip(name, 100), CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	size, err := s.store.PutUpload(ctx, tenantID, up, r, MaxUploadBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Link{}, Preview{}, &fault.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
				Message: fmt.Sprintf("the file is larger than the %d bytes this server accepts; import it with go run ./scripts/import", mbe.Limit)}
		}
		return Link{}, Preview{}, err
	}
	if size == 0 {
		_ = s.store.DeleteUploads(ctx, tenantID, old.UploadID)
		return Link{}, Preview{}, fault.Invalid("feed", "the file is empty")
	}
	l.UploadID, l.UploadName, l.IntervalMinutes = up.ID, up.Name, 0
	link, p, err := s.previewAndSave(ctx, tenantID, old, l)
	if err != nil {
		_ = s.store.DeleteUploads(ctx, tenantID, old.UploadID)
	}
	return link, p, err
}

func (s *Syncer) previewAndSave(ctx context.Context, tenantID string, old, l Link) (Link, Preview, error) {
	src, err := s.source(tenantID, l.spec(""), l.Secret)
	if err != nil {
		return Link{}, Preview{}, err
	}
	p, err := s.preview(ctx, src, l)
	if err != nil {
		return Link{}, Preview{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	l.CreatedAt, l.UpdatedAt = now, now
	if !old.CreatedAt.IsZero() {
		l.CreatedAt = old.CreatedAt
	}
	if l.IntervalMinutes > 0 {
		l.NextRunAt = now.Add(time.Duration(l.IntervalMinutes) * time.Minute)
	}
	if err := s.store.PutLink(ctx, tenantID, l); err != nil {
		return Link{}, Preview{}, err
	}
	saved, err := s.store.GetLink(ctx, tenantID)
	if err != nil {
		return Link{}, Preview{}, err
	}
	if saved.CurrentRun == "" { // an upload a running sync still reads is kept until it ends
		_ = s.store.DeleteUploads(ctx, tenantID, saved.UploadID)
	}
	s.mu.Lock()
	delete(s.schedule, tenantID) // re-read at the next RunDue
	s.mu.Unlock()
	return saved, p, nil
}

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

func busy(runID, where string) *Busy {
	msg := "a sync of this shop is already running " + where
	if runID != "" {
		msg += " (run " + runID + ")"
	}
	return &Busy{Err: fault.Conflict("%s; wait for it to finish", msg), RunID: runID}
}

// start takes the shop's lease and runs the sync in the background. slot,
// when given, is released when the run ends (scheduled runs).
func (s *Syncer) start(tenantID string, link Link, trigger string, slot chan struct{}) (Run, error) {
	release := func() {
		if slot != nil {
			<-slot
		}
	}
	a := &activeRun{done: make(chan struct{})}
	s.mu.Lock()
	if cur := s.active[tenantID]; cur != nil {
		s.mu.Unlock()
		release()
		r, _ := s.store.GetRun(s.ctx, tenantID, cur.runID)
		return r, busy(cur.runID, "on this server")
	}
	s.active[tenantID] = a
	s.mu.Unlock()

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
			run, err := s.prepare(ctx, tenantID, link, trigger)
			if err == nil {
				s.mu.Lock()
				a.runID = run.ID
				s.mu.Unlock()
			}
			ready <- started{run, err}
			if err != nil {
				return err
			}
			s.execute(ctx, tenantID, run)
			return nil
		})
		if !ran {
			if err == nil {
				err = busy(link.CurrentRun, "on another server")
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
	now := s.now().UTC().Truncate(time.Millisecond)
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
		return Run{}, fault.NotFound("run")
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

// RunDue starts the syncs that are due: shops whose link's interval has
// passed since their last sync, and interrupted runs (resumed here). The
// server's cron calls it every minute; it returns once the runs are
// started, and a shop whose sync is still running is skipped.
func (s *Syncer) RunDue(ctx context.Context) error {
	now := s.now().UTC()
	if err := s.rescan(ctx, now); err != nil {
		return err
	}
	s.mu.Lock()
	var due []string
	for t, at := range s.schedule {
		if !at.After(now) && s.active[t] == nil {
			due = append(due, t)
		}
	}
	s.mu.Unlock()
	for _, t := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		link, err := s.store.GetLink(ctx, t) // the schedule may be stale: the link is the truth
		if err != nil {
			s.mu.Lock()
			delete(s.schedule, t)
			s.mu.Unlock()
			if !errors.Is(err, fault.ErrNotFound) {
				s.log.Warn("pcstore schedule: read link", "tenant", t, "err", err)
			}
			continue
		}
		at, ok := dueAt(link)
		s.mu.Lock()
		if ok {
			s.schedule[t] = at
		} else {
			delete(s.schedule, t)
		}
		s.mu.Unlock()
		if !ok || at.After(now) {
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			return nil // every slot busy: the rest wait for the next minute
		}
		trigger := "schedule"
		if link.CurrentRun != "" {
			trigger = "resume"
		}
		if _, err := s.start(t, link, trigger, s.slots); err != nil {
			var b *Busy
			if !errors.As(err, &b) {
				s.log.Warn("pcstore scheduled sync", "tenant", t, "err", err)
			}
			continue
		}
		s.mu.Lock()
		s.schedule[t] = now.Add(time.Duration(max(link.IntervalMinutes, MinInterval)) * time.Minute)
		s.mu.Unlock()
	}
	return nil
}

// dueAt says when a link next needs a sync: now for an interrupted run,
// its next scheduled time otherwise; false if it syncs only on demand.
func dueAt(l Link) (time.Time, bool) {
	if l.CurrentRun != "" {
		return time.Time{}, true
	}
	if !l.scheduled() {
		return time.Time{}, false
	}
	return l.NextRunAt, true
}

// rescan re-reads every shop's link into the in-memory schedule, at most
// every rescanEvery.
func (s *Syncer) rescan(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	fresh := !s.scanned.IsZero() && now.Sub(s.scanned) < rescanEvery
	s.mu.Unlock()
	if fresh {
		return nil
	}
	ids, err := s.shops.TenantIDs(ctx)
	if err != nil {
		return fmt.Errorf("list shops: %w", err)
	}
	sched := map[string]time.Time{}
	for _, id := range ids {
		l, err := s.store.GetLink(ctx, id)
		if err != nil {
			if !errors.Is(err, fault.ErrNotFound) {
				s.log.Warn("pcstore schedule: read link", "tenant", id, "err", err)
			}
			continue
		}
		if at, ok := dueAt(l); ok {
			sched[id] = at
		}
	}
	s.mu.Lock()
	s.schedule, s.scanned = sched, now
	s.mu.Unlock()
	return nil
}
