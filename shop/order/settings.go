package order

import (
	"context"
	"strings"

	"microshop/tenants/fault"
)

// Settings are a shop's order rules.
type Settings struct {
	// ShippingFee is the flat fee per order, waived when the goods total
	// reaches FreeShippingOver (0: never waived).
	ShippingFee      int64 `json:"shipping_fee"`
	FreeShippingOver int64 `json:"free_shipping_over"`
	// UnpaidTimeoutMinutes cancels unpaid orders (default 30).
	UnpaidTimeoutMinutes int `json:"unpaid_timeout_minutes"`
	// AutoCompleteDays completes shipped orders (default 10).
	AutoCompleteDays int `json:"auto_complete_days"`
	// WeChatPay, when set, takes payments through WeChat Pay JSAPI instead
	// of the sandbox.
	WeChatPay WeChatPaySettings `json:"wechat_pay"`
	// TestMode lets a shop without WeChat Pay take sandbox payments on a
	// live server (where the sandbox is otherwise off). Orders paid in the
	// sandbox while it is on are marked test (Order.Test).
	TestMode bool `json:"test_mode"`
}

// WeChatPaySettings are a merchant's WeChat Pay credentials.
type WeChatPaySettings struct {
	AppID string `json:"app_id"`
	MchID string `json:"mch_id"`
	Key   string `json:"key,omitempty"` // API key; never shown back in full
}

// Enabled reports whether WeChat Pay is configured.
func (w WeChatPaySettings) Enabled() bool { return w.MchID != "" && w.Key != "" && w.AppID != "" }

// DefaultSettings are what a shop starts with.
func DefaultSettings() Settings {
	return Settings{ShippingFee: 0, UnpaidTimeoutMinutes: 30, AutoCompleteDays: 10}
}

// Masked returns s with the WeChat Pay key hidden.
func (s Settings) Masked() Settings {
	if k := s.WeChatPay.Key; len(k) > 8 {
		s.WeChatPay.Key = strings.Repeat("*", len(k)-4) + k[len(k)-4:]
	} else if k != "" {
		s.WeChatPay.Key = strings.Repeat("*", len(k)) // too short to show any of it
	}
	return s
}

// Validate says what is wrong with s.
func (s Settings) Validate() error {
	switch {
	case s.ShippingFee < 0 || s.ShippingFee > 1_000_000:
		return fault.Invalid("shipping_fee", "must be between 0 and 1000000 fen")
	case s.FreeShippingOver < 0 || s.FreeShippingOver > 1_000_000_000:
		return fault.Invalid("free_shipping_over", "must be between 0 and 1000000000 fen")
	case s.UnpaidTimeoutMinutes < 5 || s.UnpaidTimeoutMinutes > 7*24*60:
		return fault.Invalid("unpaid_timeout_minutes", "must be between 5 and 10080")
	case s.AutoCompleteDays < 1 || s.AutoCompleteDays > 60:
		return fault.Invalid("auto_complete_days", "must be between 1 and 60")
	case len(s.WeChatPay.AppID) > 64 || len(s.WeChatPay.MchID) > 32 || len(s.WeChatPay.Key) > 64:
		return fault.Invalid("wechat_pay", "app_id, mch_id or key is too long")
	}
	return nil
}

// shippingFor is the shipping fee of an order with this goods total.
func (s Settings) shippingFor(goods int64) int64 {
	if s.FreeShippingOver > 0 && goods >= s.FreeShippingOver {
		return 0
	}
	return s.ShippingFee
}

// Settings returns the shop's order settings (the defaults until it saves
// its own). The WeChat Pay key is in full: show it Masked.
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	return s.store.Settings(ctx, tenantID)
}

// SaveSettings validates st and makes it the shop's order settings. A
// WeChat Pay key as Masked shows it (a form or API client sending back
// what it was shown) keeps the stored key.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	if st.WeChatPay.Key != "" {
		old, err := s.store.Settings(ctx, tenantID)
		if err != nil {
			return err
		}
		if st.WeChatPay.Key == old.Masked().WeChatPay.Key {
			st.WeChatPay.Key = old.WeChatPay.Key
		}
	}
	if err := st.Validate(); err != nil {
		return err
	}
	return s.store.SaveSettings(ctx, tenantID, st)
}
