package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Subscriber reacts to order events (commission, points, notices). Delivery
// is at least once: OrderEvent must be idempotent by (o.ID, ev.ID).
type Subscriber interface {
	OrderEvent(ctx context.Context, tenantID string, o Order, ev Event) error
}

// Service runs orders: placing, paying, shipping, completing, cancelling,
// refunding, and delivering their events.
type Service struct {
	store   Store
	catalog *catalog.Catalog
	fans    fan.Store
	log     *slog.Logger
	now     func() time.Time
	subs    []Subscriber
	attr    Attributor
	disc    Discounter
	known   knownFans
}

// knownFans remembers which fans already have a record, so placing an order
// does not take SQLite's write lock (or send a Mongo insert) only to find
// the fan there. Bounded: past maxKnownFans it starts over.
type knownFans struct {
	mu sync.Mutex
	m  map[string]struct{}
}

const maxKnownFans = 100_000

// ensure makes sure the fan's record exists (fan.Store.Ensure, idempotent),
// once per fan per process.
func (k *knownFans) ensure(ctx context.Context, fans fan.Store, tenantID, fanID string, now time.Time) error {
	key := tenantID + "/" + fanID
	k.mu.Lock()
	_, ok := k.m[key]
	k.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := fans.Ensure(ctx, tenantID, fanID, "direct", now); err != nil {
		return err
	}
	k.mu.Lock()
	if k.m == nil || len(k.m) >= maxKnownFans {
		k.m = map[string]struct{}{}
	}
	k.m[key] = struct{}{}
	k.mu.Unlock()
	return nil
}

// NewService returns the order service. Stock holds are released and
// committed by a built-in subscriber, so they ride the same crash-safe
// event delivery as everything else.
func NewService(store Store, cat *catalog.Catalog, fans fan.Store, log *slog.Logger) *Service {
	s := &Service{store: store, catalog: cat, fans: fans, log: log, now: time.Now}
	s.subs = []Subscriber{stockKeeper{cat}}
	return s
}

// SetClock replaces the service's clock (operators replaying a pass, tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetAttributor plugs in who gets credit for orders (wired by server).
func (s *Service) SetAttributor(a Attributor) { s.attr = a }

// SetDiscounter plugs in what pays for discounts at checkout (wired by
// server).
func (s *Service) SetDiscounter(d Discounter) { s.disc = d }

// Subscribe adds a subscriber to every order event (wired by server).
func (s *Service) Subscribe(sub Subscriber) { s.subs = append(s.subs, sub) }

// Store returns the order store.
func (s *Service) Store() Store { return s.store }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// PlaceRequest is what a consumer submits to place an order.
type PlaceRequest struct {
	Items   []CartItemRequest `json:"items"`
	Address Address           `json:"address"`
	// Points the fan wants to use for a discount (0: none).
	Points int64 `json:"points,omitempty"`
}

var phonePattern = regexp.MustCompile(`^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$`)

// validate checks the request and merges repeated lines.
func (r *PlaceRequest) validate() error {
	if len(r.Items) == 0 {
		return fault.Invalid("items", "an order needs at least one item")
	}
	if len(r.Items) > MaxLines {
		return fault.Invalid("items", "an order holds at most %d different items", MaxLines)
	}
	merged := make([]CartItemRequest, 0, len(r.Items))
	index := map[string]int{}
	for i, it := range r.Items {
		field := fmt.Sprintf("items[%d]", i)
		if !engine.ValidID(it.ProductID) {
			return fault.Invalid(field+".product_id", "%q is not a product id", truncate(it.ProductID))
		}
		if it.SKUID != "" && !engine.ValidID(it.SKUID) {
			return fault.Invalid(field+".sku_id", "%q is not an option id", truncate(it.SKUID))
		}
		if it.Qty < 1 || it.Qty > MaxQty {
			return fault.Invalid(field+".qty", "must be between 1 and %d", MaxQty)
		}
		k := it.ProductID + "/" + it.SKUID
		if j, ok := index[k]; ok {
			merged[j].Qty += it.Qty
			if merged[j].Qty > MaxQty {
				return fault.Invalid(field+".qty", "at most %d of one item", MaxQty)
			}
			continue
		}
		index[k] = len(merged)
		merged = append(merged, it)
	}
	r.Items = merged
	a := &r.Address
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"name", &a.Name, 32}, {"phone", &a.Phone, 20}, {"province", &a.Province, 32}, {"city", &a.City, 32},
		{"district", &a.District, 32}, {"detail", &a.Detail, 200}} {
		*f.v = strings.TrimSpace(*f.v)
		if *f.v == "" {
			return fault.Invalid("address."+f.name, "is required")
		}
		if utf8.RuneCountInString(*f.v) > f.max {
			return fault.Invalid("address."+f.name, "must be at most %d characters", f.max)
		}
	}
	if !phonePattern.MatchString(a.Phone) {
		return fault.Invalid("address.phone", "%q is not a phone number (a mobile like 13812345678, or 010-12345678)", a.Phone)
	}
	if r.Points < 0 || r.Points > 1_000_000_000 {
		return fault.Invalid("points", "must be between 0 and 1000000000")
	}
	return nil
}

// Place prices the request at today's prices, holds stock for every line
// and returns the order awaiting payment. A line that cannot be filled
// fails the whole order with a 409 naming the product; stock already held
// for it is given back. orderID, if not empty, is the id to use (an
// idempotent request reserved it).
func (s *Service) Place(ctx context.Context, tenantID, fanID, orderID string, req PlaceRequest) (Order, error) {
	if err := req.validate(); err != nil {
		return Order{}, err
	}
	settings, err := s.store.Settings(ctx, tenantID)
	if err != nil {
		return Order{}, err
	}
	now := s.clock()
	o := Order{ID: orderID, FanID: fanID, Status: Placing, Address: req.Address, CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(settings.UnpaidTimeoutMinutes) * time.Minute), Refunds: []Refund{}}
	if o.ID == "" {
		o.ID = engine.NewID()
	}
	for i, it := range req.Items {
		p, err := s.catalog.Get(ctx, tenantID, it.ProductID)
		if errors.Is(err, fault.ErrNotFound) {
			return Order{}, fault.Invalid(fmt.Sprintf("items[%d].product_id", i), "no product %s in this shop", it.ProductID)
		}
		if err != nil {
			return Order{}, err
		}
		skuName, price, _, problem, err := resolve(p, it.SKUID)
		if err != nil {
			return Order{}, err
		}
		if problem == "off_sale" {
			return Order{}, fault.Conflict("%q is no longer on sale", p.Title)
		}
		o.Lines = append(o.Lines, Line{ProductID: p.ID, SKUID: it.SKUID, Title: p.Title, SKUName: skuName,
			Image: p.Image(), Price: price, Qty: it.Qty, Amount: price * it.Qty})
		o.GoodsTotal += price * it.Qty
	}
	o.ShippingFee = settings.shippingFor(o.GoodsTotal)
	var disc Discount
	if req.Points > 0 {
		if s.disc == nil {
			return Order{}, fault.Invalid("points", "this shop does not take points at checkout")
		}
		if disc, err = s.disc.Quote(ctx, tenantID, fanID, o.GoodsTotal, req.Points); err != nil {
			return Order{}, err
		}
		o.Discount = disc.Amount
	}
	o.Payable = o.GoodsTotal + o.ShippingFee - o.Discount
	if err := s.known.ensure(ctx, s.fans, tenantID, fanID, now); err != nil {
		return Order{}, err
	}
	o.Attribution = Attribution{Channel: "direct"}
	if s.attr != nil {
		a, err := s.attr.Attribute(ctx, tenantID, fanID)
		if err != nil {
			return Order{}, fmt.Errorf("attribute order: %w", err)
		}
		if a.Channel == "" {
			a.Channel = "direct"
		}
		o.Attribution = a
	}

	// The order is written before any stock is held, so a crash from here
	// on leaves a "placing" order that the recovery job rejects, releasing
	// whatever it held.
	if err := s.store.Insert(ctx, tenantID, &o); err != nil {
		if engine.IsUniqueViolation(err) {
			return Order{}, fault.Conflict("order %s exists", o.ID)
		}
		return Order{}, err
	}
	if disc.Points > 0 {
		if err := s.disc.Reserve(ctx, tenantID, fanID, o.ID, disc); err != nil {
			if _, rerr := s.reject(ctx, tenantID, o.ID, "points could not be used"); rerr != nil {
				s.log.Error("reject order", "tenant", tenantID, "order", o.ID, "err", rerr)
			}
			return Order{}, err
		}
	}
	for i, l := range o.Lines {
		err := s.catalog.Hold(ctx, tenantID, holdKey(o.ID, i), l.ProductID, l.SKUID, l.Qty)
		if err == nil {
			continue
		}
		if _, rerr := s.reject(ctx, tenantID, o.ID, "out of stock"); rerr != nil {
			s.log.Error("reject order", "tenant", tenantID, "order", o.ID, "err", rerr)
		}
		if errors.Is(err, catalog.ErrOutOfStock) {
			return Order{}, s.outOfStock(ctx, tenantID, l)
		}
		return Order{}, err
	}
	ok, err := s.store.Transition(ctx, tenantID, o.ID, []string{Placing}, PendingPayment, Change{}, nil)
	if err != nil {
		return Order{}, err
	}
	if !ok {
		return Order{}, fault.Conflict("the order was interrupted; please place it again")
	}
	o.Status = PendingPayment
	if err := s.removeOrdered(ctx, tenantID, fanID, o.Lines); err != nil {
		s.log.Warn("clear cart", "tenant", tenantID, "fan", fanID, "err", err)
	}
	return o, nil
}

// outOfStock is the 409 that names the product and what is left.
func (s *Service) outOfStock(ctx context.Context, tenantID string, l Line) error {
	name := l.Title
	if l.SKUName != "" {
		name += " (" + l.SKUName + ")"
	}
	msg := fmt.Sprintf("%q is out of stock", name)
	if p, err := s.catalog.Get(ctx, tenantID, l.ProductID); err == nil {
		left := p.Stock
		for _, k := range p.SKUs {
			if k.ID == l.SKUID {
				left = k.Stock
			}
		}
		if left > 0 {
			msg = fmt.Sprintf("only %d of %q left; you asked for %d", left, name, l.Qty)
		}
	}
	return &fault.Error{Status: http.StatusConflict, Code: "out_of_stock", Message: msg, Field: l.ProductID}
}

// reject ends a placing order and gives its stock back.
func (s *Service) reject(ctx context.Context, tenantID, id, reason string) (bool, error) {
	now := s.clock()
	ok, err := s.store.Transition(ctx, tenantID, id, []string{Placing}, Rejected,
		Change{CancelledAt: &now, CancelReason: &reason}, &Event{ID: EventCancelled, Type: EventCancelled, At: now})
	if err != nil || !ok {
		return ok, err
	}
	// Delivery failures leave the events in the outbox for the next pass.
	if err := s.Dispatch(ctx, tenantID, id); err != nil {
		s.log.Warn("dispatch order events", "tenant", tenantID, "order", id, "err", err)
	}
	return true, nil
}

// Get returns one order of the shop.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Order, error) {
	if !engine.ValidID(id) {
		return Order{}, fault.Invalid("id", "%q is not an order id", truncate(id))
	}
	return s.store.Get(ctx, tenantID, id)
}

// GetForFan returns the fan's own order; anyone else's is not found.
func (s *Service) GetForFan(ctx context.Context, tenantID, fanID, id string) (Order, error) {
	o, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if o.FanID != fanID || !visible(o.Status) {
		return Order{}, fault.NotFound("order")
	}
	return o, nil
}

func visible(status string) bool { return status != Placing && status != Rejected }

// List pages through orders.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error) {
	if f.Limit == 0 {
		f.Limit = 20
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, 0, fault.Invalid("limit", "must be between 1 and 100")
	}
	if f.Offset < 0 || f.Offset > 1_000_000 {
		return nil, 0, fault.Invalid("offset", "must be between 0 and 1000000")
	}
	switch f.Status {
	case "", PendingPayment, Paid, Shipped, Completed, Cancelled, Refunded:
	default:
		return nil, 0, fault.Invalid("status", "must be one of pending_payment, paid, shipped, completed, cancelled, refunded")
	}
	if f.FanID != "" && !engine.ValidID(f.FanID) {
		return nil, 0, fault.Invalid("fan_id", "%q is not a fan id", truncate(f.FanID))
	}
	return s.store.List(ctx, tenantID, f)
}

// ConfirmPayment applies a verified payment notification: the payment is
// recorded once per provider transaction, and the order moves to paid
// once, however many times and from however many servers the provider
// notifies. The amount must be what the order asks.
func (s *Service) ConfirmPayment(ctx context.Context, tenantID string, n Notification) error {
	o, err := s.Get(ctx, tenantID, n.OrderID)
	if err != nil {
		return err
	}
	if n.Amount != o.Payable {
		s.log.Error("payment amount mismatch", "tenant", tenantID, "order", o.ID, "paid", n.Amount, "payable", o.Payable)
		return fault.Conflict("paid amount %d does not match the order's %d", n.Amount, o.Payable)
	}
	now := s.clock()
	if _, err := s.store.InsertPayment(ctx, tenantID, Payment{Provider: n.Provider, TransactionID: n.TransactionID,
		OrderID: o.ID, Amount: n.Amount, At: now}); err != nil {
		return err
	}
	// Even a repeated notification tries the transition: the first one may
	// have crashed between recording the payment and marking the order.
	ok, err := s.store.Transition(ctx, tenantID, o.ID, []string{PendingPayment}, Paid, Change{
		PaidAt: &now, Paid: &n.Amount, Provider: &n.Provider, TransactionID: &n.TransactionID,
	}, &Event{ID: EventPaid, Type: EventPaid, Amount: n.Amount, At: now})
	if err != nil {
		return err
	}
	if !ok {
		cur, err := s.store.Get(ctx, tenantID, o.ID)
		if err != nil {
			return err
		}
		if cur.TransactionID == n.TransactionID {
			return nil // a repeated notification of the payment that paid it
		}
		// Money arrived that cannot pay this order: it was cancelled
		// meanwhile (the merchant cancelled while the shopper paid), or
		// another transaction paid it first (the shopper paid twice). The
		// payment is kept, flagged for a refund, and listed to the
		// merchant until marked refunded: never silently kept.
		reason := fmt.Sprintf("the order was already paid by transaction %s", cur.TransactionID)
		if cur.TransactionID == "" {
			reason = fmt.Sprintf("the order was %s when this payment arrived", strings.ReplaceAll(cur.Status, "_", " "))
		}
		flagged, err := s.store.FlagPayment(ctx, tenantID, n.Provider, n.TransactionID, reason)
		if err != nil {
			return err
		}
		if flagged {
			s.log.Error("payment that cannot pay its order: refund it", "tenant", tenantID, "order", o.ID,
				"transaction", n.TransactionID, "amount", n.Amount, "reason", reason)
		}
		return nil
	}
	return s.Dispatch(ctx, tenantID, o.ID)
}

// PaymentsToRefund lists payments in a refund state (PaymentToRefund or
// PaymentRefunded), newest first.
func (s *Service) PaymentsToRefund(ctx context.Context, tenantID, refund string, limit int) ([]Payment, error) {
	if refund == "" {
		refund = PaymentToRefund
	}
	if refund != PaymentToRefund && refund != PaymentRefunded {
		return nil, fault.Invalid("refund", "must be %s or %s", PaymentToRefund, PaymentRefunded)
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 200 {
		return nil, fault.Invalid("limit", "must be between 1 and 200")
	}
	return s.store.Payments(ctx, tenantID, refund, "", limit)
}

// OrderPayments lists every payment recorded for an order.
func (s *Service) OrderPayments(ctx context.Context, tenantID, orderID string) ([]Payment, error) {
	return s.store.Payments(ctx, tenantID, "", orderID, 0)
}

// MarkRefunded records that the merchant gave back a payment flagged for a
// refund (through the provider's merchant platform).
func (s *Service) MarkRefunded(ctx context.Context, tenantID, orderID, provider, transactionID string) (Payment, error) {
	o, err := s.Get(ctx, tenantID, orderID)
	if err != nil {
		return Payment{}, err
	}
	if provider == "" || transactionID == "" {
		return Payment{}, fault.Invalid("transaction_id", "provider and transaction_id are required")
	}
	ok, err := s.store.RefundedPayment(ctx, tenantID, o.ID, provider, transactionID, s.clock())
	if err != nil {
		return Payment{}, err
	}
	all, err := s.store.Payments(ctx, tenantID, "", o.ID, 0)
	if err != nil {
		return Payment{}, err
	}
	for _, p := range all {
		if p.Provider == provider && p.TransactionID == transactionID {
			if !ok && p.Refund != PaymentToRefund {
				return Payment{}, fault.Conflict("payment %s of this order is not waiting for a refund", truncate(transactionID))
			}
			return p, nil
		}
	}
	return Payment{}, fault.NotFound("payment")
}

// transition moves an order and delivers the event, or says why it cannot.
func (s *Service) transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event, verb string) (Order, error) {
	if !engine.ValidID(id) {
		return Order{}, fault.Invalid("id", "%q is not an order id", truncate(id))
	}
	ok, err := s.store.Transition(ctx, tenantID, id, from, to, ch, ev)
	if err != nil {
		return Order{}, err
	}
	o, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if !ok {
		if !visible(o.Status) {
			return Order{}, fault.NotFound("order")
		}
		return Order{}, fault.Conflict("cannot %s an order that is %s (only %s)", verb, strings.ReplaceAll(o.Status, "_", " "),
			strings.ReplaceAll(strings.Join(from, " or "), "_", " "))
	}
	if ev != nil {
		if err := s.Dispatch(ctx, tenantID, id); err != nil {
			s.log.Warn("dispatch order events", "tenant", tenantID, "order", id, "err", err)
		}
		o, err = s.store.Get(ctx, tenantID, id)
	}
	return o, err
}

// Ship marks a paid order shipped.
func (s *Service) Ship(ctx context.Context, tenantID, id, carrier, tracking string) (Order, error) {
	carrier, tracking = strings.TrimSpace(carrier), strings.TrimSpace(tracking)
	if carrier == "" || utf8.RuneCountInString(carrier) > 32 {
		return Order{}, fault.Invalid("carrier", "is required, at most 32 characters")
	}
	if tracking == "" || len(tracking) > 64 {
		return Order{}, fault.Invalid("tracking_no", "is required, at most 64 characters")
	}
	now := s.clock()
	return s.transition(ctx, tenantID, id, []string{Paid}, Shipped, Change{ShippedAt: &now, Carrier: &carrier, TrackingNo: &tracking},
		&Event{ID: EventShipped, Type: EventShipped, At: now}, "ship")
}

// Complete marks a shipped order completed (received).
func (s *Service) Complete(ctx context.Context, tenantID, id string) (Order, error) {
	now := s.clock()
	return s.transition(ctx, tenantID, id, []string{Shipped}, Completed, Change{CompletedAt: &now},
		&Event{ID: EventCompleted, Type: EventCompleted, At: now}, "complete")
}

// Cancel cancels an unpaid order; its stock returns exactly once.
func (s *Service) Cancel(ctx context.Context, tenantID, id, reason string) (Order, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 200 {
		return Order{}, fault.Invalid("reason", "must be at most 200 characters")
	}
	now := s.clock()
	return s.transition(ctx, tenantID, id, []string{PendingPayment}, Cancelled, Change{CancelledAt: &now, CancelReason: &reason},
		&Event{ID: EventCancelled, Type: EventCancelled, At: now}, "cancel")
}

// CancelForFan lets a consumer cancel their own unpaid order.
func (s *Service) CancelForFan(ctx context.Context, tenantID, fanID, id string) (Order, error) {
	if _, err := s.GetForFan(ctx, tenantID, fanID, id); err != nil {
		return Order{}, err
	}
	return s.Cancel(ctx, tenantID, id, "cancelled by the buyer")
}

// RefundRequest is a merchant's refund.
type RefundRequest struct {
	Amount int64  `json:"amount"`
	Reason string `json:"reason"`
}

// Refund refunds part or all of a paid order: never more than was paid
// minus what was refunded before, however many refunds race.
func (s *Service) Refund(ctx context.Context, tenantID, id string, req RefundRequest) (Order, error) {
	if !engine.ValidID(id) {
		return Order{}, fault.Invalid("id", "%q is not an order id", truncate(id))
	}
	if req.Amount <= 0 {
		return Order{}, fault.Invalid("amount", "must be a positive number of fen")
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if utf8.RuneCountInString(req.Reason) > 200 {
		return Order{}, fault.Invalid("reason", "must be at most 200 characters")
	}
	now := s.clock()
	r := Refund{ID: engine.NewID(), Amount: req.Amount, Reason: req.Reason, At: now}
	from := []string{Paid, Shipped, Completed}
	ok, err := s.store.AddRefund(ctx, tenantID, id, from, r, Event{ID: "refund:" + r.ID, Type: EventRefunded, Amount: r.Amount, At: now})
	if err != nil {
		return Order{}, err
	}
	o, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if !ok {
		switch {
		case !visible(o.Status):
			return Order{}, fault.NotFound("order")
		case o.Status == PendingPayment || o.Status == Cancelled:
			return Order{}, fault.Conflict("cannot refund an order that is %s: it was never paid", strings.ReplaceAll(o.Status, "_", " "))
		default:
			return Order{}, fault.Conflict("at most %d fen can still be refunded (paid %d, refunded %d)", o.Refundable, o.Paid, o.Refunded)
		}
	}
	if err := s.Dispatch(ctx, tenantID, id); err != nil {
		s.log.Warn("dispatch order events", "tenant", tenantID, "order", id, "err", err)
	}
	return s.store.Get(ctx, tenantID, id)
}

// Dispatch delivers the order's pending events, in order, and removes those
// delivered. An event goes to every subscriber at once: they are
// independent and idempotent, and their writes then share the database's
// group commits instead of waiting for one another. A failing subscriber
// leaves the event (and those after it) for the next pass, which delivers
// it again to all of them.
func (s *Service) Dispatch(ctx context.Context, tenantID, id string) error {
	o, err := s.store.Get(ctx, tenantID, id)
	if err != nil || len(o.Events) == 0 {
		return err
	}
	var done []Event
	var derr error
	for _, ev := range o.Events {
		if derr = s.deliver(ctx, tenantID, o, ev); derr != nil {
			break
		}
		done = append(done, ev)
	}
	if len(done) > 0 {
		if err := s.store.AckEvents(ctx, tenantID, id, done); err != nil {
			return err
		}
	}
	return derr
}

// deliver hands ev to every subscriber concurrently and returns the first
// subscriber's error, in subscription order.
func (s *Service) deliver(ctx context.Context, tenantID string, o Order, ev Event) error {
	if len(s.subs) == 1 {
		return s.subs[0].OrderEvent(ctx, tenantID, o, ev)
	}
	errs := make([]error, len(s.subs))
	var wg sync.WaitGroup
	for i, sub := range s.subs {
		wg.Go(func() { errs[i] = sub.OrderEvent(ctx, tenantID, o, ev) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// stockKeeper commits an order's stock holds when it is paid and releases
// them when it is cancelled or rejected; both are idempotent per hold.
type stockKeeper struct{ cat *catalog.Catalog }

func (k stockKeeper) OrderEvent(ctx context.Context, tenantID string, o Order, ev Event) error {
	for i, l := range o.Lines {
		var err error
		switch ev.Type {
		case EventPaid:
			err = k.cat.Commit(ctx, tenantID, holdKey(o.ID, i), l.ProductID, l.SKUID)
		case EventCancelled:
			_, err = k.cat.Release(ctx, tenantID, holdKey(o.ID, i), l.ProductID, l.SKUID)
		}
		if err != nil {
			return fmt.Errorf("stock of order %s line %d: %w", o.ID, i, err)
		}
	}
	return nil
}
