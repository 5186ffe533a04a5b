package points

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// TenantLookup finds a shop by id (for its time zone in cron passes);
// tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Notifier tells fans about their points. shop/message implements it
// (a template message when the shop configured one, else the storefront
// inbox); both calls must be idempotent by their arguments, as the cron
// pass may repeat them after a crash.
type Notifier interface {
	PointsExpiring(ctx context.Context, tenantID, fanID string, points int64, expiresAt time.Time) error
	CheckinReminder(ctx context.Context, tenantID, fanID, day string) error
}

// Audience is told a fan's points figures after they change, so message
// segments can select by balance and streak; active, when not zero, is
// when the fan did it (a check-in), for the interaction rate. Optional.
type Audience interface {
	PointsChanged(ctx context.Context, tenantID, fanID string, balance int64, streak int, lastDay string, active time.Time) error
}

// Interaction counts the fans active lately, for the console's interaction
// rate. Optional; shop/message implements it from its audience records.
type Interaction interface {
	Interaction(ctx context.Context, tenantID string, now time.Time) (active7, active30, fans int64, err error)
}

// Service runs points for every shop.
type Service struct {
	store       Store
	fans        fan.Store
	tenants     TenantLookup
	notifier    Notifier
	audience    Audience
	interaction Interaction
	log         *slog.Logger
	now         func() time.Time
}

// NewService returns the points service.
func NewService(store Store, fans fan.Store, lookup TenantLookup, log *slog.Logger) *Service {
	return &Service{store: store, fans: fans, tenants: lookup, log: log, now: time.Now}
}

// SetNotifier plugs in the fans' notices (wired by server).
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// SetAudience plugs in the audience records (wired by server).
func (s *Service) SetAudience(a Audience) { s.audience = a }

// SetInteraction plugs in the interaction counts (wired by server).
func (s *Service) SetInteraction(i Interaction) { s.interaction = i }

// SetClock replaces the clock (tests, operators replaying a pass).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the points store.
func (s *Service) Store() Store { return s.store }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Rules returns the shop's rules.
func (s *Service) Rules(ctx context.Context, tenantID string) (Rules, error) {
	return s.store.Rules(ctx, tenantID)
}

// SaveRules validates and stores the shop's rules.
func (s *Service) SaveRules(ctx context.Context, tenantID string, r Rules) (Rules, error) {
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, s.store.SaveRules(ctx, tenantID, r)
}

// apply applies b and tells the audience what changed.
func (s *Service) apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error) {
	res, err := s.store.Apply(ctx, tenantID, fanID, b)
	if err != nil {
		return res, err
	}
	s.told(ctx, tenantID, fanID, res, time.Time{})
	return res, nil
}

// told tells the audience a fan's new figures after an applied batch (and
// when the fan was active, if it was the fan's doing).
func (s *Service) told(ctx context.Context, tenantID, fanID string, res Result, active time.Time) {
	if !res.Applied || s.audience == nil {
		return
	}
	a := res.Account
	if err := s.audience.PointsChanged(ctx, tenantID, fanID, a.Balance, a.Streak, a.LastDay, active); err != nil {
		s.log.Warn("tell the audience about points", "tenant", tenantID, "fan", fanID, "err", err)
	}
}

// CheckinResult is the answer to a check-in.
type CheckinResult struct {
	PointsAwarded int64  `json:"points_awarded"`
	Streak        int    `json:"streak"`
	Balance       int64  `json:"balance"`
	Already       bool   `json:"already_checked_in"`
	Day           string `json:"day"`
	Base          int64  `json:"base"`
	StreakBonus   int64  `json:"streak_bonus"`
	Cumulative    int64  `json:"cumulative_bonus"`
	Message       string `json:"message"`
}

// ErrCheckinOff is a check-in at a shop that turned check-in off.
var ErrCheckinOff = fault.Conflict("this shop has no daily check-in")

// CheckIn checks the fan in for today (in the shop's zone). However many
// check-ins race, the day's record is inserted once, and only the request
// that inserted it applies the award; the others answer "already checked
// in" with what the fan has.
func (s *Service) CheckIn(ctx context.Context, t tenants.Tenant, fanID string) (CheckinResult, error) {
	rules, err := s.store.Rules(ctx, t.ID)
	if err != nil {
		return CheckinResult{}, err
	}
	if !rules.Enabled {
		return CheckinResult{}, ErrCheckinOff
	}
	now := s.clock()
	loc := Zone(t)
	day := now.In(loc).Format(time.DateOnly)
	if _, err := s.fans.Ensure(ctx, t.ID, fanID, "direct", now); err != nil {
		return CheckinResult{}, err
	}
	var prev *Checkin
	p, err := s.store.LastCheckin(ctx, t.ID, fanID, day)
	switch {
	case err == nil:
		prev = &p
		if !p.Applied {
			// The award of that day was interrupted: apply it now (a no-op
			// if it had in fact been applied).
			if err := s.award(ctx, t.ID, rules, loc, p); err != nil {
				return CheckinResult{}, err
			}
		}
	case !errors.Is(err, fault.ErrNotFound):
		return CheckinResult{}, err
	}
	c := rules.next(fanID, day, now, prev)
	inserted, res, err := s.store.CheckIn(ctx, t.ID, c, c.batch(rules.ExpiresAt(c.At, loc)))
	if err != nil {
		return CheckinResult{}, fmt.Errorf("check in fan %s on %s: %w", fanID, day, err)
	}
	if !inserted {
		got, err := s.store.Checkin(ctx, t.ID, fanID, day)
		if err != nil {
			return CheckinResult{}, err
		}
		a, err := s.store.Account(ctx, t.ID, fanID)
		if err != nil {
			return CheckinResult{}, err
		}
		r := CheckinResult{Streak: got.Streak, Balance: a.Balance, Already: true, Day: day}
		r.Message = fmt.Sprintf("Already checked in today · streak %s · %d points", days(r.Streak), r.Balance)
		return r, nil
	}
	s.told(ctx, t.ID, fanID, res, now)
	a := res.Account
	if !res.Applied { // applied by a repair meanwhile
		if a, err = s.store.Account(ctx, t.ID, fanID); err != nil {
			return CheckinResult{}, err
		}
	}
	r := CheckinResult{PointsAwarded: c.Total(), Streak: c.Streak, Balance: a.Balance, Day: day, Base: c.Base,
		StreakBonus: c.Bonus, Cumulative: c.Cumulative}
	r.Message = fmt.Sprintf("Checked in: +%d points · streak %s · %d points", r.PointsAwarded, days(r.Streak), r.Balance)
	return r, nil
}

// days is "1 day" or "n days".
func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// award applies a check-in's ledger batch and marks the record applied.
func (s *Service) award(ctx context.Context, tenantID string, rules Rules, loc *time.Location, c Checkin) error {
	if _, err := s.apply(ctx, tenantID, c.FanID, c.batch(rules.ExpiresAt(c.At, loc))); err != nil {
		return fmt.Errorf("award check-in %s of fan %s: %w", c.Day, c.FanID, err)
	}
	return s.store.MarkApplied(ctx, tenantID, c.FanID, c.Day)
}

// Account returns the fan's account.
func (s *Service) Account(ctx context.Context, tenantID, fanID string) (Account, error) {
	return s.store.Account(ctx, tenantID, fanID)
}

// Ledger returns a page of the fan's ledger, newest first.
func (s *Service) Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 20
	}
	if limit > 100 {
		return nil, fault.Invalid("limit", "must be between 1 and 100")
	}
	if before < 0 {
		return nil, fault.Invalid("before", "must be a positive sequence number")
	}
	return s.store.Ledger(ctx, tenantID, fanID, before, limit)
}

// AdjustRequest is a merchant's manual adjustment.
type AdjustRequest struct {
	Points int64  `json:"points"`
	Reason string `json:"reason"`
	// Key, if set, makes the adjustment idempotent (a retried request
	// adjusts once).
	Key string `json:"key,omitempty"`
}

// Adjust adds (or, negative, takes) points by hand, with a reason and who
// did it. A deduction larger than the balance is refused.
func (s *Service) Adjust(ctx context.Context, tenantID, fanID string, req AdjustRequest, by string) (Entry, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Points == 0:
		return Entry{}, fault.Invalid("points", "must not be 0: a positive number adds points, a negative one takes them")
	case req.Points > maxPoints || req.Points < -maxPoints:
		return Entry{}, fault.Invalid("points", "must be between -%d and %d", maxPoints, maxPoints)
	case req.Reason == "":
		return Entry{}, fault.Invalid("reason", "is required: say why (the fan sees it in their ledger)")
	case utf8.RuneCountInString(req.Reason) > 200:
		return Entry{}, fault.Invalid("reason", "must be at most 200 characters")
	case len(req.Key) > 64:
		return Entry{}, fault.Invalid("key", "must be at most 64 characters")
	}
	if _, err := s.fans.Get(ctx, tenantID, fanID); err != nil {
		return Entry{}, err
	}
	key := req.Key
	if key == "" {
		key = engine.NewID()
	}
	op := Op{Key: "adjust:" + key, Kind: KindAdjust, Points: req.Points, Reason: req.Reason, By: by}
	if req.Points > 0 {
		t, err := s.tenants.TenantByID(ctx, tenantID)
		if err != nil {
			return Entry{}, err
		}
		rules, err := s.store.Rules(ctx, tenantID)
		if err != nil {
			return Entry{}, err
		}
		op.ExpiresAt = rules.ExpiresAt(s.clock(), Zone(t))
	}
	res, err := s.apply(ctx, tenantID, fanID, Batch{Ops: []Op{op}, At: s.clock()})
	if errors.Is(err, ErrInsufficient) {
		a, aerr := s.store.Account(ctx, tenantID, fanID)
		if aerr != nil {
			return Entry{}, aerr
		}
		return Entry{}, &fault.Error{Status: 409, Code: "insufficient_points", Field: "points",
			Message: fmt.Sprintf("points: the fan has %d points; %d cannot be taken", a.Balance, -req.Points)}
	}
	if err != nil {
		return Entry{}, err
	}
	if !res.Applied {
		return s.store.Entry(ctx, tenantID, fanID, op.Key)
	}
	return res.Entries[0], nil
}

// SetReminder records the fan's opt-in to the daily check-in reminder.
func (s *Service) SetReminder(ctx context.Context, tenantID, fanID string, on bool) error {
	if _, err := s.fans.Ensure(ctx, tenantID, fanID, "direct", s.clock()); err != nil {
		return err
	}
	return s.store.SetReminder(ctx, tenantID, fanID, on)
}

// Rebuild recomputes the fan's account from the ledger and writes it if it
// differs; it reports whether it did.
func (s *Service) Rebuild(ctx context.Context, tenantID, fanID string) (Account, bool, error) {
	for attempt := 0; attempt < 5; attempt++ {
		if err := s.store.Flush(ctx, tenantID, fanID); err != nil {
			return Account{}, false, err
		}
		cur, err := s.store.Account(ctx, tenantID, fanID)
		if err != nil {
			return Account{}, false, err
		}
		var entries []Entry
		if err := s.store.Entries(ctx, tenantID, fanID, func(e Entry) error {
			entries = append(entries, e)
			return nil
		}); err != nil {
			return Account{}, false, err
		}
		if int64(len(entries)) < cur.Seq {
			continue // an apply landed between the two reads
		}
		rebuilt, err := Rebuild(cur, entries)
		if err != nil {
			return Account{}, false, err
		}
		if sameLedgerState(cur, rebuilt) {
			return cur, false, nil
		}
		ok, err := s.store.ReplaceAccount(ctx, tenantID, rebuilt)
		if err != nil {
			return Account{}, false, err
		}
		if ok {
			return rebuilt, true, nil
		}
	}
	return Account{}, false, fault.Conflict("the fan's points keep changing; try the rebuild again")
}

func sameLedgerState(a, b Account) bool {
	if a.Balance != b.Balance || a.Seq != b.Seq || a.Earned != b.Earned || a.Spent != b.Spent || a.Expired != b.Expired ||
		len(a.Lots) != len(b.Lots) {
		return false
	}
	for i := range a.Lots {
		if a.Lots[i].ID != b.Lots[i].ID || a.Lots[i].Points != b.Lots[i].Points || !a.Lots[i].ExpiresAt.Equal(b.Lots[i].ExpiresAt) {
			return false
		}
	}
	return true
}

// Redemption at checkout: Service implements order.Discounter.
var _ order.Discounter = (*Service)(nil)

// Quote prices using points on an order whose goods are worth goodsTotal:
// RedeemPointsPerYuan points take one yuan off, at most RedeemMaxPercent
// of the goods. Asking for more points than that allows uses only what it
// allows.
func (s *Service) Quote(ctx context.Context, tenantID, fanID string, goodsTotal, points int64) (order.Discount, error) {
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return order.Discount{}, err
	}
	n := rules.RedeemPointsPerYuan
	if n <= 0 || rules.RedeemMaxPercent <= 0 {
		return order.Discount{}, fault.Invalid("points", "this shop does not take points at checkout")
	}
	if points <= 0 {
		return order.Discount{}, fault.Invalid("points", "must be a positive number of points")
	}
	amount := min(points*100/n, goodsTotal*rules.RedeemMaxPercent/100)
	if amount <= 0 {
		return order.Discount{}, fault.Invalid("points", "%d points make no discount here (%d points take ¥1 off, at most %d%% of the goods)",
			points, n, rules.RedeemMaxPercent)
	}
	used := (amount*n + 99) / 100 // the points that discount costs, rounded up
	a, err := s.store.Account(ctx, tenantID, fanID)
	if err != nil {
		return order.Discount{}, err
	}
	if a.Balance < used {
		return order.Discount{}, &fault.Error{Status: 409, Code: "insufficient_points", Field: "points",
			Message: fmt.Sprintf("points: you have %d points; this discount needs %d", a.Balance, used)}
	}
	return order.Discount{Points: used, Amount: amount}, nil
}

// Offer is the largest points discount the fan can take on goods worth
// goodsTotal: what their balance pays for, within the shop's share cap.
func (s *Service) Offer(ctx context.Context, tenantID, fanID string, goodsTotal int64) (order.Discount, error) {
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return order.Discount{}, err
	}
	n := rules.RedeemPointsPerYuan
	if n <= 0 || rules.RedeemMaxPercent <= 0 || goodsTotal <= 0 {
		return order.Discount{}, nil
	}
	a, err := s.store.Account(ctx, tenantID, fanID)
	if err != nil {
		return order.Discount{}, err
	}
	// amount*n <= balance*100, so the points it costs (rounded up) never
	// exceed the balance.
	amount := min(a.Balance*100/n, goodsTotal*rules.RedeemMaxPercent/100)
	if amount <= 0 {
		return order.Discount{}, nil
	}
	return order.Discount{Points: (amount*n + 99) / 100, Amount: amount}, nil
}

// Reserve takes the points of an order's discount, once per order.
func (s *Service) Reserve(ctx context.Context, tenantID, fanID, orderID string, d order.Discount) error {
	_, err := s.apply(ctx, tenantID, fanID, Batch{At: s.clock(), Ops: []Op{{Key: "redeem:" + orderID, Kind: KindRedeem,
		Points: -d.Points, OrderID: orderID, Reason: fmt.Sprintf("¥%d.%02d off", d.Amount/100, d.Amount%100)}}})
	if errors.Is(err, ErrInsufficient) {
		return &fault.Error{Status: 409, Code: "insufficient_points", Field: "points", Message: "points: you no longer have enough points for this discount"}
	}
	return err
}

// OrderEvent implements order.Subscriber: paid orders earn points (once per
// order), refunds take the earned points back pro rata and give redeemed
// points back pro rata, cancelled orders give their redeemed points back.
// Every effect is keyed by the order (and refund), so redelivery is a no-op.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	switch ev.Type {
	case order.EventPaid:
		return s.orderPaid(ctx, tenantID, o, ev)
	case order.EventRefunded:
		return s.orderRefunded(ctx, tenantID, o, ev)
	case order.EventCancelled:
		return s.orderCancelled(ctx, tenantID, o, ev)
	}
	return nil
}

func (s *Service) orderPaid(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return err
	}
	pts := o.Paid / 100 * rules.OrderPointsPerYuan
	if pts <= 0 || o.FanID == "" {
		return nil
	}
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return err
	}
	_, err = s.apply(ctx, tenantID, o.FanID, Batch{At: ev.At.UTC().Truncate(time.Millisecond), Ops: []Op{{Key: "order:" + o.ID,
		Kind: KindOrder, Points: pts, ExpiresAt: rules.ExpiresAt(ev.At, Zone(t)), OrderID: o.ID,
		Reason: fmt.Sprintf("%d points per yuan on ¥%d.%02d", rules.OrderPointsPerYuan, o.Paid/100, o.Paid%100)}}})
	return err
}

// refundShare splits total points over an order's refunds in proportion to
// the money, so the shares of all refunds add up exactly: the share of the
// refund refundID is floor(total*through/paid) - floor(total*before/paid),
// where before and through are the money refunded before and including it.
func refundShare(total int64, o order.Order, refundID string) (before, share int64, ok bool) {
	if o.Paid <= 0 || total <= 0 {
		return 0, 0, false
	}
	var cum int64
	for _, r := range o.Refunds {
		if r.ID == refundID {
			b := total * cum / o.Paid
			th := total * min(cum+r.Amount, o.Paid) / o.Paid
			return b, th - b, true
		}
		cum += r.Amount
	}
	return 0, 0, false
}

func (s *Service) orderRefunded(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	refundID := strings.TrimPrefix(ev.ID, "refund:")
	at := ev.At.UTC().Truncate(time.Millisecond)
	reward, err := s.store.Entry(ctx, tenantID, o.FanID, "order:"+o.ID)
	switch {
	case err == nil:
		if _, share, ok := refundShare(reward.Points, o, refundID); ok && share > 0 {
			if _, err := s.apply(ctx, tenantID, o.FanID, Batch{At: at, Ops: []Op{{Key: "clawback:" + o.ID + ":" + refundID,
				Kind: KindClawback, Points: -share, Cap: true, Prefer: lotsOf(reward.Moves), OrderID: o.ID,
				Reason: fmt.Sprintf("refund of ¥%d.%02d", ev.Amount/100, ev.Amount%100)}}}); err != nil {
				return err
			}
		}
	case !errors.Is(err, fault.ErrNotFound):
		return err
	}
	redeemed, err := s.store.Entry(ctx, tenantID, o.FanID, "redeem:"+o.ID)
	if errors.Is(err, fault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	before, share, ok := refundShare(-redeemed.Points, o, refundID)
	if !ok || share <= 0 {
		return nil
	}
	lots := returnLots(redeemed.Moves, before, share)
	_, err = s.apply(ctx, tenantID, o.FanID, Batch{At: at, Ops: []Op{{Key: "redeem-return:" + o.ID + ":" + refundID,
		Kind: KindRedeemReturn, Lots: lots, OrderID: o.ID, Reason: "order refunded"}}})
	return err
}

func (s *Service) orderCancelled(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	redeemed, err := s.store.Entry(ctx, tenantID, o.FanID, "redeem:"+o.ID)
	if errors.Is(err, fault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	lots := returnLots(redeemed.Moves, 0, -redeemed.Points)
	if len(lots) == 0 {
		return nil
	}
	_, err = s.apply(ctx, tenantID, o.FanID, Batch{At: ev.At.UTC().Truncate(time.Millisecond), Ops: []Op{{Key: "redeem-return:" + o.ID,
		Kind: KindRedeemReturn, Lots: lots, OrderID: o.ID, Reason: "order cancelled"}}})
	return err
}

// lotsOf names the lots moves touched.
func lotsOf(moves []Move) []string {
	out := make([]string, 0, len(moves))
	for _, m := range moves {
		out = append(out, m.Lot)
	}
	return out
}

// returnLots are the lots giving back points [from, from+n) of a
// redemption, in the order it took them, each with the expiry of the lot
// it came from.
func returnLots(moves []Move, from, n int64) []Move {
	var out []Move
	var pos int64
	for _, m := range moves {
		took := -m.Points
		lo, hi := max(pos, from), min(pos+took, from+n)
		if hi > lo {
			out = append(out, Move{Points: hi - lo, ExpiresAt: m.ExpiresAt})
		}
		pos += took
	}
	return out
}
