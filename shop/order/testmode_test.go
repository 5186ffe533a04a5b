package order

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// faultCode is err's fault code ("" when it is no fault.Error).
func faultCode(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

// TestSandboxPayment: a shop takes sandbox payments while it has no WeChat
// Pay, and on a live server only in test mode; orders paid in the sandbox
// in test mode are marked test. Every way in is tried: the pay button, the
// sandbox pay page's confirm, and a signed notification.
func TestSandboxPayment(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		keys := testAccounts() // a merchant's own account (never called: the buyer has no openid)
		cases := []struct {
			name     string
			live     bool
			testMode bool
			wechat   WeChatPaySettings
			want     string // "" paid, or the refusal's code
			test     bool   // the paid order is marked test
		}{
			{"sandbox server", false, false, WeChatPaySettings{}, "", false},
			{"sandbox server, test mode", false, true, WeChatPaySettings{}, "", true},
			{"live server", true, false, WeChatPaySettings{}, "sandbox_off", false},
			{"live server, test mode", true, true, WeChatPaySettings{}, "", true},
			{"live server, test mode, WeChat Pay set", true, true, keys, "sandbox_off", false},
			{"sandbox server, WeChat Pay set", false, false, keys, "sandbox_off", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFixture(t, e)
				f.svc.SetLive(c.live)
				st := DefaultSettings()
				st.TestMode, st.WeChatPay = c.testMode, c.wechat
				if err := f.svc.SaveSettings(ctx, f.tenant, st); err != nil {
					t.Fatal(err)
				}
				p := f.product("Vase", 6600, 10)
				buyer := engine.NewID()
				o := f.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
				start, err := f.svc.Pay(ctx, f.sandbox, f.tenant, buyer, o.ID, PayRequest{})
				switch {
				case c.want == "" && (err != nil || start.Provider != ProviderSandbox):
					t.Errorf("pay button: %+v %v, want the sandbox", start, err)
				case c.want != "" && c.wechat.Enabled() && err == nil && start.Provider != ProviderWeChat:
					t.Errorf("pay button: %+v, want WeChat Pay", start)
				case c.want != "" && !c.wechat.Enabled() && faultCode(err) != "payments_unavailable":
					t.Errorf("pay button: %+v %v, want payments_unavailable", start, err)
				}
				if err := f.pay(o); faultCode(err) != c.want {
					t.Errorf("signed notification: %v, want %q", err, c.want)
				}
				start, err = f.svc.Pay(ctx, f.sandbox, f.tenant, buyer, o.ID, PayRequest{SandboxConfirm: true})
				if faultCode(err) != c.want {
					t.Errorf("sandbox confirm: %+v %v, want %q", start, err, c.want)
				}
				got := f.get(o.ID)
				wantStatus := Paid
				if c.want != "" {
					wantStatus = PendingPayment
				}
				if got.Status != wantStatus || got.Test != c.test {
					t.Errorf("order %s, test %t; want %s, test %t", got.Status, got.Test, wantStatus, c.test)
				}
				if n := f.rec.count(o.ID + "/" + EventPaid); (c.want == "") != (n == 1) {
					t.Errorf("paid event delivered %d times", n)
				}
			})
		}
	})
}

// TestTestModeSetting: test_mode is set and shown through the API and the
// console form, and a test order shows "test" in the API.
func TestTestModeSetting(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.svc.SetLive(true)
		h := NewHandlers(f.svc, f.sandbox, "", tenants.Counters{})
		ec := echo.New()
		ec.HTTPErrorHandler = fault.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
		shop := func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				tenants.WithTenant(c, tenants.Tenant{ID: f.tenant, Slug: "s", TimeZone: "Asia/Shanghai"})
				return next(c)
			}
		}
		h.APIRoutes(ec.Group("/api/v1", shop))
		h.AdminRoutes(ec.Group("/admin", shop))
		do := func(method, path, ctype, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			if ctype != "" {
				req.Header.Set(echo.HeaderContentType, ctype)
			}
			rec := httptest.NewRecorder()
			ec.ServeHTTP(rec, req)
			return rec
		}
		testMode := func(rec *httptest.ResponseRecorder) bool {
			t.Helper()
			var st struct {
				TestMode *bool `json:"test_mode"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.TestMode == nil {
				t.Fatalf("settings answer %d %s: %v", rec.Code, rec.Body, err)
			}
			return *st.TestMode
		}
		if testMode(do(http.MethodGet, "/api/v1/order-settings", "", "")) {
			t.Error("a new shop is in test mode")
		}
		if !testMode(do(http.MethodPut, "/api/v1/order-settings", echo.MIMEApplicationJSON, `{"test_mode":true}`)) {
			t.Error("PUT test_mode true answered false")
		}
		if !testMode(do(http.MethodGet, "/api/v1/order-settings", "", "")) {
			t.Error("test mode not kept")
		}

		p := f.product("Bowl", 1200, 10)
		buyer := engine.NewID()
		o := f.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
		if _, err := f.svc.Pay(context.Background(), f.sandbox, f.tenant, buyer, o.ID, PayRequest{SandboxConfirm: true}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/api/v1/orders/" + o.ID, "/api/v1/orders"} {
			rec := do(http.MethodGet, path, "", "")
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"test":true`) {
				t.Errorf("%s: %d %s, want the order marked test", path, rec.Code, rec.Body)
			}
		}

		form := url.Values{"shipping_fee": {"0"}, "unpaid_timeout_minutes": {"30"}, "auto_complete_days": {"10"}}
		for _, on := range []bool{false, true} {
			if on {
				form.Set("test_mode", "1")
			}
			rec := do(http.MethodPost, "/admin/order-settings", echo.MIMEApplicationForm, form.Encode())
			st, err := f.svc.Settings(context.Background(), f.tenant)
			if rec.Code != http.StatusSeeOther || err != nil || st.TestMode != on {
				t.Errorf("console save with test mode %t: %d, saved %t (%v)", on, rec.Code, st.TestMode, err)
			}
			if got := h.settingsForm(st); got.TestMode != on || !got.Live {
				t.Errorf("console form %+v", got)
			}
		}
	})
}
