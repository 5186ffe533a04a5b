package wechat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
)

// WeChat error codes this package acts on.
const (
	CodeInvalidCredential  = 40001 // access token invalid or not the latest
	CodeInvalidToken       = 40014 // access token malformed
	CodeTokenExpired       = 42001 // access token expired
	CodeInvalidCode        = 40029 // OAuth code invalid
	CodeCodeUsed           = 40163 // OAuth code already used
	CodeQuota              = 45009 // daily quota reached
	CodeOutOfWindow        = 45015 // customer-service reply outside the 48-hour window
	CodeNoMassQuota        = 45028 // no broadcast quota left
	CodeReplyLimit         = 45047 // customer-service reply count limit reached
	CodeRequireSubscribe   = 43004 // the user does not follow the account
	CodeInvalidAppSecret   = 40125
	CodeInvalidAppID       = 40013
	CodeIPNotInWhitelist   = 40164
	CodeInvalidTemplateID  = 40037
	CodeArgumentInvalid    = 47003
	CodeDuplicateClientMsg = 45065
)

// staleToken lists the codes after which a fresh token and one retry help.
func staleToken(code int64) bool {
	return code == CodeInvalidCredential || code == CodeTokenExpired || code == CodeInvalidToken
}

var errcodePattern = regexp.MustCompile(`errcode\s*[=:]?\s*(-?\d+)`)

// ErrCode returns the WeChat errcode an SDK call failed with, or 0. The SDK
// reports it either as a *util.CommonError or inside a formatted message.
func ErrCode(err error) int64 {
	if err == nil {
		return 0
	}
	var api *APIError
	if errors.As(err, &api) {
		return api.Code
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode
	}
	if m := errcodePattern.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n
	}
	return 0
}

// APIError is a WeChat call that failed, as the merchant is told about it;
// it unwraps to the *fault.Error the error handler renders.
type APIError struct {
	Code int64
	Err  *fault.Error
	// Cause is what the SDK or the network reported, for the logs; the
	// merchant is shown Err.
	Cause error
}

func (e *APIError) Error() string {
	if e.Cause == nil {
		return e.Err.Message
	}
	return e.Err.Message + ": " + e.Cause.Error()
}

// Unwrap returns the client-facing error.
func (e *APIError) Unwrap() error { return e.Err }

// apiError is the error of a WeChat call that failed with code: its
// status, machine code and message (a format, as fault.New's).
func apiError(code int64, cause error, status int, c, format string, args ...any) error {
	return &APIError{Code: code, Err: fault.New(status, c, format, args...), Cause: cause}
}

// wechatError turns a failed WeChat call into an error a merchant can act
// on; what says what was being done ("send the message").
func wechatError(what fault.Word, err error) error {
	code := ErrCode(err)
	switch code {
	case 0:
		var nerr net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()) {
			return apiError(code, err, http.StatusGatewayTimeout, "wechat_timeout", "WeChat did not answer in time while trying to %s; try again", what)
		}
		return apiError(code, err, http.StatusBadGateway, "wechat_unreachable", "could not reach WeChat to %s; try again", what)
	case CodeOutOfWindow:
		return apiError(code, err, http.StatusConflict, "wechat_window_closed",
			"WeChat refused to %s: the fan has not written to the account in the last 48 hours (errcode 45015)", what)
	case CodeReplyLimit:
		return apiError(code, err, http.StatusConflict, "wechat_reply_limit",
			"WeChat refused to %s: the replies allowed since the fan's last message are used up (errcode 45047)", what)
	case CodeRequireSubscribe:
		return apiError(code, err, http.StatusConflict, "wechat_not_following", "WeChat refused to %s: the fan does not follow the account (errcode 43004)", what)
	case CodeQuota:
		return apiError(code, err, http.StatusTooManyRequests, "wechat_quota", "WeChat refused to %s: the account's quota for this call is used up (errcode 45009)", what)
	case CodeNoMassQuota:
		return apiError(code, err, http.StatusConflict, "wechat_broadcast_quota", "WeChat refused to %s: no broadcast quota left (errcode 45028)", what)
	case CodeInvalidAppID, CodeInvalidAppSecret, CodeIPNotInWhitelist:
		return apiError(code, err, http.StatusBadGateway, "wechat_credentials",
			"WeChat rejected the account's credentials while trying to %s (errcode %d): check the AppID, the AppSecret and the IP whitelist", what, code)
	case CodeInvalidCode, CodeCodeUsed:
		return apiError(code, err, http.StatusBadRequest, "wechat_code", "WeChat did not accept the sign-in code (it is used or expired, errcode %d); open the shop again", code)
	}
	return apiError(code, err, http.StatusBadGateway, "wechat_error", "WeChat refused to %s (errcode %d)", what, code)
}
