package tenants_test

import (
	"testing"
	"time"

	"microshop/tenants"
)

// TestWindowCounter: a window ends its length after the key's first event,
// Take says how long until then, Give takes an event back, and the counter
// forgets idle keys rather than growing without bound.
func TestWindowCounter(t *testing.T) {
	l := tenants.NewWindowCounter(time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []struct {
		at   time.Duration
		want bool
		wait time.Duration
	}{{0, true, 0}, {time.Second, true, 0}, {30 * time.Second, false, 30 * time.Second}, {time.Minute, true, 0},
		{time.Minute + time.Second, true, 0}, {time.Minute + 2*time.Second, false, 58 * time.Second}} {
		if ok, wait := l.Take("a", 2, t0.Add(s.at)); ok != s.want || wait != s.wait {
			t.Errorf("at %v: %t %v, want %t %v", s.at, ok, wait, s.want, s.wait)
		}
	}
	l.Give("a")
	if ok, _ := l.Take("a", 2, t0.Add(time.Minute+3*time.Second)); !ok {
		t.Error("a given-back event still counts")
	}
	for i := range 100_010 {
		l.Take(string(rune(i)), 2, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := l.Keys(); n > 100_000 {
		t.Errorf("%d keys kept, want at most 100000", n)
	}
}
