package pcstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"runtime/debug"
	"slices"
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
	seen     map[uint64]string // hash of external id -> ref of its first occurrence, this pass
	read     int64             // items read in this pass
	start    time.Time         // when this pass started
	activeMS int64             // run.ActiveMS before this pass
	lastSave time.Time
}

// errInfra marks a failure of the platform (database), not of an item:
// the run stops (resumable) instead of blaming the product.
type errInfra struct{ err error }

func (e errInfra) Error() string { return e.err.Error() }
func (e errInfra) Unwrap() error { return e.err }

// execute runs (or resumes) r to its end; it records the outcome itself.
func (s *Syncer) execute(ctx context.Context, tenantID string, r Run) {
	x := &runner{s: s, tenantID: tenantID, run: r, seen: map[uint64]string{}, start: s.now(), activeMS: r.ActiveMS}
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
		Bytes: func(read, size int64) { x.run.BytesRead, x.run.BytesTotal = read, size },
	}
	err = x.src.Scan(ctx, x.run.Page, x.link.options(x.s.now()), v)
	if err == nil {
		err = x.flush(ctx)
	}
	if err != nil {
		var fe *source.FetchError
		switch {
		case ctx.Err() != nil || errors.As(err, new(errInfra)):
			return x.stopped(ctx, err)
		case errors.As(err, &fe):
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
	lastCount := x.link.LastCount
	if status == Succeeded {
		lastCount = x.run.Counts.Done()
	}
	if err := x.s.store.FinishLinkRun(ctx, x.tenantID, x.run.ID, x.s.nextRun(x.link, now), lastCount); err != nil {
		x.s.log.Error("pcstore finish link run", "tenant", x.tenantID, "run", x.run.ID, "err", err)
	}
	if l, err := x.s.store.GetLink(ctx, x.tenantID); err == nil && l.CurrentRun == "" {
		_ = x.s.store.DeleteUploads(ctx, x.tenantID, l.UploadID)
	}
	c := x.run.Counts
	x.s.log.Info("pcstore sync finished", "tenant", x.tenantID, "run", x.run.ID, "status", status, "error", msg,
		"created", c.Created, "updated", c.Updated, "unchanged", c.Unchanged, "off_sale", c.OffSale, "failed", c.Failed,
		"took", time.Duration(x.run.ActiveMS)*time.Millisecond)
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// flush applies the batch read so far.
func (x *runner) flush(ctx context.Context) error {
	items := x.batch
	x.batch = x.batch[:0]
	if len(items) == 0 {
		return nil
	}
	// Items that cannot be applied, and duplicates within this pass.
	type job struct {
		it  source.Item
		dup string
	}
	jobs := make([]job, 0, len(items))
	var ids []string
	for _, it := range items {
		j := job{it: it}
		if it.Err == nil {
			h := hashID(it.ExternalID)
			if first, ok := x.seen[h]; ok {
				j.dup = first
			} else {
				x.seen[h] = it.Ref
				ids = append(ids, it.ExternalID)
			}
		}
		jobs = append(jobs, j)
	}
	maps, err := x.s.store.Mappings(ctx, x.tenantID, x.key, ids)
	if err != nil {
		return errInfra{err}
	}
	// Claim the new ids, then read back who holds them.
	var claims []Mapping
	now := x.s.now().UTC().Truncate(time.Millisecond)
	for _, id := range ids {
		if _, ok := maps[id]; !ok {
			claims = append(claims, Mapping{Source: x.key, ExternalID: id, Run: x.run.ID, UpdatedAt: now})
		}
	}
	if len(claims) > 0 {
		if err := x.s.store.ClaimMappings(ctx, x.tenantID, claims); err != nil {
			return errInfra{err}
		}
		claimed := make([]string, len(claims))
		for i, c := range claims {
			claimed[i] = c.ExternalID
		}
		got, err := x.s.store.Mappings(ctx, x.tenantID, x.key, claimed)
		if err != nil {
			return errInfra{err}
		}
		for id, m := range got {
			maps[id] = m
		}
	}
	var unchanged, failedSeen []string
	for _, j := range jobs {
		it := j.it
		if it.Err == nil && j.dup != "" {
			it.Err = fmt.Errorf("id %q is listed again (first at %s); only the first is imported", clip(it.ExternalID, 60), j.dup)
		}
		if it.Err != nil {
			if err := x.fail(ctx, it, it.Err.Error()); err != nil {
				return err
			}
			if _, ok := maps[it.ExternalID]; ok && j.dup == "" && it.ExternalID != "" {
				// Still listed: keep it on sale; and a claim of ours that
				// failed is marked so a later run takes it over.
				failedSeen = append(failedSeen, it.ExternalID)
			}
			continue
		}
		m := maps[it.ExternalID]
		if m.Run == x.run.ID && m.Outcome != "" {
			continue // applied before this run was interrupted
		}
		outcome, err := x.apply(ctx, it, m)
		if err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) && fe.Status < http.StatusInternalServerError && fe.Status != http.StatusConflict {
				if err := x.fail(ctx, it, fe.Message); err != nil {
					return err
				}
				failedSeen = append(failedSeen, it.ExternalID)
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errInfra{fmt.Errorf("apply %s: %w", it.ExternalID, err)}
		}
		switch outcome {
		case outUnchanged:
			unchanged = append(unchanged, it.ExternalID)
			x.run.Counts.Unchanged++
		case outCreated:
			x.run.Counts.Created++
		case outUpdated:
			x.run.Counts.Updated++
		}
	}
	if err := x.s.store.MarkSeen(ctx, x.tenantID, x.key, x.run.ID, outUnchanged, unchanged); err != nil {
		return errInfra{err}
	}
	if err := x.s.store.MarkSeen(ctx, x.tenantID, x.key, x.run.ID, outFailed, failedSeen); err != nil {
		return errInfra{err}
	}
	return x.checkpoint(ctx, false)
}

// fail records an item's failure (once per run and ref).
func (x *runner) fail(ctx context.Context, it source.Item, msg string) error {
	ref := it.Ref
	if ref == "" {
		ref = "id " + it.ExternalID
	}
	title, _ := source.Cut(source.Line(it.Title), 80)
	added, err := x.s.store.AddRunError(ctx, x.tenantID, RunError{RunID: x.run.ID, Ref: clip(ref, 100),
		ExternalID: clip(it.ExternalID, 200), Title: title, Message: clip(msg, 500), At: x.s.now().UTC()})
	if err != nil {
		return errInfra{err}
	}
	if added {
		x.run.Counts.Failed++
	}
	return nil
}

// apply creates or updates the product of one item and records its
// mapping; it returns the outcome.
func (x *runner) apply(ctx context.Context, it source.Item, m Mapping) (string, error) {
	if m.ProductID != "" {
		p, err := x.s.catalog.Get(ctx, x.tenantID, m.ProductID)
		if err == nil {
			in, same := desired(it, &p, m)
			if same && !m.Gone {
				return outUnchanged, nil
			}
			if m.Gone {
				on := catalog.OnSale
				in.Status = &on // back in the PC store: back on sale
			}
			p, err = x.s.catalog.Patch(ctx, x.tenantID, m.ProductID, in)
			if err != nil {
				return "", err
			}
			return outUpdated, x.save(ctx, m, it, p, outUpdated)
		}
		if !errors.Is(err, fault.ErrNotFound) {
			return "", err
		}
		// Deleted in the micro-shop while still in the PC store: made again.
	} else if m.Run != x.run.ID && m.Outcome == "" && x.s.now().Sub(m.UpdatedAt) < staleAfter {
		// Claimed a moment ago by another run (one whose lease lapsed):
		// it is making the product. A claim older than that was left by a
		// crash, and one whose product failed is marked so; this run takes
		// those over.
		return "", fault.Conflict("another sync is importing this product")
	}
	in, _ := desired(it, nil, m)
	p, err := x.s.catalog.Create(ctx, x.tenantID, in)
	if err != nil {
		return "", err
	}
	return outCreated, x.save(ctx, m, it, p, outCreated)
}

func (x *runner) save(ctx context.Context, m Mapping, it source.Item, p catalog.Product, outcome string) error {
	m.Source, m.ExternalID, m.ProductID = x.key, it.ExternalID, p.ID
	m.Run, m.Outcome, m.Gone = x.run.ID, outcome, false
	m.SKUs = map[string]string{}
	for i, v := range it.Variants {
		if i < len(p.SKUs) {
			m.SKUs[v.ExternalID] = p.SKUs[i].ID
		}
	}
	m.UpdatedAt = x.s.now().UTC().Truncate(time.Millisecond)
	if err := x.s.store.SaveMapping(ctx, x.tenantID, m); err != nil {
		return errInfra{err}
	}
	return nil
}

// desired is the catalog input that makes a product match the item: only
// the fields the PC store owns (title, description, price, stock, images,
// category, SKUs), so the micro-shop's own (status, and whatever comes
// later) stay as the merchant set them. same says p already matches.
func desired(it source.Item, p *catalog.Product, m Mapping) (catalog.Input, bool) {
	title, desc, cat := it.Title, it.Description, it.Category
	images := slices.Clone(it.Images)
	if images == nil {
		images = []string{}
	}
	in := catalog.Input{Title: &title, Description: &desc, Images: &images, Category: &cat}
	var existing []catalog.SKU
	if p != nil {
		existing = p.SKUs
	}
	skus := make([]catalog.SKUInput, 0, len(it.Variants))
	if len(it.Variants) > 0 {
		have := map[string]bool{}
		byName := map[string]string{}
		for _, k := range existing {
			have[k.ID] = true
			byName[k.Name] = k.ID
		}
		used := map[string]bool{}
		for _, v := range it.Variants {
			id := m.SKUs[v.ExternalID]
			if !have[id] || used[id] {
				id = byName[v.Name]
			}
			if used[id] {
				id = ""
			}
			used[id] = id != ""
			skus = append(skus, catalog.SKUInput{ID: id, Name: v.Name, Price: v.Price, Stock: v.Stock})
		}
	} else {
		price, stock := it.Price, it.Stock
		in.Price, in.Stock = &price, &stock
	}
	in.SKUs = &skus
	if p == nil {
		return in, false
	}
	same := p.Title == title && p.Description == desc && p.Category == cat && slices.Equal(p.Images, images) &&
		len(p.SKUs) == len(skus)
	if same && len(skus) == 0 {
		same = p.Price == it.Price && p.Stock == it.Stock
	}
	for i := 0; same && i < len(skus); i++ {
		k := p.SKUs[i]
		same = k.ID == skus[i].ID && k.Name == skus[i].Name && k.Price == skus[i].Price && k.Stock == skus[i].Stock
	}
	return in, same
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
			m.Run, m.Outcome, m.Gone, m.UpdatedAt = x.run.ID, outcome, true, x.s.now().UTC().Truncate(time.Millisecond)
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
