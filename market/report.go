package market

import (
	"context"
	"slices"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Report kinds and outcomes.
var (
	ReportKinds    = []string{"counterfeit", "prohibited"}
	reportOutcomes = []string{"uphold", "dismiss"}
)

// Hider takes a product off its own shop's shelves (catalog: off sale),
// for a prohibited product an operator upheld a report on.
type Hider interface {
	HideProduct(ctx context.Context, tenantID, productID string) error
}

// Penalizer gives a shop the published penalty for an upheld report (the
// credit rules): ReportPenalties says which. key makes it once per report.
type Penalizer interface {
	PenalizeReport(ctx context.Context, tenantID, kind, reason, key string) error
}

// ReportPenalties are the published penalties for an upheld report, by
// its kind: a counterfeit costs a warning for 30 days, a prohibited
// product 30 days off the market.
var ReportPenalties = map[string]struct {
	Penalty string
	Days    int
}{"counterfeit": {"warning", 30}, "prohibited": {"off_market", 30}}

// SetPenalizer plugs the credit rules in.
func (s *Service) SetPenalizer(p Penalizer) { s.penalizer = p }

// ReportInput is a shopper's report.
type ReportInput struct {
	Shop      string `json:"shop"`
	ProductID string `json:"product_id"`
	Kind      string `json:"kind"`
	Text      string `json:"text"`
}

// Report records a shopper's report of a listed product. Only products on
// the market can be reported through it.
func (s *Service) Report(ctx context.Context, reporter string, in ReportInput) (Report, error) {
	if !slices.Contains(ReportKinds, in.Kind) {
		return Report{}, fault.Invalid("kind", "must be one of %v", ReportKinds)
	}
	text, err := fault.Text("text", in.Text, 1000)
	if err != nil {
		return Report{}, err
	}
	in.Text = text
	it, sh, ok := s.itemBySlug(in.Shop, in.ProductID)
	if !ok {
		return Report{}, fault.NotFound("product")
	}
	r := Report{ID: engine.NewID(), TenantID: it.TenantID, Shop: sh.Slug, ProductID: it.ProductID, Title: it.Title,
		Kind: in.Kind, Text: in.Text, Reporter: reporter, Status: "open", Created: s.clock()}
	if err := s.store.AddReport(ctx, r); err != nil {
		return Report{}, err
	}
	return r, nil
}

// itemBySlug finds a product on the market by its shop's slug.
func (s *Service) itemBySlug(slug, productID string) (Item, Shop, bool) {
	s.mu.RLock()
	sh, ok := s.listed[s.bySlug[slug]]
	s.mu.RUnlock()
	if !ok || !sh.Listed {
		return Item{}, Shop{}, false
	}
	it, ok := s.item(itemID(sh.TenantID, productID))
	return it, sh, ok
}

// Reports lists reports by status, oldest first.
func (s *Service) Reports(ctx context.Context, status string) ([]Report, error) {
	if status == "" {
		status = "open"
	}
	if !slices.Contains([]string{"open", "upheld", "dismissed"}, status) {
		return nil, fault.Invalid("status", "must be open, upheld or dismissed")
	}
	return s.store.Reports(ctx, status, 200)
}

// Decision is an operator's decision on a report.
type Decision struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

// Decide settles an open report, once. Upheld: the product leaves the
// market at once (and, if prohibited, its shop's shelves through hider).
func (s *Service) Decide(ctx context.Context, op tenants.Operator, id string, d Decision, hider Hider) (Report, error) {
	if !slices.Contains(reportOutcomes, d.Outcome) {
		return Report{}, fault.Invalid("outcome", "must be one of %v", reportOutcomes)
	}
	note, err := fault.Text("note", d.Note, 500)
	if err != nil {
		return Report{}, err
	}
	d.Note = note
	r, err := s.store.Report(ctx, id)
	if err != nil {
		return Report{}, err
	}
	status := map[string]string{"uphold": "upheld", "dismiss": "dismissed"}[d.Outcome]
	now := s.clock()
	ok, err := s.store.DecideReport(ctx, id, status, d.Note, op.Email, now)
	if err != nil {
		return Report{}, err
	}
	if !ok {
		return Report{}, fault.Conflict("the report was already decided")
	}
	if status == "upheld" {
		if err := s.Delist(ctx, r.TenantID, r.ProductID, r.Kind); err != nil {
			return Report{}, err
		}
		if r.Kind == "prohibited" && hider != nil {
			if err := hider.HideProduct(ctx, r.TenantID, r.ProductID); err != nil {
				return Report{}, err
			}
		}
		if s.penalizer != nil {
			reason := r.Kind + ": " + r.Title
			if err := s.penalizer.PenalizeReport(ctx, r.TenantID, r.Kind, reason, "report-"+r.ID); err != nil {
				return Report{}, err
			}
		}
	}
	return s.store.Report(ctx, id)
}

// Delist takes a product off the market for reason, at once on this
// replica (within seconds on the others); the feed never puts it back.
func (s *Service) Delist(ctx context.Context, tenantID, productID, reason string) error {
	at := s.clock()
	if _, err := s.store.Delist(ctx, itemID(tenantID, productID), reason, at); err != nil {
		return err
	}
	return s.Sync(ctx)
}

// Explain is why a product ranks where it does for a query: its factors
// and score, and its place.
type Explain struct {
	Query    string  `json:"query"`
	Position int     `json:"position"` // 1-based; 0: not found
	Score    float64 `json:"score"`
	Factors  Factors `json:"factors"`
	Weights  Formula `json:"weights"`
}

// ExplainRank ranks q and reports where shop's product stands.
func (s *Service) ExplainRank(ctx context.Context, q, slug, productID string) (Explain, error) {
	s.mu.RLock()
	listed, factors := s.listed, s.factors
	s.mu.RUnlock()
	hits := s.ranked(Query{Text: q}, listed, factors)
	out := Explain{Query: q, Weights: PublishedFormula()}
	var mine *scoredHit
	for i := range hits {
		if h := &hits[i]; h.Item.ProductID == productID && listed[h.Item.TenantID].Slug == slug {
			mine = h
		}
	}
	if mine == nil {
		return out, nil
	}
	out.Position = 1
	for i := range hits {
		if better(&hits[i], mine) {
			out.Position++
		}
	}
	r := s.result(*mine, listed, factors, s.clock())
	out.Score, out.Factors = r.Score, r.Factors
	return out, nil
}

// Formula is the published ranking formula.
type Formula struct {
	Relevance float64  `json:"relevance"`
	Quality   float64  `json:"quality"`
	Terms     []Weight `json:"quality_terms"`
	Healthy   float64  `json:"healthy_interaction"`
	FreshDays int      `json:"fresh_days"`
	// SalesDays is the sales term's window and FullSales the distinct
	// buyers in it at which the term is full.
	SalesDays int `json:"sales_days"`
	FullSales int `json:"full_sales"`
}

// PublishedFormula is the formula as GET /m/api/ranking-formula shows it.
func PublishedFormula() Formula {
	return Formula{Relevance: relevanceWeight, Quality: qualityWeight, Terms: QualityWeights,
		Healthy: healthyInteraction, FreshDays: freshDays, SalesDays: salesDays, FullSales: fullSales}
}
