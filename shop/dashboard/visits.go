package dashboard

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
)

// flushEvery is how long page views wait in memory before they are added
// to their days' rows: a storefront page costs no database write.
const flushEvery = 5 * time.Second

// visits counts storefront page views in memory, per shop and day, and
// adds them to the rows now and then (a replica's unflushed views are
// lost if it crashes: seconds of them).
type visits struct {
	s        *Service
	mu       sync.Mutex
	n        map[[2]string]int64 // (tenant, day) → views
	last     time.Time
	flushing atomic.Bool
	// flush is held by a flush from taking the counts to writing them, so
	// a dashboard read's flush waits for one running in the background
	// instead of finding nothing left to take and counting without it.
	flush sync.Mutex
}

func newVisits(s *Service) *visits { return &visits{s: s, n: map[[2]string]int64{}} }

// Visit counts one storefront page view of shop t now.
func (s *Service) Visit(t tenants.Tenant) {
	v := s.visits
	now := s.now()
	day := DayOf(now, t.Location())
	v.mu.Lock()
	v.n[[2]string{t.ID, day}]++
	due := now.Sub(v.last) >= flushEvery
	if due {
		v.last = now
	}
	v.mu.Unlock()
	s.cache.bump(t.ID) // the next read flushes and counts it
	if due && v.flushing.CompareAndSwap(false, true) {
		go func() {
			defer v.flushing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.FlushVisits(ctx, ""); err != nil {
				s.Log.Warn("flush page views", "err", err)
			}
		}()
	}
}

// FlushVisits adds the page views counted in memory to their rows: the
// shop's (tenantID), or every shop's (""). Views it could not write are
// counted again for the next flush.
func (s *Service) FlushVisits(ctx context.Context, tenantID string) error {
	v := s.visits
	v.flush.Lock()
	defer v.flush.Unlock()
	v.mu.Lock()
	taken := map[[2]string]int64{}
	for k, n := range v.n {
		if tenantID == "" || k[0] == tenantID {
			taken[k] = n
			delete(v.n, k)
		}
	}
	v.mu.Unlock()
	var first error
	for k, n := range taken {
		err := s.apply(ctx, k[0], "", []Inc{{Day: k[1], Dim: DimShop, Counts: Counts{Visits: n}}})
		if err != nil {
			v.mu.Lock()
			v.n[k] += n
			v.mu.Unlock()
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// VisitsConfig configures the page-view counter middleware.
type VisitsConfig struct {
	// Skipper leaves a request uncounted.
	Skipper func(c echo.Context) bool
}

// Visits counts storefront page views: GET requests to a shop's storefront
// (route /s/:slug/…, the shop resolved) answered 200 with an HTML page.
// It is mounted on the router as a whole (e.Use), so it sees every route.
func (s *Service) Visits() echo.MiddlewareFunc { return s.VisitsWithConfig(VisitsConfig{}) }

// VisitsWithConfig is Visits with a configuration.
func (s *Service) VisitsWithConfig(cfg VisitsConfig) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err != nil || c.Request().Method != http.MethodGet || (cfg.Skipper != nil && cfg.Skipper(c)) {
				return err
			}
			p := c.Path()
			if !strings.HasPrefix(p, "/s/:slug/") || strings.HasPrefix(p, "/s/:slug/api/") {
				return nil
			}
			r := c.Response()
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header().Get(echo.HeaderContentType), echo.MIMETextHTML) {
				return nil
			}
			if t := tenants.FromContext(c); t.ID != "" {
				s.Visit(t)
			}
			return nil
		}
	}
}
