package points

import (
	"context"
	"fmt"
	"strings"
	"time"

	wxmsg "github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// jobBatch bounds one pass's work per shop and kind.
const jobBatch = 200

// repairAfter is how long a check-in may stay unapplied before the pass
// applies it (its own request is normally done in milliseconds).
const repairAfter = time.Minute

// JobReport counts what one pass over a shop did.
type JobReport struct {
	Flushed, Repaired, Expired, ExpiryReminders, CheckinReminders int
}

// RunJobs is the periodic pass over one shop: copy ledger outboxes left by
// a crash (MongoDB), apply check-in awards a crash interrupted, expire due
// lots, remind fans whose points expire soon, and send the opt-in daily
// check-in reminders. Each step is idempotent: expiry removes the lot in
// the same atomic step that writes its entry, reminders are keyed by what
// they remind of. A pass may crash or run twice without harm.
func (s *Service) RunJobs(ctx context.Context, tenantID string) (JobReport, error) {
	var r JobReport
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return r, err
	}
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return r, err
	}
	now := s.clock()
	loc := Zone(t)

	dirty, err := s.store.Dirty(ctx, tenantID, jobBatch)
	if err != nil {
		return r, err
	}
	for _, id := range dirty {
		if err := s.store.Flush(ctx, tenantID, id); err != nil {
			return r, err
		}
		r.Flushed++
	}

	stuck, err := s.store.Unapplied(ctx, tenantID, now.Add(-repairAfter), jobBatch)
	if err != nil {
		return r, err
	}
	for _, c := range stuck {
		if err := s.award(ctx, tenantID, rules, loc, c); err != nil {
			return r, err
		}
		r.Repaired++
	}

	due, err := s.store.Due(ctx, tenantID, now, jobBatch)
	if err != nil {
		return r, err
	}
	for _, a := range due {
		res, err := s.apply(ctx, tenantID, a.FanID, Batch{At: now, Ops: []Op{{Kind: KindExpiry, ExpireDue: now}}})
		if err != nil {
			return r, fmt.Errorf("expire points of fan %s: %w", a.FanID, err)
		}
		r.Expired += len(res.Entries)
	}

	if rules.RemindDays > 0 && s.notifier != nil {
		soon, err := s.store.Expiring(ctx, tenantID, now.AddDate(0, 0, rules.RemindDays), jobBatch)
		if err != nil {
			return r, err
		}
		for _, a := range soon {
			var pts int64
			for _, l := range a.Lots {
				if l.ExpiresAt.Equal(a.NextExpiry) {
					pts += l.Points
				}
			}
			if pts > 0 {
				if err := s.notifier.PointsExpiring(ctx, tenantID, a.FanID, pts, a.NextExpiry); err != nil {
					s.log.Warn("points expiry reminder", "tenant", tenantID, "fan", a.FanID, "err", err)
					continue
				}
				r.ExpiryReminders++
			}
			if err := s.store.MarkReminded(ctx, tenantID, a.FanID, a.NextExpiry); err != nil {
				return r, err
			}
		}
	}

	local := now.In(loc)
	if rules.Enabled && s.notifier != nil && local.Hour() >= rules.ReminderHour {
		today := local.Format(time.DateOnly)
		list, err := s.store.ToRemind(ctx, tenantID, today, jobBatch)
		if err != nil {
			return r, err
		}
		for _, a := range list {
			if err := s.notifier.CheckinReminder(ctx, tenantID, a.FanID, today); err != nil {
				s.log.Warn("check-in reminder", "tenant", tenantID, "fan", a.FanID, "err", err)
				continue
			}
			if err := s.store.MarkDayReminded(ctx, tenantID, a.FanID, today); err != nil {
				return r, err
			}
			r.CheckinReminders++
		}
	}
	return r, nil
}

// Stats is what the console's points dashboard shows.
type Stats struct {
	Today string `json:"today"`
	// Days are the last 14 days' check-ins, oldest first.
	Days []Day `json:"days"`
	// Streaks is how many fans have a live streak of each length.
	Streaks []Bucket `json:"streaks"`
	// Outstanding points, and what they are worth at checkout (fen).
	Outstanding int64 `json:"outstanding"`
	Value       int64 `json:"value"`
	// Interaction: fans active in the last 7 and 30 days, of all fans.
	Active7  int64 `json:"active_7d"`
	Active30 int64 `json:"active_30d"`
	Fans     int64 `json:"fans"`
}

// Bucket is a range of streak lengths and how many fans are in it.
type Bucket struct {
	Label string `json:"label"`
	Fans  int64  `json:"fans"`
}

// TodayCheckins is today's check-in count.
func (st Stats) TodayCheckins() int64 {
	if n := len(st.Days); n > 0 && st.Days[n-1].Day == st.Today {
		return st.Days[n-1].Checkins
	}
	return 0
}

// Rate formats active of all fans as a percentage ("–" without fans).
func (st Stats) Rate(active int64) string {
	if st.Fans == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", float64(active)*100/float64(st.Fans))
}

// MaxDay is the busiest day's check-ins (for the chart's scale).
func (st Stats) MaxDay() int64 {
	var m int64 = 1
	for _, d := range st.Days {
		m = max(m, d.Checkins)
	}
	return m
}

// streakBuckets are the streak ranges the console groups fans into.
var streakBuckets = []struct {
	label  string
	lo, hi int
}{{"1 day", 1, 1}, {"2 days", 2, 2}, {"3–6 days", 3, 6}, {"7–13 days", 7, 13}, {"14–29 days", 14, 29}, {"30+ days", 30, 1 << 30}}

// Stats reads the dashboard's figures from counters kept at write time:
// the per-day check-in counters, the sharded outstanding total, and the
// accounts checked in since yesterday (the live streaks); none grows with
// history.
func (s *Service) Stats(ctx context.Context, t tenants.Tenant) (Stats, error) {
	now := s.clock()
	loc := Zone(t)
	today := now.In(loc).Format(time.DateOnly)
	st := Stats{Today: today}
	from := addDays(today, -13)
	days, err := s.store.Days(ctx, t.ID, from, today)
	if err != nil {
		return st, err
	}
	byDay := map[string]Day{}
	for _, d := range days {
		byDay[d.Day] = d
	}
	for d := from; d <= today; d = addDays(d, 1) {
		x := byDay[d]
		x.Day = d
		st.Days = append(st.Days, x)
	}
	counts, err := s.store.StreakCounts(ctx, t.ID, addDays(today, -1))
	if err != nil {
		return st, err
	}
	for _, b := range streakBuckets {
		var n int64
		for k, v := range counts {
			if k >= b.lo && k <= b.hi {
				n += v
			}
		}
		st.Streaks = append(st.Streaks, Bucket{Label: b.label, Fans: n})
	}
	if st.Outstanding, err = s.store.Outstanding(ctx, t.ID); err != nil {
		return st, err
	}
	rules, err := s.store.Rules(ctx, t.ID)
	if err != nil {
		return st, err
	}
	st.Value = rules.PointValue(st.Outstanding)
	if s.interaction != nil {
		if st.Active7, st.Active30, st.Fans, err = s.interaction.Interaction(ctx, t.ID, now); err != nil {
			return st, err
		}
	}
	return st, nil
}

// RebuildCounters recomputes the last days' counters and the outstanding
// total from the records (an operator's repair after a crash on MongoDB).
func (s *Service) RebuildCounters(ctx context.Context, t tenants.Tenant, days int) error {
	today := s.clock().In(Zone(t)).Format(time.DateOnly)
	return s.store.RebuildCounters(ctx, t.ID, addDays(today, -days+1), today)
}

// errBadMonth is a calendar month out of range.
var errBadMonth = fault.Invalid("month", "must be a month like 2026-11, at most two years back")

// CalendarDay is one cell of the check-in calendar.
type CalendarDay struct {
	Day     string
	Num     int
	InMonth bool
	Checked bool
	Today   bool
	Points  int64
}

// Me is what a fan's "My" page shows.
type Me struct {
	Account Account
	Rules   Rules
	Today   string
	// Checked is today's check-in, if the fan checked in; Preview is what
	// checking in now would give.
	Checked *Checkin
	Preview Checkin
	Streak  int
	Month   string // 2006-01
	Weeks   [][]CalendarDay
	Ledger  []Entry
	Value   int64 // the balance's worth at checkout, fen
	// Prev and Next are the neighbouring months to browse to ("" for none).
	Prev, Next string
}

// Me gathers the fan's "My" page: the account, a month's calendar (month
// "" is the current one), today's check-in or what it would give, and the
// newest ledger entries.
func (s *Service) Me(ctx context.Context, t tenants.Tenant, fanID, month string) (Me, error) {
	now := s.clock()
	loc := Zone(t)
	local := now.In(loc)
	today := local.Format(time.DateOnly)
	m := Me{Today: today}
	var err error
	if m.Rules, err = s.store.Rules(ctx, t.ID); err != nil {
		return m, err
	}
	if m.Account, err = s.store.Account(ctx, t.ID, fanID); err != nil {
		return m, err
	}
	m.Value = m.Rules.PointValue(m.Account.Balance)
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, time.UTC)
	if month != "" {
		mt, err := time.Parse("2006-01", month)
		if err != nil || mt.After(first) || mt.Before(first.AddDate(-2, 0, 0)) {
			return m, errBadMonth
		}
		first = mt
	}
	m.Month = first.Format("2006-01")
	if p := first.AddDate(0, -1, 0); !p.Before(time.Date(local.Year()-2, local.Month(), 1, 0, 0, 0, 0, time.UTC)) {
		m.Prev = p.Format("2006-01")
	}
	if n := first.AddDate(0, 1, 0); !n.After(time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, time.UTC)) {
		m.Next = n.Format("2006-01")
	}
	last := first.AddDate(0, 1, -1)
	list, err := s.store.Checkins(ctx, t.ID, fanID, first.Format(time.DateOnly), last.Format(time.DateOnly))
	if err != nil {
		return m, err
	}
	checked := map[string]Checkin{}
	for _, c := range list {
		checked[c.Day] = c
	}
	// Weeks start on Monday.
	start := first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	for d := start; !d.After(last) || d.Weekday() != time.Monday; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Monday {
			m.Weeks = append(m.Weeks, nil)
		}
		day := d.Format(time.DateOnly)
		c, ok := checked[day]
		m.Weeks[len(m.Weeks)-1] = append(m.Weeks[len(m.Weeks)-1], CalendarDay{Day: day, Num: d.Day(),
			InMonth: d.Month() == first.Month(), Checked: ok, Today: day == today, Points: c.Total()})
	}
	if c, err := s.store.Checkin(ctx, t.ID, fanID, today); err == nil {
		m.Checked = &c
		m.Streak = c.Streak
	} else {
		var prev *Checkin
		if p, err := s.store.LastCheckin(ctx, t.ID, fanID, today); err == nil {
			prev = &p
		}
		m.Preview = m.Rules.next(fanID, today, now, prev)
		if prev != nil && prev.Day == addDays(today, -1) {
			m.Streak = prev.Streak
		}
	}
	if m.Ledger, err = s.store.Ledger(ctx, t.ID, fanID, 0, 20); err != nil {
		return m, err
	}
	return m, nil
}

// RespondWeChat answers a fan's WeChat message if it asks to check in: a
// text equal to one of the shop's keywords ("签到", "checkin"), or a click
// of the menu button whose EventKey is the shop's menu key. It returns the
// reply text and true when it handled the message; the check-in itself is
// the storefront's (one per day, however often the fan asks or WeChat
// retries). It is meant for shop/fan's push handling (see the note in the
// package's report: fan.Service needs a hook to call it).
func (s *Service) RespondWeChat(ctx context.Context, t tenants.Tenant, fanID, msgType, content, event, eventKey string) (string, bool, error) {
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
		return "This shop has no daily check-in. 本店未开启签到。", true, nil
	}
	r, err := s.CheckIn(ctx, t, fanID)
	if err != nil {
		return "", true, err
	}
	if r.Already {
		return fmt.Sprintf("今天已经签到过了 You already checked in today. 连续 %d 天 · 积分 %d points.", r.Streak, r.Balance), true, nil
	}
	parts := []string{fmt.Sprintf("签到成功 Checked in: +%d 积分 points", r.PointsAwarded)}
	if r.StreakBonus > 0 {
		parts = append(parts, fmt.Sprintf("含连续签到奖励 incl. streak bonus %d", r.StreakBonus))
	}
	parts = append(parts, fmt.Sprintf("连续 %d 天 streak %d days", r.Streak, r.Streak), fmt.Sprintf("积分 balance %d", r.Balance))
	return strings.Join(parts, " · "), true, nil
}

// Respond is RespondWeChat in the shape a push hook in shop/fan would call
// (after a text message or menu click is recorded, before WeChat gets its
// answer): the reply text for a passive reply, and whether the message was
// a check-in. It looks the shop up for its time zone.
func (s *Service) Respond(ctx context.Context, tenantID, fanID string, msg *wxmsg.MixMessage) (string, bool, error) {
	if msg == nil {
		return "", false, nil
	}
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return "", false, err
	}
	return s.RespondWeChat(ctx, t, fanID, string(msg.MsgType), msg.Content, string(msg.Event), msg.EventKey)
}
