package order

import (
	"context"
	"net/url"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
)

// H5 pay: WeChat Pay for a browser outside WeChat. The prepay
// (/v3/pay/transactions/h5) answers an h5_url the browser opens; WeChat's
// cashier page then opens WeChat to pay and comes back to redirect_url.
// The payment is the same as a JSAPI one from there on: the same
// notification, query and close (by out_trade_no).

// MethodWeChatH5 is the pay method of H5 pay (PayRequest.Method).
const MethodWeChatH5 = "wechat_h5"

// startH5Pay creates (or finds again: WeChat Pay answers the same h5_url
// for the same order) the H5 prepay of order o for a buyer at clientIP and
// returns the h5_url, redirect_url (the order page) appended as WeChat Pay
// documents.
func (s *Service) startH5Pay(ctx context.Context, tenantID string, acct WeChatPaySettings, o Order, clientIP, notifyURL string) (string, error) {
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	if err != nil {
		return "", err
	}
	expires := o.ExpiresAt
	resp, _, err := pc.h5.Prepay(ctx, h5.PrepayRequest{
		Appid: core.String(acct.AppID), Mchid: core.String(acct.MchID), Description: core.String(description(o)),
		OutTradeNo: core.String(o.ID), TimeExpire: &expires, NotifyUrl: core.String(notifyURL),
		Amount: &h5.Amount{Total: core.Int64(o.Payable), Currency: core.String("CNY")},
		SceneInfo: &h5.SceneInfo{PayerClientIp: core.String(clientIP),
			H5Info: &h5.H5Info{Type: core.String("Wap")}},
	})
	if err := prepayError(o, err); err != nil {
		return "", err
	}
	u := str(resp.H5Url)
	if back := orderPageURL(notifyURL, o.ID); back != "" {
		u += "&redirect_url=" + url.QueryEscape(back)
	}
	return u, nil
}

// orderPageURL is the storefront page of order id, next to the shop's
// notify URL (…/pay/notify/{slug}/wechat, set by the pay handler); "" when
// notifyURL is not one.
func orderPageURL(notifyURL, id string) string {
	base, rest, ok := strings.Cut(notifyURL, "/pay/notify/")
	slug, ok2 := strings.CutSuffix(rest, "/wechat")
	if !ok || !ok2 || slug == "" || strings.Contains(slug, "/") {
		return ""
	}
	return base + "/s/" + url.PathEscape(slug) + "/orders/" + url.PathEscape(id)
}
