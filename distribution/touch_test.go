package distribution_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution"
	"microshop/distribution/guide"
	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// storefront serves f's shop at /s/<slug>/ the way server mounts it (the
// fan identity, then the touches); a page answers with its fan id.
func storefront(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	e := echo.New()
	shop := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenants.WithTenant(c, f.shop)
			return next(c)
		}
	}
	g := e.Group("/s/:slug", shop, fan.NewIdentity([]byte("test key"), false).Middleware())
	g.Use(distribution.NewHandlers(f.svc).Touches())
	g.GET("/*", func(c echo.Context) error { return c.String(http.StatusOK, fan.FromContext(c)) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// TestTouchNeedsFanCookie: a guide's or distributor's link opened without
// the fan cookie binds and counts nobody, however often; a browser that
// keeps its cookies is bound on its next request and counted once per
// visit.
func TestTouchNeedsFanCookie(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(nil)
		loc, _ := f.svc.Guides().CreateLocation(f.ctx, f.shop.ID, guide.LocationInput{Name: ptr("West Lake")})
		li, err := f.svc.Guides().CreateGuide(f.ctx, f.shop.ID, guide.GuideInput{Name: ptr("Li"), StoreID: &loc.ID})
		if err != nil {
			t.Fatal(err)
		}
		d := f.distributor(nil)
		srv := storefront(t, f)
		base := srv.URL + "/s/" + f.shop.Slug
		get := func(c *http.Client, path string) string {
			t.Helper()
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			return string(body)
		}
		visits := func() int64 {
			t.Helper()
			day := guide.DayOf(f.clock.now(), time.FixedZone("CST", 8*3600))
			days, err := f.svc.Guides().Store().Days(f.ctx, f.shop.ID, guide.DayFilter{GuideID: li.ID, From: day, To: day})
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, row := range days {
				n += row.Visits
			}
			return n
		}
		bound := func(fanID string) bool {
			t.Helper()
			_, err := f.svc.Store().Binding(f.ctx, f.shop.ID, fanID)
			if err != nil && !errors.Is(err, fault.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}

		for i := range 100 {
			if fanID := get(http.DefaultClient, "/?g="+li.Code+"&d="+d.Code+"&ch=poster"); bound(fanID) {
				t.Fatalf("cookieless visit %d bound fan %s", i, fanID)
			}
		}
		if n := visits(); n != 0 {
			t.Errorf("%d visits counted for 100 cookieless requests", n)
		}

		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		for _, tc := range []struct {
			path   string
			bound  bool
			visits int64
		}{
			{"/?g=" + li.Code + "&d=" + d.Code, false, 0}, // the first visit: the fan cookie is set now
			{"/p/tea", true, 1},                           // the next request records the first visit's touch
			{"/?g=" + li.Code, true, 2},                   // a visit with the cookie counts at once
			{"/cart", true, 2},                            // and the first visit's touch only once
		} {
			fanID := get(browser, tc.path)
			if got := bound(fanID); got != tc.bound {
				t.Errorf("after %s: bound %v, want %v", tc.path, got, tc.bound)
			}
			if n := visits(); n != tc.visits {
				t.Errorf("after %s: %d visits, want %d", tc.path, n, tc.visits)
			}
		}
		if a := f.attribute(get(browser, "/")); a.GuideID != li.ID || a.DistributorID != d.ID || a.Channel != distribution.ChannelGuideQR {
			t.Errorf("the browser's attribution %+v", a)
		}
	})
}
