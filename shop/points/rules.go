package points

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// Check-in cycles: when the streak rewards and cumulative days start over.
const (
	CycleWeek  = "week"  // every Monday
	CycleMonth = "month" // every 1st
	CycleNever = "never"
)

// Expiry modes of earned points.
const (
	ExpiryNever       = "never"
	ExpiryMonths      = "months"        // N months after they were earned
	ExpiryNextYearEnd = "next_year_end" // at the end of the year after the one they were earned in
)

// Reward is a bonus on a given day of a streak (or a given number of
// check-in days in the cycle).
type Reward struct {
	Day    int   `json:"day"`
	Points int64 `json:"points"`
}

// Rules are a shop's points rules.
type Rules struct {
	// Enabled turns daily check-in on.
	Enabled bool `json:"enabled"`
	// BasePoints are given for every check-in.
	BasePoints int64 `json:"base_points"`
	// StreakRewards are given on the Nth consecutive day of the cycle.
	StreakRewards []Reward `json:"streak_rewards"`
	// Cycle is when streaks and day counts start over: week, month, never.
	Cycle string `json:"cycle"`
	// CumulativeRewards are given on the Nth check-in day of the cycle,
	// consecutive or not.
	CumulativeRewards []Reward `json:"cumulative_rewards"`
	// OrderPointsPerYuan are earned per yuan paid on an order (0: none).
	OrderPointsPerYuan int64 `json:"order_points_per_yuan"`
	// RedeemPointsPerYuan points take one yuan off an order (0: points
	// cannot be used at checkout); at most RedeemMaxPercent of the goods.
	RedeemPointsPerYuan int64 `json:"redeem_points_per_yuan"`
	RedeemMaxPercent    int64 `json:"redeem_max_percent"`
	// Expiry is how earned points expire: never, months (ExpiryMonths
	// after they were earned) or next_year_end.
	Expiry       string `json:"expiry"`
	ExpiryMonths int    `json:"expiry_months"`
	// RemindDays before points expire, the fan is told (0: no reminder).
	RemindDays int `json:"remind_days"`
	// ReminderHour is the shop-local hour the opt-in daily check-in
	// reminder goes out.
	ReminderHour int `json:"reminder_hour"`
	// Keywords a fan sends the WeChat account to check in; MenuKey is the
	// EventKey of the menu button that does the same.
	Keywords []string `json:"keywords"`
	MenuKey  string   `json:"menu_key"`
	// Rev counts the saves: a save of rules read at another revision
	// (another tab, another person, an API client) is refused, never
	// silently undone (Store.SaveRules).
	Rev int64 `json:"rev"`
}

// DefaultRules are what a shop starts with.
func DefaultRules() Rules {
	return Rules{Enabled: true, BasePoints: 5, StreakRewards: []Reward{{3, 5}, {7, 20}}, Cycle: CycleWeek,
		CumulativeRewards: []Reward{}, OrderPointsPerYuan: 1, RedeemPointsPerYuan: 100, RedeemMaxPercent: 50,
		Expiry: ExpiryNextYearEnd, ExpiryMonths: 12, RemindDays: 30, ReminderHour: 20,
		Keywords: []string{"签到", "checkin"}, MenuKey: "CHECKIN"}
}

// Limits of the rules.
const (
	maxPoints   = 1_000_000
	maxRewards  = 20
	maxKeywords = 10
)

// Validate checks r and normalises its lists (sorted rewards, trimmed
// keywords).
func (r *Rules) Validate() error {
	if r.BasePoints < 0 || r.BasePoints > maxPoints {
		return fault.Invalid("base_points", "must be between 0 and %d", maxPoints)
	}
	for _, f := range []struct {
		name string
		list *[]Reward
		max  int
	}{{"streak_rewards", &r.StreakRewards, 366}, {"cumulative_rewards", &r.CumulativeRewards, 366}} {
		if len(*f.list) > maxRewards {
			return fault.Invalid(f.name, "at most %d rewards", maxRewards)
		}
		seen := map[int]bool{}
		for i, rw := range *f.list {
			if rw.Day < 1 || rw.Day > f.max {
				return fault.Invalid(fmt.Sprintf("%s[%d].day", f.name, i), "must be between 1 and %d", f.max)
			}
			if rw.Points < 1 || rw.Points > maxPoints {
				return fault.Invalid(fmt.Sprintf("%s[%d].points", f.name, i), "must be between 1 and %d", maxPoints)
			}
			if seen[rw.Day] {
				return fault.Invalid(fmt.Sprintf("%s[%d].day", f.name, i), "day %d is listed twice", rw.Day)
			}
			seen[rw.Day] = true
		}
		if *f.list == nil {
			*f.list = []Reward{}
		}
		sort.Slice(*f.list, func(i, j int) bool { return (*f.list)[i].Day < (*f.list)[j].Day })
	}
	switch r.Cycle {
	case CycleWeek, CycleMonth, CycleNever:
	default:
		return fault.Invalid("cycle", "must be week, month or never")
	}
	if r.Cycle == CycleWeek {
		for i, rw := range r.StreakRewards {
			if rw.Day > 7 {
				return fault.Invalid(fmt.Sprintf("streak_rewards[%d].day", i), "a weekly cycle has 7 days; day %d never comes", rw.Day)
			}
		}
		for i, rw := range r.CumulativeRewards {
			if rw.Day > 7 {
				return fault.Invalid(fmt.Sprintf("cumulative_rewards[%d].day", i), "a weekly cycle has 7 days; day %d never comes", rw.Day)
			}
		}
	}
	if r.Cycle == CycleMonth {
		for i, rw := range append(append([]Reward{}, r.StreakRewards...), r.CumulativeRewards...) {
			if rw.Day > 31 {
				return fault.Invalid(fmt.Sprintf("rewards[%d].day", i), "a monthly cycle has at most 31 days; day %d never comes", rw.Day)
			}
		}
	}
	switch {
	case r.OrderPointsPerYuan < 0 || r.OrderPointsPerYuan > 10_000:
		return fault.Invalid("order_points_per_yuan", "must be between 0 and 10000")
	case r.RedeemPointsPerYuan < 0 || r.RedeemPointsPerYuan > 100_000:
		return fault.Invalid("redeem_points_per_yuan", "must be between 0 and 100000 (0: points cannot be used at checkout)")
	case r.RedeemMaxPercent < 0 || r.RedeemMaxPercent > 100:
		return fault.Invalid("redeem_max_percent", "must be between 0 and 100")
	}
	switch r.Expiry {
	case ExpiryNever, ExpiryNextYearEnd:
	case ExpiryMonths:
		if r.ExpiryMonths < 1 || r.ExpiryMonths > 120 {
			return fault.Invalid("expiry_months", "must be between 1 and 120")
		}
	default:
		return fault.Invalid("expiry", "must be never, months or next_year_end")
	}
	if r.ExpiryMonths < 0 || r.ExpiryMonths > 120 {
		return fault.Invalid("expiry_months", "must be between 1 and 120")
	}
	if r.RemindDays < 0 || r.RemindDays > 365 {
		return fault.Invalid("remind_days", "must be between 0 and 365")
	}
	if r.ReminderHour < 0 || r.ReminderHour > 23 {
		return fault.Invalid("reminder_hour", "must be between 0 and 23")
	}
	if len(r.Keywords) > maxKeywords {
		return fault.Invalid("keywords", "at most %d keywords", maxKeywords)
	}
	kw := make([]string, 0, len(r.Keywords))
	for i, k := range r.Keywords {
		field := fmt.Sprintf("keywords[%d]", i)
		k, err := fault.Text(field, k, 20)
		if err != nil {
			return err
		}
		if k == "" {
			return fault.Invalid(field, "must be 1 to 20 characters")
		}
		kw = append(kw, k)
	}
	r.Keywords = kw
	key, err := fault.Text("menu_key", r.MenuKey, 64)
	if err != nil {
		return err
	}
	r.MenuKey = key
	return nil
}

// ExpiresAt is when points earned at t expire under the rules (zero:
// never): the end of the day N months on, or the end of the next year, in
// the shop's zone.
func (r Rules) ExpiresAt(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	switch r.Expiry {
	case ExpiryMonths:
		d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		return d.AddDate(0, r.ExpiryMonths, 1).UTC()
	case ExpiryNextYearEnd:
		return time.Date(l.Year()+2, 1, 1, 0, 0, 0, 0, loc).UTC()
	}
	return time.Time{}
}

// PointValue is what points are worth at checkout, in fen (0 when points
// cannot be used).
func (r Rules) PointValue(points int64) int64 {
	if r.RedeemPointsPerYuan <= 0 {
		return 0
	}
	return points * 100 / r.RedeemPointsPerYuan
}

// IsKeyword reports whether a fan's text asks to check in.
func (r Rules) IsKeyword(text string) bool {
	text = strings.TrimSpace(text)
	for _, k := range r.Keywords {
		if strings.EqualFold(text, k) {
			return true
		}
	}
	return false
}

// Zone is the shop's time zone (tenants.Tenant.Location: Asia/Shanghai
// when unset or unknown).
func Zone(t tenants.Tenant) *time.Location { return t.Location() }
