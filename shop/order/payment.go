package order

import (
	"context"
	"errors"
	"fmt"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// ConfirmPayment applies a verified payment notification: the payment is
// recorded once per provider transaction, and the order moves to paid
// once, however many times and from however many servers the provider
// notifies. The amount must be what the order asks. A sandbox payment is
// refused by a shop that takes none (SandboxAllowed), and marks the order
// test when the shop is in test mode.
//
// The order is not read first: one conditional write (awaiting payment,
// asking this amount) pays it and returns it, the payment is recorded
// with it (Store.MarkPaid), and its events are delivered from the order
// as written. Only a
// notification that did not pay the order reads it, to say why (and
// records the payment in the payments collection, where a repeated one
// is found once).
func (s *Service) ConfirmPayment(ctx context.Context, tenantID string, n Notification) error {
	if err := engine.CheckID("id", "order", n.OrderID); err != nil {
		return err
	}
	var test *bool
	if n.Provider == ProviderSandbox {
		st, err := s.Settings(ctx, tenantID)
		if err != nil {
			return err
		}
		if !s.SandboxAllowed(st) {
			s.countPayment(n.Provider, PaymentRefused)
			return s.sandboxOff(st)
		}
		test = &st.TestMode
	}
	now := s.clock()
	payment := Payment{Provider: n.Provider, TransactionID: n.TransactionID, OrderID: n.OrderID, Amount: n.Amount, At: now}
	o, ok, err := s.store.MarkPaid(ctx, tenantID, n.OrderID, n.Amount, Change{
		PaidAt: &now, Paid: &n.Amount, Provider: &n.Provider, TransactionID: &n.TransactionID, Test: test,
	}, &Event{ID: EventPaid, Type: EventPaid, Amount: n.Amount, At: now}, payment)
	if err != nil {
		return err
	}
	if ok {
		s.countPayment(n.Provider, PaymentPaid)
		if err := s.dispatchOrder(ctx, tenantID, o); err != nil {
			return err
		}
		o.Events = nil
		s.paidWaits.paid(tenantID, o) // a sandbox payment waiting for it (wechatPayConfirm)
		return nil
	}
	cur, err := s.store.Get(ctx, tenantID, n.OrderID)
	if err != nil {
		return err
	}
	if n.Amount != cur.Payable {
		s.log.Error("payment amount mismatch", "tenant", tenantID, "order", cur.ID, "paid", n.Amount, "payable", cur.Payable)
		s.countPayment(n.Provider, PaymentRefused)
		return fault.Conflict("paid amount %d does not match the order's %d", n.Amount, cur.Payable)
	}
	// Recorded once per transaction: a repeat of the notification that
	// paid the order records what a crash may have left unrecorded.
	if _, err := s.store.InsertPayment(ctx, tenantID, payment); err != nil {
		return err
	}
	if cur.TransactionID == n.TransactionID {
		s.countPayment(n.Provider, PaymentRepeated)
		return nil // a repeated notification of the payment that paid it
	}
	// Money arrived that cannot pay this order: it was cancelled
	// meanwhile (the merchant cancelled while the shopper paid), or
	// another transaction paid it first (the shopper paid twice). The
	// payment is kept, flagged for a refund, and listed to the merchant
	// until marked refunded: never silently kept.
	reason := fmt.Sprintf("the order was already paid by transaction %s", cur.TransactionID)
	if cur.TransactionID == "" {
		reason = fmt.Sprintf("the order was %s when this payment arrived", words(cur.Status))
	}
	flagged, err := s.store.FlagPayment(ctx, tenantID, n.Provider, n.TransactionID, reason)
	if err != nil {
		return err
	}
	outcome := PaymentRepeated // a repeated notification of a flagged payment
	if flagged {
		outcome = PaymentFlagged
		s.log.Error("payment that cannot pay its order: refund it", "tenant", tenantID, "order", cur.ID,
			"transaction", n.TransactionID, "amount", n.Amount, "reason", reason)
	}
	s.countPayment(n.Provider, outcome)
	return nil
}

// PaymentsToRefund lists payments in a refund state (PaymentToRefund or
// PaymentRefunded), newest first.
func (s *Service) PaymentsToRefund(ctx context.Context, tenantID, refund string, limit int) ([]Payment, error) {
	if refund == "" {
		refund = PaymentToRefund
	}
	if refund != PaymentToRefund && refund != PaymentRefunded {
		return nil, fault.Invalid("refund", "must be %s or %s", PaymentToRefund, PaymentRefunded)
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 200 {
		return nil, fault.Invalid("limit", "must be between 1 and 200")
	}
	return s.store.Payments(ctx, tenantID, refund, "", limit)
}

// OrderPayments lists every payment recorded for an order.
func (s *Service) OrderPayments(ctx context.Context, tenantID, orderID string) ([]Payment, error) {
	return s.store.Payments(ctx, tenantID, "", orderID, 0)
}

// MarkRefunded records that the merchant gave back a payment flagged for a
// refund (through the provider's merchant platform).
func (s *Service) MarkRefunded(ctx context.Context, tenantID, orderID, provider, transactionID string) (Payment, error) {
	o, err := s.Get(ctx, tenantID, orderID)
	if err != nil {
		return Payment{}, err
	}
	if provider == "" || transactionID == "" {
		return Payment{}, fault.Invalid("transaction_id", "provider and transaction_id are required")
	}
	ok, err := s.store.RefundedPayment(ctx, tenantID, o.ID, provider, transactionID, s.clock())
	if err != nil {
		return Payment{}, err
	}
	all, err := s.store.Payments(ctx, tenantID, "", o.ID, 0)
	if err != nil {
		return Payment{}, err
	}
	for _, p := range all {
		if p.Provider == provider && p.TransactionID == transactionID {
			if !ok && p.Refund != PaymentToRefund {
				return Payment{}, fault.Conflict("payment %s of this order is not waiting for a refund", fault.Clip(transactionID, 40))
			}
			return p, nil
		}
	}
	return Payment{}, fault.NotFound("payment")
}

// PayRequest is what the storefront's pay button sends. The handler adds
// where the buyer is and where WeChat Pay should notify.
type PayRequest struct {
	// SandboxConfirm completes a sandbox payment instead of starting one:
	// the test provider's in test mode, otherwise (sandbox mode) the buyer
	// paying at the WeChat Pay simulator.
	SandboxConfirm bool `json:"sandbox_confirm"`
	// Method "wechat" pays with WeChat Pay (JSAPI), "wechat_h5" with
	// WeChat Pay's H5 pay (a browser outside WeChat); "" lets the shop's
	// settings choose.
	Method string `json:"method"`
	// Provider is accepted for older pages; the shop's settings choose.
	Provider  string `json:"provider"`
	ClientIP  string `json:"-"`
	NotifyURL string `json:"-"`
}

// PayStart is how the buyer goes on: to the sandbox pay page (Provider
// sandbox; the handler adds PayURL), into WeChat Pay with JSAPI or at
// H5URL (H5 pay, outside WeChat), or, for a confirmed payment, the order
// as it is now (Status, Order).
// SandboxConfirm says the payment can be completed with sandbox_confirm
// (the shop pays through the simulator).
type PayStart struct {
	Provider       string          `json:"provider,omitempty"`
	PayURL         string          `json:"pay_url,omitempty"`
	JSAPI          *WeChatPayStart `json:"jsapi,omitempty"`
	H5URL          string          `json:"h5_url,omitempty"`
	SandboxConfirm bool            `json:"sandbox_confirm,omitempty"`
	Status         string          `json:"status,omitempty"`
	Order          *Order          `json:"order,omitempty"`
}

// Pay starts paying the fan's own order: with WeChat Pay (JSAPI, or H5
// pay with method wechat_h5) when the shop has it, or through the
// simulator with generated credentials in sandbox mode; with the test
// provider in test mode. With req.SandboxConfirm it completes a sandbox
// payment through the signed notify path of whichever provider is behind
// it.
func (s *Service) Pay(ctx context.Context, sandbox *Sandbox, tenantID, fanID, id string, req PayRequest) (PayStart, error) {
	if req.Method != "" && req.Method != "wechat" && req.Method != MethodWeChatH5 {
		return PayStart{}, fault.Invalid("method", "must be wechat or wechat_h5")
	}
	o, err := s.GetForFan(ctx, tenantID, fanID, id)
	if err != nil {
		return PayStart{}, err
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return PayStart{}, err
	}
	if req.SandboxConfirm {
		return s.confirm(ctx, sandbox, tenantID, fanID, o, st, req)
	}
	if o.Status != PendingPayment {
		return PayStart{}, fault.Conflict("cannot pay an order that is %s", words(o.Status))
	}
	if req.Method == "" && s.SandboxAllowed(st) {
		// The sandbox pay page, whose button confirms through whichever
		// provider is behind it.
		return PayStart{Provider: ProviderSandbox}, nil
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, true)
	if err != nil {
		return PayStart{}, err
	}
	if !ok {
		if req.Method != "" {
			return PayStart{}, fault.Conflict("this shop does not take WeChat Pay")
		}
		return PayStart{}, errNoPayments
	}
	var params WeChatPayStart
	var h5URL string
	if req.Method == MethodWeChatH5 {
		h5URL, err = s.startH5Pay(ctx, tenantID, acct, o, req.ClientIP, req.NotifyURL)
	} else {
		openID := s.openID(ctx, tenantID, fanID)
		if openID == "" && acct.Sandbox {
			openID = sandboxOpenID(fanID)
		}
		params, err = s.startWeChatPay(ctx, tenantID, acct, o, openID, req.NotifyURL)
	}
	if errors.Is(err, errAlreadyPaid) {
		// Paid at WeChat Pay, its notification not here yet: ask.
		if _, err := s.queryWeChatPay(ctx, tenantID, acct, o.ID); err != nil {
			return PayStart{}, err
		}
		o, err := s.store.Get(ctx, tenantID, o.ID)
		if err != nil {
			return PayStart{}, err
		}
		return PayStart{Provider: ProviderWeChat, Status: o.Status, Order: &o}, nil
	}
	if err != nil {
		return PayStart{}, err
	}
	s.paymentStarted(ctx, tenantID, o)
	if h5URL != "" {
		return PayStart{Provider: ProviderWeChat, H5URL: h5URL, SandboxConfirm: acct.Sandbox}, nil
	}
	return PayStart{Provider: ProviderWeChat, JSAPI: &params, SandboxConfirm: acct.Sandbox}, nil
}

// confirm completes a sandbox payment of the buyer's own order o: with
// the test provider in test mode (or where there is no simulator),
// otherwise by the buyer paying at the WeChat Pay simulator. An account of
// the shop's own moves real money: only WeChat does that.
func (s *Service) confirm(ctx context.Context, sandbox *Sandbox, tenantID, fanID string, o Order, st Settings, req PayRequest) (PayStart, error) {
	var acct WeChatPaySettings
	ok := false
	if req.Method != "" || !st.TestMode || !s.SandboxAllowed(st) {
		var err error
		if acct, ok, err = s.payAccount(ctx, tenantID, st, true); err != nil {
			return PayStart{}, err
		}
	}
	if req.Method == "" && !ok {
		if !s.SandboxAllowed(st) {
			return PayStart{}, s.sandboxOff(st)
		}
		o, err := s.sandboxConfirm(ctx, sandbox, tenantID, o)
		if err != nil {
			return PayStart{}, err
		}
		return PayStart{Status: o.Status, Order: &o}, nil
	}
	if !ok || !acct.Sandbox {
		return PayStart{}, s.sandboxOff(st)
	}
	o, err := s.wechatPayConfirm(ctx, tenantID, acct, o, s.openID(ctx, tenantID, fanID), req.NotifyURL)
	if err != nil {
		return PayStart{}, err
	}
	return PayStart{Provider: ProviderWeChat, Status: o.Status, Order: &o}, nil
}

// openID is the fan's WeChat openid for the shop's account ("" for a fan
// met outside WeChat).
func (s *Service) openID(ctx context.Context, tenantID, fanID string) string {
	if id, ok := s.known.openID(tenantID, fanID, s.now()); ok {
		return id
	}
	f, err := s.fans.Get(ctx, tenantID, fanID)
	if err != nil {
		if !errors.Is(err, fault.ErrNotFound) {
			s.log.Warn("read fan", "tenant", tenantID, "fan", fanID, "err", err)
		}
		return ""
	}
	s.known.remember(tenantID, fanID, f.OpenID, s.now())
	return f.OpenID
}
