package paysim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The v3 API the SDK calls: every request's signature checked, every
// answer signed; prepay (JSAPI and H5, h5.go), close and query.

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
	if r.URL.Path == CashierPath {
		s.cashier(w, r) // the buyer's browser, not a merchant
		return
	}
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.control(w, r) // the sandbox in another process (remote.go)
		return
	}
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
	case r.Method == http.MethodPost && path == prefix+"h5":
		s.prepayH5(w, m, body)
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
	case r.Method == http.MethodGet && path == tradeBillPath:
		s.tradeBill(w, m, r)
	case r.Method == http.MethodGet && path == downloadPath:
		s.downloadBill(w, m, r)
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
	if in.Payer.OpenID == "" {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "payer.openid is required"))
		return
	}
	if id, ok := s.open(w, m, in, "JSAPI"); ok {
		s.answer(w, http.StatusOK, map[string]string{"prepay_id": id})
	}
}

// open checks a prepay (JSAPI or H5: tradeType) and opens its order in the
// merchant's ledger, or finds the one opened before for the same
// out_trade_no, returning its prepay id; ok is false when it answered a
// fault instead.
func (s *Simulator) open(w http.ResponseWriter, m *merchant, in prepayRequest, tradeType string) (prepayID string, ok bool) {
	u, err := url.Parse(in.NotifyURL)
	switch {
	case in.MchID != m.MchID:
		s.answer(w, http.StatusBadRequest, apiError("MCH_NOT_EXISTS", "mchid differs from the signer's"))
		return "", false
	case in.AppID == "" || in.Description == "" || in.OutTradeNo == "" || len(in.OutTradeNo) > 32:
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "appid, description and out_trade_no (6-32) are required"))
		return "", false
	case in.Amount.Total <= 0:
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "amount.total must be positive"))
		return "", false
	case err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "":
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "notify_url must be an absolute URL without a query"))
		return "", false
	}
	s.mu.Lock()
	t, found := m.orders[in.OutTradeNo]
	if found {
		// The order keeps the trade type it was opened with: a buyer who
		// began in one place may go on paying in another.
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
			return id, true
		}
		return "", false
	}
	t = &Transaction{AppID: in.AppID, MchID: m.MchID, OutTradeNo: in.OutTradeNo, TradeType: tradeType, TradeState: NotPay,
		StateDesc: "订单未支付", Attach: in.Attach, Payer: in.Payer, Amount: amount{Total: in.Amount.Total, Currency: "CNY"},
		PrepayID: "wx" + time.Now().Format("02150405") + randomHex(12), NotifyURL: in.NotifyURL, Description: in.Description,
		CreatedAt: time.Now()}
	m.orders[in.OutTradeNo] = t
	id := t.PrepayID
	s.mu.Unlock()
	return id, true
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
