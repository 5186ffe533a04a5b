package pcstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"

	"microshop/shop/catalog"
	"microshop/shop/pcstore/source"
	"microshop/tenants/fault"
)

// Applying a batch of items: look up their mappings, claim the new ids,
// then create, patch or leave each product, recording the outcome in its
// mapping (see the steps at the top of sync.go).

// firsts remembers where each external id was first listed in one pass
// over a source (a sync's or a preview's), by a hash of the id: a pass may
// list a million of them. It counts what it keeps, so a preview can stop
// at a bound.
type firsts struct {
	refs  map[uint64]string
	bytes int64
}

// firstCost is what remembering an id takes besides its ref's bytes: the
// hash, the string header and the map's share.
const firstCost = 48

func newFirsts() *firsts { return &firsts{refs: map[uint64]string{}} }

// again is the error of an item whose id was listed before in the pass,
// nil for a first listing, which it remembers.
func (f *firsts) again(it source.Item) error {
	h := fnv.New64a()
	h.Write([]byte(it.ExternalID))
	key := h.Sum64()
	if first, ok := f.refs[key]; ok {
		return fmt.Errorf("id %q is listed again (first at %s); only the first is imported", fault.Clip(it.ExternalID, 60), first)
	}
	f.refs[key] = it.Ref
	f.bytes += firstCost + int64(len(it.Ref))
	return nil
}

// size is how many ids are remembered, and about how many bytes that takes.
func (f *firsts) size() (int, int64) { return len(f.refs), f.bytes }

// problemTitle is an item's title as a failure report quotes it.
func problemTitle(it source.Item) string {
	title, _ := source.Cut(source.Line(it.Title), 80)
	return title
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
		dup bool
	}
	jobs := make([]job, 0, len(items))
	var ids []string
	for _, it := range items {
		j := job{it: it}
		if it.Err == nil {
			if err := x.seen.again(it); err != nil {
				j.it.Err, j.dup = err, true
			} else {
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
	now := x.s.stamp()
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
		if it.Err != nil {
			if err := x.fail(ctx, it, it.Err.Error()); err != nil {
				return err
			}
			if m, ok := maps[it.ExternalID]; ok && !j.dup && m.ProductID != "" && source.NotForSale(it.Err) {
				// Free now, or become something that is not sold as it
				// is: never left on sale at its old price. Marked gone,
				// it goes back on sale when the store sells it again.
				if !m.Gone {
					off := catalog.OffSale
					if _, err := x.s.catalog.Patch(ctx, x.tenantID, m.ProductID, catalog.Input{Status: &off}); err != nil && !errors.Is(err, fault.ErrNotFound) {
						return errInfra{err}
					}
				}
				m.Run, m.Outcome, m.Gone, m.UpdatedAt = x.run.ID, outFailed, true, x.s.stamp()
				if err := x.s.store.SaveMapping(ctx, x.tenantID, m); err != nil {
					return errInfra{err}
				}
				continue
			}
			if _, ok := maps[it.ExternalID]; ok && !j.dup && it.ExternalID != "" {
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
		x.noteDropped(it)
		if err := x.copyImages(ctx, &it); err != nil {
			return err
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

// maxDroppedNotes bounds the run's notes on options not imported.
const maxDroppedNotes = 50

// noteDropped notes in the run the options of it that could not be
// imported (the product is, with its other options).
func (x *runner) noteDropped(it source.Item) {
	for _, d := range it.Dropped {
		x.note(droppedPrefix, fmt.Sprintf("%s [%s] %s: %s", it.Ref, it.ExternalID, problemTitle(it), d))
	}
}

// note adds a note starting with prefix to the run, up to
// maxDroppedNotes of them per prefix.
func (x *runner) note(prefix, text string) {
	n := 0
	for _, note := range x.run.Notes {
		if strings.HasPrefix(note, prefix) {
			n++
		}
	}
	switch {
	case n < maxDroppedNotes:
		x.run.Notes = append(x.run.Notes, fault.Clip(prefix+text, 500))
	case n == maxDroppedNotes:
		x.run.Notes = append(x.run.Notes, prefix+"… and more")
	}
}

// droppedPrefix starts the run's notes on options not imported.
const droppedPrefix = "option not imported: "

// fail records an item's failure (once per run and ref).
func (x *runner) fail(ctx context.Context, it source.Item, msg string) error {
	ref := it.Ref
	if ref == "" {
		ref = "id " + it.ExternalID
	}
	added, err := x.s.store.AddRunError(ctx, x.tenantID, RunError{RunID: x.run.ID, Ref: fault.Clip(ref, 100),
		ExternalID: fault.Clip(it.ExternalID, 200), Title: problemTitle(it), Message: fault.Clip(msg, 500), At: x.s.now().UTC()})
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
	m.UpdatedAt = x.s.stamp()
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
			skus = append(skus, catalog.SKUInput{ID: id, Name: v.Name, Code: v.Code, Price: v.Price, OriginalPrice: v.OriginalPrice, Stock: v.Stock})
		}
	}
	code := it.Code // a product with variants carries none: its variants do
	in.Code = &code
	if len(it.Variants) == 0 {
		price, original, stock := it.Price, it.OriginalPrice, it.Stock
		in.Price, in.OriginalPrice, in.Stock = &price, &original, &stock
	}
	in.SKUs = &skus
	if p == nil {
		return in, false
	}
	same := p.Title == title && p.Description == desc && p.Category == cat && slices.Equal(p.Images, images) &&
		p.Code == code && len(p.SKUs) == len(skus)
	if same && len(skus) == 0 {
		same = p.Price == it.Price && p.OriginalPrice == it.OriginalPrice && p.Stock == it.Stock
	}
	for i := 0; same && i < len(skus); i++ {
		k := p.SKUs[i]
		same = k.ID == skus[i].ID && k.Name == skus[i].Name && k.Code == skus[i].Code && k.Price == skus[i].Price &&
			k.OriginalPrice == skus[i].OriginalPrice && k.Stock == skus[i].Stock
	}
	return in, same
}
