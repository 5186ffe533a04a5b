// Package distribution grows a shop through people: shopping guides whose
// QR codes attribute fans and orders to them (package guide), distributors
// who share the shop and recruit others (the team tree, package tree), and
// the commission they earn (the ledger, package ledger).
//
// This package holds what ties them to the shop: the settings, the
// customer binding (who earns on a customer's orders, set by touches under
// the shop's policy, with an audit trail), the order Attributor that
// snapshots guide, store, distributor and commission path into every new
// order, the order Subscriber that turns paid, refunded and completed
// orders into ledger entries and counters, the storefront middleware that
// records touches (?g=, ?d=, ?ch=), the WeChat scene hook, the cron pass,
// and the HTTP surface (merchant API, console, distributor centre).
//
// Two relationships are kept apart on purpose. The team tree says who
// recruited whom and changes only by a merchant's move. The binding says
// who earns on this customer and follows the touch policy. An order
// snapshots the binding and the path when it is placed; later rebinding
// never moves it.
//
// # Exactly once
//
//   - Commission: one ledger entry per (order, level, beneficiary), keyed
//     by that triple (package ledger); refunds, settlements and withdrawals
//     are entries keyed by what caused them, chained per beneficiary by a
//     unique sequence number. All unique inserts.
//   - Counters (the guide funnel, team sales, a fan's paid orders): moved
//     only by the delivery that inserted the event's record first (a sale
//     keyed by order id, a marker keyed by order and refund). A crash
//     between that insert and the increment leaves a counter short until
//     the rebuild job; money never rests on a counter.
//   - One distributor per fan: a unique fan id on insert.
//   - A binding changes by compare-and-set on its revision (one record):
//     of two racing touches one applies, the other re-reads and decides
//     again under the policy.
package distribution

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// TenantLookup finds a shop (for its time zone); tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Orders reads orders (the console's recommendation path); order.Service
// is one.
type Orders interface {
	Get(ctx context.Context, tenantID, id string) (order.Order, error)
}

// WeChatQR issues a shop's WeChat parametric QR code for a scene and
// renders it; wechat.Accounts is one. It fails for a shop without an
// official account, and the code falls back to a storefront link.
type WeChatQR interface {
	QRCode(ctx context.Context, tenantID, scene string, permanent bool) (url string, png []byte, err error)
}

// Service runs distribution for every shop.
type Service struct {
	store   Store
	guides  *guide.Guides
	tree    *tree.Tree
	ledger  *ledger.Ledger
	fans    fan.Store
	shops   TenantLookup
	orders  Orders
	wechat  WeChatQR
	log     *slog.Logger
	now     func() time.Time
	baseURL string
}

// Config is what New needs besides the engine.
type Config struct {
	// Locker serialises tree moves across replicas (tenants.Leaser).
	Locker tree.Locker
	Shops  TenantLookup
	Fans   fan.Store
	Orders Orders
	Log    *slog.Logger
	// BaseURL is the public address printed in QR codes (empty: the
	// request's host).
	BaseURL string
}

// New returns the distribution service over the engine's stores.
func New(e *engine.Engine, cfg Config) *Service {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: NewStore(e), guides: guide.New(guide.NewStore(e)), tree: tree.New(tree.NewStore(e), cfg.Locker),
		ledger: ledger.New(ledger.NewStore(e)), fans: cfg.Fans, shops: cfg.Shops, orders: cfg.Orders, log: log, now: time.Now,
		baseURL: cfg.BaseURL}
}

// SetClock replaces the clock of the service and its parts (tests).
func (s *Service) SetClock(now func() time.Time) {
	s.now = now
	s.guides.SetClock(now)
	s.tree.SetClock(now)
	s.ledger.SetClock(now)
}

// SetWeChatQR plugs in WeChat parametric QR codes for guides and
// distributors (server wires it when the WeChat package is there).
func (s *Service) SetWeChatQR(q WeChatQR) { s.wechat = q }

// Store, Guides, Tree and Ledger expose the parts (jobs, tests, bench).
func (s *Service) Store() Store           { return s.store }
func (s *Service) Guides() *guide.Guides  { return s.guides }
func (s *Service) Tree() *tree.Tree       { return s.tree }
func (s *Service) Ledger() *ledger.Ledger { return s.ledger }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Service) settings(ctx context.Context, tenantID string) (Settings, error) {
	return s.store.Settings(ctx, tenantID)
}

// zone is the shop's time zone (day boundaries of the funnel).
func (s *Service) zone(ctx context.Context, tenantID string) *time.Location {
	if s.shops != nil {
		if t, err := s.shops.TenantByID(ctx, tenantID); err == nil {
			return zoneOf(t)
		}
	}
	return zoneOf(tenants.Tenant{})
}

func zoneOf(t tenants.Tenant) *time.Location {
	name := t.TimeZone
	if name == "" {
		name = tenants.DefaultTimeZone
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Channels an order can come through.
const (
	ChannelGuideQR   = "guide_qr"
	ChannelShareLink = "share_link"
	ChannelWeChatQR  = "wechat_qr"
	ChannelDirect    = "direct"
)

// Touch is a fan arriving through a code: a guide's QR (?g=), a
// distributor's link (?d=), a tagged link (?ch=), or a WeChat scene.
type Touch struct {
	GuideCode       string
	DistributorCode string
	Channel         string
	Via             string // "link" or "wechat"
	Follow          bool   // a WeChat follow that carried the scene
}

// maxBindRetries bounds how often a touch re-reads a binding that another
// touch changed under it.
const maxBindRetries = 20

// Record records a touch for the fan of shop t: it binds the customer per
// the shop's policy, logs it, and counts the guide's visit (and follow).
// Unknown codes, a departed guide's, a distributor who is not active and
// another shop's codes are ignored, as is a distributor's own code (no
// self-binding). A fan who is a distributor is never bound to another
// distributor: their orders go up their own team line, so no A↔B loop
// can form through bindings.
func (s *Service) Record(ctx context.Context, t tenants.Tenant, fanID string, in Touch) error {
	if fanID == "" {
		return nil
	}
	now := s.clock()
	var g guide.Guide
	if in.GuideCode != "" {
		if got, err := s.guides.ByCode(ctx, t.ID, in.GuideCode); err == nil {
			g = got
		} else if !errors.Is(err, fault.ErrNotFound) {
			return err
		}
	}
	st, err := s.settings(ctx, t.ID)
	if err != nil {
		return err
	}
	var d tree.Distributor
	if in.DistributorCode != "" && st.Enabled && tree.ValidCode(in.DistributorCode) {
		got, err := s.tree.Store().ByCode(ctx, t.ID, in.DistributorCode)
		switch {
		case err == nil && got.Status == tree.Active && got.FanID != fanID:
			d = got
		case err != nil && !errors.Is(err, fault.ErrNotFound):
			return err
		}
		if d.ID != "" {
			// A distributor fan is never bound to another distributor.
			if _, err := s.tree.Store().ByFan(ctx, t.ID, fanID); err == nil {
				d = tree.Distributor{}
			} else if !errors.Is(err, fault.ErrNotFound) {
				return err
			}
		}
	}
	channel := in.Channel
	if channel == "" {
		switch {
		case in.Via == "wechat" && (g.ID != "" || d.ID != ""):
			channel = ChannelWeChatQR
		case g.ID != "":
			channel = ChannelGuideQR
		case d.ID != "":
			channel = ChannelShareLink
		}
	}
	if g.ID == "" && d.ID == "" && channel == "" {
		return nil // nothing this shop knows
	}

	var created bool
	var gRes, dRes string
	for attempt := 0; ; attempt++ {
		b, err := s.store.Binding(ctx, t.ID, fanID)
		exists := err == nil
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
		if !exists {
			b = Binding{FanID: fanID, CreatedAt: now}
		}
		next := b
		gRes, dRes = "", ""
		if g.ID != "" {
			next.Guide, gRes = st.claim(b.Guide, g.ID, g.StoreID, channel, now)
		}
		if d.ID != "" {
			next.Distributor, dRes = st.claim(b.Distributor, d.ID, "", channel, now)
			next.ReferrerID = d.ID
		}
		if channel != "" {
			next.Channel = channel
		}
		next.UpdatedAt = now
		if !exists {
			err = s.store.InsertBinding(ctx, t.ID, next)
			if err == nil {
				created = true
				break
			}
			if !engine.IsUniqueViolation(err) {
				return err
			}
		} else {
			ok, err := s.store.UpdateBinding(ctx, t.ID, next)
			if err != nil {
				return err
			}
			if ok {
				break
			}
		}
		if attempt >= maxBindRetries {
			return fmt.Errorf("bind fan %s: the binding kept changing", fanID)
		}
	}

	// Audit trail: the touch and what it did to each slot.
	log := LogEntry{ID: engine.NewID(), FanID: fanID, Kind: "touch", Via: in.Via, Channel: channel, At: now}
	var codes, results []string
	if in.GuideCode != "" {
		codes = append(codes, "g:"+in.GuideCode)
		results = append(results, "guide "+orIgnored(gRes))
	}
	if in.DistributorCode != "" {
		codes = append(codes, "d:"+in.DistributorCode)
		results = append(results, "distributor "+orIgnored(dRes))
	}
	log.Code, log.Result = strings.Join(codes, " "), strings.Join(results, ", ")
	if g.ID != "" {
		log.To = g.ID
	}
	if d.ID != "" {
		log.To = strings.TrimSpace(log.To + " " + d.ID)
	}
	if err := s.store.Log(ctx, t.ID, log); err != nil {
		return err
	}
	if g.ID != "" {
		c := guide.Counts{Visits: 1}
		if in.Follow {
			c.Follows = 1
		}
		if created {
			c.NewFans = 1 // the fan's first touch was this guide's code
		}
		if err := s.guides.Count(ctx, t.ID, g, now, zoneOf(t), c); err != nil {
			return err
		}
	}
	return nil
}

func orIgnored(r string) string {
	if r == "" {
		return "ignored"
	}
	return r
}

// MergeFan implements fan.Merger: when a browser fan signs in with WeChat
// and its cookie identity is merged into the WeChat fan, the bindings the
// browser fan collected follow it, into the slots the WeChat fan does not
// hold yet (an active binding of the WeChat fan wins). Replays are no-ops.
func (s *Service) MergeFan(ctx context.Context, tenantID, fromID, intoID string) error {
	from, err := s.store.Binding(ctx, tenantID, fromID)
	if errors.Is(err, fault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.clock()
	for attempt := 0; attempt <= maxBindRetries; attempt++ {
		into, err := s.store.Binding(ctx, tenantID, intoID)
		exists := err == nil
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
		if !exists {
			into = Binding{FanID: intoID, CreatedAt: now}
		}
		next, changed := into, false
		if !into.Guide.Active(now) && from.Guide.Active(now) {
			next.Guide, changed = from.Guide, true
		}
		if !into.Distributor.Active(now) && from.Distributor.Active(now) {
			next.Distributor, changed = from.Distributor, true
		}
		if next.ReferrerID == "" && from.ReferrerID != "" {
			next.ReferrerID, changed = from.ReferrerID, true
		}
		if next.Channel == "" {
			next.Channel = from.Channel
		}
		if !changed {
			return nil
		}
		next.UpdatedAt = now
		ok := false
		if exists {
			if ok, err = s.store.UpdateBinding(ctx, tenantID, next); err != nil {
				return err
			}
		} else if err = s.store.InsertBinding(ctx, tenantID, next); err == nil {
			ok = true
		} else if !engine.IsUniqueViolation(err) {
			return err
		}
		if ok {
			return s.store.Log(ctx, tenantID, LogEntry{ID: engine.NewID(), FanID: intoID, Kind: "merge", From: fromID,
				To: strings.TrimSpace(next.Guide.ID + " " + next.Distributor.ID), At: now})
		}
	}
	return fmt.Errorf("merge fan %s into %s: the binding kept changing", fromID, intoID)
}

// Touch implements fan.Attributor: a WeChat scene a fan followed through
// (channel "subscribe") or scanned ("scan"), "g:<code>" for a guide or
// "d:<code>" for a distributor, is the same touch as the storefront link,
// with the follow counted in the guide's funnel. Other scenes are not
// distribution's and are ignored. The fan service may deliver one event
// twice; a marker per fan, scene, channel and minute makes the repeat a
// no-op (two real scans of one code within a minute count once).
func (s *Service) Touch(ctx context.Context, tenantID, fanID, scene, channel string) error {
	scene = strings.TrimPrefix(scene, "qrscene_")
	kind, code, ok := strings.Cut(scene, ":")
	if !ok || fanID == "" {
		return nil
	}
	in := Touch{Via: "wechat", Follow: channel == "subscribe"}
	switch kind {
	case "g":
		in.GuideCode = code
	case "d":
		in.DistributorCode = code
	default:
		return nil
	}
	minute := s.clock().Unix() / 60
	first, err := s.store.Mark(ctx, tenantID, fmt.Sprintf("wx:%s:%s:%s:%d", fanID, scene, channel, minute))
	if err != nil || !first {
		return err
	}
	t := tenants.Tenant{ID: tenantID}
	if s.shops != nil {
		if got, err := s.shops.TenantByID(ctx, tenantID); err == nil {
			t = got
		}
	}
	return s.Record(ctx, t, fanID, in)
}

// Attribute implements order.Attributor: who gets credit for the fan's
// order placed now. The guide comes from the fan's active guide binding;
// the distributor from the fan's own distributor record when the fan is a
// distributor (their team line), else from the active distributor binding;
// the path is the distributor (level 1, unless a distributor's own order
// without self-purchase commission) and its upline, as many as the shop
// has levels. A handful of reads, whatever the tree's size or depth.
func (s *Service) Attribute(ctx context.Context, tenantID, fanID string) (order.Attribution, error) {
	a := order.Attribution{Channel: ChannelDirect}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return a, err
	}
	now := s.clock()
	b, err := s.store.Binding(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		b, err = Binding{}, nil
	}
	if err != nil {
		return a, err
	}
	if b.Guide.Active(now) {
		g, err := s.guides.Store().Guide(ctx, tenantID, b.Guide.ID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return a, err
		}
		if err == nil && g.Active {
			a.GuideID, a.StoreID, a.Channel = g.ID, g.StoreID, orDirect(b.Guide.Channel)
		}
	}
	if !st.Enabled {
		return a, nil
	}
	levels := len(st.Levels)
	self, err := s.tree.Store().ByFan(ctx, tenantID, fanID)
	switch {
	case err == nil && self.Status == tree.Active:
		a.DistributorID = self.ID
		if st.SelfPurchase {
			a.Path = append([]string{self.ID}, self.Upline...)
		} else {
			a.Path = slices.Clone(self.Upline)
		}
	case err != nil && !errors.Is(err, fault.ErrNotFound):
		return a, err
	case b.Distributor.Active(now):
		d, err := s.tree.Store().Light(ctx, tenantID, b.Distributor.ID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return a, err
		}
		if err == nil && d.Status == tree.Active && d.FanID != fanID {
			a.DistributorID = d.ID
			a.Path = append([]string{d.ID}, d.Upline...)
			if a.GuideID == "" {
				a.Channel = orDirect(b.Distributor.Channel)
			}
		}
	}
	if len(a.Path) > levels {
		a.Path = a.Path[:levels]
	}
	if len(a.Path) == 0 {
		a.Path = nil
	}
	return a, nil
}

func orDirect(ch string) string {
	if ch == "" {
		return ChannelDirect
	}
	return ch
}

// OrderEvent implements order.Subscriber. It is idempotent by (order,
// event): paid creates the commission entries and moves the counters once;
// refunded reverses commission pro rata; completed schedules the
// commission's available date; cancelled has nothing to pay.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	switch ev.Type {
	case order.EventPaid:
		return s.paid(ctx, tenantID, o, ev)
	case order.EventRefunded:
		return s.refunded(ctx, tenantID, o, ev)
	case order.EventCompleted:
		return s.completed(ctx, tenantID, o, ev)
	}
	return nil
}

func (s *Service) paid(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	a := o.Attribution
	sale := Sale{OrderID: o.ID, FanID: o.FanID, GuideID: a.GuideID, StoreID: a.StoreID, DistributorID: a.DistributorID,
		Channel: orDirect(a.Channel), Base: Base(o), Paid: o.Paid, PaidAt: ev.At}
	first, err := s.store.InsertSale(ctx, tenantID, sale)
	if err != nil {
		return err
	}
	if first {
		if err := s.store.CountPaid(ctx, tenantID, o.FanID); err != nil {
			return err
		}
		if a.GuideID != "" {
			if err := s.guides.CountOrdering(ctx, tenantID, a.GuideID, a.StoreID, o.FanID, ev.At, s.zone(ctx, tenantID),
				guide.Counts{Orders: 1, PaidGMV: sale.Base}); err != nil {
				return err
			}
		}
		if err := s.tree.AddSales(ctx, tenantID, a.DistributorID, sale.Base); err != nil {
			return err
		}
	}
	if len(a.Path) == 0 {
		return nil
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return err
	}
	if !st.Enabled {
		return nil
	}
	var earnings []ledger.Earning
	for _, e := range st.Commission(o, a.Path) {
		earnings = append(earnings, ledger.Earning{OrderID: o.ID, FanID: o.FanID, Level: e.Level,
			Beneficiary: e.Beneficiary, Amount: e.Amount, Base: e.Base, RateBps: e.RateBps})
	}
	if err := s.ledger.EarnAll(ctx, tenantID, earnings); err != nil {
		return fmt.Errorf("commission of order %s: %w", o.ID, err)
	}
	return nil
}

// share is x's part of refunds totalling r out of paid: floor(x·r/paid),
// all of x once everything was refunded.
func share(x, r, paid int64) int64 {
	if paid <= 0 || r >= paid {
		return x
	}
	return x * r / paid
}

func (s *Service) refunded(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	refundID := strings.TrimPrefix(ev.ID, "refund:")
	var before int64
	found := false
	for _, r := range o.Refunds {
		if r.ID == refundID {
			found = true
			break
		}
		before += r.Amount
	}
	if !found {
		return fmt.Errorf("order %s has no refund %s", o.ID, refundID)
	}
	after := before + ev.Amount
	base := Base(o)
	baseShare := share(base, after, o.Paid) - share(base, before, o.Paid)
	first, err := s.store.Mark(ctx, tenantID, "refund:"+o.ID+":"+refundID)
	if err != nil {
		return err
	}
	a := o.Attribution
	if first {
		if err := s.store.AddSaleRefund(ctx, tenantID, o.ID, ev.Amount, baseShare); err != nil {
			return err
		}
		if a.GuideID != "" {
			if err := s.guides.Store().Count(ctx, tenantID, a.GuideID, a.StoreID, guide.DayOf(ev.At, s.zone(ctx, tenantID)),
				guide.Counts{Refunds: 1, RefundAmount: ev.Amount}); err != nil {
				return err
			}
		}
		if err := s.tree.AddSales(ctx, tenantID, a.DistributorID, -baseShare); err != nil {
			return err
		}
	}
	if len(a.Path) == 0 {
		return nil
	}
	entries, err := s.ledger.ByOrder(ctx, tenantID, o.ID)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type != ledger.TypeEarn {
			continue
		}
		back := share(e.Amount, after, o.Paid) - share(e.Amount, before, o.Paid)
		if _, _, err := s.ledger.Reverse(ctx, tenantID, e, refundID, back); err != nil {
			return fmt.Errorf("reverse commission %s: %w", e.ID, err)
		}
	}
	return nil
}

func (s *Service) completed(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if len(o.Attribution.Path) == 0 {
		return nil
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return err
	}
	at := ev.At
	if o.CompletedAt != nil {
		at = *o.CompletedAt
	}
	return s.ledger.ScheduleOrder(ctx, tenantID, o.ID, at.AddDate(0, 0, st.AfterSaleDays))
}

// Join makes the fan a distributor under the shop's recruit rule: at once
// (open), once they have a paid order (first_purchase), or as an
// application the merchant approves (approval). The parent is the
// distributor whose link brought the fan. One fan, one distributor, however
// many requests race.
func (s *Service) Join(ctx context.Context, tenantID, fanID string) (tree.Distributor, bool, error) {
	if existing, err := s.tree.Store().ByFan(ctx, tenantID, fanID); err == nil {
		return existing, false, nil
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return tree.Distributor{}, false, err
	}
	if !st.Enabled {
		return tree.Distributor{}, false, fault.Conflict("this shop has no distributor programme")
	}
	b, err := s.store.Binding(ctx, tenantID, fanID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return tree.Distributor{}, false, err
	}
	status := tree.Active
	switch st.Recruit {
	case RecruitFirstPurchase:
		if b.PaidOrders == 0 {
			return tree.Distributor{}, false, fault.Conflict("distributors of this shop join after their first purchase")
		}
	case RecruitApproval:
		status = tree.Pending
	}
	if s.fans != nil {
		if _, err := s.fans.Ensure(ctx, tenantID, fanID, "direct", s.clock()); err != nil {
			return tree.Distributor{}, false, err
		}
	}
	return s.tree.Join(ctx, tenantID, fanID, b.ReferrerID, status)
}

// Reassign is a merchant's manual change of a customer's binding: slot
// "guide" or "distributor" to id ("" unbinds). It is logged with who did it.
func (s *Service) Reassign(ctx context.Context, tenantID, fanID, slot, id, by string) (Binding, error) {
	if slot != "guide" && slot != "distributor" {
		return Binding{}, fault.Invalid("slot", "must be guide or distributor")
	}
	next := Slot{}
	if id != "" {
		if slot == "guide" {
			g, err := s.guides.Guide(ctx, tenantID, id)
			if errors.Is(err, fault.ErrNotFound) || (err == nil && !g.Active) {
				return Binding{}, fault.Invalid("guide_id", "no active guide %s in this shop", truncate(id))
			}
			if err != nil {
				return Binding{}, err
			}
			next = Slot{ID: g.ID, StoreID: g.StoreID, Channel: "manual"}
		} else {
			if !engine.ValidID(id) {
				return Binding{}, fault.Invalid("distributor_id", "%q is not a distributor id", truncate(id))
			}
			d, err := s.tree.Store().Light(ctx, tenantID, id)
			if errors.Is(err, fault.ErrNotFound) || (err == nil && d.Status != tree.Active) {
				return Binding{}, fault.Invalid("distributor_id", "no active distributor %s in this shop", truncate(id))
			}
			if err != nil {
				return Binding{}, err
			}
			if d.FanID == fanID {
				return Binding{}, fault.Invalid("distributor_id", "a customer cannot be bound to themselves")
			}
			next = Slot{ID: d.ID, Channel: "manual"}
		}
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return Binding{}, err
	}
	now := s.clock()
	if next.ID != "" {
		next.At = now
		if st.Binding == BindDays {
			next.Until = now.AddDate(0, 0, st.BindingDays)
		}
		if st.ProtectionDays > 0 {
			next.Protect = now.AddDate(0, 0, st.ProtectionDays)
		}
	}
	for attempt := 0; attempt <= maxBindRetries; attempt++ {
		b, err := s.store.Binding(ctx, tenantID, fanID)
		if err != nil {
			return Binding{}, err // a customer the shop has never seen is a 404
		}
		from := b.Guide.ID
		if slot == "guide" {
			b.Guide = next
		} else {
			from = b.Distributor.ID
			b.Distributor = next
		}
		b.UpdatedAt = now
		ok, err := s.store.UpdateBinding(ctx, tenantID, b)
		if err != nil {
			return Binding{}, err
		}
		if !ok {
			continue
		}
		if err := s.store.Log(ctx, tenantID, LogEntry{ID: engine.NewID(), FanID: fanID, Kind: "manual", Slot: slot,
			From: from, To: next.ID, By: by, At: now}); err != nil {
			return Binding{}, err
		}
		b.Rev++
		return b, nil
	}
	return Binding{}, fault.Conflict("the customer's binding kept changing; try again")
}

// HandoverReport says what a hand-over did.
type HandoverReport struct {
	Guide     guide.Guide `json:"guide"`
	To        string      `json:"to"`
	Customers int         `json:"customers"`
}

// Handover deactivates a guide who leaves and moves every customer bound to
// them to another guide, in one action; each move is logged. Orders
// already placed keep their attribution.
func (s *Service) Handover(ctx context.Context, tenantID, guideID, toID, by string) (HandoverReport, error) {
	g, err := s.guides.Guide(ctx, tenantID, guideID)
	if err != nil {
		return HandoverReport{}, err
	}
	to, err := s.guides.Guide(ctx, tenantID, toID)
	if errors.Is(err, fault.ErrNotFound) || (err == nil && (!to.Active || to.ID == g.ID)) {
		return HandoverReport{}, fault.Invalid("to_guide_id", "must be another active guide of this shop")
	}
	if err != nil {
		return HandoverReport{}, err
	}
	if g.Active {
		if g, err = s.guides.Leave(ctx, tenantID, g, to.ID); err != nil {
			return HandoverReport{}, err
		}
	}
	r := HandoverReport{Guide: g, To: to.ID}
	now := s.clock()
	for {
		// Moved bindings leave the index range, so the first page is
		// always the next one.
		page, err := s.store.BoundTo(ctx, tenantID, "guide", g.ID, 200, 0)
		if err != nil {
			return r, err
		}
		if len(page) == 0 {
			return r, nil
		}
		for _, b := range page {
			if b.Guide.ID != g.ID {
				continue
			}
			b.Guide = Slot{ID: to.ID, StoreID: to.StoreID, Channel: b.Guide.Channel, At: now, Until: b.Guide.Until, Protect: b.Guide.Protect}
			b.UpdatedAt = now
			ok, err := s.store.UpdateBinding(ctx, tenantID, b)
			if err != nil {
				return r, err
			}
			if !ok {
				continue // changed meanwhile: the next page re-reads it
			}
			if err := s.store.Log(ctx, tenantID, LogEntry{ID: engine.NewID(), FanID: b.FanID, Kind: "handover", Slot: "guide",
				From: g.ID, To: to.ID, By: by, At: now}); err != nil {
				return r, err
			}
			r.Customers++
		}
	}
}

// JobReport counts what one pass over a shop did.
type JobReport struct {
	Settled, Closed, Rolled int
}

// jobBatch bounds one pass's work per shop and kind.
const jobBatch = 500

// RunJobs is the periodic pass over one shop: settle commission whose
// after-sale window has passed, close withdrawals decided but not closed
// (a crash between the decision and its ledger entry), and roll own sales
// up the team tree. Every step is idempotent, so a pass may crash or run
// twice without harm.
func (s *Service) RunJobs(ctx context.Context, tenantID string) (JobReport, error) {
	var r JobReport
	var err error
	if r.Settled, err = s.ledger.SettleDue(ctx, tenantID, jobBatch); err != nil {
		return r, fmt.Errorf("settle: %w", err)
	}
	if r.Closed, err = s.ledger.CloseDecided(ctx, tenantID, jobBatch); err != nil {
		return r, fmt.Errorf("close withdrawals: %w", err)
	}
	if r.Rolled, err = s.tree.Rollup(ctx, tenantID, jobBatch); err != nil {
		return r, fmt.Errorf("roll up team sales: %w", err)
	}
	return r, nil
}

// Rebuild recomputes the team tree's paths and counters from the records:
// own sales from the sales (less refunds), team size by counting. The
// guide funnel's days are not rebuilt: their inputs (visits, follows) are
// not kept one by one.
func (s *Service) Rebuild(ctx context.Context, tenantID string) (tree.RebuildReport, error) {
	own := map[string]int64{}
	for after := ""; ; {
		page, err := s.store.AllSales(ctx, tenantID, after, 1000)
		if err != nil {
			return tree.RebuildReport{}, err
		}
		for _, sl := range page {
			if sl.DistributorID != "" {
				own[sl.DistributorID] += sl.Base - sl.RefundedBase
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].OrderID
	}
	return s.tree.Rebuild(ctx, tenantID, own)
}
