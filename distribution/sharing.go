package distribution

import (
	"context"
	"sync"
	"time"
)

// sharingTTL is how long a replica trusts what it read of whether a shop
// runs distribution: a save on another replica shows within it.
const sharingTTL = 30 * time.Second

// sharingFlags remembers, per shop, whether its distribution is on, so a
// storefront page asks it for the cost of a map lookup.
type sharingFlags struct{ m sync.Map } // tenant id → sharingFlag

type sharingFlag struct {
	on bool
	at time.Time
}

// Sharing reports whether the shop runs distribution, so its storefront
// invites shoppers to share and earn (the footer's link to the distributor
// page). It is read at most every sharingTTL per shop; a save in this
// process applies at once. A shop whose settings cannot be read shows no
// invitation.
func (s *Service) Sharing(ctx context.Context, tenantID string) bool {
	now := s.now()
	if v, ok := s.sharing.m.Load(tenantID); ok {
		if f := v.(sharingFlag); now.Sub(f.at) < sharingTTL {
			return f.on
		}
	}
	st, err := s.store.Settings(ctx, tenantID)
	if err != nil {
		return false
	}
	s.sharing.m.Store(tenantID, sharingFlag{on: st.Enabled, at: now})
	return st.Enabled
}

// sharingSaved records a save of the shop's settings.
func (s *Service) sharingSaved(tenantID string, on bool) {
	s.sharing.m.Store(tenantID, sharingFlag{on: on, at: s.now()})
}
