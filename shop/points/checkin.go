package points

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	wxmsg "github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Daily check-in: a fan's check-in record and its award (rules.go has
// the rules), checking in from the storefront or by WeChat keyword.

// Checkin is a fan's check-in on one day, with what it awarded.
type Checkin struct {
	FanID string    `json:"fan_id" bson:"fan_id"`
	Day   string    `json:"day" bson:"day"` // 2006-01-02 in the shop's zone
	At    time.Time `json:"at" bson:"at"`
	// Streak is the consecutive days up to this one; Days all check-in
	// days so far. Cycle names the reward cycle (2026-W47, 2026-11, all);
	// CycleStreak and CycleDays are the same counts within it.
	Streak      int    `json:"streak" bson:"streak"`
	Days        int    `json:"days" bson:"days"`
	Cycle       string `json:"cycle" bson:"cycle"`
	CycleStreak int    `json:"cycle_streak" bson:"cycle_streak"`
	CycleDays   int    `json:"cycle_days" bson:"cycle_days"`
	// What it awards.
	Base       int64 `json:"base" bson:"base"`
	Bonus      int64 `json:"streak_bonus" bson:"bonus"`
	Cumulative int64 `json:"cumulative_bonus" bson:"cumulative"`
	// Applied says the award reached the ledger.
	Applied bool `json:"-" bson:"applied"`
}

// Total is the points the check-in awards.
func (c Checkin) Total() int64 { return c.Base + c.Bonus + c.Cumulative }

// cycleOf names day's reward cycle.
func (r Rules) cycleOf(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "all"
	}
	switch r.Cycle {
	case CycleWeek:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case CycleMonth:
		return t.Format("2006-01")
	}
	return "all"
}

// next is the check-in of fanID on day at, after prev (the fan's latest
// check-in before day, if any).
func (r Rules) next(fanID, day string, at time.Time, prev *Checkin) Checkin {
	c := Checkin{FanID: fanID, Day: day, At: at, Cycle: r.cycleOf(day), Streak: 1, Days: 1, CycleStreak: 1, CycleDays: 1}
	if prev != nil {
		c.Days = prev.Days + 1
		consecutive := prev.Day == addDays(day, -1)
		if consecutive {
			c.Streak = prev.Streak + 1
		}
		if prev.Cycle == c.Cycle {
			c.CycleDays = prev.CycleDays + 1
			if consecutive {
				c.CycleStreak = prev.CycleStreak + 1
			}
		}
	}
	c.Base = r.BasePoints
	for _, rw := range r.StreakRewards {
		if rw.Day == c.CycleStreak {
			c.Bonus += rw.Points
		}
	}
	for _, rw := range r.CumulativeRewards {
		if rw.Day == c.CycleDays {
			c.Cumulative += rw.Points
		}
	}
	return c
}

// batch is the ledger batch that awards c; its first key (checkin:<day>)
// identifies it.
func (c Checkin) batch(expires time.Time) Batch {
	info := c
	b := Batch{At: c.At, Day: c.Day}
	b.Ops = append(b.Ops, Op{Key: "checkin:" + c.Day, Kind: KindCheckin, Points: c.Base, ExpiresAt: expires, Checkin: &info})
	if c.Bonus > 0 {
		b.Ops = append(b.Ops, Op{Key: "streak:" + c.Day, Kind: KindStreak, Points: c.Bonus, ExpiresAt: expires,
			Reason: fmt.Sprintf("day %d of the streak", c.CycleStreak)})
	}
	if c.Cumulative > 0 {
		b.Ops = append(b.Ops, Op{Key: "cumulative:" + c.Day, Kind: KindCumulative, Points: c.Cumulative, ExpiresAt: expires,
			Reason: fmt.Sprintf("%d check-in days", c.CycleDays)})
	}
	return b
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
		r.Message = i18n.T(ctx, "checkin.already", "Streak", days(ctx, r.Streak), "Balance", r.Balance)
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
	r.Message = i18n.T(ctx, "checkin.done", "Points", r.PointsAwarded, "Streak", days(ctx, r.Streak), "Balance", r.Balance)
	return r, nil
}

// days is "1 day" or "n days", in ctx's language.
func days(ctx context.Context, n int) string { return i18n.T(ctx, "checkin.streak_days", "Count", n) }

// award applies a check-in's ledger batch and marks the record applied.
func (s *Service) award(ctx context.Context, tenantID string, rules Rules, loc *time.Location, c Checkin) error {
	if _, err := s.apply(ctx, tenantID, c.FanID, c.batch(rules.ExpiresAt(c.At, loc))); err != nil {
		return fmt.Errorf("award check-in %s of fan %s: %w", c.Day, c.FanID, err)
	}
	return s.store.MarkApplied(ctx, tenantID, c.FanID, c.Day)
}

// RespondWeChat answers a fan's WeChat message if it asks to check in: a
// text equal to one of the shop's keywords ("签到", "checkin"), or a click
// of the menu button whose EventKey is the shop's menu key. It returns the
// reply text and true when it handled the message; the check-in itself is
// the storefront's (one per day, however often the fan asks or WeChat
// retries). Respond calls it for shop/fan's push handling. The reply is in
// the shop's language (tenants.Tenant.Language): WeChat's request says
// nothing of the fan's.
func (s *Service) RespondWeChat(ctx context.Context, t tenants.Tenant, fanID, msgType, content, event, eventKey string) (string, bool, error) {
	ctx = i18n.WithLang(ctx, t.Language())
	rules, err := s.store.Rules(ctx, t.ID)
	if err != nil {
		return "", false, err
	}
	asks := (msgType == "text" && rules.IsKeyword(content)) ||
		(msgType == "event" && strings.EqualFold(event, "CLICK") && rules.MenuKey != "" && eventKey == rules.MenuKey)
	if !asks {
		return "", false, nil
	}
	if !rules.Enabled {
		return i18n.T(ctx, "checkin.off"), true, nil
	}
	r, err := s.CheckIn(ctx, t, fanID)
	if err != nil {
		return "", true, err
	}
	if r.Already {
		return i18n.T(ctx, "checkin.reply.already", "Streak", r.Streak, "Balance", r.Balance), true, nil
	}
	parts := []string{i18n.T(ctx, "checkin.reply.done", "Points", r.PointsAwarded)}
	if r.StreakBonus > 0 {
		parts = append(parts, i18n.T(ctx, "checkin.reply.bonus", "Bonus", r.StreakBonus))
	}
	parts = append(parts, i18n.T(ctx, "checkin.reply.streak", "Streak", r.Streak), i18n.T(ctx, "checkin.reply.balance", "Balance", r.Balance))
	return strings.Join(parts, " · "), true, nil
}

// Respond makes Service a fan.Responder: RespondWeChat for a text message
// or menu click shop/fan recorded, before WeChat gets its answer (the
// reply text for a passive reply, and whether the message was a check-in).
// It looks the shop up for its time zone.
func (s *Service) Respond(ctx context.Context, tenantID, fanID string, msg *wxmsg.MixMessage) (string, bool, error) {
	if msg == nil {
		return "", false, nil
	}
	t, err := s.shop(ctx, tenantID)
	if err != nil {
		return "", false, err
	}
	return s.RespondWeChat(ctx, t, fanID, string(msg.MsgType), msg.Content, string(msg.Event), msg.EventKey)
}
