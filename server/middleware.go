package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
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
