package pcstore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/pcstore/source"
	"microshop/tenants/fault"
)

// A run, step by step:
//
//  1. The source is read from the start (a paginated one from the page
//     after the last one fully applied, when resuming). Items are applied
//     in batches: one query looks up the batch's mappings, one statement
//     claims the new external ids (a unique insert: of two writers, one
//     wins and creates the product), then each item is created, patched
//     or found unchanged, and its mapping records the run and the outcome.
//  2. After each batch the run's counts, cursor and heartbeat are saved, so
//     the console shows progress and a crash loses at most a batch of
//     bookkeeping: a resumed run skips the items whose mapping already
//     names it, and recounts its outcomes from the mappings.
//  3. When the whole source was read, every mapping of the source the run
//     did not see is taken off sale (mark and sweep): nothing is deleted,
//     and an item that failed this time is marked seen so it stays.
//  4. A source that cannot be read (down, refused, broken document) fails
//     the run without the sweep: a half-read store never takes products
//     off sale.

// runner is one execution of a run.
type runner struct {
	s        *Syncer
	tenantID string
	run      Run
	src      source.Source
	key      string
	link     Link
	batch    []source.Item
	seen     *firsts   // the ids listed so far in this pass
	read     int64     // items read in this pass
	start    time.Time // when this pass started
	activeMS int64     // run.ActiveMS before this pass
	lastSave time.Time
	// standalone is set for a run outside the shop's link (a Taobao
	// package's import): it never touches the link.
	standalone bool
}

// errInfra marks a failure of the platform (database), not of an item:
// the run stops (resumable) instead of blaming the product.
type errInfra struct{ err error }

func (e errInfra) Error() string { return e.err.Error() }
func (e errInfra) Unwrap() error { return e.err }

// execute runs (or resumes) r to its end; it records the outcome itself.
func (s *Syncer) execute(ctx context.Context, tenantID string, r Run) {
	x := &runner{s: s, tenantID: tenantID, run: r, seen: newFirsts(), start: s.now(), activeMS: r.ActiveMS}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("pcstore sync panicked", "tenant", tenantID, "run", r.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			x.finish(context.WithoutCancel(ctx), Failed, "internal error; the next sync starts afresh")
		}
	}()
	status, msg := x.do(ctx)
	if status == Running {
		// Interrupted (shutdown or lost lease): keep the progress, leave
		// the link pointing at the run so it is resumed.
		x.checkpoint(context.WithoutCancel(ctx), true)
		s.log.Info("pcstore sync interrupted", "tenant", tenantID, "run", r.ID, "done", x.run.Counts.Done())
		return
	}
	x.finish(context.WithoutCancel(ctx), status, msg)
}

// do reads the source and applies it; it returns the run's final status
// (Running when interrupted) and a fatal error's message.
func (x *runner) do(ctx context.Context) (string, string) {
	link, err := x.s.store.GetLink(ctx, x.tenantID)
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return Failed, "the PC store link was removed"
		}
		return x.stopped(ctx, err)
	}
	x.link = link
	secret := ""
	if link.Type == x.run.Spec.Type && link.Key == x.run.Spec.Key {
		secret = link.Secret
	}
	x.src, err = x.s.source(x.tenantID, x.run.Spec, secret)
	if err != nil {
		return Failed, err.Error()
	}
	x.key = x.run.Spec.SourceKey
	if x.key == "" {
		x.key = x.src.Key()
	}
	if x.run.Resumes > 0 {
		// Recount what the interrupted passes did from the records.
		if err := x.recount(ctx); err != nil {
			return x.stopped(ctx, err)
		}
	}
	v := source.Visitor{
		Item: func(it source.Item) error {
			x.read++
			x.batch = append(x.batch, it)
			if len(x.batch) >= x.s.BatchSize {
				return x.flush(ctx)
			}
			return nil
		},
		PageDone: func(n int) error {
			if err := x.flush(ctx); err != nil {
				return err
			}
			x.run.Page = n
			return x.checkpoint(ctx, true)
		},
		Total: func(n int64) { x.run.Total = n },
		// The store must state the link's currency again (or, for one
		// that never states it, state none) before any price is read.
		Currency: func(code string) error {
			_, _, err := x.link.confirmCurrency(code, false)
			return err
		},
		Bytes: func(read, size int64) { x.run.BytesRead, x.run.BytesTotal = read, size },
	}
	err = x.src.Scan(ctx, x.run.Page, x.link.options(x.s.now()), v)
	if err == nil {
		err = x.flush(ctx)
	}
	if err != nil {
		var fe *source.FetchError
		var ce *source.CurrencyError
		var invalid *fault.Error
		switch {
		case ctx.Err() != nil || errors.As(err, new(errInfra)):
			return x.stopped(ctx, err)
		case errors.As(err, &ce):
			x.s.log.Warn("pcstore sync: store currency unreadable", "tenant", x.tenantID, "run", x.run.ID, "detail", ce.Detail())
			return Failed, currencyUnknown(x.link.host()).Error()
		case errors.As(err, &invalid):
			return Failed, invalid.Message
		case errors.As(err, &fe):
			x.s.log.Warn("pcstore sync: store unreadable", "tenant", x.tenantID, "run", x.run.ID, "detail", fe.Detail())
			return Failed, fe.Error()
		}
		return Failed, err.Error()
	}
	if err := x.sweep(ctx); err != nil {
		return x.stopped(ctx, err)
	}
	return Succeeded, ""
}

// stopped decides what an error that is not the source's means: an
// interruption (resumable) while the shop's context lives or the platform
// fails, logged.
func (x *runner) stopped(ctx context.Context, err error) (string, string) {
	if ctx.Err() == nil {
		x.s.log.Error("pcstore sync stopped", "tenant", x.tenantID, "run", x.run.ID, "err", err)
	}
	return Running, ""
}

// recount sets the run's counts from its mappings and errors.
func (x *runner) recount(ctx context.Context) error {
	c, err := x.s.store.CountOutcomes(ctx, x.tenantID, x.run.ID)
	if err != nil {
		return err
	}
	c.Failed, err = x.s.store.CountRunErrors(ctx, x.tenantID, x.run.ID)
	if err != nil {
		return err
	}
	x.run.Counts = c
	return nil
}

// checkpoint saves the run's progress (at most every 250 ms unless force).
func (x *runner) checkpoint(ctx context.Context, force bool) error {
	now := x.s.now()
	if !force && now.Sub(x.lastSave) < 250*time.Millisecond {
		return nil
	}
	x.lastSave = now
	x.run.HeartbeatAt = now.UTC()
	x.run.ActiveMS = x.activeMS + now.Sub(x.start).Milliseconds()
	if err := x.s.store.SaveRun(ctx, x.tenantID, x.run); err != nil {
		return errInfra{err}
	}
	return nil
}

// finish records the run's end and schedules the next one.
func (x *runner) finish(ctx context.Context, status, msg string) {
	now := x.s.now().UTC()
	if err := x.recount(ctx); err != nil {
		x.s.log.Error("pcstore recount", "tenant", x.tenantID, "run", x.run.ID, "err", err)
	}
	x.run.Status, x.run.Error, x.run.FinishedAt = status, msg, now.Truncate(time.Millisecond)
	x.run.HeartbeatAt = now
	x.run.ActiveMS = x.activeMS + now.Sub(x.start).Milliseconds()
	if status == Succeeded && x.run.Total < x.run.Counts.Done() {
		x.run.Total = x.run.Counts.Done()
	}
	if err := x.s.store.SaveRun(ctx, x.tenantID, x.run); err != nil {
		x.s.log.Error("pcstore save run", "tenant", x.tenantID, "run", x.run.ID, "err", err)
		return
	}
	c := x.run.Counts
	defer x.s.log.Info("pcstore sync finished", "tenant", x.tenantID, "run", x.run.ID, "status", status, "error", msg,
		"created", c.Created, "updated", c.Updated, "unchanged", c.Unchanged, "off_sale", c.OffSale, "failed", c.Failed,
		"took", time.Duration(x.run.ActiveMS)*time.Millisecond)
	if x.standalone {
		return
	}
	lastCount := x.link.LastCount
	if status == Succeeded {
		lastCount = x.run.Counts.Done()
	}
	if err := x.s.store.FinishLinkRun(ctx, x.tenantID, x.run.ID, x.s.nextRun(x.link, now), lastCount); err != nil {
		x.s.log.Error("pcstore finish link run", "tenant", x.tenantID, "run", x.run.ID, "err", err)
	}
	if l, err := x.s.store.GetLink(ctx, x.tenantID); err == nil && l.CurrentRun == "" {
		_ = x.s.deleteUploads(ctx, x.tenantID, "", l.UploadID)
	}
}

// sweep takes off sale the products the source no longer lists.
func (x *runner) sweep(ctx context.Context) error {
	if x.run.Counts.Done() == 0 && x.read == 0 {
		stale, err := x.s.store.StaleMappings(ctx, x.tenantID, x.key, x.run.ID, 1)
		if err != nil {
			return err
		}
		if len(stale) > 0 {
			x.run.Notes = append(x.run.Notes, "the PC store listed no products, so none were taken off sale (a safety check: sync again once the store lists its products)")
		}
		return nil
	}
	off := catalog.OffSale
	for {
		stale, err := x.s.store.StaleMappings(ctx, x.tenantID, x.key, x.run.ID, 200)
		if err != nil {
			return err
		}
		if len(stale) == 0 {
			return nil
		}
		for _, m := range stale {
			outcome := outOffSale
			if m.ProductID == "" {
				outcome = outDropped
			} else if _, err := x.s.catalog.Patch(ctx, x.tenantID, m.ProductID, catalog.Input{Status: &off}); err != nil && !errors.Is(err, fault.ErrNotFound) {
				return err
			}
			m.Run, m.Outcome, m.Gone, m.UpdatedAt = x.run.ID, outcome, true, x.s.stamp()
			if err := x.s.store.SaveMapping(ctx, x.tenantID, m); err != nil {
				return err
			}
			if outcome == outOffSale {
				x.run.Counts.OffSale++
			}
		}
		if err := x.checkpoint(ctx, false); err != nil {
			return err
		}
	}
}
