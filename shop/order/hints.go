package order

import (
	"sync"
)

// What one process remembers to spare the database a read on the order
// path. Each is a hint: a write conditional on what the hint says makes it
// safe, and without the hint (another replica served the step, the process
// restarted) the step reads the database as before.

// slotHints remembers, per fan, which order holds each of the fan's unpaid
// slots as this process last saw them, and whether that order is known to
// have left payment (paid, cancelled or rejected: an order never comes back
// to awaiting payment). A placement of the fan then takes a slot whose
// order left with one conditional write (TakeSlot with that order as prev),
// instead of reading the slots and their orders first.
type slotHints struct {
	mu sync.Mutex
	m  map[string]*[MaxUnpaid]slotHint // by tenant/fan
}

// slotHint is one slot as last seen: its order ("" never taken) and
// whether that order no longer awaits payment (free).
type slotHint struct {
	order string
	free  bool
}

// maxSlotHints bounds the hints; past it they start over.
const maxSlotHints = 100_000

// free returns a slot the hints say may be taken, and the order it holds
// ("" for a slot never taken); ok is false when no hint says so. mine is
// true when orderID holds a slot already.
func (h *slotHints) free(tenantID, fanID, orderID string) (n int, prev string, ok, mine bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	slots := h.m[tenantID+"/"+fanID]
	if slots == nil {
		return 0, "", false, false
	}
	for i, sl := range slots {
		if sl.order == orderID {
			return i, "", false, true
		}
	}
	for i, sl := range slots {
		if sl.free {
			return i, sl.order, true, false
		}
	}
	return 0, "", false, false
}

// seen records slot n of the fan as holding order, free or not.
func (h *slotHints) seen(tenantID, fanID string, n int, order string, free bool) {
	if n < 0 || n >= MaxUnpaid {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := tenantID + "/" + fanID
	slots := h.m[key]
	if slots == nil {
		if h.m == nil || len(h.m) >= maxSlotHints {
			h.m = map[string]*[MaxUnpaid]slotHint{}
		}
		slots = &[MaxUnpaid]slotHint{}
		// A slot not seen yet is not known to be free.
		for i := range slots {
			slots[i] = slotHint{order: "?"}
		}
		h.m[key] = slots
	}
	slots[n] = slotHint{order: order, free: free}
}

// left records that the fan's order no longer awaits payment.
func (h *slotHints) left(tenantID, fanID, orderID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	slots := h.m[tenantID+"/"+fanID]
	if slots == nil {
		return
	}
	for i := range slots {
		if slots[i].order == orderID {
			slots[i].free = true
		}
	}
}

// forget drops the hint of the fan's slot n (a conditional take on it
// failed: another placement or replica moved it).
func (h *slotHints) forget(tenantID, fanID string, n int) {
	h.seen(tenantID, fanID, n, "?", false)
}

// paidWaits hands the order as ConfirmPayment wrote it to a sandbox payment
// waiting for it in this process (wechatPayConfirm), so the buyer's answer
// need not read the order back. Only orders someone waits for are kept.
type paidWaits struct {
	mu sync.Mutex
	m  map[string]*paidWait // by tenant/order
}

type paidWait struct {
	o    Order
	done bool
}

// wait registers a wait for the order; end takes what was handed over
// (false: nothing, read the order) and ends the wait.
func (w *paidWaits) wait(tenantID, orderID string) (end func() (Order, bool)) {
	key := tenantID + "/" + orderID
	pw := &paidWait{}
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]*paidWait{}
	}
	w.m[key] = pw
	w.mu.Unlock()
	return func() (Order, bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.m[key] == pw {
			delete(w.m, key)
		}
		return pw.o, pw.done
	}
}

// paid hands o, as just paid and its events delivered, to a wait for it.
func (w *paidWaits) paid(tenantID string, o Order) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if pw := w.m[tenantID+"/"+o.ID]; pw != nil {
		pw.o, pw.done = o, true
	}
}
