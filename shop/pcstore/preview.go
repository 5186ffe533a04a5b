package pcstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/shop/pcstore/source"
	"microshop/tenants/fault"
)

// Preview is what linking a PC store would import, read without importing.
type Preview struct {
	// Count is how many products were read; Listed is how many the store
	// says it has (0 if it does not say). Complete is false when reading
	// stopped at the time limit.
	Count    int64 `json:"count"`
	Listed   int64 `json:"listed,omitempty"`
	Complete bool  `json:"complete"`
	// Importable is how many of the products read can be imported.
	Importable int64         `json:"importable"`
	Items      []PreviewItem `json:"items"`
	// Problems are the first products that cannot be imported, and why;
	// ProblemCount counts them all.
	Problems     []Problem `json:"problems"`
	ProblemCount int64     `json:"problem_count"`
	// Currency is the store's own currency, when it says.
	Currency string   `json:"currency,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// PreviewItem is one product as it would be imported.
type PreviewItem struct {
	ExternalID string   `json:"external_id"`
	Title      string   `json:"title"`
	Price      int64    `json:"price"`
	Stock      int64    `json:"stock"`
	Category   string   `json:"category,omitempty"`
	Image      string   `json:"image,omitempty"`
	SKUs       []string `json:"skus,omitempty"`
	URL        string   `json:"url,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// Problem is why one product cannot be imported.
type Problem struct {
	Ref        string `json:"ref"`
	ExternalID string `json:"external_id,omitempty"`
	Title      string `json:"title,omitempty"`
	Message    string `json:"message"`
}

const (
	previewItems    = 5
	previewProblems = 20
)

var errPreviewDone = errors.New("preview budget spent")

// preview reads the source as a sync would, without writing anything. A
// source that cannot be read at all is a 422 saying why.
func (s *Syncer) preview(ctx context.Context, src source.Source, l Link) (Preview, error) {
	ctx, cancel := context.WithTimeout(ctx, previewBudget+10*time.Second)
	defer cancel()
	deadline := s.now().Add(previewBudget)
	p := Preview{Items: []PreviewItem{}, Problems: []Problem{}, Complete: true}
	seen := firsts{}
	v := source.Visitor{
		Item: func(it source.Item) error {
			p.Count++
			if it.Err == nil {
				it.Err = seen.again(it)
			}
			switch {
			case it.Err != nil:
				p.ProblemCount++
				if len(p.Problems) < previewProblems {
					p.Problems = append(p.Problems, Problem{Ref: it.Ref, ExternalID: fault.Clip(it.ExternalID, 60),
						Title: problemTitle(it), Message: it.Err.Error()})
				}
			default:
				p.Importable++
				if len(p.Items) < previewItems {
					pi := PreviewItem{ExternalID: it.ExternalID, Title: it.Title, Price: it.Price, Stock: it.Stock,
						Category: it.Category, URL: it.URL, Notes: it.Notes}
					if len(it.Images) > 0 {
						pi.Image = it.Images[0]
					}
					for _, v := range it.Variants {
						pi.SKUs = append(pi.SKUs, v.Name)
					}
					p.Items = append(p.Items, pi)
				}
			}
			if s.now().After(deadline) {
				p.Complete = false
				return errPreviewDone
			}
			return nil
		},
		Total:    func(n int64) { p.Listed = n },
		Currency: func(c string) { p.Currency = c },
	}
	err := src.Scan(ctx, 0, l.options(s.now()), v)
	switch {
	case err == nil, errors.Is(err, errPreviewDone):
	case errors.Is(err, context.DeadlineExceeded) && p.Count > 0:
		p.Complete = false
	default:
		var fe *source.FetchError
		if errors.As(err, &fe) || !errors.Is(err, context.Canceled) {
			return Preview{}, &fault.Error{Status: 422, Code: "unreadable", Field: "url",
				Message: "could not read the PC store: " + err.Error()}
		}
		return Preview{}, err
	}
	if !p.Complete {
		p.Notes = append(p.Notes, fmt.Sprintf("counting stopped after %s; the sync reads everything", previewBudget))
	}
	if p.Count == 0 {
		p.Notes = append(p.Notes, "the store lists no products")
	}
	if p.Currency != "" && p.Currency != "CNY" && l.Currency == "" {
		if _, ok := l.Rates[p.Currency]; !ok {
			p.Notes = append(p.Notes, fmt.Sprintf("the store's prices are in %s: set an exchange rate for %s to import them", p.Currency, p.Currency))
		}
	}
	return p, nil
}
