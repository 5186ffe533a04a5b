// Package paysim is a WeChat Pay API v3 simulator: the merchant API a shop's
// WeChat Pay client talks to in sandbox mode and in tests, speaking the
// real v3 formats. It generates its own RSA key pair (the "WeChat Pay
// public key" merchants verify with), checks every merchant request's
// WECHATPAY2-SHA256-RSA2048 signature against the merchant's enrolled
// public key, signs every answer (Wechatpay-Signature, -Serial,
// -Timestamp, -Nonce), keeps a ledger per merchant (prepay orders and
// their transactions), and sends payment notifications encrypted with
// AEAD_AES_256_GCM under the merchant's API v3 key, signed, to the notify
// URL the prepay named. Rules per merchant drop, repeat (concurrently),
// delay or hold notifications (held ones are released in any order).
//
// It is written from WeChat Pay's documentation, not with its SDK, so
// that tests of the SDK's use check it independently. It serves
// /v3/pay/transactions/jsapi, .../out-trade-no/{no} (query),
// .../out-trade-no/{no}/close and .../id/{transaction_id}, and refunds:
// /v3/refund/domestic/refunds and .../{out_refund_no} (refund.go), and
// transfers to a user's balance: /v3/transfer/batches and
// .../out-batch-no/{no} (transfer.go).
//
// In sandbox mode the server mounts it in process: Client returns an HTTP
// client whose requests the simulator serves directly, and SetNotifier
// sends notifications through the server's own router. In tests it is a
// local HTTP server (httptest.NewServer(sim)) and RewriteClient points the
// SDK at it.
package paysim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a simulator.
type Options struct {
	Log *slog.Logger
	// Notifier sends notifications (nil: http.DefaultTransport). The
	// server sets an in-process one (see SetNotifier).
	Notifier http.RoundTripper
}

// Simulator is an in-memory WeChat Pay.
type Simulator struct {
	log   *slog.Logger
	key   *rsa.PrivateKey
	keyID string

	mu        sync.Mutex
	notifier  http.RoundTripper
	merchants map[string]*merchant
	held      []notice
	seq       int64
	wg        sync.WaitGroup
}

// merchant is one enrolled merchant account and its ledger.
type merchant struct {
	Merchant
	orders  map[string]*Transaction // by out_trade_no
	refunds map[string]*Refund      // by out_refund_no
	// transfers by out_batch_no
	transfers map[string]*TransferBatch
	rule      Rule
	sent      int // notifications delivered (2xx answers)
}

// Merchant is what the simulator knows of a merchant account: its id, API
// v3 key, the serial of its API certificate and that certificate's public
// key (requests are verified with it).
type Merchant struct {
	MchID      string
	APIv3Key   string
	CertSerial string
	PublicKey  *rsa.PublicKey
}

// Transaction is one prepay order and, once paid, its payment, as WeChat
// Pay's query answers it.
type Transaction struct {
	AppID         string    `json:"appid"`
	MchID         string    `json:"mchid"`
	OutTradeNo    string    `json:"out_trade_no"`
	TransactionID string    `json:"transaction_id,omitempty"`
	TradeType     string    `json:"trade_type"`
	TradeState    string    `json:"trade_state"`
	StateDesc     string    `json:"trade_state_desc"`
	BankType      string    `json:"bank_type,omitempty"`
	Attach        string    `json:"attach"`
	SuccessTime   string    `json:"success_time,omitempty"`
	Payer         payer     `json:"payer"`
	Amount        amount    `json:"amount"`
	PrepayID      string    `json:"-"`
	NotifyURL     string    `json:"-"`
	Description   string    `json:"-"`
	CreatedAt     time.Time `json:"-"`
}

type payer struct {
	OpenID string `json:"openid"`
}

type amount struct {
	Total         int64  `json:"total"`
	PayerTotal    int64  `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency,omitempty"`
}

// Trade states.
const (
	NotPay  = "NOTPAY"
	Success = "SUCCESS"
	Closed  = "CLOSED"
)

// Rule says what happens to a merchant's next notifications.
type Rule struct {
	// Drop sends nothing (the query is then the only way to learn of the
	// payment).
	Drop bool
	// Repeat sends each notification this many times at once (0 or 1:
	// once), from concurrent goroutines, as WeChat's servers may.
	Repeat int
	// Delay sends after this long, in the background.
	Delay time.Duration
	// Hold keeps notifications until Release.
	Hold bool
	// FailRefunds ends the merchant's next refunds ABNORMAL (the buyer's
	// account could not take the money) instead of SUCCESS.
	FailRefunds bool
	// HoldRefunds keeps refunds PROCESSING until SettleRefunds.
	HoldRefunds bool
	// FailTransfers ends transfers FAIL instead of SUCCESS.
	FailTransfers bool
}

// notice is a notification waiting to be sent.
type notice struct {
	mchID, outTradeNo string
	refund            string // out_refund_no for a refund's notification
}

// New returns a simulator with a fresh RSA key pair.
func New(opts Options) (*Simulator, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("wechat pay simulator key: %w", err)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Notifier == nil {
		opts.Notifier = http.DefaultTransport
	}
	return &Simulator{log: opts.Log, key: key, keyID: "PUB_KEY_ID_" + randomDigits(24),
		notifier: opts.Notifier, merchants: map[string]*merchant{}}, nil
}

// PublicKeyID is the id of WeChat Pay's public key (Wechatpay-Serial).
func (s *Simulator) PublicKeyID() string { return s.keyID }

// PublicKeyPEM is WeChat Pay's public key, as the merchant platform lets a
// merchant download it.
func (s *Simulator) PublicKeyPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// SetNotifier sets how notifications are sent (the server's router, in
// process).
func (s *Simulator) SetNotifier(rt http.RoundTripper) {
	s.mu.Lock()
	s.notifier = rt
	s.mu.Unlock()
}

// Enroll makes m known (again): its requests are accepted from now on.
// Enrolling the same account again keeps its ledger.
func (s *Simulator) Enroll(m Merchant) error {
	if m.MchID == "" || len(m.APIv3Key) != 32 || m.CertSerial == "" || m.PublicKey == nil {
		return errors.New("enroll: mchid, a 32-byte API v3 key, the certificate serial and its public key are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.merchants[m.MchID]; ok {
		cur.Merchant = m
		return nil
	}
	s.merchants[m.MchID] = &merchant{Merchant: m, orders: map[string]*Transaction{}, refunds: map[string]*Refund{}, transfers: map[string]*TransferBatch{}}
	return nil
}

// Credentials are a generated merchant account: what a merchant copies
// from WeChat Pay's merchant platform into a shop's settings.
type Credentials struct {
	MchID         string
	APIv3Key      string
	CertSerial    string
	PrivateKeyPEM string
	PublicKeyID   string
	PublicKeyPEM  string
}

// NewMerchant generates a merchant account, enrolls it and returns its
// credentials.
func (s *Simulator) NewMerchant() (Credentials, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Credentials{}, fmt.Errorf("generate merchant key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Credentials{}, err
	}
	serial := make([]byte, 20)
	_, _ = rand.Read(serial)
	c := Credentials{MchID: "19" + randomDigits(8), APIv3Key: randomAlnum(32),
		CertSerial:    strings.ToUpper(hex.EncodeToString(serial)),
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		PublicKeyID:   s.keyID, PublicKeyPEM: s.PublicKeyPEM()}
	return c, s.Enroll(Merchant{MchID: c.MchID, APIv3Key: c.APIv3Key, CertSerial: c.CertSerial, PublicKey: &key.PublicKey})
}

// Enrolled reports whether mchID is known.
func (s *Simulator) Enrolled(mchID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.merchants[mchID]
	return ok
}

// SetRule sets what happens to the merchant's next notifications.
func (s *Simulator) SetRule(mchID string, r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mchID]; ok {
		m.rule = r
	}
}

// Transaction returns the merchant's order out_trade_no as it is.
func (s *Simulator) Transaction(mchID, outTradeNo string) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.merchants[mchID]
	if !ok {
		return Transaction{}, false
	}
	t, ok := m.orders[outTradeNo]
	if !ok {
		return Transaction{}, false
	}
	return *t, true
}

// Sent is how many notifications of the merchant were answered 2xx.
func (s *Simulator) Sent(mchID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mchID]; ok {
		return m.sent
	}
	return 0
}

// Pay is the buyer paying the merchant's prepay order out_trade_no in
// WeChat: the transaction succeeds (once: paying it again changes
// nothing) and its notification goes out under the merchant's rule. A
// notification sent at once has been answered when Pay returns.
func (s *Simulator) Pay(ctx context.Context, mchID, outTradeNo string) (Transaction, error) {
	s.mu.Lock()
	m, ok := s.merchants[mchID]
	if !ok {
		s.mu.Unlock()
		return Transaction{}, fmt.Errorf("pay: no merchant %s", mchID)
	}
	t, ok := m.orders[outTradeNo]
	switch {
	case !ok:
		s.mu.Unlock()
		return Transaction{}, fmt.Errorf("pay: merchant %s has no order %s", mchID, outTradeNo)
	case t.TradeState == Closed:
		s.mu.Unlock()
		return Transaction{}, fmt.Errorf("pay: order %s is closed", outTradeNo)
	case t.TradeState == NotPay:
		s.seq++
		t.TradeState, t.StateDesc, t.BankType = Success, "支付成功", "OTHERS"
		t.TransactionID = fmt.Sprintf("4200%s%s%06d", time.Now().Format("20060102"), randomDigits(10), s.seq%1_000_000)
		t.SuccessTime = time.Now().In(chinaTime).Format(time.RFC3339)
		t.Amount.PayerTotal, t.Amount.PayerCurrency = t.Amount.Total, "CNY"
	}
	paid := *t
	rule := m.rule
	s.mu.Unlock()
	s.dispatch(ctx, rule, notice{mchID: mchID, outTradeNo: outTradeNo})
	return paid, nil
}

// dispatch sends one notification under rule.
func (s *Simulator) dispatch(ctx context.Context, rule Rule, n notice) {
	switch {
	case rule.Drop:
		return
	case rule.Hold:
		s.mu.Lock()
		s.held = append(s.held, n)
		s.mu.Unlock()
		return
	}
	times := max(rule.Repeat, 1)
	send := func() {
		var wg sync.WaitGroup
		for range times {
			wg.Go(func() {
				notify := s.Notify
				if n.refund != "" {
					notify = func(ctx context.Context, mchID, _ string) error { return s.NotifyRefund(ctx, mchID, n.refund) }
				}
				if err := notify(context.WithoutCancel(ctx), n.mchID, n.outTradeNo); err != nil {
					s.log.Warn("wechat pay simulator: notification not taken", "mchid", n.mchID, "order", n.outTradeNo, "err", err)
				}
			})
		}
		wg.Wait()
	}
	if rule.Delay > 0 {
		s.wg.Go(func() {
			time.Sleep(rule.Delay)
			send()
		})
		return
	}
	send()
}

// Release sends the held notifications, last held first when reverse (the
// order WeChat's servers keep no promise about), each as the merchant's
// rule at holding said (Repeat applies), and waits for their answers.
func (s *Simulator) Release(ctx context.Context, reverse bool) {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	if reverse {
		for i, j := 0, len(held)-1; i < j; i, j = i+1, j-1 {
			held[i], held[j] = held[j], held[i]
		}
	}
	for _, n := range held {
		s.mu.Lock()
		rule := Rule{}
		if m, ok := s.merchants[n.mchID]; ok {
			rule = m.rule
		}
		s.mu.Unlock()
		rule.Hold, rule.Drop, rule.Delay = false, false, 0
		s.dispatch(ctx, rule, n)
	}
}

// Wait waits for delayed notifications to be sent.
func (s *Simulator) Wait() { s.wg.Wait() }

// Notify sends the notification of the merchant's paid order once, now,
// and returns an error unless the shop answered 2xx.
func (s *Simulator) Notify(ctx context.Context, mchID, outTradeNo string) error {
	req, err := s.NotificationRequest(ctx, mchID, outTradeNo, nil)
	if err != nil {
		return err
	}
	return s.send(mchID, req)
}

// send sends a notification of the merchant's and returns an error unless
// the shop answered 2xx.
func (s *Simulator) send(mchID string, req *http.Request) error {
	s.mu.Lock()
	rt := s.notifier
	s.mu.Unlock()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("notify %s: %w", req.URL, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify %s: %d %s", req.URL, resp.StatusCode, body)
	}
	s.mu.Lock()
	if m, ok := s.merchants[mchID]; ok {
		m.sent++
	}
	s.mu.Unlock()
	return nil
}

// NotificationRequest builds the payment notification of the merchant's
// paid order as WeChat Pay sends it: the transaction (changed by edit, if
// given: tests forge amounts) encrypted with the API v3 key, the body
// signed with the simulator's key.
func (s *Simulator) NotificationRequest(ctx context.Context, mchID, outTradeNo string, edit func(*Transaction)) (*http.Request, error) {
	s.mu.Lock()
	m, ok := s.merchants[mchID]
	var t Transaction
	if ok {
		var found bool
		var tp *Transaction
		if tp, found = m.orders[outTradeNo]; found {
			t = *tp
		}
		ok = found
	}
	var key string
	if m != nil {
		key = m.APIv3Key
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("notify: merchant %s has no order %s", mchID, outTradeNo)
	}
	if t.TradeState != Success {
		return nil, fmt.Errorf("notify: order %s is %s", outTradeNo, t.TradeState)
	}
	if edit != nil {
		edit(&t)
	}
	plain, _ := json.Marshal(t)
	return s.notification(ctx, t.NotifyURL, key, "transaction", "TRANSACTION.SUCCESS", "支付成功", plain)
}

// notification is a notification as WeChat Pay sends it to url: the
// resource plain (of type kind) encrypted AEAD_AES_256_GCM with the API v3
// key, the body signed with the simulator's key.
func (s *Simulator) notification(ctx context.Context, url, key, kind, event, summary string, plain []byte) (*http.Request, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := randomAlnum(12)
	ad := kind
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(ad))
	body, _ := json.Marshal(map[string]any{
		"id": randomHex(16), "create_time": time.Now().In(chinaTime).Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": event, "summary": summary,
		"resource": map[string]string{"original_type": kind, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(sealed), "associated_data": ad, "nonce": nonce},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	req.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	s.sign(req.Header, body)
	return req, nil
}

// sign sets the Wechatpay-* headers of a message with body.
func (s *Simulator) sign(h http.Header, body []byte) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := randomAlnum(32)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", s.keyID)
	h.Set("Request-Id", randomHex(16))
}

// ServeHTTP is WeChat Pay's merchant API.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "unreadable body"))
		return
	}
	m, err := s.authenticate(r, body)
	if err != nil {
		s.answer(w, http.StatusUnauthorized, apiError("SIGN_ERROR", err.Error()))
		return
	}
	const prefix = "/v3/pay/transactions/"
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == prefix+"jsapi":
		s.prepay(w, m, body)
	case r.Method == http.MethodPost && strings.HasPrefix(path, prefix+"out-trade-no/") && strings.HasSuffix(path, "/close"):
		s.close(w, m, strings.TrimSuffix(strings.TrimPrefix(path, prefix+"out-trade-no/"), "/close"), body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, prefix+"out-trade-no/"):
		s.query(w, m, r, func(t *Transaction) bool { return t.OutTradeNo == strings.TrimPrefix(path, prefix+"out-trade-no/") })
	case r.Method == http.MethodPost && path == transfersPath:
		s.createTransfer(w, m, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, transfersPath+"/out-batch-no/"):
		s.queryTransfer(w, m, strings.TrimPrefix(path, transfersPath+"/out-batch-no/"))
	case r.Method == http.MethodPost && path == refundsPath:
		s.createRefund(w, m, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, refundsPath+"/"):
		s.queryRefund(w, m, strings.TrimPrefix(path, refundsPath+"/"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, prefix+"id/"):
		s.query(w, m, r, func(t *Transaction) bool { return t.TransactionID == strings.TrimPrefix(path, prefix+"id/") })
	default:
		s.answer(w, http.StatusNotFound, apiError("NOT_FOUND", "no such API in the simulator"))
	}
}

var authPattern = regexp.MustCompile(`(\w+)="([^"]*)"`)

// authenticate checks the request's Authorization: the merchant's
// signature over method, URL, timestamp, nonce and body, made with the
// key of the certificate the serial names, within five minutes.
func (s *Simulator) authenticate(r *http.Request, body []byte) (*merchant, error) {
	h := r.Header.Get("Authorization")
	scheme, params, ok := strings.Cut(h, " ")
	if !ok || scheme != "WECHATPAY2-SHA256-RSA2048" {
		return nil, errors.New("Authorization must be WECHATPAY2-SHA256-RSA2048")
	}
	p := map[string]string{}
	for _, kv := range authPattern.FindAllStringSubmatch(params, -1) {
		p[kv[1]] = kv[2]
	}
	s.mu.Lock()
	m, known := s.merchants[p["mchid"]]
	var mm Merchant
	if known {
		mm = m.Merchant
	}
	s.mu.Unlock()
	if !known {
		return nil, fmt.Errorf("unknown mchid %q", p["mchid"])
	}
	if p["serial_no"] != mm.CertSerial {
		return nil, errors.New("serial_no is not the merchant's API certificate")
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return nil, errors.New("timestamp missing or more than 5 minutes off")
	}
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil || p["nonce_str"] == "" {
		return nil, errors.New("signature or nonce_str malformed")
	}
	msg := r.Method + "\n" + r.URL.RequestURI() + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(mm.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errors.New("signature does not verify")
	}
	return m, nil
}

// prepayRequest is the JSAPI prepay body.
type prepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	Attach      string `json:"attach"`
	NotifyURL   string `json:"notify_url"`
	Amount      struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Payer payer `json:"payer"`
}

func (s *Simulator) prepay(w http.ResponseWriter, m *merchant, body []byte) {
	var in prepayRequest
	if err := json.Unmarshal(body, &in); err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "body is not JSON"))
		return
	}
	u, err := url.Parse(in.NotifyURL)
	switch {
	case in.MchID != m.MchID:
		s.answer(w, http.StatusBadRequest, apiError("MCH_NOT_EXISTS", "mchid differs from the signer's"))
		return
	case in.AppID == "" || in.Description == "" || in.OutTradeNo == "" || len(in.OutTradeNo) > 32 || in.Payer.OpenID == "":
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "appid, description, out_trade_no (6-32) and payer.openid are required"))
		return
	case in.Amount.Total <= 0:
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "amount.total must be positive"))
		return
	case err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "":
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "notify_url must be an absolute URL without a query"))
		return
	}
	s.mu.Lock()
	t, ok := m.orders[in.OutTradeNo]
	if ok {
		state, total, id := t.TradeState, t.Amount.Total, t.PrepayID
		s.mu.Unlock()
		switch {
		case state == Success:
			s.answer(w, http.StatusBadRequest, apiError("ORDERPAID", "该订单已支付"))
		case state == Closed:
			s.answer(w, http.StatusBadRequest, apiError("ORDERCLOSED", "当前订单已关闭，请重新下单"))
		case total != in.Amount.Total:
			s.answer(w, http.StatusBadRequest, apiError("INVALID_REQUEST", "201 商户订单号重复"))
		default:
			s.answer(w, http.StatusOK, map[string]string{"prepay_id": id})
		}
		return
	}
	t = &Transaction{AppID: in.AppID, MchID: m.MchID, OutTradeNo: in.OutTradeNo, TradeType: "JSAPI", TradeState: NotPay,
		StateDesc: "订单未支付", Attach: in.Attach, Payer: in.Payer, Amount: amount{Total: in.Amount.Total, Currency: "CNY"},
		PrepayID: "wx" + time.Now().Format("02150405") + randomHex(12), NotifyURL: in.NotifyURL, Description: in.Description,
		CreatedAt: time.Now()}
	m.orders[in.OutTradeNo] = t
	id := t.PrepayID
	s.mu.Unlock()
	s.answer(w, http.StatusOK, map[string]string{"prepay_id": id})
}

func (s *Simulator) close(w http.ResponseWriter, m *merchant, outTradeNo string, body []byte) {
	var in struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.MchID != m.MchID {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "mchid is required and must be the signer's"))
		return
	}
	s.mu.Lock()
	t, ok := m.orders[outTradeNo]
	state := ""
	if ok {
		state = t.TradeState
		if state == NotPay {
			t.TradeState, t.StateDesc = Closed, "订单已关闭"
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.answer(w, http.StatusNotFound, apiError("ORDER_NOT_EXIST", "订单不存在"))
	case state == Success:
		s.answer(w, http.StatusBadRequest, apiError("ORDERPAID", "订单已支付"))
	default:
		s.answer(w, http.StatusNoContent, nil)
	}
}

func (s *Simulator) query(w http.ResponseWriter, m *merchant, r *http.Request, match func(*Transaction) bool) {
	if r.URL.Query().Get("mchid") != m.MchID {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "mchid is required and must be the signer's"))
		return
	}
	s.mu.Lock()
	var found *Transaction
	for _, t := range m.orders {
		if match(t) {
			c := *t
			found = &c
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		s.answer(w, http.StatusNotFound, apiError("ORDER_NOT_EXIST", "订单不存在"))
		return
	}
	s.answer(w, http.StatusOK, found)
}

func apiError(code, msg string) map[string]string {
	return map[string]string{"code": code, "message": msg}
}

// answer writes a signed answer.
func (s *Simulator) answer(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
	}
	s.sign(w.Header(), body)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Client is an HTTP client whose requests (to api.mch.weixin.qq.com or
// anywhere) the simulator serves in process.
func (s *Simulator) Client() *http.Client {
	return &http.Client{Transport: Handler(s), Timeout: 10 * time.Second}
}

// RewriteClient is an HTTP client that sends requests to base (a listening
// simulator) instead of the host they name.
func RewriteClient(base string) *http.Client {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Handler is a transport that serves every request with h in process (the
// simulator itself, or the server's router for notifications).
func Handler(h http.Handler) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				return nil, err
			}
			_ = r.Body.Close()
		}
		in := r.Clone(r.Context())
		in.Body = io.NopCloser(bytes.NewReader(body))
		in.ContentLength = int64(len(body))
		in.RequestURI = r.URL.RequestURI()
		in.Host = r.URL.Host
		if in.RemoteAddr == "" {
			in.RemoteAddr = "127.0.0.1:1"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, in)
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})
}

var chinaTime = time.FixedZone("CST", 8*3600)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
