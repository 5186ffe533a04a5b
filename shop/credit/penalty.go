package credit

import (
	"fmt"
	"time"
)

// Penalty kinds, mildest first.
const (
	Warning        = "warning"         // shown to the merchant; nothing is blocked
	WithdrawalHold = "withdrawal_hold" // the shop's distributors cannot withdraw commission
	NoOrders       = "no_orders"       // the shop takes no new orders
	OffMarket      = "off_market"      // the shop is left out of the market (issue 17)
)

// Kinds lists the penalty kinds.
var Kinds = []string{Warning, WithdrawalHold, NoOrders, OffMarket}

// Penalty statuses: in force until its end unless revoked on appeal.
const (
	Active  = "active"
	Revoked = "revoked"
)

// Appeal decisions.
const (
	Upheld = "upheld"
	// Revoked (above) is also the decision that lifts the penalty.
)

// Penalty is one penalty on a shop: its kind, the rule that gave it and
// why (Reason, in English, and Measure, the figure that broke the rule),
// from Start until End.
type Penalty struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Rule    string    `json:"rule"`
	Reason  string    `json:"reason"`
	Measure string    `json:"measure"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Status  string    `json:"status"`
	Appeal  *Appeal   `json:"appeal,omitempty"`
}

// InForce reports whether the penalty holds at now.
func (p Penalty) InForce(now time.Time) bool {
	return p.Status != Revoked && !now.Before(p.Start) && now.Before(p.End)
}

// Appeal is the merchant's appeal of a penalty and the operator's answer.
type Appeal struct {
	Text      string     `json:"text"`
	At        time.Time  `json:"at"`
	Decision  string     `json:"decision,omitempty"` // "" (waiting), upheld or revoked
	Note      string     `json:"note,omitempty"`
	Operator  string     `json:"operator,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// Rule is one published penalty rule: when Breached over the last
// RuleWindowDays days, the shop gets a penalty of Kind for Days days. A
// rule gives one penalty per window: not again while one it gave in the
// last RuleWindowDays days stands (in force, ended or revoked).
type Rule struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Days int    `json:"days"`
	Text string `json:"rule"`
	// breached returns the figure that broke the rule, and whether it did.
	breached func(f RuleFacts) (string, bool)
}

// RuleWindowDays is the period the rules look at.
const RuleWindowDays = 30

// RuleFacts are what the rules look at: the shop's last RuleWindowDays
// days and its current score.
type RuleFacts struct {
	Shipping  ShippingWindow
	AfterSale AfterSaleFacts
	Score     int
}

// ShippingWindow is the shipping record the rules read.
type ShippingWindow struct{ Due, OnTime int64 }

// lateRate is the share of due shipments that were late, in percent;
// ok false under the 10 shipments the rules need.
func (s ShippingWindow) lateRate() (int64, bool) {
	if s.Due < 10 {
		return 0, false
	}
	return (s.Due - s.OnTime) * 100 / s.Due, true
}

// Rules are the published penalty rules.
var Rules = []Rule{
	{Name: "late_shipping", Kind: Warning, Days: 7,
		Text: "more than 30% of at least 10 orders due to ship in 30 days shipped late: a warning for 7 days",
		breached: func(f RuleFacts) (string, bool) {
			r, ok := f.Shipping.lateRate()
			return fmt.Sprintf("%d%%", r), ok && r > 30
		}},
	{Name: "late_shipping_severe", Kind: NoOrders, Days: 3,
		Text: "more than 50% of at least 10 orders due to ship in 30 days shipped late: no new orders for 3 days",
		breached: func(f RuleFacts) (string, bool) {
			r, ok := f.Shipping.lateRate()
			return fmt.Sprintf("%d%%", r), ok && r > 50
		}},
	{Name: "disputes_lost", Kind: WithdrawalHold, Days: 30,
		Text: "3 or more disputes lost in 30 days: distributors' withdrawals held for 30 days",
		breached: func(f RuleFacts) (string, bool) {
			return fmt.Sprint(f.AfterSale.Lost), f.AfterSale.Lost >= 3
		}},
	{Name: "credit_poor", Kind: OffMarket, Days: 30,
		Text: "a credit score under 40: off the market for 30 days",
		breached: func(f RuleFacts) (string, bool) {
			return fmt.Sprint(f.Score), f.Score < 40
		}},
}

// validKind reports whether kind is a penalty kind.
func validKind(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}
