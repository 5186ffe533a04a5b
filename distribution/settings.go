package distribution

import (
	"context"
	"fmt"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Recruit rules: how a fan becomes a distributor.
const (
	RecruitOpen          = "open"           // anyone, at once
	RecruitFirstPurchase = "first_purchase" // after a first paid order
	RecruitApproval      = "approval"       // on application, approved by the merchant
)

// Binding policies: how long a touch binds a customer.
const (
	BindPermanent = "permanent" // the first binding stays
	BindDays      = "days"      // a binding lasts BindingDays, renewed by the same code
	BindLatest    = "latest"    // the latest touch wins, after the protection period
)

// Settings are a shop's distribution rules.
type Settings struct {
	// Enabled turns the distributor programme on (guides work without it).
	Enabled bool `json:"enabled"`
	// Levels are the commission rates in basis points, level 1 (the
	// distributor the customer is bound to) first: [1000, 500] pays 10% and
	// 5%. One or two levels; a third only with ThirdLevel.
	Levels []int64 `json:"levels"`
	// ThirdLevel allows a third level. WeChat's platform rules treat
	// commission on downline sales more than two levels deep as grounds
	// for sanctions: the merchant must ask for it explicitly.
	ThirdLevel     bool   `json:"third_level"`
	Recruit        string `json:"recruit"`
	Binding        string `json:"binding"`
	BindingDays    int    `json:"binding_days"`
	ProtectionDays int    `json:"protection_days"`
	// AfterSaleDays: commission becomes available this long after the
	// order is completed.
	AfterSaleDays int `json:"after_sale_days"`
	// SelfPurchase pays a distributor level-1 commission on their own orders.
	SelfPurchase bool `json:"self_purchase"`
	// CapBps caps the total commission of an order, in basis points of
	// its base (default 5000: half).
	CapBps int64 `json:"cap_bps"`
	// MinWithdrawal (fen) and WithdrawalFeeBps (kept from the payout).
	MinWithdrawal    int64 `json:"min_withdrawal"`
	WithdrawalFeeBps int64 `json:"withdrawal_fee_bps"`
	// Products override the rates for some products: rates per level, or
	// a fixed amount per unit per level (times the quantity).
	Products []ProductRule `json:"products"`
	// Rev counts the saves: a save of settings read at another revision
	// (another tab, another person, an API client) is refused, never
	// silently undone (Store.SaveSettings).
	Rev int64 `json:"rev"`
}

// ProductRule is one product's own commission.
type ProductRule struct {
	ProductID string  `json:"product_id"`
	Levels    []int64 `json:"levels,omitempty"` // basis points per level
	Fixed     []int64 `json:"fixed,omitempty"`  // fen per unit per level
}

// DefaultSettings are what a shop starts with: the programme off, two
// levels of 10% and 5%, open recruitment, 30-day bindings, a 7-day
// after-sale window, commission capped at half the base.
func DefaultSettings() Settings {
	return Settings{Levels: []int64{1000, 500}, Recruit: RecruitOpen, Binding: BindDays, BindingDays: 30,
		AfterSaleDays: 7, CapBps: 5000, MinWithdrawal: 100, Products: []ProductRule{}}
}

// ThirdLevelWarning is shown with settings that use three levels.
const ThirdLevelWarning = "Three commission levels: WeChat's rules treat commission on sales more than two levels down as multi-level marketing, which can get the official account and its payments suspended."

// maxProductRules bounds the per-product overrides kept in the settings.
const maxProductRules = 500

// Validate says what is wrong with s.
func (s *Settings) Validate() error {
	if s.CapBps < 0 || s.CapBps > 10000 {
		return fault.Invalid("cap_bps", "must be between 0 and 10000 basis points (0-100%%), got %d", s.CapBps)
	}
	if err := s.rates("levels", s.Levels, true); err != nil {
		return err
	}
	switch s.Recruit {
	case RecruitOpen, RecruitFirstPurchase, RecruitApproval:
	default:
		return fault.Invalid("recruit", "must be open, first_purchase or approval")
	}
	switch s.Binding {
	case BindPermanent, BindDays, BindLatest:
	default:
		return fault.Invalid("binding", "must be permanent, days or latest")
	}
	switch {
	case s.BindingDays < 1 || s.BindingDays > 3650:
		return fault.Invalid("binding_days", "must be between 1 and 3650")
	case s.ProtectionDays < 0 || s.ProtectionDays > 3650:
		return fault.Invalid("protection_days", "must be between 0 and 3650")
	case s.AfterSaleDays < 0 || s.AfterSaleDays > 90:
		return fault.Invalid("after_sale_days", "must be between 0 and 90")
	case s.MinWithdrawal < 1 || s.MinWithdrawal > 100_000_000:
		return fault.Invalid("min_withdrawal", "must be between 1 and 100000000 fen")
	case s.WithdrawalFeeBps < 0 || s.WithdrawalFeeBps > 2000:
		return fault.Invalid("withdrawal_fee_bps", "must be between 0 and 2000 basis points (20%)")
	case len(s.Products) > maxProductRules:
		return fault.Invalid("products", "at most %d product rules", maxProductRules)
	}
	seen := map[string]bool{}
	for i, p := range s.Products {
		field := fmt.Sprintf("products[%d]", i)
		if err := engine.CheckID(field+".product_id", "product", p.ProductID); err != nil {
			return err
		}
		if seen[p.ProductID] {
			return fault.Invalid(field+".product_id", "product %s has two rules", p.ProductID)
		}
		seen[p.ProductID] = true
		switch {
		case len(p.Levels) > 0 && len(p.Fixed) > 0:
			return fault.Invalid(field, "give either levels (rates) or fixed (amounts per unit), not both")
		case len(p.Levels) > 0:
			if err := s.rates(field+".levels", p.Levels, false); err != nil {
				return err
			}
		case len(p.Fixed) > 0:
			if len(p.Fixed) != len(s.Levels) {
				return fault.Invalid(field+".fixed", "needs one amount per level (%d), got %d", len(s.Levels), len(p.Fixed))
			}
			for j, v := range p.Fixed {
				if v < 0 || v > 10_000_000 {
					return fault.Invalid(fmt.Sprintf("%s.fixed[%d]", field, j), "must be between 0 and 10000000 fen per unit, got %d", v)
				}
			}
		default:
			return fault.Invalid(field, "give levels (rates) or fixed (amounts per unit)")
		}
	}
	if s.Products == nil {
		s.Products = []ProductRule{}
	}
	return nil
}

// rates checks a list of per-level rates: 1 or 2 of them (3 with
// ThirdLevel), each within 0..cap, together at most the cap.
func (s *Settings) rates(field string, rates []int64, top bool) error {
	max := 2
	if s.ThirdLevel {
		max = 3
	}
	if !top && len(rates) != len(s.Levels) {
		return fault.Invalid(field, "needs one rate per level (%d), got %d", len(s.Levels), len(rates))
	}
	if len(rates) < 1 || len(rates) > max {
		if len(rates) == 3 && !s.ThirdLevel {
			return fault.Invalid(field, "a third level needs \"third_level\": true: %s", ThirdLevelWarning)
		}
		return fault.Invalid(field, "must list 1 to %d rates in basis points (1000 = 10%%)", max)
	}
	var sum int64
	for i, r := range rates {
		if r < 0 || r > s.CapBps {
			return fault.Invalid(fmt.Sprintf("%s[%d]", field, i), "must be between 0 and the cap of %d basis points, got %d", s.CapBps, r)
		}
		sum += r
	}
	if sum > s.CapBps {
		return fault.Invalid(field, "the rates add up to %d basis points, over the cap of %d", sum, s.CapBps)
	}
	return nil
}

// Warning is what the merchant should know about s ("" for nothing).
func (s Settings) Warning() string {
	if len(s.Levels) > 2 {
		return ThirdLevelWarning
	}
	return ""
}

// Settings returns the shop's distribution settings (the defaults until it
// saves its own).
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	return s.store.Settings(ctx, tenantID)
}

// SaveSettings validates and stores a shop's settings.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if err := s.store.SaveSettings(ctx, tenantID, st); err != nil {
		return err
	}
	s.sharingSaved(tenantID, st.Enabled)
	return nil
}
