package message

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"microshop/tenants/fault"
)

// Rule selects fans. Empty fields select everyone; set fields all apply.
type Rule struct {
	// Tags: the fan has at least one of them.
	Tags []string `json:"tags,omitempty"`
	// GuideIDs, StoreIDs, DistributorIDs: the fan is bound to one of them.
	GuideIDs       []string `json:"guide_ids,omitempty"`
	StoreIDs       []string `json:"store_ids,omitempty"`
	DistributorIDs []string `json:"distributor_ids,omitempty"`
	// Subscribed: "yes" follows the WeChat account, "no" does not, "" any.
	Subscribed string `json:"subscribed,omitempty"`
	// MinOrders and MaxOrders bound the paid orders.
	MinOrders *int64 `json:"min_orders,omitempty"`
	MaxOrders *int64 `json:"max_orders,omitempty"`
	// ActiveWithinDays: did something in the last N days;
	// InactiveForDays: did nothing in the last N days.
	ActiveWithinDays int `json:"active_within_days,omitempty"`
	InactiveForDays  int `json:"inactive_for_days,omitempty"`
	// MinPoints and MaxPoints bound the points balance.
	MinPoints *int64 `json:"min_points,omitempty"`
	MaxPoints *int64 `json:"max_points,omitempty"`
	// MinStreak: a live check-in streak of at least N days.
	MinStreak int `json:"min_streak,omitempty"`
}

// bindings are the rule's binding lists with their field and their name.
func (r *Rule) bindings() []struct {
	field, what string
	ids         []string
} {
	return []struct {
		field, what string
		ids         []string
	}{{"rule.guide_ids", "guide", r.GuideIDs}, {"rule.store_ids", "store", r.StoreIDs},
		{"rule.distributor_ids", "distributor", r.DistributorIDs}}
}

// Validate checks a rule.
func (r *Rule) Validate() error {
	var err error
	if r.Tags, err = normTags("rule.tags", r.Tags); err != nil {
		return err
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	for _, l := range r.bindings() {
		if len(l.ids) > 100 {
			return fault.Invalid(l.field, "at most 100")
		}
		for i, id := range l.ids {
			if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\n") {
				return fault.Invalid(fmt.Sprintf("%s[%d]", l.field, i), "is not an id")
			}
		}
	}
	switch r.Subscribed {
	case "", "yes", "no":
	default:
		return fault.Invalid("rule.subscribed", "must be yes, no or empty (any)")
	}
	for _, n := range []struct {
		field string
		v     *int64
	}{{"rule.min_orders", r.MinOrders}, {"rule.max_orders", r.MaxOrders}, {"rule.min_points", r.MinPoints}, {"rule.max_points", r.MaxPoints}} {
		if n.v != nil && (*n.v < 0 || *n.v > 1_000_000_000) {
			return fault.Invalid(n.field, "must be between 0 and 1000000000")
		}
	}
	if r.MinOrders != nil && r.MaxOrders != nil && *r.MinOrders > *r.MaxOrders {
		return fault.Invalid("rule.max_orders", "must not be below min_orders")
	}
	if r.MinPoints != nil && r.MaxPoints != nil && *r.MinPoints > *r.MaxPoints {
		return fault.Invalid("rule.max_points", "must not be below min_points")
	}
	for _, n := range []struct {
		field string
		v     int
	}{{"rule.active_within_days", r.ActiveWithinDays}, {"rule.inactive_for_days", r.InactiveForDays}, {"rule.min_streak", r.MinStreak}} {
		if n.v < 0 || n.v > 3650 {
			return fault.Invalid(n.field, "must be between 0 and 3650")
		}
	}
	if r.ActiveWithinDays > 0 && r.InactiveForDays > 0 && r.InactiveForDays >= r.ActiveWithinDays {
		return fault.Invalid("rule.inactive_for_days", "with active_within_days %d selects no one", r.ActiveWithinDays)
	}
	return nil
}

// Describe says in words whom r selects.
func (r Rule) Describe() string {
	var parts []string
	if len(r.Tags) > 0 {
		parts = append(parts, "tagged "+strings.Join(r.Tags, " or "))
	}
	for _, l := range r.bindings() {
		if len(l.ids) > 0 {
			parts = append(parts, l.what+" "+strings.Join(l.ids, " or "))
		}
	}
	switch r.Subscribed {
	case "yes":
		parts = append(parts, "following the WeChat account")
	case "no":
		parts = append(parts, "not following the WeChat account")
	}
	bound := func(v *int64, word, unit string) {
		if v != nil {
			parts = append(parts, word+" "+strconv.FormatInt(*v, 10)+" "+unit)
		}
	}
	bound(r.MinOrders, "at least", "orders")
	bound(r.MaxOrders, "at most", "orders")
	if r.ActiveWithinDays > 0 {
		parts = append(parts, "active in the last "+strconv.Itoa(r.ActiveWithinDays)+" days")
	}
	if r.InactiveForDays > 0 {
		parts = append(parts, "quiet for "+strconv.Itoa(r.InactiveForDays)+" days")
	}
	bound(r.MinPoints, "at least", "points")
	bound(r.MaxPoints, "at most", "points")
	if r.MinStreak > 0 {
		parts = append(parts, "a check-in streak of "+strconv.Itoa(r.MinStreak)+"+ days")
	}
	if len(parts) == 0 {
		return "every fan"
	}
	return "fans " + strings.Join(parts, ", ")
}

// yesterday is the day before a 2006-01-02 day: a streak is live when its
// last check-in was today or yesterday.
func yesterday(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}
