package aftersale

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Orders is what the after-sale service needs of the order service: the
// order, and its refund path (order.Service is one).
type Orders interface {
	Get(ctx context.Context, tenantID, id string) (order.Order, error)
	Refund(ctx context.Context, tenantID, id string, req order.RefundRequest) (order.RefundResult, error)
}

// ImageChecker says whether photos exist in the shop's image store
// (*image.Service from shop/image is one): an error when any of ids is
// not the shop's.
type ImageChecker interface {
	Exists(ctx context.Context, tenantID string, ids ...string) error
}

// Restocker puts units of a product back on sale once per key
// (*catalog.Catalog from shop/catalog is one).
type Restocker interface {
	Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error
}

// TenantLookup finds a shop by id (tenants.Service is one).
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Leaser runs a function while holding a named lease (tenants.Leaser is
// one), so one replica at a time runs a shop's deadlines.
type Leaser interface {
	Run(ctx context.Context, name string, ttl time.Duration, fn func(ctx context.Context) error) (bool, error)
}

// Options are what the service is built from. Images, Shops, Leaser and
// Disputes may be nil (tests): then photos are refused, disputes carry no
// shop name, the pass runs without a lease and escalation is refused.
type Options struct {
	Store    Store
	Orders   Orders
	Images   ImageChecker
	Disputes *Disputes
	Shops    TenantLookup
	Leaser   Leaser
	// BaseURL is the server's public address, for WeChat Pay's refund
	// notifications ("" leaves them to the payments job's queries).
	BaseURL string
	Log     *slog.Logger
}

// Service runs after-sale requests: creating them, the shopper's, the
// merchant's and the operator's actions, the thread, and the deadlines.
// Handlers call only the service; the service alone calls the store.
type Service struct {
	store    Store
	orders   Orders
	images   ImageChecker
	restock  Restocker
	legacy   LegacyWindow
	disputes *Disputes
	shops    TenantLookup
	leaser   Leaser
	baseURL  string
	log      *slog.Logger
	now      func() time.Time
}

// NewService returns the after-sale service.
func NewService(o Options) *Service {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: o.Store, orders: o.Orders, images: o.Images, disputes: o.Disputes, shops: o.Shops, leaser: o.Leaser,
		baseURL: o.BaseURL, log: log, now: time.Now}
}

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetImages plugs in the image store photos are checked against.
func (s *Service) SetImages(c ImageChecker) { s.images = c }

// SetRestocker plugs in the catalog that takes returned units back (see
// restock.go); without one a return puts nothing back on sale.
func (s *Service) SetRestocker(r Restocker) { s.restock = r }

// Disputes is the platform's dispute queue (nil when none was given).
func (s *Service) Disputes() *Disputes { return s.disputes }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// errUnchanged, returned by a change's function, ends the change without a
// write: the request is as the caller wants it already.
var errUnchanged = errors.New("unchanged")

// maxAttempts bounds a change's retries when other writes keep winning.
const maxAttempts = 50

// change reads request id, lets fn change a copy (or refuse with an error,
// or say errUnchanged) and writes it conditionally on the revision read,
// reading again when another write came first. It returns the request as
// written (or as read, when unchanged) and whether this call wrote it.
func (s *Service) change(ctx context.Context, tenantID, id string, fn func(r *Request, now time.Time) error) (Request, bool, error) {
	for range maxAttempts {
		cur, err := s.store.Get(ctx, tenantID, id)
		if err != nil {
			return Request{}, false, err
		}
		now := s.clock()
		next := cur
		if err := fn(&next, now); errors.Is(err, errUnchanged) {
			return cur, false, nil
		} else if err != nil {
			return cur, false, err
		}
		next.Rev, next.UpdatedAt = cur.Rev+1, now
		ok, err := s.store.Update(ctx, tenantID, next, cur.Rev)
		if err != nil {
			return Request{}, false, err
		}
		if ok {
			return next, true, nil
		}
	}
	return Request{}, false, fmt.Errorf("change after-sale request %s: too much contention", id)
}

// refused is the 409 of an action on a request whose status does not
// allow it.
func refused(action string, r *Request) error {
	return fault.Conflict("cannot %s an after-sale request that is %s", fault.Word(action), fault.Word(words(r.Status)))
}

// words is a status as words: "awaiting return".
func words(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '_' {
			out[i] = ' '
		}
	}
	return string(out)
}

// Get returns one request of the shop, for the merchant.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Request, error) {
	if err := checkID(id); err != nil {
		return Request{}, err
	}
	return s.store.Get(ctx, tenantID, id)
}

// GetForFan returns the fan's own request; anyone else's is not found.
func (s *Service) GetForFan(ctx context.Context, tenantID, fanID, id string) (Request, error) {
	r, err := s.Get(ctx, tenantID, id)
	if err == nil && r.FanID != fanID {
		return Request{}, fault.NotFound("after-sale request")
	}
	return r, err
}

// Detail is a request with its thread.
type Detail struct {
	Request
	Messages []Message `json:"messages"`
}

// maxMessages bounds a request's thread.
const maxMessages = 200

// Detail returns r with its thread.
func (s *Service) Detail(ctx context.Context, tenantID string, r Request) (Detail, error) {
	msgs, err := s.store.Messages(ctx, tenantID, r.ID, maxMessages)
	if msgs == nil {
		msgs = []Message{}
	}
	return Detail{Request: r, Messages: msgs}, err
}

// List pages through the shop's requests in status ("" any).
func (s *Service) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Request, int64, error) {
	if status != "" && !slices.Contains(Statuses, status) {
		return nil, 0, fault.Invalid("status", "must be one of pending, awaiting_return, returned, rejected, escalated, refunded, exchanged, decided, closed")
	}
	if err := engine.CheckPage(&limit, offset); err != nil {
		return nil, 0, err
	}
	list, n, err := s.store.List(ctx, tenantID, status, limit, offset)
	if list == nil {
		list = []Request{}
	}
	return list, n, err
}

// ByOrder lists an order's requests.
func (s *Service) ByOrder(ctx context.Context, tenantID, orderID string) ([]Request, error) {
	return s.store.ByOrder(ctx, tenantID, orderID)
}

// OpenAfterSale reports whether an after-sale request on the order is
// still open (distribution's ledger asks before settling commission).
func (s *Service) OpenAfterSale(ctx context.Context, tenantID, orderID string) (bool, error) {
	list, err := s.store.ByOrder(ctx, tenantID, orderID)
	if err != nil {
		return false, err
	}
	for _, r := range list {
		if IsOpen(r.Status) {
			return true, nil
		}
	}
	return false, nil
}

// Settings returns the shop's window and deadlines.
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	return s.settings(ctx, tenantID)
}

// SaveSettings saves the shop's window and deadlines: each deadline at
// least 1 and at most the platform's.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) (Settings, error) {
	for _, f := range []struct {
		field    string
		v, limit int
	}{{"window_days", st.WindowDays, MaxWindowDays}, {"answer_hours", st.AnswerHours, MaxAnswerHours},
		{"unshipped_hours", st.UnshippedHours, MaxUnshippedHours}, {"return_days", st.ReturnDays, MaxReturnDays},
		{"confirm_days", st.ConfirmDays, MaxConfirmDays}, {"escalate_days", st.EscalateDays, MaxEscalateDays}} {
		if f.v < 1 || f.v > f.limit {
			return Settings{}, fault.Invalid(f.field, "must be from 1 to %d: a shop may shorten the platform's deadlines, never lengthen them", f.limit)
		}
	}
	if err := s.store.SaveSettings(ctx, tenantID, st); err != nil {
		return Settings{}, err
	}
	st.Rev++ // as stored
	return st, nil
}
