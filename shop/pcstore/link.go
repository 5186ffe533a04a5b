package pcstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"microshop/shop/pcstore/source"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Link settings' defaults and limits.
const (
	DefaultInterval     = 60 // minutes
	MinInterval         = 15
	MaxInterval         = 7 * 24 * 60
	DefaultAssumedStock = 100
	maxRates            = 20
)

// LinkInput is what a merchant submits to link a PC store.
type LinkInput struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	// Currency is what the store's prices are in, for a store that does
	// not say (required then); a store that states its own must agree.
	// For a feed, the currency of prices that name none.
	Currency string            `json:"currency"`
	Rates    map[string]string `json:"rates"`
	// IntervalMinutes is how often to sync (default 60; 15 to 10080).
	IntervalMinutes *int `json:"interval_minutes"`
	// AssumedStock is the stock of products the store shows as available
	// without a count (default 100).
	AssumedStock *int64 `json:"assumed_stock"`
}

// LinkView is a link as the API shows it: the secret is never sent back.
type LinkView struct {
	Type       string `json:"type"`
	URL        string `json:"url,omitempty"`
	Key        string `json:"key,omitempty"`
	HasSecret  bool   `json:"has_secret"`
	UploadName string `json:"upload_name,omitempty"`
	Currency   string `json:"currency,omitempty"`
	// CurrencyFromStore says the store states its currency itself (else
	// the merchant set it).
	CurrencyFromStore bool              `json:"currency_from_store"`
	Rates             map[string]string `json:"rates"`
	IntervalMinutes   int               `json:"interval_minutes"`
	AssumedStock      int64             `json:"assumed_stock"`
	Scheduled         bool              `json:"scheduled"`
	NextRunAt         string            `json:"next_run_at,omitempty"`
	CurrentRun        string            `json:"current_run,omitempty"`
	LastRunID         string            `json:"last_run_id,omitempty"`
}

// View returns the link as shown to the merchant.
func (l Link) View() LinkView {
	v := LinkView{Type: l.Type, URL: l.URL, Key: l.Key, HasSecret: l.Secret != "", UploadName: l.UploadName,
		Currency: l.Currency, CurrencyFromStore: l.CurrencyFromStore, Rates: map[string]string{}, IntervalMinutes: l.IntervalMinutes, AssumedStock: l.AssumedStock,
		Scheduled: l.scheduled(), CurrentRun: l.CurrentRun, LastRunID: l.LastRunID}
	for c, r := range l.Rates {
		v.Rates[c] = r.String()
	}
	if v.Scheduled {
		v.NextRunAt = l.NextRunAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v
}

// scheduled says whether the link syncs on its own: a store or feed
// address, confirmed by a first sync, with an interval.
func (l Link) scheduled() bool {
	return l.URL != "" && l.IntervalMinutes > 0 && l.LastRunID != ""
}

// RateList is the rates sorted by currency, for pages.
func (l Link) RateList() []string {
	var out []string
	for c, r := range l.Rates {
		out = append(out, c+"="+r.String())
	}
	sort.Strings(out)
	return out
}

// Link returns the shop's link.
func (s *Syncer) Link(ctx context.Context, tenantID string) (Link, error) {
	return s.store.GetLink(ctx, tenantID)
}

// currentLink is the shop's link, or the zero Link when it has none.
func (s *Syncer) currentLink(ctx context.Context, tenantID string) (Link, error) {
	l, err := s.store.GetLink(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) {
		return Link{}, nil
	}
	return l, err
}

// Unlink removes the shop's link: syncing stops; imported products stay.
func (s *Syncer) Unlink(ctx context.Context, tenantID string) error {
	if err := s.store.DeleteLink(ctx, tenantID); err != nil {
		return err
	}
	s.forget(tenantID)
	return s.store.DeleteUploads(ctx, tenantID)
}

// SaveLink checks the PC store at in, previews what would be imported, and
// saves the link; nothing is imported until a sync is started.
func (s *Syncer) SaveLink(ctx context.Context, tenantID string, in LinkInput) (Link, Preview, error) {
	return s.relink(ctx, tenantID, in, false, func(old, l Link) (Link, Preview, error) {
		return s.previewAndSave(ctx, tenantID, old, l)
	})
}

// SaveUpload stores an uploaded feed, previews it and links the shop to it
// (in's type and URL are ignored; its rates and stock settings apply).
func (s *Syncer) SaveUpload(ctx context.Context, tenantID, name string, r io.Reader, in LinkInput) (Link, Preview, error) {
	in.Type, in.URL = source.Feed, ""
	return s.relink(ctx, tenantID, in, true, func(old, l Link) (Link, Preview, error) {
		// The file's name, as the browser or the caller gave it, is shown
		// in the console: cleaned as a feed's titles are.
		name = fault.Clip(source.Line(name), 100)
		if name == "" {
			name = "feed"
		}
		up := Upload{ID: engine.NewID(), Name: name, CreatedAt: s.stamp()}
		defer s.holdUpload(tenantID, up.ID)() // not tidied away by a run ending meanwhile
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
			_ = s.deleteUploads(ctx, tenantID, up.ID, old.UploadID)
			return Link{}, Preview{}, fault.Invalid("feed", "the file is empty")
		}
		l.UploadID, l.UploadName, l.IntervalMinutes = up.ID, up.Name, 0
		link, p, err := s.previewAndSave(ctx, tenantID, old, l)
		if err != nil {
			_ = s.deleteUploads(ctx, tenantID, up.ID, old.UploadID)
		}
		return link, p, err
	})
}

// relink runs save, holding one of the shop's preview slots, with the
// shop's current link (zero if none) and the link in makes of it (upload:
// an uploaded feed).
func (s *Syncer) relink(ctx context.Context, tenantID string, in LinkInput, upload bool,
	save func(old, l Link) (Link, Preview, error)) (Link, Preview, error) {
	release, err := s.previewSlot(tenantID)
	if err != nil {
		return Link{}, Preview{}, err
	}
	defer release()
	old, err := s.currentLink(ctx, tenantID)
	if err != nil {
		return Link{}, Preview{}, err
	}
	l, err := in.build(old, upload)
	if err != nil {
		return Link{}, Preview{}, err
	}
	return save(old, l)
}

func (s *Syncer) previewAndSave(ctx context.Context, tenantID string, old, l Link) (Link, Preview, error) {
	src, err := s.source(tenantID, l.spec(""), l.Secret)
	if err != nil {
		return Link{}, Preview{}, err
	}
	p, err := s.preview(ctx, tenantID, src, l)
	if err != nil {
		return Link{}, Preview{}, err
	}
	if l.Type != source.Feed {
		// The currency the preview confirmed is the link's from now on.
		l.Currency, l.CurrencyFromStore = p.Currency, p.CurrencyFromStore
	}
	now := s.stamp()
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
		_ = s.deleteUploads(ctx, tenantID, "", saved.UploadID)
	}
	s.forget(tenantID) // re-read at the next RunDue
	return saved, p, nil
}

// build validates in against the current link (old, zero if none) and
// returns the new link settings. upload is set for an uploaded feed.
func (in LinkInput) build(old Link, upload bool) (Link, error) {
	l := Link{Type: strings.ToLower(strings.TrimSpace(in.Type)), Key: strings.TrimSpace(in.Key), Secret: in.Secret,
		Currency: strings.ToUpper(strings.TrimSpace(in.Currency)), IntervalMinutes: DefaultInterval, AssumedStock: DefaultAssumedStock}
	if upload {
		l.Type = source.Feed
	}
	switch l.Type {
	case source.Shopify, source.WooCommerce, source.Feed:
	case "":
		return Link{}, fault.Invalid("type", "is required: shopify, woocommerce or feed")
	default:
		return Link{}, fault.Invalid("type", "%q is not a store type; use shopify, woocommerce or feed", fault.Clip(in.Type, 30))
	}
	if !upload {
		u, err := source.CheckURL(in.URL)
		if err != nil {
			return Link{}, fault.Invalid("url", "%v", err)
		}
		l.URL = u.String()
	} else if strings.TrimSpace(in.URL) != "" {
		return Link{}, fault.Invalid("url", "send either a feed address or a file, not both")
	}
	if l.Type == source.WooCommerce {
		if l.Key == "" {
			return Link{}, fault.Invalid("key", "a WooCommerce store needs its REST API consumer key (ck_…)")
		}
		if l.Secret == "" && old.Type == source.WooCommerce && old.Key == l.Key {
			l.Secret = old.Secret // editing other settings keeps the stored secret
		}
		if l.Secret == "" {
			return Link{}, fault.Invalid("secret", "a WooCommerce store needs its REST API consumer secret (cs_…)")
		}
		if len(l.Key) > 200 || len(l.Secret) > 200 {
			return Link{}, fault.Invalid("key", "the key and secret must be at most 200 characters")
		}
	} else if l.Key != "" || l.Secret != "" {
		return Link{}, fault.Invalid("key", "only a WooCommerce store takes a key and secret")
	}
	if l.Currency == "RMB" {
		l.Currency = "CNY" // as prices write it too
	}
	if l.Currency != "" && !isCurrency(l.Currency) {
		return Link{}, fault.Invalid("currency", "%q is not a three-letter currency code like CNY or USD", fault.Clip(in.Currency, 10))
	}
	if len(in.Rates) > maxRates {
		return Link{}, fault.Invalid("rates", "at most %d exchange rates", maxRates)
	}
	l.Rates = map[string]source.Rate{}
	for c, v := range in.Rates {
		code := strings.ToUpper(strings.TrimSpace(c))
		if !isCurrency(code) || code == "CNY" {
			return Link{}, fault.Invalid("rates", "%q is not a foreign currency code like USD", fault.Clip(c, 10))
		}
		r, err := source.ParseRate(v)
		if err != nil {
			return Link{}, fault.Invalid("rates", "%s: %v", code, err)
		}
		l.Rates[code] = r
	}
	if in.IntervalMinutes != nil {
		n := *in.IntervalMinutes
		if n < MinInterval || n > MaxInterval {
			return Link{}, fault.Invalid("interval_minutes", "must be between %d and %d minutes", MinInterval, MaxInterval)
		}
		l.IntervalMinutes = n
	}
	if in.AssumedStock != nil {
		n := *in.AssumedStock
		if n < 0 || n > source.MaxStock {
			return Link{}, fault.Invalid("assumed_stock", "must be between 0 and %d", int64(source.MaxStock))
		}
		l.AssumedStock = n
	}
	return l, nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ParseRates reads rates typed as "USD=7.2315, HKD=0.9213" (console form).
func ParseRates(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ';' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fault.Invalid("rates", "write each rate as CODE=yuan per unit, like USD=7.2315")
		}
		out[strings.TrimSpace(c)] = strings.TrimSpace(v)
	}
	return out, nil
}

// confirmCurrency decides the currency of the link's prices from what the
// store states (code, "" when it states none). linking is set while the
// link is being saved, Currency then being what the merchant typed ("" for
// none); otherwise the link is the saved one and a sync asks whether the
// store still agrees with it. It returns the currency and whether the
// store stated it; an error says why the prices cannot be read.
func (l Link) confirmCurrency(code string, linking bool) (string, bool, error) {
	switch {
	case linking && code != "" && l.Currency != "" && l.Currency != code:
		return "", false, fault.Invalid("currency", "the store says its prices are in %s, not %s: leave the currency empty or set %s", code, l.Currency, code)
	case code != "" && !linking && l.Currency != "" && l.Currency != code:
		return "", false, fault.Invalid("currency", "the store's prices are now in %s, but the link was confirmed in %s: link the store again to confirm its currency (and set a rate for it); no price was changed",
			code, l.Currency)
	case code != "":
		return code, true, nil
	case l.Currency == "":
		return "", false, fault.Invalid("currency", "the store does not say what currency its prices are in: set the currency (like CNY or USD) in the link")
	case !linking && l.CurrencyFromStore:
		return "", false, fault.Invalid("currency", "the store no longer says what currency its prices are in (the link was confirmed in %s): link the store again to confirm it; no price was changed",
			l.Currency)
	}
	return l.Currency, false, nil
}

// spec is what a run of this link reads.
func (l Link) spec(key string) Spec {
	return Spec{Type: l.Type, URL: l.URL, Key: l.Key, UploadID: l.UploadID, UploadName: l.UploadName, SourceKey: key}
}

// host is the host of the link's address ("" for an upload).
func (l Link) host() string {
	u, err := url.Parse(l.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// describe says in words what a spec reads.
func (s Spec) describe() string {
	switch {
	case s.Type == source.Taobao:
		return "Taobao package " + s.UploadName
	case s.UploadID != "":
		return fmt.Sprintf("uploaded feed %s", s.UploadName)
	case s.Type == source.Shopify:
		return "Shopify store " + s.URL
	case s.Type == source.WooCommerce:
		return "WooCommerce store " + s.URL
	}
	return "feed " + s.URL
}
