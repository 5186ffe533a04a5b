package distribution

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// SettingsForm is the settings form as typed (rates in percent).
type SettingsForm struct {
	Enabled, ThirdLevel, SelfPurchase               bool
	Levels, Recruit, Binding                        string
	BindingDays, ProtectionDays, AfterSaleDays, Cap string
	MinWithdrawal, WithdrawalFee                    string
	// Rev is the revision the form was drawn from (Settings.Rev).
	Rev string
}

// settingsForm reads the console's settings form.
func settingsForm(c echo.Context) SettingsForm {
	return SettingsForm{Enabled: c.FormValue("enabled") == "on", ThirdLevel: c.FormValue("third_level") == "on",
		SelfPurchase: c.FormValue("self_purchase") == "on", Levels: c.FormValue("levels"), Recruit: c.FormValue("recruit"),
		Binding: c.FormValue("binding"), BindingDays: c.FormValue("binding_days"), ProtectionDays: c.FormValue("protection_days"),
		AfterSaleDays: c.FormValue("after_sale_days"), Cap: c.FormValue("cap"), MinWithdrawal: c.FormValue("min_withdrawal"),
		WithdrawalFee: c.FormValue("withdrawal_fee"), Rev: c.FormValue("rev")}
}

func formOf(st Settings) SettingsForm {
	var lv []string
	for _, r := range st.Levels {
		lv = append(lv, percent(r))
	}
	return SettingsForm{Enabled: st.Enabled, ThirdLevel: st.ThirdLevel, SelfPurchase: st.SelfPurchase, Levels: strings.Join(lv, ", "),
		Recruit: st.Recruit, Binding: st.Binding, BindingDays: strconv.Itoa(st.BindingDays), ProtectionDays: strconv.Itoa(st.ProtectionDays),
		AfterSaleDays: strconv.Itoa(st.AfterSaleDays), Cap: percent(st.CapBps), MinWithdrawal: Yuan(st.MinWithdrawal),
		WithdrawalFee: percent(st.WithdrawalFeeBps), Rev: strconv.FormatInt(st.Rev, 10)}
}

// apply applies the form to st.
func (f SettingsForm) apply(st *Settings) error {
	if err := engine.ParseRev(f.Rev, &st.Rev); err != nil { // a form drawn before another save is refused
		return err
	}
	st.Enabled, st.ThirdLevel, st.SelfPurchase = f.Enabled, f.ThirdLevel, f.SelfPurchase
	st.Recruit, st.Binding = f.Recruit, f.Binding
	st.Levels = nil
	for _, p := range strings.Split(f.Levels, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		bps, err := parsePercent("levels", p)
		if err != nil {
			return err
		}
		st.Levels = append(st.Levels, bps)
	}
	ints := []struct {
		field string
		v     string
		dst   *int
	}{{"binding_days", f.BindingDays, &st.BindingDays}, {"protection_days", f.ProtectionDays, &st.ProtectionDays},
		{"after_sale_days", f.AfterSaleDays, &st.AfterSaleDays}}
	for _, x := range ints {
		if x.field == "after_sale_days" && strings.TrimSpace(x.v) == "" {
			continue // the console sets the window on the after-sale page now
		}
		n, err := strconv.Atoi(strings.TrimSpace(x.v))
		if err != nil {
			return fault.Invalid(x.field, "must be a whole number of days")
		}
		*x.dst = n
	}
	var err error
	if st.CapBps, err = parsePercent("cap", f.Cap); err != nil {
		return err
	}
	if st.WithdrawalFeeBps, err = parsePercent("withdrawal_fee", f.WithdrawalFee); err != nil {
		return err
	}
	if st.MinWithdrawal, err = parseYuan("min_withdrawal", f.MinWithdrawal); err != nil {
		return err
	}
	return nil
}

// percent formats basis points as percent ("7.5" for 750).
func percent(bps int64) string {
	s := strconv.FormatInt(bps/100, 10)
	if r := bps % 100; r != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(100+r, 10)[1:], "0")
	}
	return s
}

// Yuan formats fen as yuan with two decimals ("-1.05" for -105).
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// parsePercent reads "10" or "7.5" (percent, at most two decimals) as
// basis points.
func parsePercent(field, s string) (int64, error) {
	return hundredths(field, strings.TrimSuffix(strings.TrimSpace(s), "%"), 100, "a percentage between 0 and 100")
}

// parseYuan reads "12" or "12.5" yuan as fen.
func parseYuan(field, s string) (int64, error) {
	return hundredths(field, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "¥")), 10_000_000, "an amount in yuan")
}

// hundredths reads a number with at most two decimals and a whole part
// from 0 to max as hundredths; what says what it should be.
func hundredths(field, s string, max int64, what string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fault.Invalid(field, "%q: at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > max {
		return 0, fault.Invalid(field, "%q is not %s", s, what)
	}
	return w*100 + f, nil
}
