package tenants

import (
	"context"
	"time"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// ShopSettings is what a merchant changes about the shop as a whole: its
// name, its language (the storefront's default for shoppers who chose
// none, and the language of WeChat replies and notices) and its time zone
// (day boundaries for check-ins and reports, the times pages show). A nil
// field is left as it is.
type ShopSettings struct {
	Name     *string `json:"name"`
	Lang     *string `json:"lang"`
	TimeZone *string `json:"time_zone"`
}

// TimeZones are the zones the console offers, China's first; the API takes
// any IANA zone name.
var TimeZones = []string{"Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore",
	"Asia/Kuala_Lumpur", "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Europe/London", "Europe/Berlin",
	"America/New_York", "America/Los_Angeles", "UTC"}

// apply validates in and writes it onto t.
func (in ShopSettings) apply(t *Tenant) error {
	if in.Name != nil {
		name, err := fault.Text("name", *in.Name, 64)
		if err != nil {
			return err
		}
		if name == "" {
			return fault.Invalid("name", "is required")
		}
		t.Name = name
	}
	if in.Lang != nil {
		lang, ok := i18n.Supported(*in.Lang)
		if !ok {
			return fault.Invalid("lang", "must be zh-CN or en")
		}
		t.Lang = lang
	}
	if in.TimeZone != nil {
		tz, err := fault.Text("time_zone", *in.TimeZone, 64)
		if err != nil {
			return err
		}
		// time.LoadLocation reads "" and "Local" as zones of its own.
		if _, lerr := time.LoadLocation(tz); lerr != nil || tz == "" || tz == "Local" {
			return fault.Invalid("time_zone", "%q is not a time zone (an IANA name like Asia/Shanghai)", fault.Clip(tz, 64))
		}
		t.TimeZone = tz
	}
	return nil
}

// UpdateShop changes the shop's settings and returns the shop as it now
// is. This replica resolves the shop anew at once; others within
// resolveTTL.
func (s *Service) UpdateShop(ctx context.Context, tenantID string, in ShopSettings) (Tenant, error) {
	t, err := s.store.TenantByID(ctx, tenantID)
	if err != nil {
		return Tenant{}, err
	}
	if err := in.apply(&t); err != nil {
		return Tenant{}, err
	}
	if err := s.store.UpdateTenant(ctx, t); err != nil {
		return Tenant{}, fault.Wrap(err, "update shop %s", tenantID)
	}
	s.forgetTenant(t)
	return t, nil
}

// forgetTenant drops what this replica remembers of t's resolution (by
// slug and by API key), so that its next request reads the new settings.
func (s *Service) forgetTenant(t Tenant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bySlug, t.Slug)
	delete(s.byID, t.ID)
	for k, c := range s.byKey {
		if c.t.ID == t.ID {
			delete(s.byKey, k)
		}
	}
}
