package order

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// signWeChatPay signs params the way WeChat Pay (API v2, MD5) does: the
// non-empty parameters sorted by name, joined as k=v&..., then &key=<API key>,
// MD5, upper-case hex. Written from WeChat Pay's documentation, so it checks
// the SDK's verification independently.
func signWeChatPay(params map[string]string, key string) string {
	names := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" && k != "sign" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + "=" + params[k] + "&")
	}
	b.WriteString("key=" + key)
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func wechatXML(params map[string]string) []byte {
	var b strings.Builder
	b.WriteString("<xml>")
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.WriteString("<" + k + "><![CDATA[" + params[k] + "]]></" + k + ">")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

func TestWeChatPayNotify(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		const key = "8934e7d15453e97507ef794cf7b0519d"
		st := DefaultSettings()
		st.WeChatPay = WeChatPaySettings{AppID: "wx2421b1c4370ec43b", MchID: "10000100", Key: key}
		if err := f.svc.store.SaveSettings(ctx, f.tenant, st); err != nil {
			t.Fatal(err)
		}
		p := f.product("Longjing", 32800, 5)
		o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
		notice := func(mut func(map[string]string)) []byte {
			params := map[string]string{
				"appid": "wx2421b1c4370ec43b", "mch_id": "10000100", "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
				"result_code": "SUCCESS", "return_code": "SUCCESS", "openid": "oUpF8uMEb4qRXf22hE3X68TekukE",
				"is_subscribe": "Y", "trade_type": "JSAPI", "bank_type": "CMC", "total_fee": "32800", "fee_type": "CNY",
				"cash_fee": "32800", "transaction_id": "1004400740201409030005092168", "out_trade_no": o.ID,
				"time_end": "20261124131540",
			}
			params["sign"] = signWeChatPay(params, key)
			if mut != nil {
				mut(params)
			}
			return wechatXML(params)
		}

		for _, tc := range []struct {
			name string
			body []byte
			want error
		}{
			{"forged signature", notice(func(p map[string]string) { p["sign"] = strings.Repeat("A", 32) }), fault.Forbidden("")},
			{"tampered amount", notice(func(p map[string]string) { p["total_fee"] = "1" }), fault.Forbidden("")},
			{"no signature", notice(func(p map[string]string) { delete(p, "sign") }), fault.Forbidden("")},
			{"malformed XML", []byte("<xml><return_code>SUCC"), fault.ErrInvalid},
			{"not XML", []byte(`{"a":1}`), fault.ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.svc.WeChatPayNotify(ctx, f.tenant, tc.body)
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
				if got := f.get(o.ID); got.Status != PendingPayment {
					t.Errorf("order became %s", got.Status)
				}
			})
		}

		// WeChat Pay retries: three deliveries, one payment, one event.
		for range 3 {
			if err := f.svc.WeChatPayNotify(ctx, f.tenant, notice(nil)); err != nil {
				t.Fatal(err)
			}
		}
		got := f.get(o.ID)
		if got.Status != Paid || got.Provider != ProviderWeChat || got.TransactionID != "1004400740201409030005092168" || got.Paid != 32800 {
			t.Errorf("after notify: %+v", got)
		}
		if n := f.rec.count(o.ID + "/paid"); n != 1 {
			t.Errorf("paid delivered %d times", n)
		}
		if r := WeChatPayReply(nil); r.ReturnCode != "SUCCESS" {
			t.Errorf("reply %+v", r)
		}
	})
}
