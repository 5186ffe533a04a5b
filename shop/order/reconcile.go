package order

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"microshop/tenants/fault"
)

// Reconciliation: WeChat Pay's trade bill of a China day (GET
// /v3/bill/tradebill, then its download URL) compared with the payments
// we recorded that day and the WeChat refunds that succeeded that day.
// Payments are matched by WeChat's transaction_id, refunds by our refund
// id (out_refund_no). The result is stored per shop and date; the
// `reconcile` job makes it for the previous day once WeChat Pay has the
// bill ready (10:00 China time), and asking for a day not reconciled yet
// runs the comparison then.

// Reconciliation is the comparison of one China day.
type Reconciliation struct {
	Date    string `json:"date"`
	Matched int    `json:"matched"`
	// MissingHere are in WeChat Pay's bill and not in our records;
	// MissingAtWeChat the reverse; AmountMismatches in both with
	// different amounts.
	MissingHere      []ReconItem `json:"missing_here"`
	MissingAtWeChat  []ReconItem `json:"missing_at_wechat"`
	AmountMismatches []ReconItem `json:"amount_mismatches"`
	CheckedAt        time.Time   `json:"checked_at" bson:"checked_at"`
}

// ReconItem is one payment or refund of a reconciliation.
type ReconItem struct {
	Kind          string `json:"kind"` // ReconPayment or ReconRefund
	OrderID       string `json:"order_id" bson:"order_id"`
	TransactionID string `json:"transaction_id" bson:"transaction_id"`
	// RefundID is our refund's id (out_refund_no), WeChatRefundID WeChat
	// Pay's refund number.
	RefundID       string `json:"refund_id,omitempty" bson:"refund_id,omitempty"`
	WeChatRefundID string `json:"wechat_refund_id,omitempty" bson:"wechat_refund_id,omitempty"`
	// Amount is ours (fen) and WeChatAmount the bill's; a missing side
	// leaves its amount 0.
	Amount       int64 `json:"amount"`
	WeChatAmount int64 `json:"wechat_amount" bson:"wechat_amount"`
}

// Kinds of reconciled items.
const (
	ReconPayment = "payment"
	ReconRefund  = "refund"
)

// normal gives the lists as empty lists, never null.
func (r Reconciliation) normal() Reconciliation {
	for _, l := range []*[]ReconItem{&r.MissingHere, &r.MissingAtWeChat, &r.AmountMismatches} {
		if *l == nil {
			*l = []ReconItem{}
		}
	}
	return r
}

// chinaTime is WeChat Pay's time zone: bills are of its days.
var chinaTime = time.FixedZone("CST", 8*3600)

// billReadyHour is when (China time) WeChat Pay has the previous day's
// bill ready.
const billReadyHour = 10

// refundWindow is how long after paying WeChat Pay takes a refund: orders
// older than that have no refunds on the day reconciled.
const refundWindow = 366 * 24 * time.Hour

// ReconcileReport is what a reconcile pass did.
type ReconcileReport struct {
	Reconciled, Matched, Differences int
}

// Reconciliation answers the shop's reconciliation of date (YYYY-MM-DD,
// China time): the stored one, or made now when there is none (stored
// only once the day is over).
func (s *Service) Reconciliation(ctx context.Context, tenantID, date string) (Reconciliation, error) {
	day, err := time.ParseInLocation(time.DateOnly, date, chinaTime)
	if err != nil {
		return Reconciliation{}, fault.Invalid("date", "must be a date as YYYY-MM-DD")
	}
	if day.After(s.clock()) {
		return Reconciliation{}, fault.Invalid("date", "must not be in the future")
	}
	r, found, err := s.store.Reconciliation(ctx, tenantID, date)
	if err != nil || found {
		return r, err
	}
	return s.Reconcile(ctx, tenantID, date)
}

// Reconcile downloads WeChat Pay's trade bill of date and compares it
// with our payments and refunds, storing the result when the day is over.
func (s *Service) Reconcile(ctx context.Context, tenantID, date string) (Reconciliation, error) {
	from, err := time.ParseInLocation(time.DateOnly, date, chinaTime)
	if err != nil {
		return Reconciliation{}, fault.Invalid("date", "must be a date as YYYY-MM-DD")
	}
	to := from.AddDate(0, 0, 1)
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Reconciliation{}, err
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, false)
	if err != nil {
		return Reconciliation{}, err
	}
	if !ok {
		return Reconciliation{}, fault.Conflict("the shop takes no WeChat Pay: there is no trade bill to reconcile")
	}
	bill, err := s.tradeBill(ctx, tenantID, acct, date)
	if err != nil {
		return Reconciliation{}, err
	}
	pays, err := s.store.PaymentsBetween(ctx, tenantID, ProviderWeChat, from, to)
	if err != nil {
		return Reconciliation{}, err
	}
	refunded, err := s.store.RefundedSince(ctx, tenantID, from.Add(-refundWindow))
	if err != nil {
		return Reconciliation{}, err
	}
	var ours []ReconItem
	for _, p := range pays {
		ours = append(ours, ReconItem{Kind: ReconPayment, OrderID: p.OrderID, TransactionID: p.TransactionID, Amount: p.Amount})
	}
	for _, o := range refunded {
		for _, rf := range o.Refunds {
			if rf.Provider != ProviderWeChat || rf.State() != RefundSucceeded || rf.SettledAt == nil ||
				rf.SettledAt.Before(from) || !rf.SettledAt.Before(to) {
				continue
			}
			ours = append(ours, ReconItem{Kind: ReconRefund, OrderID: o.ID, TransactionID: o.TransactionID, RefundID: rf.ID,
				WeChatRefundID: rf.RefundID, Amount: rf.Amount})
		}
	}
	r := compareBill(date, ours, bill)
	r.CheckedAt = s.clock()
	if !s.clock().Before(to) {
		if err := s.store.SaveReconciliation(ctx, tenantID, r); err != nil {
			return Reconciliation{}, err
		}
	}
	return r, nil
}

// reconKey is what matches an item on both sides.
func reconKey(it ReconItem) string {
	if it.Kind == ReconRefund {
		return "refund/" + it.RefundID
	}
	return "payment/" + it.TransactionID
}

// compareBill compares our items with the bill's (whose amounts are in
// WeChatAmount).
func compareBill(date string, ours, bill []ReconItem) Reconciliation {
	r := Reconciliation{Date: date}.normal()
	mine := map[string]ReconItem{}
	for _, it := range ours {
		k := reconKey(it)
		if prev, ok := mine[k]; ok {
			it.Amount += prev.Amount
		}
		mine[k] = it
	}
	seen := map[string]bool{}
	for _, b := range bill {
		k := reconKey(b)
		seen[k] = true
		it, ok := mine[k]
		switch {
		case !ok:
			r.MissingHere = append(r.MissingHere, b)
		case it.Amount != b.WeChatAmount:
			it.WeChatAmount = b.WeChatAmount
			if it.WeChatRefundID == "" {
				it.WeChatRefundID = b.WeChatRefundID
			}
			r.AmountMismatches = append(r.AmountMismatches, it)
		default:
			r.Matched++
		}
	}
	for k, it := range mine {
		if !seen[k] {
			r.MissingAtWeChat = append(r.MissingAtWeChat, it)
		}
	}
	for _, l := range [][]ReconItem{r.MissingHere, r.MissingAtWeChat, r.AmountMismatches} {
		slices.SortFunc(l, func(a, b ReconItem) int { return strings.Compare(reconKey(a)+a.OrderID, reconKey(b)+b.OrderID) })
	}
	return r
}

// ReconcileJob reconciles the previous China day once WeChat Pay has its
// bill ready, unless it was reconciled already; a shop without WeChat Pay
// has nothing to reconcile.
func (s *Service) ReconcileJob(ctx context.Context, tenantID string) (ReconcileReport, error) {
	var rep ReconcileReport
	now := s.clock().In(chinaTime)
	if now.Hour() < billReadyHour {
		return rep, nil
	}
	date := now.AddDate(0, 0, -1).Format(time.DateOnly)
	if _, found, err := s.store.Reconciliation(ctx, tenantID, date); err != nil || found {
		return rep, err
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return rep, err
	}
	if _, ok, err := s.payAccount(ctx, tenantID, st, false); err != nil || !ok {
		return rep, err
	}
	r, err := s.Reconcile(ctx, tenantID, date)
	if err != nil {
		return rep, err
	}
	rep.Reconciled, rep.Matched = 1, r.Matched
	rep.Differences = len(r.MissingHere) + len(r.MissingAtWeChat) + len(r.AmountMismatches)
	return rep, nil
}

// tradeBill asks WeChat Pay for the trade bill of date (the SDK's signed
// GET /v3/bill/tradebill), downloads it and reads its payments and
// refunds.
func (s *Service) tradeBill(ctx context.Context, tenantID string, acct WeChatPaySettings, date string) ([]ReconItem, error) {
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return nil, err
	}
	cc := pc.jsapi.Client
	res, err := cc.Get(ctx, consts.WechatPayAPIServer+"/v3/bill/tradebill?"+
		url.Values{"bill_date": {date}, "bill_type": {"ALL"}}.Encode())
	if err != nil {
		if code := apiCode(err); code == "NO_STATEMENT_EXIST" || code == "STATEMENT_CREATING" {
			return nil, fault.Conflict("WeChat Pay has no trade bill for %s yet; try again later", date)
		}
		return nil, fmt.Errorf("ask wechat pay for the trade bill of %s: %w", date, err)
	}
	defer res.Response.Body.Close()
	var info struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Response.Body, 1<<20)).Decode(&info); err != nil || info.DownloadURL == "" {
		return nil, fmt.Errorf("trade bill of %s: unreadable answer (%v)", date, err)
	}
	body, err := s.downloadBill(ctx, cc, info.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("download the trade bill of %s: %w", date, err)
	}
	if strings.EqualFold(info.HashType, "SHA1") {
		if sum := sha1.Sum(body); !strings.EqualFold(hex.EncodeToString(sum[:]), info.HashValue) {
			return nil, fmt.Errorf("trade bill of %s: the download does not match its SHA1", date)
		}
	}
	return parseTradeBill(body)
}

// downloadBill GETs the bill at u, signed as every merchant request. The
// download's answer is not signed by WeChat Pay (its hash is checked
// instead), so the SDK's Get, which verifies answers, is not used.
func (s *Service) downloadBill(ctx context.Context, cc *core.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	nonce := randomHex(16)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := cc.Sign(ctx, http.MethodGet+"\n"+req.URL.RequestURI()+"\n"+ts+"\n"+nonce+"\n\n")
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		sig.MchID, nonce, ts, sig.CertificateSerialNo, sig.Signature))
	req.Header.Set("Accept", "*/*")
	resp, err := s.wechatPay().http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return body, nil
}

// parseTradeBill reads a trade bill (type ALL): the header names the
// columns; each line's fields are backtick-prefixed; the summary ends it.
func parseTradeBill(body []byte) ([]ReconItem, error) {
	lines := strings.Split(strings.ReplaceAll(strings.TrimPrefix(string(body), "\ufeff"), "\r\n", "\n"), "\n")
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty trade bill")
	}
	col := map[string]int{}
	for i, name := range strings.Split(lines[0], ",") {
		col[strings.TrimSpace(name)] = i
	}
	need := []string{"微信订单号", "商户订单号", "交易状态", "应结订单金额", "商户退款单号", "微信退款单号", "退款金额"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("trade bill without the column %s", n)
		}
	}
	items := []ReconItem{}
	for _, line := range lines[1:] {
		if line == "" || !strings.HasPrefix(line, "`") {
			break // the summary's header
		}
		f := strings.Split(strings.TrimPrefix(line, "`"), ",`")
		get := func(name string) string {
			if i := col[name]; i < len(f) {
				return strings.TrimSpace(f[i])
			}
			return ""
		}
		switch get("交易状态") {
		case "SUCCESS":
			amt, err := parseYuan(get("应结订单金额"))
			if err != nil {
				return nil, err
			}
			items = append(items, ReconItem{Kind: ReconPayment, OrderID: get("商户订单号"), TransactionID: get("微信订单号"), WeChatAmount: amt})
		case "REFUND":
			amt, err := parseYuan(get("退款金额"))
			if err != nil {
				return nil, err
			}
			items = append(items, ReconItem{Kind: ReconRefund, OrderID: get("商户订单号"), TransactionID: get("微信订单号"),
				RefundID: get("商户退款单号"), WeChatRefundID: get("微信退款单号"), WeChatAmount: amt})
		}
	}
	return items, nil
}

// parseYuan reads "12.34" as 1234 fen.
func parseYuan(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("trade bill amount %q", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	c, err2 := strconv.ParseUint(frac, 10, 64)
	if err1 != nil || err2 != nil || strings.HasPrefix(whole, "-") {
		return 0, fmt.Errorf("trade bill amount %q", s)
	}
	return w*100 + int64(c), nil
}
