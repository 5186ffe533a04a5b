package order

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// The console's order settings page: the form in yuan, saved through
// Service.SaveSettings.

// SettingsForm is the order settings form as typed; money in yuan.
type SettingsForm struct {
	ShippingFee, FreeShippingOver, UnpaidTimeoutMinutes, AutoCompleteDays string
	// The WeChat Pay account (API v3): what is not secret, as stored.
	AppID, MchID, CertSerial, PublicKeyID, PublicKey string
	// KeyMasked and PrivateKeyMasked are the stored API v3 key and private
	// key with all but their end hidden ("" when none is stored); the
	// secrets themselves never reach the page.
	KeyMasked, PrivateKeyMasked string
	// Generated says the account was generated for the WeChat Pay
	// simulator (sandbox mode).
	Generated bool
	// TestMode is the test mode checkbox (Settings.TestMode); Live says the
	// server takes real payments, where the sandbox needs test mode.
	TestMode, Live bool
	// Rev is the revision the form was drawn from: a save from an older
	// one is refused (Settings.Rev).
	Rev string
}

func (h *Handlers) settingsForm(st Settings) SettingsForm {
	w, masked := st.WeChatPay, st.Masked().WeChatPay
	f := SettingsForm{ShippingFee: catalog.FormatYuan(st.ShippingFee),
		UnpaidTimeoutMinutes: strconv.Itoa(st.UnpaidTimeoutMinutes), AutoCompleteDays: strconv.Itoa(st.AutoCompleteDays),
		AppID: w.AppID, MchID: w.MchID, CertSerial: w.CertSerial, PublicKeyID: w.PublicKeyID, PublicKey: w.PublicKey,
		KeyMasked: masked.APIv3Key, PrivateKeyMasked: masked.PrivateKey, Generated: w.Sandbox,
		TestMode: st.TestMode, Live: h.svc.live, Rev: strconv.FormatInt(st.Rev, 10)}
	if st.FreeShippingOver > 0 {
		f.FreeShippingOver = catalog.FormatYuan(st.FreeShippingOver)
	}
	return f
}

func (h *Handlers) adminSettings(c echo.Context) error {
	t := tenants.FromContext(c)
	st, err := h.svc.Settings(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_order_settings.html", AdminPage{Shop: t, Settings: h.settingsForm(st),
		Notice: adminNotice(c)})
}

func (h *Handlers) adminSaveSettings(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	st, err := h.svc.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	f := h.settingsForm(st)
	st = st.Masked() // secrets left blank stay as shown, which keeps them
	f.ShippingFee, f.FreeShippingOver = c.FormValue("shipping_fee"), c.FormValue("free_shipping_over")
	f.UnpaidTimeoutMinutes, f.AutoCompleteDays = c.FormValue("unpaid_timeout_minutes"), c.FormValue("auto_complete_days")
	f.AppID, f.MchID = strings.TrimSpace(c.FormValue("wechat_app_id")), strings.TrimSpace(c.FormValue("wechat_mch_id"))
	f.CertSerial, f.PublicKeyID = strings.TrimSpace(c.FormValue("wechat_cert_serial")), strings.TrimSpace(c.FormValue("wechat_public_key_id"))
	f.PublicKey = strings.TrimSpace(c.FormValue("wechat_public_key"))
	f.TestMode = c.FormValue("test_mode") != ""
	if rev := c.FormValue("rev"); rev != "" {
		f.Rev = rev
	}
	if err := engine.ParseRev(c.FormValue("rev"), &st.Rev); err != nil { // a form drawn before another save is refused
		return err
	}
	err = f.apply(&st, strings.TrimSpace(c.FormValue("wechat_api_v3_key")), strings.TrimSpace(c.FormValue("wechat_private_key")),
		c.FormValue("wechat_key_clear") != "")
	if err == nil {
		err = h.svc.SaveSettings(ctx, t.ID, st)
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		msg := pageError(ctx, fe)
		if fe.Code == fault.CodeSettingsChanged { // the typed values, now at the stored revision: a second save applies them
			if cur, err := h.svc.Settings(ctx, t.ID); err == nil {
				f.Rev, msg = strconv.FormatInt(cur.Rev, 10), i18n.T(ctx, "settings.stale_kept")
			}
		}
		return c.Render(fe.Status, "admin_order_settings.html", AdminPage{Shop: t, Settings: f, Error: msg})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/order-settings?done=settings")
}

// apply writes the form onto st. A blank API v3 key or private key keeps
// the stored one; clear removes both (and so turns WeChat Pay off).
func (f SettingsForm) apply(st *Settings, key, privateKey string, clear bool) error {
	var err error
	if st.ShippingFee, err = yuanOrZero("shipping_fee", f.ShippingFee); err != nil {
		return err
	}
	if st.FreeShippingOver, err = yuanOrZero("free_shipping_over", f.FreeShippingOver); err != nil {
		return err
	}
	// Settings.Validate words its limits in fen; the form speaks yuan.
	if st.ShippingFee > 1_000_000 {
		return fault.Invalid("shipping_fee", "must be at most ¥10000.00")
	}
	if st.FreeShippingOver > 1_000_000_000 {
		return fault.Invalid("free_shipping_over", "must be at most ¥10000000.00")
	}
	if st.UnpaidTimeoutMinutes, err = wholeNumber("unpaid_timeout_minutes", f.UnpaidTimeoutMinutes); err != nil {
		return err
	}
	if st.AutoCompleteDays, err = wholeNumber("auto_complete_days", f.AutoCompleteDays); err != nil {
		return err
	}
	w := &st.WeChatPay
	w.AppID, w.MchID, w.CertSerial, w.PublicKeyID, w.PublicKey = f.AppID, f.MchID, f.CertSerial, f.PublicKeyID, f.PublicKey
	st.TestMode = f.TestMode
	switch {
	case clear:
		w.APIv3Key, w.PrivateKey = "", ""
		return nil
	case len(key) != 0 && len(key) != 32:
		// API v3 keys are 32 characters; a short one would also show
		// through Settings.Masked, which keeps the last 4 visible.
		return fault.Invalid("wechat_api_v3_key", "must be the 32-character API v3 key set in the WeChat Pay merchant platform")
	case key != "":
		w.APIv3Key = key
	}
	if privateKey != "" {
		w.PrivateKey = privateKey
	}
	return nil
}

func yuanOrZero(field, s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	return catalog.ParseYuan(field, s)
}

func wholeNumber(field, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fault.Invalid(field, "must be a whole number")
	}
	return n, nil
}
