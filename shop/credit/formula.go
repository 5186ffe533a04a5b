// Package credit measures how each shop serves its buyers and applies the
// platform's published penalties. Its records are the platform's, not a
// shop's: every shop's credit and penalties live in the platform database
// (one record per shop), so operators and the market read them without
// opening shops' databases. The tables and indexes are created from this
// package, idempotently (Ensure).
//
// The credit is a score from 0 to 100 and a level, computed daily over the
// last WindowDays days by the published Formula (below, on the shop's
// credit page and in GET /api/v1/credit). Penalties follow the published
// Rules; each has a reason, a start and an end, is visible to the merchant,
// and can be appealed once to the platform's operators.
//
// A shop's record is one document changed by conditional writes on its
// revision (read, change, write if still at the revision read; else read
// again), so two job runners or an operator deciding an appeal while the
// job runs never lose a change or issue a penalty twice.
package credit

import (
	"math"

	"microshop/shop/order"
)

// WindowDays is the period the credit measures.
const WindowDays = 90

// Neutral is the score of a factor without data, and so of a new shop.
const Neutral = 80.0

// DefaultPromisedHours is how long after payment a shop promises to ship,
// unless it promises less.
const DefaultPromisedHours = 48

// Levels, best first, with the lowest score of each.
const (
	Excellent = "excellent"
	Good      = "good"
	Fair      = "fair"
	Poor      = "poor"
)

// LevelMin is a level and its lowest score.
type LevelMin struct {
	Level string `json:"level"`
	Min   int    `json:"min"`
}

// Levels lists the levels, best first.
var Levels = []LevelMin{{Excellent, 90}, {Good, 75}, {Fair, 60}, {Poor, 0}}

// LevelOf is the level of a score.
func LevelOf(score int) string {
	for _, l := range Levels {
		if score >= l.Min {
			return l.Level
		}
	}
	return Poor
}

// The factors, by name.
const (
	FactorOnTime     = "on_time"
	FactorAfterSale  = "after_sale"
	FactorDisputes   = "disputes"
	FactorAnswerTime = "answer_time"
	FactorRating     = "rating"
)

// FactorRule is one factor of the published formula: its weight (the
// weights sum to 100) and how its score is computed.
type FactorRule struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Rule   string `json:"rule"`
}

// Formula is the published formula.
type Formula struct {
	WindowDays int          `json:"window_days"`
	Neutral    float64      `json:"neutral"`
	Factors    []FactorRule `json:"factors"`
	Score      string       `json:"score"`
	Levels     []LevelMin   `json:"levels"`
}

// Published is the formula every shop's credit is computed by.
var Published = Formula{
	WindowDays: WindowDays,
	Neutral:    Neutral,
	Factors: []FactorRule{
		{FactorOnTime, 30, "100 × orders shipped within the promised hours of payment ÷ orders due to ship (shipped, or unshipped past the promise)"},
		{FactorAfterSale, 20, "100 − 500 × after-sale requests ÷ paid orders (0 at a 20% rate)"},
		{FactorDisputes, 20, "100 − 10 × disputes escalated to the platform − 20 × disputes the shop lost"},
		{FactorAnswerTime, 10, "100 when the merchant's first answer to after-sale requests takes 12 hours or less on average, falling evenly to 0 at 48 hours"},
		{FactorRating, 20, "25 × (average review rating − 1): 1 star is 0, 5 stars 100"},
	},
	Score:  "each factor's score is held between 0 and 100, a factor without data scores the neutral 80; the score is the weighted sum ÷ 100, rounded to a whole number",
	Levels: Levels,
}

// Factor is one factor of a shop's credit: its weight, its score (0-100,
// one decimal) and the measure it was computed from (a rate, a count,
// hours, stars); Neutral when there was no data.
type Factor struct {
	Weight  int     `json:"weight"`
	Score   float64 `json:"score"`
	Value   float64 `json:"value"`
	Neutral bool    `json:"neutral"`
}

// AfterSaleFacts is a shop's after-sale record over a period (from the
// after-sale service): requests made, requests escalated to the platform,
// disputes the shop lost, requests the merchant answered and the hours
// their first answers took in total.
type AfterSaleFacts struct {
	Requests    int64   `json:"requests"`
	Escalated   int64   `json:"escalated"`
	Lost        int64   `json:"lost"`
	Answered    int64   `json:"answered"`
	AnswerHours float64 `json:"answer_hours"`
}

// Inputs are the facts a credit was computed from.
type Inputs struct {
	Shipping  order.ShippingFacts `json:"shipping"`
	AfterSale AfterSaleFacts      `json:"after_sale"`
	Reviews   int64               `json:"reviews"`
	RatingSum int64               `json:"rating_sum"`
}

// Compute applies the published formula to in.
func Compute(in Inputs) (score int, level string, factors map[string]Factor) {
	weights := map[string]int{}
	for _, f := range Published.Factors {
		weights[f.Name] = f.Weight
	}
	factors = map[string]Factor{}
	set := func(name string, value, s float64, neutral bool) {
		if neutral {
			s = Neutral
		}
		s = math.Max(0, math.Min(100, s))
		factors[name] = Factor{Weight: weights[name], Score: s, Value: value, Neutral: neutral}
	}
	sh, as := in.Shipping, in.AfterSale
	if sh.Due > 0 {
		r := float64(sh.OnTime) / float64(sh.Due)
		set(FactorOnTime, round(r, 4), 100*r, false)
	} else {
		set(FactorOnTime, 0, 0, true)
	}
	if sh.Paid > 0 {
		r := float64(as.Requests) / float64(sh.Paid)
		set(FactorAfterSale, round(r, 4), 100-500*r, false)
	} else {
		set(FactorAfterSale, 0, 0, true)
	}
	if sh.Paid > 0 || as.Escalated > 0 {
		set(FactorDisputes, float64(as.Lost), 100-10*float64(as.Escalated)-20*float64(as.Lost), false)
	} else {
		set(FactorDisputes, 0, 0, true)
	}
	if as.Answered > 0 {
		h := as.AnswerHours / float64(as.Answered)
		s := 100.0
		if h > 12 {
			s = 100 - (h-12)*100/36
		}
		set(FactorAnswerTime, round(h, 2), s, false)
	} else {
		set(FactorAnswerTime, 0, 0, true)
	}
	if in.Reviews > 0 {
		avg := float64(in.RatingSum) / float64(in.Reviews)
		set(FactorRating, round(avg, 2), 25*(avg-1), false)
	} else {
		set(FactorRating, 0, 0, true)
	}
	total := 0.0
	for name, f := range factors {
		total += float64(weights[name]) * f.Score
	}
	score = int(math.Round(total / 100))
	for name, f := range factors { // shown with one decimal; the sum used the exact scores
		f.Score = round(f.Score, 1)
		factors[name] = f
	}
	return score, LevelOf(score), factors
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
