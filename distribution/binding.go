package distribution

import (
	"time"
)

// Binding is who earns on a customer's orders: the guide and the
// distributor the fan was last bound to under the shop's policy. It is
// separate from the team tree (who recruited whom) and changes only by
// touches under the policy, by a merchant's re-assignment, or by a guide's
// hand-over; every change is in the log.
type Binding struct {
	FanID       string `json:"fan_id"`
	Guide       Slot   `json:"guide"`
	Distributor Slot   `json:"distributor"`
	// Channel is the channel of the latest touch.
	Channel string `json:"channel"`
	// ReferrerID is the distributor whose link or code the fan came
	// through last: the parent if the fan becomes a distributor.
	ReferrerID string `json:"referrer_id,omitempty"`
	// PaidOrders counts the fan's paid orders (for "distributor after a
	// first purchase").
	PaidOrders int64     `json:"paid_orders"`
	Rev        int64     `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Slot is one binding: to whom, since when, until when (zero: no end), and
// protected from other touches until when.
type Slot struct {
	ID      string    `json:"id,omitempty"`
	StoreID string    `json:"store_id,omitempty"` // guides: the store
	Channel string    `json:"channel,omitempty"`
	At      time.Time `json:"at,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Protect time.Time `json:"protected_until,omitzero"`
}

// Active reports whether the slot binds anyone at now.
func (s Slot) Active(now time.Time) bool {
	return s.ID != "" && (s.Until.IsZero() || now.Before(s.Until))
}

// Outcomes of a touch on a slot.
const (
	Bound    = "bound"    // the slot was free (or expired) and is now taken
	Renewed  = "renewed"  // the same code touched again
	Replaced = "replaced" // the latest touch took the customer over
	Kept     = "kept"     // the customer stays with the current binding
)

// claim applies a touch by id under the shop's policy to slot s at now and
// returns the new slot and what happened.
func (st Settings) claim(s Slot, id, storeID, channel string, now time.Time) (Slot, string) {
	fresh := Slot{ID: id, StoreID: storeID, Channel: channel, At: now}
	if st.Binding == BindDays {
		fresh.Until = now.AddDate(0, 0, st.BindingDays)
	}
	if st.ProtectionDays > 0 {
		fresh.Protect = now.AddDate(0, 0, st.ProtectionDays)
	}
	switch {
	case !s.Active(now):
		return fresh, Bound
	case s.ID == id:
		if st.Binding == BindPermanent {
			return s, Kept
		}
		return fresh, Renewed
	case st.Binding == BindLatest && !now.Before(s.Protect):
		return fresh, Replaced
	}
	return s, Kept
}

// LogEntry is one line of a customer's binding audit trail: a touch (kind
// "touch", with what it did to each slot), or a change made by the
// merchant ("manual", "handover").
type LogEntry struct {
	ID      string    `json:"id"`
	FanID   string    `json:"fan_id"`
	Kind    string    `json:"kind"`           // touch, manual, handover
	Slot    string    `json:"slot,omitempty"` // guide, distributor
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Code    string    `json:"code,omitempty"`
	Via     string    `json:"via,omitempty"` // link, wechat
	Channel string    `json:"channel,omitempty"`
	Result  string    `json:"result,omitempty"` // bound, renewed, replaced, kept, ignored: why
	By      string    `json:"by,omitempty"`     // the merchant user, for manual changes
	At      time.Time `json:"at"`
}
