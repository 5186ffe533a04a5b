package tenants

import (
	"testing"
	"time"
)

// SetWindowTimeout bounds a shared counter's read on the request path by d
// until t ends: FerretDB on a loaded machine can take longer than the
// 200 ms a replica waits before it counts from memory.
func SetWindowTimeout(t testing.TB, d time.Duration) {
	old := windowTimeout
	windowTimeout = d
	t.Cleanup(func() { windowTimeout = old })
}
