package paysim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The trade bill: GET /v3/bill/tradebill?bill_date=YYYY-MM-DD (China
// time; bill_type ALL, the only type served) answers
// {"hash_type":"SHA1","hash_value","download_url"}, and a signed GET of
// the download URL answers the CSV in WeChat Pay's format: a header line,
// one line per successful payment (交易状态 SUCCESS) and per successful
// refund (REFUND) of that day, every field prefixed with a backtick, then
// the summary header and line. Amounts are yuan with two decimals. As at
// WeChat Pay, the download's answer is not signed (the hash checks it).

const (
	tradeBillPath = "/v3/bill/tradebill"
	downloadPath  = "/v3/billdownload/file"
)

// tradeBillHeader is the ALL bill's header, as WeChat Pay writes it.
const tradeBillHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
	"订单金额,申请退款金额,费率备注"

// tradeBillSummary is the summary's header.
const tradeBillSummary = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// MisstateAmount makes the merchant's trade bills show total as the
// amount of its paid order outTradeNo (a test switch: a bill that
// disagrees with the shop's records).
func (s *Simulator) MisstateAmount(mchID, outTradeNo string, total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mchID]; ok {
		if m.billAmounts == nil {
			m.billAmounts = map[string]int64{}
		}
		m.billAmounts[outTradeNo] = total
	}
}

// tradeBill serves GET /v3/bill/tradebill.
func (s *Simulator) tradeBill(w http.ResponseWriter, m *merchant, r *http.Request) {
	q := r.URL.Query()
	date := q.Get("bill_date")
	if _, err := time.ParseInLocation(time.DateOnly, date, chinaTime); err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "bill_date must be YYYY-MM-DD"))
		return
	}
	if t := q.Get("bill_type"); t != "" && t != "ALL" {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "the simulator serves bill_type ALL only"))
		return
	}
	sum := sha1.Sum(s.billCSV(m, date))
	u := url.URL{Scheme: "https", Host: "api.mch.weixin.qq.com", Path: downloadPath,
		RawQuery: url.Values{"token": {m.MchID + "." + date}}.Encode()}
	s.answer(w, http.StatusOK, map[string]string{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]),
		"download_url": u.String()})
}

// downloadBill serves the download URL: the bill itself, unsigned.
func (s *Simulator) downloadBill(w http.ResponseWriter, m *merchant, r *http.Request) {
	mch, date, ok := strings.Cut(r.URL.Query().Get("token"), ".")
	if !ok || mch != m.MchID {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "token is not one of the merchant's bills"))
		return
	}
	if _, err := time.ParseInLocation(time.DateOnly, date, chinaTime); err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "token is malformed"))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.billCSV(m, date))
}

// billLine is one line of a bill before it is written.
type billLine struct {
	at     string
	fields []string
}

// billCSV is the merchant's trade bill of date (China time).
func (s *Simulator) billCSV(m *merchant, date string) []byte {
	onDay := func(rfc string) bool {
		t, err := time.Parse(time.RFC3339, rfc)
		return err == nil && t.In(chinaTime).Format(time.DateOnly) == date
	}
	when := func(rfc string) string {
		t, _ := time.Parse(time.RFC3339, rfc)
		return t.In(chinaTime).Format(time.DateTime)
	}
	s.mu.Lock()
	var lines []billLine
	var paid, refunded int64
	byNo := map[string]*Transaction{}
	for _, t := range m.orders {
		byNo[t.OutTradeNo] = t
		if t.TradeState != Success || !onDay(t.SuccessTime) {
			continue
		}
		total := t.Amount.Total
		if v, ok := m.billAmounts[t.OutTradeNo]; ok {
			total = v
		}
		paid += total
		lines = append(lines, billLine{at: t.SuccessTime, fields: []string{when(t.SuccessTime), t.AppID, m.MchID, "0", "",
			t.TransactionID, t.OutTradeNo, t.Payer.OpenID, t.TradeType, "SUCCESS", t.BankType, "CNY", yuan(total), "0.00",
			"0", "0", "0.00", "0.00", "", "", t.Description, t.Attach, "0.00", "0.60%", yuan(total), "0.00", ""}})
	}
	for _, r := range m.refunds {
		if r.Status != RefundSuccess || !onDay(r.SuccessTime) {
			continue
		}
		t := byNo[r.OutTradeNo]
		if t == nil {
			continue
		}
		refunded += r.Amount.Refund
		lines = append(lines, billLine{at: r.SuccessTime, fields: []string{when(r.SuccessTime), t.AppID, m.MchID, "0", "",
			t.TransactionID, t.OutTradeNo, t.Payer.OpenID, t.TradeType, "REFUND", t.BankType, "CNY", "0.00", "0.00",
			r.RefundID, r.OutRefundNo, yuan(r.Amount.Refund), "0.00", "ORIGINAL", "SUCCESS", t.Description, t.Attach,
			"0.00", "0.60%", yuan(t.Amount.Total), yuan(r.Amount.Refund), ""}})
	}
	s.mu.Unlock()
	// By time, then by transaction and refund number: a bill reads the
	// same each time it is made (its hash is given before the download).
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].at != lines[j].at {
			return lines[i].at < lines[j].at
		}
		return lines[i].fields[5]+lines[i].fields[15] < lines[j].fields[5]+lines[j].fields[15]
	})
	var b strings.Builder
	b.WriteString(tradeBillHeader + "\r\n")
	for _, l := range lines {
		b.WriteString(ticked(l.fields...) + "\r\n")
	}
	b.WriteString(tradeBillSummary + "\r\n")
	b.WriteString(ticked(fmt.Sprint(len(lines)), yuan(paid), yuan(refunded), "0.00", "0.00", yuan(paid), yuan(refunded)) + "\r\n")
	return []byte(b.String())
}

// ticked joins fields as a bill writes them: each prefixed with a backtick.
func ticked(fields ...string) string {
	return "`" + strings.Join(fields, ",`")
}

// yuan writes fen as yuan with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
