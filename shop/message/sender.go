package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	wxmsg "github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// Sender sends WeChat messages for a shop. WeChatSender is the real one
// (against api.weixin.qq.com, or the sandbox simulator through the SDK's
// URI modifier); errors carry WeChat's errcode (wechat.ErrCode reads it).
type Sender interface {
	// Ready reports whether the shop has a WeChat official account.
	Ready(ctx context.Context, tenantID string) (bool, error)
	// SendText sends a customer-service text message.
	SendText(ctx context.Context, tenantID, openID, text string) error
	// SendTemplate sends a template message.
	SendTemplate(ctx context.Context, tenantID, openID, templateID, link string, data map[string]string) error
	// SendMass broadcasts text to an openid list (2 to 10,000); WeChat
	// de-duplicates requests by clientMsgID, so a retry with the same id
	// reaches no fan twice.
	SendMass(ctx context.Context, tenantID string, openIDs []string, text, clientMsgID string) error
}

// WeChatSender sends through each shop's official account
// (tenants/wechat).
type WeChatSender struct {
	Accounts *wechat.Accounts
	// Timeout bounds a broadcast request (default wechat.HTTPTimeout).
	Timeout time.Duration
}

var _ Sender = WeChatSender{}

func (w WeChatSender) account(ctx context.Context, tenantID string) (*wechat.Account, error) {
	acct, err := w.Accounts.Account(ctx, tenantID)
	return acct, wrapf(err, "WeChat account of shop %s", tenantID)
}

// Ready reports whether the shop has an official account.
func (w WeChatSender) Ready(ctx context.Context, tenantID string) (bool, error) {
	_, err := w.account(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SendText sends a customer-service text message.
func (w WeChatSender) SendText(ctx context.Context, tenantID, openID, text string) error {
	acct, err := w.account(ctx, tenantID)
	if err != nil {
		return err
	}
	return wrapf(acct.SendText(ctx, openID, text), "WeChat: send text to %s", openID)
}

// SendTemplate sends a template message.
func (w WeChatSender) SendTemplate(ctx context.Context, tenantID, openID, templateID, link string, data map[string]string) error {
	acct, err := w.account(ctx, tenantID)
	if err != nil {
		return err
	}
	msg := &wxmsg.TemplateMessage{ToUser: openID, TemplateID: templateID, URL: link, Data: map[string]*wxmsg.TemplateDataItem{}}
	for k, v := range data {
		msg.Data[k] = &wxmsg.TemplateDataItem{Value: v}
	}
	_, err = acct.SendTemplate(ctx, msg)
	return wrapf(err, "WeChat: send template %s to %s", templateID, openID)
}

// massURL is WeChat's broadcast-to-openids endpoint.
const massURL = "https://api.weixin.qq.com/cgi-bin/message/mass/send?access_token="

// MassError is a broadcast WeChat refused.
type MassError struct {
	Code int64
	Msg  string
}

func (e *MassError) Error() string {
	return fmt.Sprintf("broadcast refused: errcode %d %s", e.Code, e.Msg)
}

// SendMass broadcasts text to openIDs with clientMsgID. tenants/wechat has
// no broadcast call yet, so this posts WeChat's request itself with the
// shop's access token (through the SDK's HTTP helper, so the sandbox's URI
// modifier applies). errcode 45065 (the clientmsgid was sent before) is
// success: the earlier request reached the fans.
func (w WeChatSender) SendMass(ctx context.Context, tenantID string, openIDs []string, text, clientMsgID string) error {
	acct, err := w.account(ctx, tenantID)
	if err != nil {
		return err
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = wechat.HTTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tok, err := acct.AccessToken(ctx)
	if err != nil {
		return fmt.Errorf("WeChat access token of shop %s: %w", tenantID, err)
	}
	body := map[string]any{"touser": openIDs, "msgtype": "text", "text": map[string]string{"content": text},
		"send_ignore_reprint": 0, "clientmsgid": clientMsgID}
	raw, err := util.PostJSONContext(ctx, massURL+url.QueryEscape(tok), body)
	if err != nil {
		return &wechat.APIError{Err: &fault.Error{Status: http.StatusBadGateway, Code: "wechat_unreachable",
			Message: "could not reach WeChat to broadcast; try again"}}
	}
	var res struct {
		ErrCode int64  `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("broadcast: WeChat answered %.100q: %w", raw, err)
	}
	switch res.ErrCode {
	case 0, wechat.CodeDuplicateClientMsg:
		return nil
	}
	return &MassError{Code: res.ErrCode, Msg: res.ErrMsg}
}

// errCode is the WeChat errcode of err (0 when it has none).
func errCode(err error) int64 {
	var me *MassError
	if errors.As(err, &me) {
		return me.Code
	}
	return wechat.ErrCode(err)
}

// transient reports whether a failed send is worth retrying later: WeChat
// unreachable or busy, a stale token, a rate limit.
func transient(err error) bool {
	if errors.Is(err, errStopped) {
		return true
	}
	switch errCode(err) {
	case 0, -1, wechat.CodeQuota, wechat.CodeInvalidCredential, wechat.CodeTokenExpired, 45011:
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status < 500 && errCode(err) == 0 {
			return false // a client error of ours, not WeChat's
		}
		return true
	}
	return false
}

// windowClosed reports whether WeChat refused a customer-service message
// because the fan's window is closed or used up (our record of it was
// behind), or the fan does not follow.
func windowClosed(err error) bool {
	switch errCode(err) {
	case wechat.CodeOutOfWindow, wechat.CodeReplyLimit, wechat.CodeRequireSubscribe:
		return true
	}
	return false
}
