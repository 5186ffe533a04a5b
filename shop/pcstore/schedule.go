package pcstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/fault"
)

// RunDue starts the syncs that are due: shops whose link's interval has
// passed since their last sync, and interrupted runs (resumed here). The
// server's cron calls it every minute; it returns once the runs are
// started, and a shop whose sync is still running is skipped.
//
// With the platform's due index (SetDue) it reads only the links of the
// shops with an entry due (see runIndexed); without, it keeps the schedule
// in memory and re-reads every shop's link every rescanEvery.
func (s *Syncer) RunDue(ctx context.Context) error {
	now := s.now().UTC()
	if s.due != nil {
		return s.runIndexed(ctx, now)
	}
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
		link, found := s.scheduledLink(ctx, t) // the schedule may be stale: the link is the truth
		at, ok := dueAt(link)
		s.plan(t, at, found && ok)
		if !found || !ok || at.After(now) {
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			return nil // every slot busy: the rest wait for the next minute
		}
		if !s.startDue(t, link) {
			continue
		}
		s.plan(t, now.Add(time.Duration(max(link.IntervalMinutes, MinInterval))*time.Minute), true)
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

// scheduledLink reads a shop's link for the scheduler: false when the shop
// has none, or it could not be read (logged).
func (s *Syncer) scheduledLink(ctx context.Context, tenantID string) (Link, bool) {
	l, err := s.store.GetLink(ctx, tenantID)
	if err != nil {
		if !errors.Is(err, fault.ErrNotFound) {
			s.log.Warn("pcstore schedule: read link", "tenant", tenantID, "err", err)
		}
		return Link{}, false
	}
	return l, true
}

// plan keeps in the schedule when the shop is next due, or drops the shop
// from it when !ok.
func (s *Syncer) plan(tenantID string, at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.schedule[tenantID] = at
	} else {
		delete(s.schedule, tenantID)
	}
}

// forget drops the shop from the schedule: the next RunDue re-reads its
// link (with the due index: an entry due now says so).
func (s *Syncer) forget(tenantID string) {
	s.plan(tenantID, time.Time{}, false)
	s.lookAt(tenantID, s.now())
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
		if l, found := s.scheduledLink(ctx, id); found {
			if at, ok := dueAt(l); ok {
				sched[id] = at
			}
		}
	}
	s.mu.Lock()
	s.schedule, s.scanned = sched, now
	s.mu.Unlock()
	return nil
}

// DueIndex is the platform's due index (*tenants.Due is one): the
// scheduler keeps an entry per shop for when its link must next be looked
// at, and a pass reads only the links of the shops with an entry due.
type DueIndex interface {
	Schedule(ctx context.Context, tenantID, job string, at time.Time) error
	Shops(ctx context.Context, job string, now time.Time) ([]string, error)
	Done(ctx context.Context, tenantID, job string, upTo time.Time) error
	// Written lists the shops ever written (a shop with a link is one).
	Written(ctx context.Context) ([]string, error)
	Marked(ctx context.Context, name string) (bool, error)
	Mark(ctx context.Context, name string) error
}

// DueJob is the job name of the scheduler's entries in the due index.
const DueJob = "pcstore"

// dueMark names the one-time scheduling of the links saved before the
// scheduler kept entries.
const dueMark = "pcstore:links-scheduled"

// SetDue makes RunDue take its shops from the due index (call it before
// the first RunDue). Saving or removing a link, and starting a run, then
// record when the shop must be looked at.
func (s *Syncer) SetDue(d DueIndex) { s.due = d }

// lookAt records that the scheduler must read the shop's link at at (a
// no-op without the due index). A failure is logged: the link's next
// scheduled look (if any) still comes.
func (s *Syncer) lookAt(tenantID string, at time.Time) {
	if s.due == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // also while shutting down
	defer cancel()
	if err := s.due.Schedule(ctx, tenantID, DueJob, at); err != nil {
		s.log.Warn("pcstore schedule", "tenant", tenantID, "err", err)
	}
}

// runIndexed is RunDue over the due index: the shops with an entry due at
// now, each link read (the truth), its sync started when due, and the
// shop's next look recorded before its entries due by now are done. A
// pass that dies in between leaves the entries: the next one reads the
// link again. Every link with a schedule keeps one entry at or before its
// next sync: the link's own time, or, while a run is going (here, on
// another replica, or interrupted), a look a lease later.
func (s *Syncer) runIndexed(ctx context.Context, now time.Time) error {
	if err := s.scheduleSaved(ctx, now); err != nil {
		return err
	}
	ids, err := s.due.Shops(ctx, DueJob, now)
	if err != nil {
		return err
	}
	for _, t := range ids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		next, ok := s.visit(ctx, t, now)
		if ok {
			if err := s.due.Schedule(ctx, t, DueJob, later(next, now.Add(time.Second))); err != nil {
				return err
			}
		}
		if err := s.due.Done(ctx, t, DueJob, now); err != nil {
			return err
		}
	}
	return nil
}

// visit reads the shop's link and starts its sync if due; it returns when
// the scheduler must look again (false: never, until the link changes).
func (s *Syncer) visit(ctx context.Context, t string, now time.Time) (time.Time, bool) {
	recheck := now.Add(leaseTTL) // a run going: look again when its lease would have lapsed
	s.mu.Lock()
	running := s.active[t] != nil
	s.mu.Unlock()
	if running {
		return recheck, true
	}
	link, found := s.scheduledLink(ctx, t)
	if !found {
		return time.Time{}, false // no link (or unreadable: logged); saving one schedules a look
	}
	at, ok := dueAt(link)
	if !ok {
		return time.Time{}, false
	}
	if at.After(now) {
		return at, true
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return now.Add(time.Minute), true // every slot busy: the next minute
	}
	s.startDue(t, link)
	return recheck, true
}

// startDue starts the due link's sync on the slot the caller took: its
// interrupted run resumed, or a scheduled one. It reports whether a run
// started; a failure other than Busy (another run has the shop) is logged.
func (s *Syncer) startDue(t string, link Link) bool {
	trigger := "schedule"
	if link.CurrentRun != "" {
		trigger = "resume"
	}
	_, err := s.start(t, link, trigger, s.slots)
	var b *Busy
	if err != nil && !errors.As(err, &b) {
		s.log.Warn("pcstore scheduled sync", "tenant", t, "err", err)
	}
	return err == nil
}

// scheduleSaved gives every link saved before the scheduler kept entries
// one (a look now), once for the platform: it reads the links of the shops
// ever written, then marks it done.
func (s *Syncer) scheduleSaved(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	checked := !s.scanned.IsZero()
	s.mu.Unlock()
	if checked {
		return nil
	}
	done, err := s.due.Marked(ctx, dueMark)
	if err != nil {
		return err
	}
	if !done {
		ids, err := s.due.Written(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if l, found := s.scheduledLink(ctx, id); found {
				if _, ok := dueAt(l); ok {
					if err := s.due.Schedule(ctx, id, DueJob, now); err != nil {
						return err
					}
				}
			}
		}
		if err := s.due.Mark(ctx, dueMark); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.scanned = now
	s.mu.Unlock()
	return nil
}

func later(t, u time.Time) time.Time {
	if t.After(u) {
		return t
	}
	return u
}
