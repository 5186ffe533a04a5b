package market

import (
	"math"
	"time"
)

// The ranking formula, published at /m/ranking and GET /m/api/ranking-formula.
// Nothing a merchant can buy is an input: there is no paid placement.
//
//	score   = 0.40 × relevance + 0.60 × quality
//	quality = 0.20 × credit + 0.20 × rating + 0.15 × (1 − after-sale rate)
//	        + 0.10 × on-time shipping + 0.10 × sales + 0.10 × repeat buyers
//	        + 0.10 × fan interaction + 0.05 × freshness
//
// Every factor is between 0 and 1 (see Factors). Sales are the product's
// distinct buyers of the last 30 days with brushing left out (sales.go),
// on a log scale: 1,000 buyers count full, every tenfold a third.
const (
	relevanceWeight = 0.40
	qualityWeight   = 0.60
)

// Weight is one term of the formula.
type Weight struct {
	Factor string  `json:"factor"`
	Weight float64 `json:"weight"`
}

// QualityWeights are the quality terms, in the published order.
var QualityWeights = []Weight{
	{"credit", 0.20}, {"rating", 0.20}, {"after_sale", 0.15}, {"on_time", 0.10},
	{"sales", 0.10}, {"repeat_buyers", 0.10}, {"interaction", 0.10}, {"freshness", 0.05},
}

// ShopFactors are what the market knows of a shop's service, from the
// credit rules (shop/credit) and the shop's reports.
type ShopFactors struct {
	// Credit is the shop's credit score, 0 to 100, and Level its name.
	Credit int    `json:"credit"`
	Level  string `json:"level"`
	// AfterSaleRate is after-sale requests per paid order (0 to 1).
	AfterSaleRate float64 `json:"after_sale_rate"`
	// OnTime is the share of orders shipped within the promised time.
	OnTime float64 `json:"on_time"`
	// RepeatBuyers is the share of buyers who bought again (the market's
	// own count of sales, unless the source gives one).
	RepeatBuyers float64 `json:"repeat_buyers"`
	// Buyers are the shop's distinct buyers of the last 30 days, and
	// ProductBuyers each product's, brushing left out (the market's own
	// count of sales, sales.go).
	Buyers        int            `json:"buyers"`
	ProductBuyers map[string]int `json:"-"`
	// Interaction is the share of fans who interact (10% is healthy).
	Interaction float64 `json:"interaction"`
	// OffMarket is set by a penalty: the shop is not shown at all.
	OffMarket bool `json:"off_market"`
}

// NeutralFactors are a shop's before anything is known of it: the neutral
// credit a new shop starts with, nothing held against it, nothing earned.
var NeutralFactors = ShopFactors{Credit: 80, Level: "", OnTime: 1}

// healthyInteraction is the seed's healthy share of interacting fans: at or
// above it the factor is full.
const healthyInteraction = 0.10

// freshDays is how long a new product's freshness lasts, fading linearly.
const freshDays = 90

// Factors are one item's normalized factors, each 0 to 1.
type Factors struct {
	Relevance    float64 `json:"relevance"`
	Credit       float64 `json:"credit"`
	Rating       float64 `json:"rating"`
	AfterSale    float64 `json:"after_sale"`
	OnTime       float64 `json:"on_time"`
	Sales        float64 `json:"sales"`
	RepeatBuyers float64 `json:"repeat_buyers"`
	Interaction  float64 `json:"interaction"`
	Freshness    float64 `json:"freshness"`
}

// itemFactors normalizes an item's inputs. A product without reviews counts as
// rated 4 of 5 (0.75), so a new product is neither favoured nor buried.
func itemFactors(rel float64, it *Item, sf ShopFactors, now time.Time) Factors {
	rating := 0.75
	if it.Reviews > 0 {
		rating = clamp((float64(it.Rating)/100 - 1) / 4)
	}
	age := now.Sub(it.CreatedAt).Hours() / 24
	return Factors{
		Relevance:    clamp(rel),
		Credit:       clamp(float64(sf.Credit) / 100),
		Rating:       rating,
		AfterSale:    clamp(1 - sf.AfterSaleRate),
		OnTime:       clamp(sf.OnTime),
		Sales:        salesFactor(sf.ProductBuyers[it.ProductID]),
		RepeatBuyers: clamp(sf.RepeatBuyers),
		Interaction:  clamp(sf.Interaction / healthyInteraction),
		Freshness:    clamp(1 - age/freshDays),
	}
}

// Quality is the quality part of the formula.
func (f Factors) Quality() float64 {
	return 0.20*f.Credit + 0.20*f.Rating + 0.15*f.AfterSale + 0.10*f.OnTime +
		0.10*f.Sales + 0.10*f.RepeatBuyers + 0.10*f.Interaction + 0.05*f.Freshness
}

// Score is the whole formula.
func (f Factors) Score() float64 { return score(f.Relevance, f.Quality()) }

// score is the formula from relevance and quality, rounded to 1e-6 so that
// ties are ties.
func score(relevance, quality float64) float64 {
	return math.Round((relevanceWeight*relevance+qualityWeight*quality)*1e6) / 1e6
}

func clamp(v float64) float64 { return math.Max(0, math.Min(1, v)) }
