package order

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// The console's order settings page: the form in yuan, saved through
// Service.SaveSettings.

// SettingsForm is the order settings form as typed; money in yuan.
type SettingsForm struct {
	ShippingFee, FreeShippingOver, UnpaidTimeoutMinutes, AutoCompleteDays string
	AppID, MchID                                                          string
	// KeyMasked is the stored WeChat Pay key with all but its end hidden
	// ("" when none is stored); the key itself never reaches the page.
	KeyMasked string
	// TestMode is the test mode checkbox (Settings.TestMode); Live says the
	// server takes real payments, where the sandbox needs test mode.
	TestMode, Live bool
}

func (h *Handlers) settingsForm(st Settings) SettingsForm {
	f := SettingsForm{ShippingFee: catalog.FormatYuan(st.ShippingFee),
		UnpaidTimeoutMinutes: strconv.Itoa(st.UnpaidTimeoutMinutes), AutoCompleteDays: strconv.Itoa(st.AutoCompleteDays),
		AppID: st.WeChatPay.AppID, MchID: st.WeChatPay.MchID, KeyMasked: st.Masked().WeChatPay.Key,
		TestMode: st.TestMode, Live: h.svc.live}
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
	st = st.Masked() // a key left blank stays as shown, which keeps it
	f := SettingsForm{ShippingFee: c.FormValue("shipping_fee"), FreeShippingOver: c.FormValue("free_shipping_over"),
		UnpaidTimeoutMinutes: c.FormValue("unpaid_timeout_minutes"), AutoCompleteDays: c.FormValue("auto_complete_days"),
		AppID: strings.TrimSpace(c.FormValue("wechat_app_id")), MchID: strings.TrimSpace(c.FormValue("wechat_mch_id")),
		KeyMasked: st.WeChatPay.Key, TestMode: c.FormValue("test_mode") != "", Live: h.svc.live}
	err = f.apply(&st, strings.TrimSpace(c.FormValue("wechat_key")), c.FormValue("wechat_key_clear") != "")
	if err == nil {
		err = h.svc.SaveSettings(ctx, t.ID, st)
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return c.Render(fe.Status, "admin_order_settings.html", AdminPage{Shop: t, Settings: f, Error: pageError(ctx, fe)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/order-settings?done=settings")
}

// apply writes the form onto st. A blank key keeps the stored one; clear
// removes it (and so turns WeChat Pay off).
func (f SettingsForm) apply(st *Settings, key string, clear bool) error {
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
	st.WeChatPay.AppID, st.WeChatPay.MchID = f.AppID, f.MchID
	st.TestMode = f.TestMode
	switch {
	case clear:
		st.WeChatPay.Key = ""
	case len(key) != 0 && len(key) != 32:
		// WeChat Pay API v2 keys are 32 characters; a short one would also
		// show through Settings.Masked, which keeps the last 4 visible.
		return fault.Invalid("wechat_key", "must be the 32-character key set in the WeChat Pay merchant platform")
	case key != "":
		st.WeChatPay.Key = key
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
