package paysim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signed is a merchant request signed as WeChat Pay's documentation says:
// RSA-SHA256 over method, URL, timestamp, nonce and body.
func signed(t *testing.T, c Credentials, method, url, body string, key *rsa.PrivateKey) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	msg := method + "\n" + req.URL.RequestURI() + "\n" + ts + "\nnonce1\n" + body + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="nonce1",timestamp="%s",serial_no="%s",signature="%s"`,
		c.MchID, ts, c.CertSerial, base64.StdEncoding.EncodeToString(sig)))
	return req
}

// TestAuthentication: only the merchant's own signature is taken, and
// every answer is signed with the simulator's key.
func TestAuthentication(t *testing.T) {
	sim, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.NewMerchant()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(c.PrivateKeyPEM))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*rsa.PrivateKey)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	body := `{"appid":"wx0123456789abcdef","mchid":"` + c.MchID + `","description":"Tea","out_trade_no":"order000001",` +
		`"notify_url":"https://shop.example/pay/notify/s/wechat","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"o1"}}`
	const url = "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi"
	for _, tc := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"unsigned", httptest.NewRequest(http.MethodPost, url, strings.NewReader(body)), http.StatusUnauthorized},
		{"another key", signed(t, c, http.MethodPost, url, body, other), http.StatusUnauthorized},
		{"the merchant's key", signed(t, c, http.MethodPost, url, body, key), http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, tc.req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
		}
		ts, nonce, sig := rec.Header().Get("Wechatpay-Timestamp"), rec.Header().Get("Wechatpay-Nonce"), rec.Header().Get("Wechatpay-Signature")
		raw, _ := base64.StdEncoding.DecodeString(sig)
		b, _ := io.ReadAll(rec.Body)
		sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(b) + "\n"))
		if err := rsa.VerifyPKCS1v15(&sim.key.PublicKey, crypto.SHA256, sum[:], raw); err != nil || rec.Header().Get("Wechatpay-Serial") != sim.PublicKeyID() {
			t.Errorf("%s: answer not signed: %v", tc.name, err)
		}
	}
	if tx, ok := sim.Transaction(c.MchID, "order000001"); !ok || tx.TradeState != NotPay || tx.PrepayID == "" {
		t.Errorf("ledger %+v", tx)
	}
}
