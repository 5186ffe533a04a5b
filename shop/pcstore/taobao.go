package pcstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"microshop/shop/pcstore/source"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Importing a Taobao Assistant (淘宝助理) data package: most Chinese
// merchants' PC store is on Taobao or Tmall, and the package is what they
// can export of it. An import is a run of its own beside the shop's link
// (which it leaves alone), under the same lease (one run per shop at a
// time), applied through the same mappings: items are known by their
// Taobao item id (source "taobao"), so importing a newer package updates
// the products made from the last one (title, description, price, stock,
// pictures, SKUs by their properties) and never duplicates them. A package
// may hold a selection of the store's items, so items missing from it are
// left as they are (never taken off sale). The pictures in the package are
// stored in the shop's image store (images.go).

// MaxTaobaoPackage bounds a package as uploaded (the server's body limit
// usually comes first).
const MaxTaobaoPackage = 256 << 20

// TaobaoPreview is what importing a package would do, read without
// importing.
type TaobaoPreview struct {
	// Count is how many items the package holds; Importable how many of
	// them can be imported, New of those never imported before and Existing
	// imported before (the import updates them).
	Count      int64 `json:"count"`
	Importable int64 `json:"importable"`
	New        int64 `json:"new"`
	Existing   int64 `json:"existing"`
	// Pictures is how many pictures the importable items carry in the
	// package.
	Pictures int64 `json:"pictures"`
	// Items are the first items as they would be imported.
	Items []TaobaoPreviewItem `json:"items"`
	// Problems are the first items that cannot be imported, and why (by
	// line of the CSV); ProblemCount counts them all.
	Problems     []Problem `json:"problems"`
	ProblemCount int64     `json:"problem_count"`
	// Dropped are the first SKUs that cannot be imported, of items imported
	// with their other SKUs; DroppedCount counts them all.
	Dropped      []Problem `json:"dropped"`
	DroppedCount int64     `json:"dropped_count"`
}

// TaobaoPreviewItem is one item of a package as it would be imported.
type TaobaoPreviewItem struct {
	Ref string `json:"ref"`
	// ItemID is the Taobao item id (num_id), or "outer:" and the
	// merchant's code for an item never published.
	ItemID   string   `json:"item_id"`
	Title    string   `json:"title"`
	Price    int64    `json:"price"`
	Stock    int64    `json:"stock"`
	Code     string   `json:"code,omitempty"`
	SKUs     []string `json:"skus,omitempty"`
	Pictures int      `json:"pictures"`
	// Existing says the item was imported before: the import updates its
	// product.
	Existing bool     `json:"existing"`
	Notes    []string `json:"notes,omitempty"`
}

// previewTaobaoItems is how many items a package's preview shows.
const previewTaobaoItems = 20

// PreviewTaobao reads a package and says what importing it would do. A
// package that cannot be read is a 400 saying why.
func (s *Syncer) PreviewTaobao(ctx context.Context, tenantID string, data []byte) (TaobaoPreview, error) {
	pkg, err := openTaobao(data)
	if err != nil {
		return TaobaoPreview{}, err
	}
	release, err := s.previewSlot(tenantID)
	if err != nil {
		return TaobaoPreview{}, err
	}
	defer release()
	p := TaobaoPreview{Items: []TaobaoPreviewItem{}, Problems: []Problem{}, Dropped: []Problem{}}
	seen := newFirsts()
	var batch []source.Item
	flush := func() error {
		ids := make([]string, 0, len(batch))
		for _, it := range batch {
			ids = append(ids, it.ExternalID)
		}
		maps, err := s.store.Mappings(ctx, tenantID, source.Taobao, ids)
		if err != nil {
			return err
		}
		for _, it := range batch {
			m, ok := maps[it.ExternalID]
			existing := ok && m.ProductID != ""
			if existing {
				p.Existing++
			} else {
				p.New++
			}
			if len(p.Items) < previewTaobaoItems {
				pi := TaobaoPreviewItem{Ref: it.Ref, ItemID: it.ExternalID, Title: it.Title, Price: it.Price, Stock: it.Stock,
					Code: it.Code, Pictures: len(it.Pictures) + len(it.Images), Existing: existing, Notes: it.Notes}
				for _, v := range it.Variants {
					pi.SKUs = append(pi.SKUs, v.Name)
				}
				p.Items = append(p.Items, pi)
			}
		}
		batch = batch[:0]
		return nil
	}
	err = pkg.Scan(ctx, 0, source.Options{Now: s.now()}, source.Visitor{Item: func(it source.Item) error {
		p.Count++
		if it.Err == nil {
			it.Err = seen.again(it)
		}
		if it.Err != nil {
			p.ProblemCount++
			if len(p.Problems) < previewProblems {
				p.Problems = append(p.Problems, Problem{Ref: it.Ref, ExternalID: fault.Clip(it.ExternalID, 60), Title: problemTitle(it), Message: it.Err.Error()})
			}
			return nil
		}
		p.Importable++
		p.Pictures += int64(len(it.Pictures))
		for _, d := range it.Dropped {
			p.DroppedCount++
			if len(p.Dropped) < previewProblems {
				p.Dropped = append(p.Dropped, Problem{Ref: it.Ref, ExternalID: fault.Clip(it.ExternalID, 60), Title: problemTitle(it), Message: d})
			}
		}
		batch = append(batch, it)
		if len(batch) >= 200 {
			return flush()
		}
		return nil
	}})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return TaobaoPreview{}, err
	}
	return p, nil
}

// openTaobao checks a package's size and opens it.
func openTaobao(data []byte) (*source.TaobaoPackage, error) {
	switch {
	case len(data) == 0:
		return nil, fault.Invalid("package", "the file is empty")
	case len(data) > MaxTaobaoPackage:
		return nil, fault.New(http.StatusRequestEntityTooLarge, "too_large", "the package is larger than %d MB", MaxTaobaoPackage>>20).WithField("package")
	}
	return source.OpenTaobao(data)
}

// ImportTaobao imports a package (name is its file's name, for the run's
// history) in the background and returns the run; Wait waits for it. A
// package that cannot be opened is a 400 before anything starts; a run of
// the shop already going is a 409.
func (s *Syncer) ImportTaobao(ctx context.Context, tenantID, name string, data []byte) (Run, error) {
	pkg, err := openTaobao(data)
	if err != nil {
		return Run{}, err
	}
	name = fault.Clip(source.Line(name), 100)
	if name == "" {
		name = "taobao.zip"
	}
	return s.launch(tenantID, "", nil, func(ctx context.Context) (Run, error) {
		now := s.stamp()
		r := Run{ID: engine.NewID(), Status: Running, Trigger: source.Taobao,
			Spec: Spec{Type: source.Taobao, UploadName: name, SourceKey: source.Taobao}, StartedAt: now, HeartbeatAt: now}
		if err := s.store.CreateRun(ctx, tenantID, r); err != nil {
			return Run{}, err
		}
		s.log.Info("pcstore taobao import started", "tenant", tenantID, "run", r.ID, "package", name)
		return r, nil
	}, func(ctx context.Context, r Run) {
		x := &runner{s: s, tenantID: tenantID, run: r, src: pkg, key: source.Taobao, standalone: true,
			link: Link{Type: source.Taobao, Currency: "CNY"}, seen: newFirsts(), start: s.now()}
		status, msg := x.importAll(ctx)
		x.finish(context.WithoutCancel(ctx), status, msg)
	})
}

// importAll applies every item of the run's package; it returns the run's
// final status and a fatal error's message.
func (x *runner) importAll(ctx context.Context) (status, msg string) {
	defer func() {
		if p := recover(); p != nil {
			x.s.log.Error("pcstore taobao import panicked", "tenant", x.tenantID, "run", x.run.ID, "panic", fmt.Sprint(p))
			status, msg = Failed, "internal error; import the package again"
		}
	}()
	err := x.src.Scan(ctx, 0, source.Options{Now: x.s.now()}, source.Visitor{Item: func(it source.Item) error {
		x.read++
		x.run.Total = x.read
		x.batch = append(x.batch, it)
		if len(x.batch) >= x.s.BatchSize {
			return x.flush(ctx)
		}
		return nil
	}})
	if err == nil {
		err = x.flush(ctx)
	}
	var invalid *fault.Error
	switch {
	case err == nil:
		return Succeeded, ""
	case ctx.Err() != nil || errors.As(err, new(errInfra)):
		if ctx.Err() == nil {
			x.s.log.Error("pcstore taobao import stopped", "tenant", x.tenantID, "run", x.run.ID, "err", err)
		}
		return Failed, "interrupted: import the package again (what was imported stays, and is updated, not duplicated)"
	case errors.As(err, &invalid):
		return Failed, invalid.Message
	}
	return Failed, err.Error()
}

// StageTaobao previews a package uploaded in the console and keeps it (as
// an upload) for ImportStaged.
func (s *Syncer) StageTaobao(ctx context.Context, tenantID, name string, data []byte) (TaobaoStaged, error) {
	p, err := s.PreviewTaobao(ctx, tenantID, data)
	if err != nil {
		return TaobaoStaged{}, err
	}
	name = fault.Clip(source.Line(name), 100)
	s.tidyUploads(ctx, tenantID) // one package kept at a time
	up := Upload{ID: engine.NewID(), Name: name, CreatedAt: s.stamp()}
	defer s.holdUpload(tenantID, up.ID)()
	if _, err := s.store.PutUpload(ctx, tenantID, up, bytes.NewReader(data), MaxTaobaoPackage); err != nil {
		return TaobaoStaged{}, err
	}
	return TaobaoStaged{Preview: p, UploadID: up.ID, Name: name}, nil
}

// ImportStaged imports the package StageTaobao kept. One no longer kept (a
// sync of the shop's link ended meanwhile and tidied its uploads) is a 400
// asking for the package again.
func (s *Syncer) ImportStaged(ctx context.Context, tenantID, uploadID, name string) (Run, error) {
	expired := fault.Invalid("package", "the preview has expired: upload the package again")
	if !engine.ValidID(uploadID) {
		return Run{}, expired
	}
	rc, _, err := s.store.OpenUpload(ctx, tenantID, uploadID)
	if errors.Is(err, fault.ErrNotFound) {
		return Run{}, expired
	}
	if err != nil {
		return Run{}, err
	}
	data, err := io.ReadAll(io.LimitReader(rc, MaxTaobaoPackage+1))
	rc.Close()
	if errors.Is(err, fault.ErrNotFound) {
		return Run{}, expired
	}
	if err != nil {
		return Run{}, err
	}
	r, err := s.ImportTaobao(ctx, tenantID, name, data)
	if err != nil {
		return r, err
	}
	s.tidyUploads(ctx, tenantID) // the package is read
	return r, nil
}

// tidyUploads removes the shop's uploads but its link's, when no sync of
// the link is running (it may read an upload).
func (s *Syncer) tidyUploads(ctx context.Context, tenantID string) {
	if l, err := s.currentLink(ctx, tenantID); err == nil && l.CurrentRun == "" {
		_ = s.deleteUploads(ctx, tenantID, "", l.UploadID)
	}
}
