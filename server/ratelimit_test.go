package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestRateLimitsAcrossReplicas: two apps on one database share the
// sign-up limit per address (5 an hour): 3 shops opened through A and 2
// through B use it up on both, where per-process counters would let each
// replica open 5.
func TestRateLimitsAcrossReplicas(t *testing.T) {
	es := mongoReplicas(t, 2, nil)
	cfg := testConfig()
	cfg.TrustProxy = true
	_, one := startAppWith(t, es[0], cfg)
	_, two := startAppWith(t, es[1], cfg)
	signUpFrom := func(base, slug string) int {
		c := newClient(t, base)
		return c.jsonWithHeader(http.MethodPost, "/api/v1/tenants", map[string]string{
			"name": "Shop", "slug": slug, "email": slug + "@example.com", "password": "long enough"}, nil,
			"X-Forwarded-For", "203.0.113.9")
	}
	for i := range 3 {
		if status := signUpFrom(one.URL, fmt.Sprintf("shared-a%d", i)); status != http.StatusCreated {
			t.Fatalf("sign-up %d on A: %d", i+1, status)
		}
	}
	time.Sleep(1500 * time.Millisecond) // A sends its counts within a second
	for i := range 2 {
		if status := signUpFrom(two.URL, fmt.Sprintf("shared-b%d", i)); status != http.StatusCreated {
			t.Fatalf("sign-up %d on B: %d", i+1, status)
		}
	}
	if status := signUpFrom(two.URL, "shared-b2"); status != http.StatusTooManyRequests {
		t.Errorf("sixth sign-up on B: %d, want 429", status)
	}
	time.Sleep(1500 * time.Millisecond)
	if status := signUpFrom(one.URL, "shared-a3"); status != http.StatusTooManyRequests {
		t.Errorf("sixth sign-up on A: %d, want 429 (B's two counted)", status)
	}
}
