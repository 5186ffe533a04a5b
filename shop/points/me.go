package points

import (
	"context"
	"time"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// The fan's "My" page: balance, lots, a month's check-in calendar and the
// newest ledger entries.

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
