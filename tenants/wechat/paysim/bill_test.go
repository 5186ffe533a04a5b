package paysim

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTradeBill: the bill of a China day lists its successful payments,
// with the misstated amount when told, in WeChat Pay's format; the hash
// given matches the download; both calls need the merchant's signature.
func TestTradeBill(t *testing.T) {
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
	sim.SetRule(c.MchID, Rule{Drop: true})
	for _, no := range []string{"order000001", "order000002", "order000003"} {
		body := `{"appid":"wx0123456789abcdef","mchid":"` + c.MchID + `","description":"Tea","out_trade_no":"` + no + `",` +
			`"notify_url":"https://shop.example/pay/notify/s/wechat","amount":{"total":1234,"currency":"CNY"},"payer":{"openid":"o1"}}`
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, signed(t, c, http.MethodPost, "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi", body, key))
		if rec.Code != http.StatusOK {
			t.Fatalf("prepay: %d %s", rec.Code, rec.Body)
		}
	}
	for _, no := range []string{"order000001", "order000002"} { // the third is never paid
		if _, err := sim.Pay(context.Background(), c.MchID, no); err != nil {
			t.Fatal(err)
		}
	}
	sim.MisstateAmount(c.MchID, "order000002", 1200)
	date := time.Now().In(chinaTime).Format(time.DateOnly)

	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://api.mch.weixin.qq.com/v3/bill/tradebill?bill_date="+date, nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("unsigned bill request: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	sim.ServeHTTP(rec, signed(t, c, http.MethodGet, "https://api.mch.weixin.qq.com/v3/bill/tradebill?bill_date="+date+"&bill_type=ALL", "", key))
	var info struct{ HashType, HashValue, DownloadURL string }
	if err := json.Unmarshal(rec.Body.Bytes(), &struct {
		HashType    *string `json:"hash_type"`
		HashValue   *string `json:"hash_value"`
		DownloadURL *string `json:"download_url"`
	}{&info.HashType, &info.HashValue, &info.DownloadURL}); err != nil || rec.Code != http.StatusOK || info.HashType != "SHA1" {
		t.Fatalf("bill: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	sim.ServeHTTP(rec, signed(t, c, http.MethodGet, info.DownloadURL, "", key))
	if rec.Code != http.StatusOK {
		t.Fatalf("download: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	if sum := sha1.Sum(body); hex.EncodeToString(sum[:]) != info.HashValue {
		t.Error("the download does not match its hash")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
	if len(lines) != 5 || lines[0] != tradeBillHeader || lines[3] != tradeBillSummary || !strings.HasPrefix(lines[4], "`2,`24.34,`0.00,") {
		t.Fatalf("bill:\n%s", body)
	}
	seen := map[string]bool{}
	for _, line := range lines[1:3] {
		f := strings.Split(strings.TrimPrefix(line, "`"), ",`")
		want := map[string]string{"order000001": "12.34", "order000002": "12.00"}[f[6]]
		if want == "" || seen[f[6]] || f[2] != c.MchID || f[9] != "SUCCESS" || f[12] != want || !strings.HasPrefix(f[5], "4200") {
			t.Errorf("line %q", line)
		}
		seen[f[6]] = true
	}
}
