package distribution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/distribution/tree"
	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Channels an order can come through.
const (
	ChannelGuideQR   = "guide_qr"
	ChannelShareLink = "share_link"
	ChannelWeChatQR  = "wechat_qr"
	ChannelDirect    = "direct"
)

// Touch is a fan arriving through a code: a guide's QR (?g=), a
// distributor's link (?d=), a tagged link (?ch=), or a WeChat scene.
type Touch struct {
	GuideCode       string
	DistributorCode string
	Channel         string
	Via             string // "link" or "wechat"
	Follow          bool   // a WeChat follow that carried the scene
}

// maxBindRetries bounds how often a touch re-reads a binding that another
// touch changed under it.
const maxBindRetries = 20

// Record records a touch for the fan of shop t: it binds the customer per
// the shop's policy, logs it, and counts the guide's visit (and follow).
// Unknown codes, a departed guide's, a distributor who is not active and
// another shop's codes are ignored, as is a distributor's own code (no
// self-binding). A fan who is a distributor is never bound to another
// distributor: their orders go up their own team line, so no A↔B loop
// can form through bindings.
func (s *Service) Record(ctx context.Context, t tenants.Tenant, fanID string, in Touch) error {
	if fanID == "" {
		return nil
	}
	now := s.clock()
	st, err := s.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	g, d, err := s.codes(ctx, t.ID, fanID, in, st.Enabled)
	if err != nil {
		return err
	}
	channel := in.Channel
	if channel == "" {
		switch {
		case in.Via == "wechat" && (g.ID != "" || d.ID != ""):
			channel = ChannelWeChatQR
		case g.ID != "":
			channel = ChannelGuideQR
		case d.ID != "":
			channel = ChannelShareLink
		}
	}
	if g.ID == "" && d.ID == "" && channel == "" {
		return nil // nothing this shop knows
	}
	created, gRes, dRes, err := s.bind(ctx, t.ID, fanID, st, g, d, channel, now)
	if err != nil {
		return err
	}

	// Audit trail: the touch and what it did to each slot.
	log := LogEntry{ID: engine.NewID(), FanID: fanID, Kind: "touch", Via: in.Via, Channel: channel, At: now}
	var codes, results []string
	if in.GuideCode != "" {
		codes = append(codes, "g:"+in.GuideCode)
		results = append(results, "guide "+orIgnored(gRes))
	}
	if in.DistributorCode != "" {
		codes = append(codes, "d:"+in.DistributorCode)
		results = append(results, "distributor "+orIgnored(dRes))
	}
	log.Code, log.Result = strings.Join(codes, " "), strings.Join(results, ", ")
	log.To = strings.TrimSpace(g.ID + " " + d.ID)
	if err := s.store.Log(ctx, t.ID, log); err != nil {
		return err
	}
	if g.ID != "" {
		c := guide.Counts{Visits: 1}
		if in.Follow {
			c.Follows = 1
		}
		if created {
			c.NewFans = 1 // the fan's first touch was this guide's code
		}
		if err := s.guides.Count(ctx, t.ID, g, now, zoneOf(t), c); err != nil {
			return err
		}
	}
	return nil
}

// codes resolves a touch's codes to the active guide and the distributor
// it binds the fan to (either zero when it binds nobody): see Record.
func (s *Service) codes(ctx context.Context, tenantID, fanID string, in Touch, enabled bool) (guide.Guide, tree.Distributor, error) {
	var g guide.Guide
	if in.GuideCode != "" {
		if got, err := s.guides.ByCode(ctx, tenantID, in.GuideCode); err == nil {
			g = got
		} else if !errors.Is(err, fault.ErrNotFound) {
			return g, tree.Distributor{}, err
		}
	}
	if in.DistributorCode == "" || !enabled || !tree.ValidCode(in.DistributorCode) {
		return g, tree.Distributor{}, nil
	}
	d, err := s.tree.Store().ByCode(ctx, tenantID, in.DistributorCode)
	switch {
	case err != nil && !errors.Is(err, fault.ErrNotFound):
		return g, tree.Distributor{}, err
	case err != nil || d.Status != tree.Active || d.FanID == fanID:
		return g, tree.Distributor{}, nil
	}
	// A distributor fan is never bound to another distributor.
	if _, err := s.tree.ByFan(ctx, tenantID, fanID); err == nil {
		return g, tree.Distributor{}, nil
	} else if !errors.Is(err, fault.ErrNotFound) {
		return g, tree.Distributor{}, err
	}
	return g, d, nil
}

// bind applies a touch by g and d through channel to the fan's binding
// under the shop's policy, re-reading it when another touch changed it
// meanwhile. It says whether the binding was created, and what the touch
// did to each slot.
func (s *Service) bind(ctx context.Context, tenantID, fanID string, st Settings, g guide.Guide, d tree.Distributor, channel string,
	now time.Time) (created bool, gRes, dRes string, err error) {
	for attempt := 0; ; attempt++ {
		b, exists, err := s.binding(ctx, tenantID, fanID, now)
		if err != nil {
			return false, "", "", err
		}
		next := b
		gRes, dRes = "", ""
		if g.ID != "" {
			next.Guide, gRes = st.claim(b.Guide, g.ID, g.StoreID, channel, now)
		}
		if d.ID != "" {
			next.Distributor, dRes = st.claim(b.Distributor, d.ID, "", channel, now)
			next.ReferrerID = d.ID
		}
		if channel != "" {
			next.Channel = channel
		}
		next.UpdatedAt = now
		ok, err := s.write(ctx, tenantID, next, exists)
		if err != nil {
			return false, "", "", err
		}
		if ok {
			return !exists, gRes, dRes, nil
		}
		if attempt >= maxBindRetries {
			return false, "", "", fmt.Errorf("bind fan %s: the binding kept changing", fanID)
		}
	}
}

// binding reads the fan's binding, or a new one (created now) when the
// fan has none yet; exists says which.
func (s *Service) binding(ctx context.Context, tenantID, fanID string, now time.Time) (b Binding, exists bool, err error) {
	b, err = s.store.Binding(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		return Binding{FanID: fanID, CreatedAt: now}, false, nil
	}
	return b, err == nil, err
}

// write stores b, read before as binding says (exists), if nobody changed
// it meanwhile: false when somebody did (the caller reads it again).
func (s *Service) write(ctx context.Context, tenantID string, b Binding, exists bool) (bool, error) {
	if exists {
		return s.store.UpdateBinding(ctx, tenantID, b)
	}
	err := s.store.InsertBinding(ctx, tenantID, b)
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, err
}

func orIgnored(r string) string {
	if r == "" {
		return "ignored"
	}
	return r
}

// Touch implements fan.Attributor: a WeChat scene a fan followed through
// (channel "subscribe") or scanned ("scan"), "g:<code>" for a guide or
// "d:<code>" for a distributor, is the same touch as the storefront link,
// with the follow counted in the guide's funnel. Other scenes are not
// distribution's and are ignored. The fan service may deliver one event
// twice; a marker per fan, scene, channel and minute makes the repeat a
// no-op (two real scans of one code within a minute count once).
func (s *Service) Touch(ctx context.Context, tenantID, fanID, scene, channel string) error {
	scene = strings.TrimPrefix(scene, "qrscene_")
	kind, code, ok := strings.Cut(scene, ":")
	if !ok || fanID == "" {
		return nil
	}
	in := Touch{Via: "wechat", Follow: channel == "subscribe"}
	switch kind {
	case "g":
		in.GuideCode = code
	case "d":
		in.DistributorCode = code
	default:
		return nil
	}
	minute := s.clock().Unix() / 60
	first, err := s.store.Mark(ctx, tenantID, fmt.Sprintf("wx:%s:%s:%s:%d", fanID, scene, channel, minute))
	if err != nil || !first {
		return err
	}
	return s.Record(ctx, s.shop(ctx, tenantID), fanID, in)
}

// Link touches: ?g=, ?d= and ?ch= on a storefront page.
//
// A touch is recorded only for a visitor who came back with the fan cookie:
// a request without it (a first visit, or a client that keeps no cookies,
// as a script hammering a guide's link does) got a fan minted for this one
// response, and binding or counting it would write a binding and a visit
// for every request. Its codes are kept in a short cookie instead, and the
// visitor's next request, which carries both cookies, records the touch:
// a shopper who scans a guide's QR and opens one more page is bound, a
// cookieless script writes nothing.
const (
	// touchCookie keeps a first visit's codes: "<g>.<d>.<ch>", each part
	// as it passed code and channel (public codes, nothing to sign).
	touchCookie = "ms_touch"
	touchLife   = 24 * time.Hour
)

// Touches is the storefront middleware that records a touch when a page is
// opened with ?g=<guide code>, ?d=<distributor code> or ?ch=<channel>
// (a guide's QR, a distributor's shared link, a tagged link), for a fan
// who carries the fan cookie (see touchCookie). It runs after the shop and
// the fan are resolved. A code it does not know is ignored and the page
// shows as usual; a failure to record is logged, never shown.
func (h *Handlers) Touches() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var in Touch
			if c.Request().Method == http.MethodGet {
				q := c.QueryParams()
				in = linkTouch(q.Get("g"), q.Get("d"), q.Get("ch"))
			}
			t := tenants.FromContext(c)
			if !returningFan(c) {
				if in.any() {
					c.SetCookie(&http.Cookie{Name: touchCookie, Value: in.GuideCode + "." + in.DistributorCode + "." + in.Channel,
						Path: "/s/" + t.Slug + "/", MaxAge: int(touchLife.Seconds()), HttpOnly: true,
						Secure: c.Scheme() == "https", SameSite: http.SameSiteLaxMode})
				}
				return next(c)
			}
			if ck, err := c.Cookie(touchCookie); err == nil {
				c.SetCookie(&http.Cookie{Name: touchCookie, Path: "/s/" + t.Slug + "/", MaxAge: -1, HttpOnly: true})
				if g, rest, ok := strings.Cut(ck.Value, "."); ok {
					d, ch, _ := strings.Cut(rest, ".")
					h.record(c, t, linkTouch(g, d, ch))
				}
			}
			h.record(c, t, in)
			return next(c)
		}
	}
}

// returningFan reports whether the request came with the fan cookie of
// its fan: fan.Identity sets the cookie's id as the request's fan only
// when its signature holds, and mints a fresh id for a request without
// one, so the two agree only for a fan the shop has seen before.
func returningFan(c echo.Context) bool {
	ck, err := c.Cookie(fan.Cookie)
	if err != nil {
		return false
	}
	id, _, _ := strings.Cut(ck.Value, ".")
	return id != "" && id == fan.FromContext(c)
}

// linkTouch is the touch of a link's g, d and ch, each kept only if it has
// the shape of one.
func linkTouch(g, d, ch string) Touch {
	return Touch{GuideCode: code(g), DistributorCode: code(d), Channel: channel(ch), Via: "link"}
}

func (in Touch) any() bool { return in.GuideCode != "" || in.DistributorCode != "" || in.Channel != "" }

// record records in, if it names anything, for the request's fan.
func (h *Handlers) record(c echo.Context, t tenants.Tenant, in Touch) {
	if !in.any() {
		return
	}
	if err := h.svc.Record(c.Request().Context(), t, fan.FromContext(c), in); err != nil {
		h.svc.log.Warn("record touch", "tenant", t.ID, "err", err)
	}
}

// code keeps a code only if it has the shape of one.
func code(s string) string {
	if tree.ValidCode(s) {
		return s
	}
	return ""
}

// channel keeps a ?ch= tag of 1-32 lower-case letters, digits and "_".
func channel(s string) string {
	if len(s) == 0 || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return ""
		}
	}
	return s
}
