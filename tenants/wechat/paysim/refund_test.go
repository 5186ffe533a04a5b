package paysim

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// merchantRig is a simulator with one merchant whose order out_trade_no
// "order000001" of 1000 fen was paid, and a way to send it signed calls.
func merchantRig(t *testing.T) (*Simulator, Credentials, func(method, path, body string) *httptest.ResponseRecorder) {
	t.Helper()
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
	call := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, signed(t, c, method, "https://api.mch.weixin.qq.com"+path, body, k.(*rsa.PrivateKey)))
		return rec
	}
	if rec := call(http.MethodPost, "/v3/pay/transactions/jsapi", `{"appid":"wx0123456789abcdef","mchid":"`+c.MchID+
		`","description":"Tea","out_trade_no":"order000001","notify_url":"https://shop.example/n","amount":{"total":1000},"payer":{"openid":"o1"}}`); rec.Code != http.StatusOK {
		t.Fatalf("prepay: %d %s", rec.Code, rec.Body)
	}
	sim.SetRule(c.MchID, Rule{Drop: true})
	if _, err := sim.Pay(context.Background(), c.MchID, "order000001"); err != nil {
		t.Fatal(err)
	}
	return sim, c, call
}

// TestRefunds: a refund is PROCESSING, then SUCCESS (ABNORMAL under
// FailRefunds); the same out_refund_no answers the same refund; refunds
// never add up to more than was paid.
func TestRefunds(t *testing.T) {
	sim, c, call := merchantRig(t)
	refund := func(no string, amount string) *httptest.ResponseRecorder {
		return call(http.MethodPost, refundsPath, `{"out_trade_no":"order000001","out_refund_no":"`+no+`","amount":{"refund":`+amount+`,"total":1000,"currency":"CNY"}}`)
	}
	if rec := refund("r1", "600"); rec.Code != http.StatusOK {
		t.Fatalf("refund: %d %s", rec.Code, rec.Body)
	}
	if rec := refund("r1", "600"); rec.Code != http.StatusOK {
		t.Errorf("the same refund again: %d %s", rec.Code, rec.Body)
	}
	if rec := refund("r2", "500"); rec.Code != http.StatusBadRequest {
		t.Errorf("a refund beyond the total: %d %s", rec.Code, rec.Body)
	}
	sim.Wait()
	if r, ok := sim.RefundOf(c.MchID, "r1"); !ok || r.Status != RefundSuccess || sim.Refunded(c.MchID, "order000001") != 600 {
		t.Errorf("refund r1 %+v", r)
	}
	sim.SetRule(c.MchID, Rule{Drop: true, FailRefunds: true})
	if rec := refund("r3", "400"); rec.Code != http.StatusOK {
		t.Fatalf("refund: %d %s", rec.Code, rec.Body)
	}
	sim.Wait()
	if rec := call(http.MethodGet, refundsPath+"/r3", ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"ABNORMAL"`) {
		t.Errorf("query r3: %d %s", rec.Code, rec.Body)
	}
	if rec := call(http.MethodGet, refundsPath+"/nope", ""); rec.Code != http.StatusNotFound {
		t.Errorf("query of no refund: %d", rec.Code)
	}
	// The failed one reserved nothing: 400 more still fit.
	sim.SetRule(c.MchID, Rule{Drop: true})
	if rec := refund("r4", "400"); rec.Code != http.StatusOK {
		t.Errorf("refund after a failed one: %d %s", rec.Code, rec.Body)
	}
}

// TestTransfers: a batch is FINISHED at once, every detail paid (or none
// under FailTransfers); the same out_batch_no answers the same batch.
func TestTransfers(t *testing.T) {
	sim, c, call := merchantRig(t)
	transfer := func(no string) *httptest.ResponseRecorder {
		return call(http.MethodPost, transfersPath, `{"appid":"wx0123456789abcdef","out_batch_no":"`+no+`","batch_name":"提现","batch_remark":"提现",`+
			`"total_amount":300,"total_num":1,"transfer_detail_list":[{"out_detail_no":"`+no+`","transfer_amount":300,"transfer_remark":"提现","openid":"o1"}]}`)
	}
	if rec := transfer("b1"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"batch_status":"ACCEPTED"`) {
		t.Fatalf("transfer: %d %s", rec.Code, rec.Body)
	}
	b1, _ := sim.TransferOf(c.MchID, "b1")
	if rec := transfer("b1"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), b1.BatchID) {
		t.Errorf("the same batch again: %d %s", rec.Code, rec.Body)
	}
	sim.SetRule(c.MchID, Rule{FailTransfers: true})
	transfer("b2")
	for no, want := range map[string]string{"b1": `"success_num":1`, "b2": `"fail_num":1`} {
		if rec := call(http.MethodGet, transfersPath+"/out-batch-no/"+no+"?need_query_detail=false", ""); rec.Code != http.StatusOK ||
			!strings.Contains(rec.Body.String(), want) {
			t.Errorf("query %s: %d %s", no, rec.Code, rec.Body)
		}
	}
	if rec := call(http.MethodGet, transfersPath+"/out-batch-no/b9?need_query_detail=false", ""); rec.Code != http.StatusNotFound {
		t.Errorf("query of no batch: %d", rec.Code)
	}
}
