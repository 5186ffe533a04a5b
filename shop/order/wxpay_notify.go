package order

import (
	"context"
	"errors"
	"net/http"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"microshop/tenants/fault"
)

// WeChat Pay's payment notifications: verified, decrypted and confirmed
// once, and the answer WeChat Pay expects.

// notifyClient is the WeChat Pay client of a shop a notification is for;
// a shop without a WeChat Pay account takes none.
func (s *Service) notifyClient(ctx context.Context, tenantID string) (*payClient, error) {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, false)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.Forbidden("this shop does not take WeChat Pay")
	}
	return s.wechatPay().client(ctx, tenantID, acct)
}

// WeChatPayNotify verifies a WeChat Pay payment notification (the SDK's
// notify handler: WeChat Pay's signature over the body, then the resource
// decrypted with the API v3 key) and confirms the payment. WeChat Pay may
// send the same notification up to 15 times from several servers, in any
// order: ConfirmPayment pays the order once.
func (s *Service) WeChatPayNotify(ctx context.Context, tenantID string, r *http.Request) error {
	pc, err := s.notifyClient(ctx, tenantID)
	if err != nil {
		return err
	}
	var tx payments.Transaction
	n, err := pc.notify.ParseNotifyRequest(ctx, r, &tx)
	if err != nil {
		// The SDK's error quotes the whole request: keep the log line short.
		s.log.Warn("wechat pay notification refused", "tenant", tenantID, "err", fault.Clip(err.Error(), 300))
		return fault.Forbidden("bad signature")
	}
	if n.EventType != "TRANSACTION.SUCCESS" || str(tx.TradeState) != "SUCCESS" {
		s.log.Info("wechat pay notification of no payment", "tenant", tenantID, "event", n.EventType, "order", str(tx.OutTradeNo))
		return nil // nothing was paid; acknowledge it
	}
	return s.confirmWeChat(ctx, tenantID, pc.acct, tx)
}

// confirmWeChat confirms a successful WeChat Pay transaction (from a
// notification or a query, both verified).
func (s *Service) confirmWeChat(ctx context.Context, tenantID string, acct WeChatPaySettings, tx payments.Transaction) error {
	if str(tx.Mchid) != acct.MchID || str(tx.Appid) != acct.AppID {
		return fault.Forbidden("notification for another merchant")
	}
	if tx.Amount == nil || tx.Amount.Total == nil || str(tx.TransactionId) == "" || str(tx.OutTradeNo) == "" {
		return fault.Invalid("", "notification lacks amount, transaction_id or out_trade_no")
	}
	if c := str(tx.Amount.Currency); c != "" && c != "CNY" {
		s.log.Error("wechat pay in another currency", "tenant", tenantID, "order", str(tx.OutTradeNo), "currency", c)
		return fault.Conflict("WeChat Pay paid the order in %s, not in CNY", c)
	}
	return s.ConfirmPayment(ctx, tenantID, Notification{Provider: ProviderWeChat, TenantID: tenantID,
		OrderID: str(tx.OutTradeNo), TransactionID: str(tx.TransactionId), Amount: *tx.Amount.Total})
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// WeChatPayReply is the answer to a notification: 204 (no body) stops
// WeChat Pay's retries; a failure is {"code":"FAIL","message":…} with the
// error's status (a 500 for one not of ours), and WeChat Pay tries again
// later.
func WeChatPayReply(err error) (int, any) {
	if err == nil {
		return http.StatusNoContent, nil
	}
	status := http.StatusInternalServerError
	msg := "internal error"
	var fe *fault.Error
	if errors.As(err, &fe) {
		status, msg = fe.Status, fe.Message
	}
	return status, map[string]string{"code": "FAIL", "message": msg}
}
