package pcstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// Currency is what the store's prices are in: stated by the store
	// (CurrencyFromStore) or set by the merchant; "" for a feed whose link
	// sets none (its prices must each name theirs).
	Currency          string `json:"currency,omitempty"`
	CurrencyFromStore bool   `json:"currency_from_store"`
	// Dropped are the first options (variants) that cannot be imported, of
	// products imported with their other options; DroppedCount counts
	// them all.
	Dropped      []Problem `json:"dropped"`
	DroppedCount int64     `json:"dropped_count"`
	Notes        []string  `json:"notes,omitempty"`
}

// PreviewItem is one product as it would be imported.
type PreviewItem struct {
	ExternalID string `json:"external_id"`
	Title      string `json:"title"`
	Price      int64  `json:"price"`
	Stock      int64  `json:"stock"`
	Category   string `json:"category,omitempty"`
	Image      string `json:"image,omitempty"`
	// OriginalPrice is the crossed-out price, 0 for none.
	OriginalPrice int64    `json:"original_price,omitempty"`
	SKUs          []string `json:"skus,omitempty"`
	URL           string   `json:"url,omitempty"`
	Notes         []string `json:"notes,omitempty"`
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

// previewSlot takes one of the shop's preview slots, or refuses with a 429
// when its previews are all running; release gives it back.
func (s *Syncer) previewSlot(tenantID string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.previews[tenantID] >= previewsPerShop {
		return nil, fault.TooManyRequests("%d previews of this shop's PC store are already running: wait for them to finish, then try again", previewsPerShop)
	}
	s.previews[tenantID]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.previews[tenantID]--; s.previews[tenantID] <= 0 {
			delete(s.previews, tenantID)
		}
	}, nil
}

// preview reads the source as a sync would, without writing anything. It
// stops at its time budget and at its memory bounds. A source that cannot
// be read at all is a 422 saying why; a store that could not be reached
// says only that, the cause going to the log.
func (s *Syncer) preview(ctx context.Context, tenantID string, src source.Source, l Link) (Preview, error) {
	ctx, cancel := context.WithTimeout(ctx, previewBudget+10*time.Second)
	defer cancel()
	deadline := s.now().Add(previewBudget)
	p := Preview{Items: []PreviewItem{}, Problems: []Problem{}, Dropped: []Problem{}, Complete: true}
	if l.Type == source.Feed {
		p.Currency = l.Currency
	}
	seen := newFirsts()
	var bounded bool
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
				for _, d := range it.Dropped {
					p.DroppedCount++
					if len(p.Dropped) < previewProblems {
						p.Dropped = append(p.Dropped, Problem{Ref: it.Ref, ExternalID: fault.Clip(it.ExternalID, 60), Title: problemTitle(it), Message: d})
					}
				}
				if len(p.Items) < previewItems {
					pi := PreviewItem{ExternalID: it.ExternalID, Title: it.Title, Price: it.Price, OriginalPrice: it.OriginalPrice, Stock: it.Stock,
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
			if n, size := seen.size(); n >= s.previewItems || size >= s.previewBytes {
				p.Complete, bounded = false, true
				return errPreviewDone
			}
			if s.now().After(deadline) {
				p.Complete = false
				return errPreviewDone
			}
			return nil
		},
		Total: func(n int64) { p.Listed = n },
		Currency: func(code string) error {
			cur, stated, err := l.confirmCurrency(code, true)
			p.Currency, p.CurrencyFromStore = cur, stated
			return err
		},
	}
	err := src.Scan(ctx, 0, l.options(s.now()), v)
	switch {
	case err == nil, errors.Is(err, errPreviewDone):
	case errors.Is(err, context.DeadlineExceeded) && p.Count > 0:
		p.Complete = false
	default:
		var fe *source.FetchError
		var ce *source.CurrencyError
		var invalid *fault.Error
		switch {
		case errors.As(err, &ce):
			s.log.Info("pcstore preview: store currency unreadable", "tenant", tenantID, "detail", ce.Detail())
			return Preview{}, currencyUnknown(l.host())
		case errors.As(err, &invalid):
			return Preview{}, err
		case errors.As(err, &fe):
			s.log.Info("pcstore preview: store unreadable", "tenant", tenantID, "detail", fe.Detail())
			return Preview{}, unreadable(fe, l)
		case errors.Is(err, context.DeadlineExceeded) && l.URL != "":
			s.log.Info("pcstore preview: store unreadable", "tenant", tenantID, "detail", err.Error())
			return Preview{}, unreadable(&source.FetchError{Host: l.host()}, l)
		case errors.Is(err, context.Canceled):
			return Preview{}, err
		}
		// What the reader said (a web page instead of a feed, a format it
		// does not know) is for the merchant; it names nothing private.
		return Preview{}, fault.New(http.StatusUnprocessableEntity, "unreadable", "could not read the PC store: %s", err.Error()).WithField("url")
	}
	switch {
	case bounded:
		p.Notes = append(p.Notes, fmt.Sprintf("counting stopped after %d products; the sync reads everything", p.Count))
	case !p.Complete:
		p.Notes = append(p.Notes, fmt.Sprintf("counting stopped after %s; the sync reads everything", previewBudget))
	}
	if p.Count == 0 {
		p.Notes = append(p.Notes, "the store lists no products")
	}
	if p.Currency != "" && p.Currency != "CNY" {
		if _, ok := l.Rates[p.Currency]; !ok {
			p.Notes = append(p.Notes, fmt.Sprintf("the store's prices are in %s: set an exchange rate for %s to import them", p.Currency, p.Currency))
		}
	}
	return p, nil
}

// currencyUnknown is the 422 of a store whose currency could not be looked
// up: nothing is read in a currency guessed.
func currencyUnknown(host string) error {
	err := fault.Invalid("url", "could not confirm the currency of the store at %s, so no price was read: try again in a while", host)
	err.Status, err.Code = 422, "unreadable"
	return err
}

// unreadable is the 422 of a store that could not be read: the same for
// every cause, with what the merchant can check.
func unreadable(fe *source.FetchError, l Link) error {
	var err *fault.Error
	switch {
	case fe.Limit > 0:
		err = fault.New(http.StatusUnprocessableEntity, "unreadable", "the document at %s is larger than the %d MB allowed", fe.Host, fe.Limit>>20)
	case l.Type == source.WooCommerce:
		err = fault.New(http.StatusUnprocessableEntity, "unreadable",
			"could not read the store at %s: check the address and the store type, and the REST API key and secret (read access)", fe.Host)
	default:
		err = fault.New(http.StatusUnprocessableEntity, "unreadable", "could not read the store at %s: check the address and the store type", fe.Host)
	}
	return err.WithField("url")
}
