package paysim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Refunds: POST /v3/refund/domestic/refunds creates a refund of a paid
// transaction (the same out_refund_no again answers the refund there is),
// answered PROCESSING; right after answering, the refund ends SUCCESS (or
// ABNORMAL under the merchant's FailRefunds rule, or stays PROCESSING under
// HoldRefunds until SettleRefunds) and its notification goes to the
// refund's notify_url under the merchant's notification rule. GET
// .../refunds/{out_refund_no} answers it as it is. Refunds never add up to
// more than the transaction's total.

const refundsPath = "/v3/refund/domestic/refunds"

// Refund statuses.
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundAbnormal   = "ABNORMAL"
	RefundClosed     = "CLOSED"
)

// Refund is one refund as WeChat Pay's query answers it.
type Refund struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
	NotifyURL           string       `json:"-"`
	// Reason is what the payer reads in WeChat Pay's refund notice.
	Reason string `json:"-"`
	held   bool
}

type refundAmount struct {
	Total            int64  `json:"total"`
	Refund           int64  `json:"refund"`
	PayerTotal       int64  `json:"payer_total"`
	PayerRefund      int64  `json:"payer_refund"`
	SettlementRefund int64  `json:"settlement_refund"`
	SettlementTotal  int64  `json:"settlement_total"`
	DiscountRefund   int64  `json:"discount_refund"`
	Currency         string `json:"currency"`
}

type refundRequest struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	Amount        struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

func (s *Simulator) createRefund(w http.ResponseWriter, m *merchant, body []byte) {
	var in refundRequest
	if err := json.Unmarshal(body, &in); err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "body is not JSON"))
		return
	}
	if in.NotifyURL != "" {
		if u, err := url.Parse(in.NotifyURL); err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "" {
			s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "notify_url must be an absolute URL without a query"))
			return
		}
	}
	if in.OutRefundNo == "" || len(in.OutRefundNo) > 64 || (in.TransactionID == "" && in.OutTradeNo == "") || in.Amount.Refund <= 0 {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "out_refund_no, transaction_id or out_trade_no, and a positive amount.refund are required"))
		return
	}
	s.mu.Lock()
	if r, ok := m.refunds[in.OutRefundNo]; ok {
		c := *r
		s.mu.Unlock()
		if c.Amount.Refund != in.Amount.Refund {
			s.answer(w, http.StatusBadRequest, apiError("INVALID_REQUEST", "退款单号重复且金额不一致"))
			return
		}
		s.answer(w, http.StatusOK, c)
		return
	}
	var t *Transaction
	for _, o := range m.orders {
		if (in.TransactionID != "" && o.TransactionID == in.TransactionID) || (in.TransactionID == "" && o.OutTradeNo == in.OutTradeNo) {
			t = o
			break
		}
	}
	var refunded int64
	if t != nil {
		for _, r := range m.refunds {
			if r.OutTradeNo == t.OutTradeNo && r.Status != RefundAbnormal && r.Status != RefundClosed {
				refunded += r.Amount.Refund
			}
		}
	}
	switch {
	case t == nil:
		s.mu.Unlock()
		s.answer(w, http.StatusNotFound, apiError("RESOURCE_NOT_EXISTS", "订单不存在"))
		return
	case t.TradeState != Success:
		s.mu.Unlock()
		s.answer(w, http.StatusBadRequest, apiError("INVALID_REQUEST", "订单未支付"))
		return
	case in.Amount.Total != t.Amount.Total:
		s.mu.Unlock()
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "订单金额与原订单不一致"))
		return
	case refunded+in.Amount.Refund > t.Amount.Total:
		s.mu.Unlock()
		s.answer(w, http.StatusBadRequest, apiError("INVALID_REQUEST", "申请退款金额超过订单可退金额"))
		return
	}
	s.seq++
	r := &Refund{RefundID: fmt.Sprintf("5030%s%s%06d", time.Now().Format("20060102"), randomDigits(10), s.seq%1_000_000),
		OutRefundNo: in.OutRefundNo, TransactionID: t.TransactionID, OutTradeNo: t.OutTradeNo, Channel: "ORIGINAL",
		UserReceivedAccount: "支付用户零钱", CreateTime: time.Now().In(chinaTime).Format(time.RFC3339), Status: RefundProcessing,
		FundsAccount: "AVAILABLE", NotifyURL: in.NotifyURL, Reason: in.Reason, held: m.rule.HoldRefunds,
		Amount: refundAmount{Total: t.Amount.Total, Refund: in.Amount.Refund, PayerTotal: t.Amount.Total, PayerRefund: in.Amount.Refund,
			SettlementRefund: in.Amount.Refund, SettlementTotal: t.Amount.Total, Currency: "CNY"}}
	m.refunds[in.OutRefundNo] = r
	c := *r
	s.mu.Unlock()
	s.answer(w, http.StatusOK, c)
	if !c.held {
		s.wg.Go(func() { s.settleRefund(context.Background(), m.MchID, c.OutRefundNo) })
	}
}

// settleRefund ends a processing refund as the merchant's rule says and
// sends its notification.
func (s *Simulator) settleRefund(ctx context.Context, mchID, outRefundNo string) {
	s.mu.Lock()
	m, ok := s.merchants[mchID]
	if !ok {
		s.mu.Unlock()
		return
	}
	r, ok := m.refunds[outRefundNo]
	if !ok || r.Status != RefundProcessing {
		s.mu.Unlock()
		return
	}
	r.held = false
	if m.rule.FailRefunds {
		r.Status = RefundAbnormal
	} else {
		r.Status, r.SuccessTime = RefundSuccess, time.Now().In(chinaTime).Format(time.RFC3339)
	}
	rule, tradeNo, notify := m.rule, r.OutTradeNo, r.NotifyURL != ""
	s.mu.Unlock()
	if notify {
		s.dispatch(ctx, rule, notice{mchID: mchID, outTradeNo: tradeNo, refund: outRefundNo})
	}
}

// SettleRefunds ends the merchant's refunds held PROCESSING (HoldRefunds)
// as its rule now says, sends their notifications and waits for them.
func (s *Simulator) SettleRefunds(ctx context.Context, mchID string) {
	s.mu.Lock()
	var held []string
	if m, ok := s.merchants[mchID]; ok {
		for no, r := range m.refunds {
			if r.held && r.Status == RefundProcessing {
				held = append(held, no)
			}
		}
	}
	s.mu.Unlock()
	for _, no := range held {
		s.settleRefund(ctx, mchID, no)
	}
}

// RefundOf returns the merchant's refund out_refund_no as it is.
func (s *Simulator) RefundOf(mchID, outRefundNo string) (Refund, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mchID]; ok {
		if r, ok := m.refunds[outRefundNo]; ok {
			return *r, true
		}
	}
	return Refund{}, false
}

// Refunded is what the merchant refunded (SUCCESS refunds) of its order
// out_trade_no.
func (s *Simulator) Refunded(mchID, outTradeNo string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	if m, ok := s.merchants[mchID]; ok {
		for _, r := range m.refunds {
			if r.OutTradeNo == outTradeNo && r.Status == RefundSuccess {
				n += r.Amount.Refund
			}
		}
	}
	return n
}

func (s *Simulator) queryRefund(w http.ResponseWriter, m *merchant, outRefundNo string) {
	s.mu.Lock()
	r, ok := m.refunds[outRefundNo]
	var c Refund
	if ok {
		c = *r
	}
	s.mu.Unlock()
	if !ok {
		s.answer(w, http.StatusNotFound, apiError("RESOURCE_NOT_EXISTS", "退款单不存在"))
		return
	}
	s.answer(w, http.StatusOK, c)
}

// NotifyRefund sends the notification of the merchant's ended refund
// out_refund_no once, now, and returns an error unless the shop answered
// 2xx.
func (s *Simulator) NotifyRefund(ctx context.Context, mchID, outRefundNo string) error {
	req, err := s.RefundNotificationRequest(ctx, mchID, outRefundNo)
	if err != nil {
		return err
	}
	return s.send(mchID, req)
}

// RefundNotificationRequest builds the notification of the merchant's
// ended refund as WeChat Pay sends it (REFUND.SUCCESS, REFUND.ABNORMAL or
// REFUND.CLOSED).
func (s *Simulator) RefundNotificationRequest(ctx context.Context, mchID, outRefundNo string) (*http.Request, error) {
	s.mu.Lock()
	m, ok := s.merchants[mchID]
	var r Refund
	var key string
	if ok {
		key = m.APIv3Key
		var rp *Refund
		if rp, ok = m.refunds[outRefundNo]; ok {
			r = *rp
		}
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("notify: merchant %s has no refund %s", mchID, outRefundNo)
	}
	if r.Status == RefundProcessing {
		return nil, fmt.Errorf("notify: refund %s is still processing", outRefundNo)
	}
	plain, _ := json.Marshal(map[string]any{"mchid": mchID, "out_trade_no": r.OutTradeNo, "transaction_id": r.TransactionID,
		"out_refund_no": r.OutRefundNo, "refund_id": r.RefundID, "refund_status": r.Status, "success_time": r.SuccessTime,
		"user_received_account": r.UserReceivedAccount, "amount": map[string]int64{"total": r.Amount.Total,
			"refund": r.Amount.Refund, "payer_total": r.Amount.PayerTotal, "payer_refund": r.Amount.PayerRefund}})
	summary := map[string]string{RefundSuccess: "退款成功", RefundAbnormal: "退款异常", RefundClosed: "退款关闭"}[r.Status]
	return s.notification(ctx, r.NotifyURL, key, "refund", "REFUND."+r.Status, summary, plain)
}

// RefundReason is the reason the merchant sent with a refund, as its payer
// reads it ("" for none, or no such refund).
func (s *Simulator) RefundReason(mchID, outRefundNo string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mchID]; ok {
		if r, ok := m.refunds[outRefundNo]; ok {
			return r.Reason
		}
	}
	return ""
}
