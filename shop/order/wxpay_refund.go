package order

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Refunds at WeChat Pay (POST /v3/refund/domestic/refunds through the
// SDK's refunddomestic service). Our refund id is the out_refund_no: WeChat
// Pay answers a second create with the same number with the refund it has,
// so asking again (after a timeout, from the query job) never refunds
// twice. The refund notification (REFUND.SUCCESS, REFUND.ABNORMAL,
// REFUND.CLOSED, at /pay/notify/{slug}/wechat-refund) or a query
// (GET /v3/refund/domestic/refunds/{out_refund_no}) settles it.

// refundNotice is the decrypted resource of a refund notification.
type refundNotice struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	Amount        struct {
		Total  int64 `json:"total"`
		Refund int64 `json:"refund"`
	} `json:"amount"`
}

// refundState maps WeChat Pay's refund status to ours ("" while it is
// processing).
func refundState(status string) string {
	switch status {
	case string(refunddomestic.STATUS_SUCCESS):
		return RefundSucceeded
	case string(refunddomestic.STATUS_CLOSED), string(refunddomestic.STATUS_ABNORMAL):
		return RefundFailed
	}
	return ""
}

// wechatRefund asks WeChat Pay to refund r of order o (or asks again: the
// out_refund_no makes it once) and settles the refund if the answer says
// how it ended. WeChat Pay refusing the refund fails it (a 409 tells the
// merchant why); no answer leaves it processing for the query job.
func (s *Service) wechatRefund(ctx context.Context, tenantID string, o Order, r Refund, notifyURL string) error {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, false)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := s.settleRefund(ctx, tenantID, o.ID, r.ID, RefundFailed, "", "no WeChat Pay account"); err != nil {
			return err
		}
		return fault.Conflict("this shop no longer has a WeChat Pay account to refund through")
	}
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return err
	}
	req := refunddomestic.CreateRequest{OutTradeNo: core.String(o.ID), OutRefundNo: core.String(r.ID),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(r.Amount), Total: core.Int64(o.Paid), Currency: core.String("CNY")}}
	if o.TransactionID != "" {
		req.TransactionId, req.OutTradeNo = core.String(o.TransactionID), nil
	}
	if r.Reason != "" {
		reason := r.Reason
		if AfterSaleRequestID(reason) != "" {
			// The payer reads it in WeChat Pay's refund notice: words in
			// Chinese (WeChat Pay's payers), not our request's id.
			reason = i18n.T(i18n.WithLang(ctx, i18n.ZhCN), "aftersale.refund_reason")
		}
		req.Reason = core.String(fault.Clip(reason, 80))
	}
	if notifyURL != "" {
		req.NotifyUrl = core.String(notifyURL)
	}
	resp, _, err := pc.refunds.Create(ctx, req)
	var ae *core.APIError
	if errors.As(err, &ae) && ae.StatusCode < 500 && ae.Code != "SYSTEM_ERROR" && ae.Code != "FREQUENCY_LIMITED" {
		if _, serr := s.settleRefund(ctx, tenantID, o.ID, r.ID, RefundFailed, "", ae.Code+": "+ae.Message); serr != nil {
			return serr
		}
		return fault.Conflict("WeChat Pay refused the refund: %s", fault.Clip(ae.Message, 120))
	}
	if err != nil {
		return fmt.Errorf("wechat pay refund %s of order %s: %w: %w", r.ID, o.ID, errPayUnavailable, err)
	}
	return s.settleWeChatRefund(ctx, tenantID, o.ID, r.ID, resp)
}

// settleWeChatRefund settles refund refundID of order orderID as WeChat
// Pay's answer resp says, if it says it ended.
func (s *Service) settleWeChatRefund(ctx context.Context, tenantID, orderID, refundID string, resp *refunddomestic.Refund) error {
	if resp == nil || resp.Status == nil {
		return nil
	}
	state := refundState(string(*resp.Status))
	if state == "" {
		return nil
	}
	_, err := s.settleRefund(ctx, tenantID, orderID, refundID, state, str(resp.RefundId), failureWords(string(*resp.Status)))
	return err
}

// failureWords is why a refund in WeChat Pay's status failed ("" if it
// did not).
func failureWords(status string) string {
	switch status {
	case string(refunddomestic.STATUS_CLOSED):
		return "closed by WeChat Pay"
	case string(refunddomestic.STATUS_ABNORMAL):
		return "abnormal: the buyer's account could not take the money"
	}
	return ""
}

// WeChatRefundNotify verifies and decrypts a WeChat Pay refund
// notification (as the payment's, with the SDK's notify handler) and
// settles the refund it announces: once, whatever the order and number of
// notifications and queries.
func (s *Service) WeChatRefundNotify(ctx context.Context, tenantID string, r *http.Request) error {
	pc, err := s.notifyClient(ctx, tenantID)
	if err != nil {
		return err
	}
	var n refundNotice
	req, err := pc.notify.ParseNotifyRequest(ctx, r, &n)
	if err != nil {
		s.log.Warn("wechat pay refund notification refused", "tenant", tenantID, "err", fault.Clip(err.Error(), 300))
		return fault.Forbidden("bad signature")
	}
	if n.MchID != pc.acct.MchID {
		return fault.Forbidden("notification for another merchant")
	}
	state := refundState(n.RefundStatus)
	switch req.EventType {
	case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
	default:
		state = ""
	}
	if state == "" || n.OutTradeNo == "" || n.OutRefundNo == "" {
		s.log.Info("wechat pay refund notification of nothing to settle", "tenant", tenantID, "event", req.EventType)
		return nil
	}
	o, err := s.store.Get(ctx, tenantID, n.OutTradeNo)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(o.Refunds, func(rf Refund) bool { return rf.ID == n.OutRefundNo })
	if i < 0 {
		return fault.NotFound("refund")
	}
	if state == RefundSucceeded && n.Amount.Refund != o.Refunds[i].Amount {
		s.log.Error("wechat pay refunded another amount", "tenant", tenantID, "order", o.ID, "refund", n.OutRefundNo,
			"asked", o.Refunds[i].Amount, "refunded", n.Amount.Refund)
		return fault.Conflict("WeChat Pay refunded %d fen, not %d", n.Amount.Refund, o.Refunds[i].Amount)
	}
	_, err = s.settleRefund(ctx, tenantID, o.ID, n.OutRefundNo, state, n.RefundID, failureWords(n.RefundStatus))
	return err
}

// refundGrace is how long a refund WeChat Pay does not know may stay
// processing before the query job asks for it again (its first create may
// still be on its way).
const refundGrace = 30 * time.Second

// queryWeChatRefund asks WeChat Pay about processing refund r of order o
// and settles it if it ended; one WeChat Pay never received is created
// again (the same out_refund_no, so at most once). settled reports that
// it ended.
func (s *Service) queryWeChatRefund(ctx context.Context, tenantID string, acct WeChatPaySettings, o Order, r Refund) (bool, error) {
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return false, err
	}
	resp, _, err := pc.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(r.ID)})
	if apiCode(err) == "RESOURCE_NOT_EXISTS" {
		if s.clock().Sub(r.At) < refundGrace {
			return false, nil
		}
		err := s.wechatRefund(ctx, tenantID, o, r, "")
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status < 500 {
			return true, nil // refused: the refund failed
		}
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("query wechat pay refund %s: %w", r.ID, err)
	}
	if resp.Status == nil || refundState(string(*resp.Status)) == "" {
		return false, nil
	}
	if err := s.settleWeChatRefund(ctx, tenantID, o.ID, r.ID, resp); err != nil {
		return false, err
	}
	return true, nil
}

// queryRefunds is the refund half of the payment query pass: each
// processing refund is asked about with the same back-off as an unpaid
// order (from when it was made); a test-mode refund left processing by a
// crash succeeds.
func (s *Service) queryRefunds(ctx context.Context, tenantID string, acct WeChatPaySettings, wechat bool, r *QueryReport) error {
	orders, err := s.store.Refunding(ctx, tenantID, jobBatch)
	if err != nil {
		return err
	}
	now := s.clock()
	for _, o := range orders {
		for _, rf := range o.Refunds {
			if rf.Status != RefundProcessing {
				continue
			}
			if rf.Provider == "" {
				if _, err := s.settleRefund(ctx, tenantID, o.ID, rf.ID, RefundSucceeded, "", ""); err != nil {
					return err
				}
				r.Refunds++
				continue
			}
			if !wechat || !dueForQuery(now.Sub(rf.At), QueryInterval) {
				continue
			}
			r.RefundsQueried++
			settled, err := s.queryWeChatRefund(ctx, tenantID, acct, o, rf)
			if err != nil {
				s.log.Warn("query wechat pay refund", "tenant", tenantID, "order", o.ID, "refund", rf.ID, "err", err)
				r.Failed++
				continue
			}
			if settled {
				r.Refunds++
			}
		}
	}
	return nil
}
