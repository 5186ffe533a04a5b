package order

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"microshop/tenants/fault"
)

// Notification is a payment provider's word that an order was paid, after
// its signature was verified.
type Notification struct {
	Provider      string `json:"provider"`
	TenantID      string `json:"tenant_id"`
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
}

// Providers.
const (
	ProviderSandbox = "sandbox"
	ProviderWeChat  = "wechat_pay"
)

// Sandbox is the default payment provider: a pay page whose confirm button
// produces a signed notification that goes through the same verification
// and confirmation as a real provider's.
type Sandbox struct{ key []byte }

// NewSandbox returns the sandbox provider; key signs its notifications.
func NewSandbox(key []byte) *Sandbox { return &Sandbox{key: key} }

// SignedNotification is the sandbox's notify body.
type SignedNotification struct {
	Notification
	Signature string `json:"signature"`
}

func (p *Sandbox) sign(n Notification) string {
	m := hmac.New(sha256.New, p.key)
	fmt.Fprintf(m, "sandbox-pay|%s|%s|%s|%d", n.TenantID, n.OrderID, n.TransactionID, n.Amount)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign produces the notification the sandbox pay page sends.
func (p *Sandbox) Sign(n Notification) []byte {
	n.Provider = ProviderSandbox
	b, _ := json.Marshal(SignedNotification{Notification: n, Signature: p.sign(n)})
	return b
}

// Verify parses and checks a sandbox notification.
func (p *Sandbox) Verify(body []byte) (Notification, error) {
	var sn SignedNotification
	if err := json.Unmarshal(body, &sn); err != nil {
		return Notification{}, fault.Invalid("", "malformed sandbox notification")
	}
	sn.Provider = ProviderSandbox
	if !hmac.Equal([]byte(sn.Signature), []byte(p.sign(sn.Notification))) {
		return Notification{}, fault.Forbidden("bad signature")
	}
	return sn.Notification, nil
}

// SandboxAllowed reports whether a shop with settings st takes sandbox
// payments (the test provider): never once it has WeChat Pay of its own,
// and on a live server only in test mode. On a sandbox server the
// storefront pays through the WeChat Pay simulator outside test mode (see
// Pay); a signed sandbox notification is still taken there.
func (s *Service) SandboxAllowed(st Settings) bool {
	return !st.WeChatPay.Real() && (!s.live || st.TestMode)
}

// sandboxOff is why a shop with settings st refuses a sandbox payment.
func (s *Service) sandboxOff(st Settings) error {
	msg := "this shop takes no sandbox payments: it is not in test mode"
	if st.WeChatPay.Real() {
		msg = "this shop takes real payments; the sandbox is off"
	}
	return &fault.Error{Status: http.StatusConflict, Code: "sandbox_off", Message: msg}
}

// errNoPayments: a live shop with neither WeChat Pay nor test mode.
var errNoPayments = &fault.Error{Status: http.StatusConflict, Code: "payments_unavailable",
	Message: "this shop cannot take payments yet"}

// Notify verifies a sandbox notification and confirms the payment: the
// HTTP notify endpoint and the sandbox pay page both come through here.
func (s *Service) Notify(ctx context.Context, sandbox *Sandbox, tenantID string, body []byte) error {
	n, err := sandbox.Verify(body)
	if err != nil {
		return err
	}
	if n.TenantID != tenantID {
		return fault.Forbidden("notification for another shop")
	}
	return s.ConfirmPayment(ctx, tenantID, n)
}

// SandboxConfirm is what the sandbox pay page's button does: it signs a
// notification for the order's payable amount and sends it through Notify.
func (s *Service) SandboxConfirm(ctx context.Context, sandbox *Sandbox, tenantID, fanID, id string) (Order, error) {
	o, err := s.GetForFan(ctx, tenantID, fanID, id)
	if err != nil {
		return Order{}, err
	}
	return s.sandboxConfirm(ctx, sandbox, tenantID, o)
}

// sandboxConfirm pays o, the buyer's own order as just read.
func (s *Service) sandboxConfirm(ctx context.Context, sandbox *Sandbox, tenantID string, o Order) (Order, error) {
	if o.Status != PendingPayment && o.Provider != ProviderSandbox {
		return Order{}, fault.Conflict("cannot pay an order that is %s", o.Status)
	}
	if o.Status == PendingPayment && s.clock().After(o.ExpiresAt) {
		// A real provider's notice for an expired order is still accepted
		// (the money moved); the sandbox simply refuses to start one.
		return Order{}, fault.Conflict("the payment deadline for this order has passed")
	}
	// One transaction id per order: a double click is the same payment.
	body := sandbox.Sign(Notification{TenantID: tenantID, OrderID: o.ID, TransactionID: "sbx_" + o.ID, Amount: o.Payable})
	if err := s.Notify(ctx, sandbox, tenantID, body); err != nil {
		return Order{}, err
	}
	return s.store.Get(ctx, tenantID, o.ID)
}
