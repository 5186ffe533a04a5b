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
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a simulator.
type Options struct {
	Log *slog.Logger
	// Notifier sends notifications (nil: a pooled transport). The
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
	// billAmounts misstate paid orders' amounts in trade bills (tests).
	billAmounts map[string]int64
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
		opts.Notifier = pooled
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
