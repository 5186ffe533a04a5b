package engine_test

import (
	"slices"
	"testing"
	"time"

	"microshop/tenants/engine"
)

func TestNewIDSortsByTime(t *testing.T) {
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		id := engine.NewID()
		if !engine.ValidID(id) || seen[id] {
			t.Fatalf("id %q: valid %v, seen before %v", id, engine.ValidID(id), seen[id])
		}
		seen[id] = true
		ids = append(ids, id)
	}
	// Within a millisecond the random half decides; across milliseconds the
	// clock does: every id sorts after every id of an earlier millisecond.
	for _, at := range []int{500, 1000, 1500} {
		if slices.Max(ids[:at]) >= slices.Min(ids[at:]) {
			t.Fatalf("ids made after a pause sort before earlier ones (at %d)", at)
		}
	}
	// Ids of the earlier alphabet stay valid.
	if !engine.ValidID("abcdefgh234567zz") {
		t.Fatal("an id of the earlier alphabet is refused")
	}
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := engine.NewSecret(8)
		if len(s) != 8 || seen[s] {
			t.Fatalf("secret %q (len %d, seen %v)", s, len(s), seen[s])
		}
		seen[s] = true
	}
	// No common prefix: secrets carry no clock.
	prefixes := map[string]bool{}
	for s := range seen {
		prefixes[s[:2]] = true
	}
	if len(prefixes) < 300 {
		t.Fatalf("only %d distinct 2-character prefixes in 1000 secrets", len(prefixes))
	}
}
