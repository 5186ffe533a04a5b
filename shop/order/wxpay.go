package order

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"

	"microshop/tenants/fault"
	"microshop/tenants/wechat/paysim"
)

// WeChat Pay API v3 (JSAPI; H5 in wxpay_h5.go) through the official SDK,
// github.com/wechatpay-apiv3/wechatpay-go: prepay and the WeixinJSBridge
// parameters, the payment notification (signature verified with WeChat
// Pay's public key, resource decrypted with the API v3 key), the query of a
// payment no notification announced, and closing an unpaid order at WeChat
// Pay when we cancel it. The legacy API v2 (MD5 keys) is gone: WeChat Pay
// signs up new merchants on v3 only.
//
// In sandbox mode the SDK talks to the simulator (tenants/wechat/paysim)
// in process, and a shop without an account of its own is given generated
// credentials there: the code path is the one a live shop runs.

// WeChatPayStart is what the storefront hands to WeixinJSBridge's
// getBrandWCPayRequest.
type WeChatPayStart struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// WeChatPay is how the order service reaches WeChat Pay: the HTTP client
// the SDK's calls go through and, in sandbox mode, the simulator. It is
// also the subscriber that closes a cancelled order's payment at WeChat
// Pay. server plugs it in with Service.SetWeChatPay.
type WeChatPay struct {
	http *http.Client
	sim  PaySimulator
	svc  *Service

	mu      sync.Mutex
	clients map[string]*payClient // by tenant and credentials
	gen     sync.Mutex            // one generation of sandbox credentials at a time
}

// PaySimulator is the WeChat Pay simulator as the sandbox uses it: in
// process (*paysim.Simulator) or in another one (*paysim.Remote).
type PaySimulator interface {
	PublicKeyID() string
	PublicKeyPEM() string
	NewMerchant() (paysim.Credentials, error)
	Enroll(paysim.Merchant) error
	// Pay is the buyer paying in WeChat; the notification sent at once
	// has been answered when it returns.
	Pay(ctx context.Context, mchID, outTradeNo string) (paysim.Transaction, error)
}

// NewWeChatPay returns WeChat Pay reached with client (nil: PayHTTPClient);
// with sim, shops without their own account pay through
// the simulator with generated credentials.
func NewWeChatPay(client *http.Client, sim PaySimulator) *WeChatPay {
	if client == nil {
		client = PayHTTPClient()
	}
	w := &WeChatPay{http: client, clients: map[string]*payClient{}}
	if sim != nil && !isNilSim(sim) {
		w.sim = sim
	}
	return w
}

// PayHTTPClient is a client for WeChat Pay's API: a 10 s timeout, and a
// kept connection per concurrent caller (Go's default keeps two per host,
// so at a rush most prepays would pay a new TLS handshake).
func PayHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 128
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

// isNilSim: a nil *paysim.Simulator or *paysim.Remote passed as sim.
func isNilSim(sim PaySimulator) bool {
	switch v := sim.(type) {
	case *paysim.Simulator:
		return v == nil
	case *paysim.Remote:
		return v == nil
	}
	return false
}

// SetWeChatPay plugs in WeChat Pay (wired by server).
func (s *Service) SetWeChatPay(w *WeChatPay) {
	w.svc = s
	s.Subscribe(w)
}

// Reach makes w reach WeChat Pay with client and, in sandbox mode, sim
// (a simulator in another process: server/wechatpay.go). Call it before
// the service serves.
func (w *WeChatPay) Reach(client *http.Client, sim PaySimulator) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.http, w.sim, w.clients = client, sim, map[string]*payClient{}
}

// WeChatPay is the WeChat Pay the service was given (SetWeChatPay), nil
// if none.
func (s *Service) WeChatPay() *WeChatPay {
	if w := s.wechatPay(); w != livePay {
		return w
	}
	return nil
}

// livePay is WeChat Pay for a service that was given none.
var livePay = NewWeChatPay(nil, nil)

// wechatPay is the service's WeChat Pay (it is one of its subscribers).
func (s *Service) wechatPay() *WeChatPay {
	for _, sub := range s.subs {
		if w, ok := sub.(*WeChatPay); ok {
			return w
		}
	}
	return livePay
}

// payAccount is the WeChat Pay account the shop with settings st pays
// with: its own, or in sandbox mode the simulator's generated one (made
// on first use when generate is set and the shop typed no account of its
// own). ok is false when the shop takes no WeChat Pay.
func (s *Service) payAccount(ctx context.Context, tenantID string, st Settings, generate bool) (WeChatPaySettings, bool, error) {
	w := st.WeChatPay
	if w.Real() {
		return w, true, nil
	}
	sim := s.wechatPay().sim
	if s.live || sim == nil {
		return WeChatPaySettings{}, false, nil
	}
	if !w.Enabled() {
		if !generate || w.MchID != "" || w.APIv3Key != "" || w.PrivateKey != "" {
			return WeChatPaySettings{}, false, nil
		}
		var err error
		if w, err = s.generatePayAccount(ctx, tenantID); err != nil {
			return WeChatPaySettings{}, false, err
		}
	}
	// The simulator's key pair is new in each process: verify with the
	// one it has now.
	w.PublicKeyID, w.PublicKey = sim.PublicKeyID(), sim.PublicKeyPEM()
	return w, true, nil
}

// generatePayAccount gives the shop a merchant account at the simulator
// and stores it in its settings (once: a second caller finds it there).
func (s *Service) generatePayAccount(ctx context.Context, tenantID string) (WeChatPaySettings, error) {
	wp := s.wechatPay()
	wp.gen.Lock()
	defer wp.gen.Unlock()
	st, err := s.store.Settings(ctx, tenantID)
	if err != nil {
		return WeChatPaySettings{}, err
	}
	if st.WeChatPay.Enabled() {
		return st.WeChatPay, nil
	}
	c, err := wp.sim.NewMerchant()
	if err != nil {
		return WeChatPaySettings{}, err
	}
	st.WeChatPay = WeChatPaySettings{AppID: "wx" + randomHex(8), MchID: c.MchID, APIv3Key: c.APIv3Key, CertSerial: c.CertSerial,
		PrivateKey: strings.TrimSpace(c.PrivateKeyPEM), PublicKeyID: c.PublicKeyID, PublicKey: strings.TrimSpace(c.PublicKeyPEM), Sandbox: true}
	err = s.store.SaveSettings(ctx, tenantID, st)
	s.settings.forget(tenantID)
	if err != nil {
		return WeChatPaySettings{}, err
	}
	s.log.Info("generated sandbox WeChat Pay credentials", "tenant", tenantID, "mchid", c.MchID)
	return st.WeChatPay, nil
}

// errPayUnavailable is what the buyer is told when WeChat Pay did not
// answer; the cause is wrapped beside it for the log.
var errPayUnavailable = &fault.Error{Status: http.StatusBadGateway, Code: "payment_unavailable",
	Message: "WeChat Pay did not answer; try again in a moment"}

// apiCode is WeChat Pay's error code in err ("" when err is no answer of
// WeChat Pay's).
func apiCode(err error) string {
	var ae *core.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// description is what the buyer's WeChat shows for the order (at most 127
// bytes, as WeChat Pay allows).
func description(o Order) string {
	d := "Order " + o.ID
	if len(o.Lines) > 0 {
		d = o.Lines[0].Title
		if len(o.Lines) > 1 {
			d += fmt.Sprintf(" +%d", len(o.Lines)-1)
		}
	}
	for len(d) > 127 {
		r := []rune(d)
		d = string(r[:len(r)-1])
	}
	return d
}

// startWeChatPay creates (or finds again: WeChat Pay answers the same
// prepay id for the same order) the JSAPI prepay order for the buyer's
// openid and returns the parameters WeixinJSBridge needs, signed
// RSA-SHA256 with the merchant's key.
func (s *Service) startWeChatPay(ctx context.Context, tenantID string, acct WeChatPaySettings, o Order, openID, notifyURL string) (WeChatPayStart, error) {
	if openID == "" {
		return WeChatPayStart{}, fault.Conflict("open the shop inside WeChat to pay with WeChat Pay")
	}
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return WeChatPayStart{}, err
	}
	resp, _, err := pc.jsapi.PrepayWithRequestPayment(ctx, prepayRequest(acct, o, openID, notifyURL))
	if err := prepayError(o, err); err != nil {
		return WeChatPayStart{}, err
	}
	return WeChatPayStart{AppID: *resp.Appid, TimeStamp: *resp.TimeStamp, NonceStr: *resp.NonceStr,
		Package: *resp.Package, SignType: *resp.SignType, PaySign: *resp.PaySign}, nil
}

// prepay creates (or finds again) the prepay order without signing
// WeixinJSBridge's parameters (an RSA signature less): for the sandbox's
// confirm, which has no WeChat to hand them to.
func (s *Service) prepay(ctx context.Context, tenantID string, acct WeChatPaySettings, o Order, openID, notifyURL string) error {
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return err
	}
	_, _, err = pc.jsapi.Prepay(ctx, prepayRequest(acct, o, openID, notifyURL))
	return prepayError(o, err)
}

// prepayRequest is the JSAPI prepay of order o for the buyer openID.
func prepayRequest(acct WeChatPaySettings, o Order, openID, notifyURL string) jsapi.PrepayRequest {
	expires := o.ExpiresAt
	return jsapi.PrepayRequest{
		Appid: core.String(acct.AppID), Mchid: core.String(acct.MchID), Description: core.String(description(o)),
		OutTradeNo: core.String(o.ID), TimeExpire: &expires, NotifyUrl: core.String(notifyURL),
		Amount: &jsapi.Amount{Total: core.Int64(o.Payable), Currency: core.String("CNY")},
		Payer:  &jsapi.Payer{Openid: core.String(openID)},
	}
}

// prepayError is what a prepay's error means to the buyer.
func prepayError(o Order, err error) error {
	switch code := apiCode(err); {
	case err == nil:
		return nil
	case code == "ORDERPAID":
		return errAlreadyPaid
	case code == "ORDERCLOSED":
		return fault.Conflict("WeChat Pay closed the payment of this order")
	default:
		return fmt.Errorf("wechat pay prepay of order %s: %w: %w", o.ID, errPayUnavailable, err)
	}
}

// errAlreadyPaid: WeChat Pay says the order was paid (its notification
// may not have come yet); the caller settles it by a query.
var errAlreadyPaid = errors.New("wechat pay: order already paid")

// queryWeChatPay asks WeChat Pay about the order (GET
// /v3/pay/transactions/out-trade-no/{id}) and confirms its payment if it
// succeeded; settled reports that.
func (s *Service) queryWeChatPay(ctx context.Context, tenantID string, acct WeChatPaySettings, orderID string) (settled bool, err error) {
	_, settled, err = s.askWeChatPay(ctx, tenantID, acct, orderID)
	return settled, err
}

// askWeChatPay is queryWeChatPay that also says whether WeChat Pay knows
// the order at all (known false: the buyer never started paying).
func (s *Service) askWeChatPay(ctx context.Context, tenantID string, acct WeChatPaySettings, orderID string) (known, settled bool, err error) {
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return false, false, err
	}
	tx, _, err := pc.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(orderID), Mchid: core.String(acct.MchID)})
	if apiCode(err) == "ORDER_NOT_EXIST" {
		return false, false, nil // the buyer never started paying
	}
	if err != nil {
		return false, false, fmt.Errorf("query wechat pay order %s: %w", orderID, err)
	}
	if str(tx.TradeState) != "SUCCESS" {
		return true, false, nil
	}
	if err := s.confirmWeChat(ctx, tenantID, acct, *tx); err != nil {
		return true, false, err
	}
	return true, true, nil
}

// closeWeChatPay closes the order's payment at WeChat Pay, so the buyer
// cannot pay an order we cancelled. An order WeChat Pay never saw needs no
// closing; one it says was paid meanwhile is settled by a query (the
// payment is then flagged for a refund: the order is cancelled).
func (s *Service) closeWeChatPay(ctx context.Context, tenantID string, acct WeChatPaySettings, orderID string) error {
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return err
	}
	_, err = pc.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(orderID), Mchid: core.String(acct.MchID)})
	var ae *core.APIError
	switch code := apiCode(err); {
	case err == nil, code == "ORDER_NOT_EXIST":
		return nil
	case code == "ORDERPAID":
		_, err := s.queryWeChatPay(ctx, tenantID, acct, orderID)
		return err
	case errors.As(err, &ae) && ae.StatusCode < 500:
		s.log.Warn("wechat pay refused to close an order", "tenant", tenantID, "order", orderID, "err", err)
		return nil // retrying would not change WeChat Pay's mind
	default:
		return fmt.Errorf("close wechat pay order %s: %w", orderID, err)
	}
}

// OrderEvent closes the payment of a cancelled order at WeChat Pay. A
// failure to reach WeChat Pay leaves the event for the next pass.
func (w *WeChatPay) OrderEvent(ctx context.Context, tenantID string, o Order, ev Event) error {
	if ev.Type != EventCancelled || w.svc == nil {
		return nil
	}
	s := w.svc
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, false)
	if err != nil || !ok {
		return err
	}
	if err := s.closeWeChatPay(ctx, tenantID, acct, o.ID); err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status < 500 {
			s.log.Warn("close wechat pay order", "tenant", tenantID, "order", o.ID, "err", err)
			return nil
		}
		return err
	}
	return nil
}

// sandboxOpenID stands in for the openid of a buyer outside WeChat when
// the shop pays through the simulator (which knows no fans).
func sandboxOpenID(fanID string) string { return "sandbox-" + fanID }

// wechatPayConfirm is the sandbox's "the buyer paid in WeChat": the order
// is prepaid at the simulator, paid there, and its notification sent to
// the shop's notify URL; when none came (the simulator may be told to drop
// it), the payment is settled by a query, as the query job would.
//
// o is the order as just read: one paid already is answered as it is, and
// the order is read once more after paying (twice when it had to ask),
// unless this process's notification handler paid it (paidWaits).
func (s *Service) wechatPayConfirm(ctx context.Context, tenantID string, acct WeChatPaySettings, o Order, openID, notifyURL string) (Order, error) {
	if o.Status != PendingPayment {
		if o.TransactionID == "" { // cancelled before it was paid
			return Order{}, fault.Conflict("cannot pay an order that is %s", words(o.Status))
		}
		return o, nil
	}
	if s.clock().After(o.ExpiresAt) {
		return Order{}, fault.Conflict("the payment deadline for this order has passed")
	}
	if openID == "" {
		openID = sandboxOpenID(o.FanID)
	}
	if err := s.prepay(ctx, tenantID, acct, o, openID, notifyURL); err != nil && !errors.Is(err, errAlreadyPaid) {
		return Order{}, err
	}
	// The notification is answered when Pay returns: when this process
	// paid the order, it hands the order over instead of a read.
	end := s.paidWaits.wait(tenantID, o.ID)
	_, err := s.wechatPay().sim.Pay(ctx, acct.MchID, o.ID)
	paid, handed := end()
	if err != nil {
		return Order{}, fmt.Errorf("sandbox wechat pay of order %s: %w", o.ID, err)
	}
	if handed {
		return paid, nil
	}
	cur, err := s.store.Get(ctx, tenantID, o.ID)
	if err != nil || cur.Status != PendingPayment {
		return cur, err
	}
	if _, err := s.queryWeChatPay(ctx, tenantID, acct, o.ID); err != nil {
		return Order{}, err
	}
	if cur, err = s.store.Get(ctx, tenantID, o.ID); err == nil && cur.Status == PendingPayment {
		s.paymentStarted(ctx, tenantID, cur) // not paid after all: the query job asks on
	}
	return cur, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
