package points

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants"
)

// The console's points dashboard, read from the counters the stores keep.

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
			return st, fmt.Errorf("count active fans: %w", err)
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
