package fan

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// MaxPushBody bounds a push's body: WeChat's are a few hundred bytes, the
// SDK would read any size.
const MaxPushBody = 64 << 10

// PushRoutes mounts the shop's WeChat push endpoint on g (/wx/:slug, shop
// resolved): GET is WeChat's server verification, POST a push.
func (h *Handlers) PushRoutes(g *echo.Group) {
	g.GET("", h.pushVerify)
	g.POST("", h.push)
}

func (h *Handlers) account(c echo.Context) (*wechat.Account, error) {
	acct, err := h.accounts.Account(c.Request().Context(), tenants.FromContext(c).ID)
	if errors.Is(err, fault.ErrNotFound) {
		return nil, fault.NotFound("WeChat official account")
	}
	return acct, err
}

func (h *Handlers) pushVerify(c echo.Context) error {
	acct, err := h.account(c)
	if err != nil {
		return err
	}
	echo, err := acct.VerifyEcho(c.QueryParams())
	if err != nil {
		return fmt.Errorf("verify WeChat's server check: %w", err)
	}
	return c.String(http.StatusOK, echo)
}

// push verifies the signature before reading anything into the shop's
// database (a forged push is a 403 with nothing recorded), records the push
// (de-duplicated) and answers; the answer's slow consequences run after it.
func (h *Handlers) push(c echo.Context) error {
	acct, err := h.account(c)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxPushBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err // 413
		}
		return fault.Invalid("", "the push body could not be read")
	}
	ctx := c.Request().Context()
	reply, err := acct.ServePush(c.Request(), body, func(m *message.MixMessage) (*message.Reply, error) {
		return h.svc.HandlePush(ctx, acct, m)
	})
	if err != nil {
		return fmt.Errorf("WeChat push: %w", err)
	}
	return c.Blob(http.StatusOK, reply.ContentType, reply.Body)
}
