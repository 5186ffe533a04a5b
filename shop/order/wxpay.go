package order

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"

	"github.com/silenceper/wechat/v2/pay"
	payconfig "github.com/silenceper/wechat/v2/pay/config"
	"github.com/silenceper/wechat/v2/pay/notify"
	payorder "github.com/silenceper/wechat/v2/pay/order"

	"microshop/tenants/fault"
)

// WeChat Pay (JSAPI, API v2) through github.com/silenceper/wechat/v2's pay
// module. It cannot be reached from a test machine: its notify handler is
// tested with notifications signed locally in WeChat Pay's XML format.

// WeChatPayStart is what the storefront hands to WeixinJSBridge.
type WeChatPayStart struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

func wechatPay(st WeChatPaySettings, notifyURL string) *pay.Pay {
	return pay.NewPay(&payconfig.Config{AppID: st.AppID, MchID: st.MchID, Key: st.Key, NotifyURL: notifyURL})
}

// errPayUnavailable is what the buyer is told when WeChat Pay did not
// answer; the cause is wrapped beside it for the log.
var errPayUnavailable = &fault.Error{Status: http.StatusBadGateway, Code: "payment_unavailable",
	Message: "WeChat Pay did not answer; try again in a moment"}

// startWeChatPay creates the prepay order for the buyer's openid with the
// shop's WeChat Pay account w and returns the JSAPI parameters.
func startWeChatPay(w WeChatPaySettings, o Order, openID, clientIP, notifyURL string) (WeChatPayStart, error) {
	if openID == "" {
		return WeChatPayStart{}, fault.Conflict("open the shop inside WeChat to pay with WeChat Pay")
	}
	cfg, err := wechatPay(w, notifyURL).GetOrder().BridgeConfig(&payorder.Params{
		TotalFee: fenString(o.Payable), CreateIP: clientIP, Body: "order " + o.ID, OutTradeNo: o.ID,
		TimeExpire: o.ExpiresAt.In(time.FixedZone("CST", 8*3600)).Format("20060102150405"),
		OpenID:     openID, TradeType: "JSAPI", SignType: "MD5", NotifyURL: notifyURL,
	})
	if err != nil {
		return WeChatPayStart{}, fmt.Errorf("wechat pay prepay of order %s: %w: %w", o.ID, errPayUnavailable, err)
	}
	return WeChatPayStart{AppID: w.AppID, TimeStamp: cfg.Timestamp, NonceStr: cfg.NonceStr,
		Package: cfg.Package, SignType: cfg.SignType, PaySign: cfg.PaySign}, nil
}

// WeChatPayAnswer is the XML WeChat Pay expects back from the notify URL.
type WeChatPayAnswer struct {
	XMLName    xml.Name `xml:"xml"`
	ReturnCode string   `xml:"return_code"`
	ReturnMsg  string   `xml:"return_msg"`
}

// WeChatPayNotify verifies a WeChat Pay payment notification (XML, signed
// with the merchant's API key) and confirms the payment. WeChat Pay may
// send the same notification up to 15 times from several servers: it is
// processed once.
func (s *Service) WeChatPayNotify(ctx context.Context, tenantID string, body []byte) error {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	if !st.WeChatPay.Enabled() {
		return fault.Forbidden("this shop does not take WeChat Pay")
	}
	var res notify.PaidResult
	if err := xml.Unmarshal(body, &res); err != nil {
		return fault.Invalid("", "malformed WeChat Pay notification")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if str(res.Sign) == "" || !notify.NewNotify(&payconfig.Config{Key: st.WeChatPay.Key}).PaidVerifySign(res) {
		return fault.Forbidden("bad signature")
	}
	if str(res.ReturnCode) != "SUCCESS" || str(res.ResultCode) != "SUCCESS" {
		s.log.Warn("wechat pay failure notice", "tenant", tenantID, "order", str(res.OutTradeNo), "code", str(res.ErrCode))
		return nil // a failed payment changes nothing; acknowledge it
	}
	if str(res.MchID) != st.WeChatPay.MchID || str(res.AppID) != st.WeChatPay.AppID {
		return fault.Forbidden("notification for another merchant")
	}
	if res.TotalFee == nil || str(res.TransactionID) == "" || str(res.OutTradeNo) == "" {
		return fault.Invalid("", "notification lacks total_fee, transaction_id or out_trade_no")
	}
	return s.ConfirmPayment(ctx, tenantID, Notification{Provider: ProviderWeChat, TenantID: tenantID,
		OrderID: str(res.OutTradeNo), TransactionID: str(res.TransactionID), Amount: int64(*res.TotalFee)})
}

// WeChatPayReply is the answer to a notification: SUCCESS stops retries.
func WeChatPayReply(err error) WeChatPayAnswer {
	if err != nil {
		return WeChatPayAnswer{ReturnCode: "FAIL", ReturnMsg: fmt.Sprint(err)}
	}
	return WeChatPayAnswer{ReturnCode: "SUCCESS", ReturnMsg: "OK"}
}
