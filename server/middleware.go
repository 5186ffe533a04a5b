package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// accessLog logs one line per request: request id, tenant, status, latency.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the response now so its status is logged
			}
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.Int("status", c.Response().Status),
				slog.String("tenant", tenants.FromContext(c).ID),
				slog.Duration("latency", time.Since(start)),
				slog.String("ip", c.RealIP()))
			return nil
		}
	}
}

// requestMetrics counts every request by its route pattern, method and
// status, with its latency (metrics.request). Like accessLog it writes a
// handler's error at once, so the status counted is the one sent.
func requestMetrics(m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			m.request(c.Path(), c.Request().Method, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

// recoverer turns a panic into a logged 500 instead of a dropped connection.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					buf := make([]byte, 4<<10)
					buf = buf[:runtime.Stack(buf, false)]
					log.Error("panic", "value", fmt.Sprint(r), "stack", string(buf), "path", c.Request().URL.Path)
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

// bodyLimit refuses a request body over limit bytes with a 413, whether
// its length is announced (refused before reading) or not (a chunked body,
// refused when a reader reaches the limit). Echo's BodyLimit middleware
// answers the second case with an error a JSON decoder or a form parser
// reports as bad input; here, whatever a handler makes of the cut body, the
// answer is the 413.
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return fault.TooLarge(limit)
			}
			if r.Body == nil {
				return next(c)
			}
			body := &limitedBody{ReadCloser: http.MaxBytesReader(c.Response().Writer, r.Body, limit)}
			r.Body = body
			err := next(c)
			if body.over && !c.Response().Committed {
				return fault.TooLarge(limit)
			}
			return err
		}
	}
}

// limitedBody notes that its reader refused to read past the limit.
type limitedBody struct {
	io.ReadCloser
	over bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooBig *http.MaxBytesError
	if err != nil && errors.As(err, &tooBig) {
		b.over = true
	}
	return n, err
}
