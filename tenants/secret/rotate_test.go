package secret

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestKeyring: a Box with previous keys seals with the current one only,
// opens what any of them sealed, and a value none of them sealed is still
// ErrWrongKey.
func TestKeyring(t *testing.T) {
	a, b, c, d := mustBox(t, 1), mustBox(t, 40), mustBox(t, 80), mustBox(t, 120)
	sealedA, _ := a.Seal("sealed with A")
	sealedB, _ := b.Seal("sealed with B")
	sealedD, _ := d.Seal("sealed with D")

	ring := c.WithPrevious(a, b)
	if ring.ID() != c.ID() || !slices.Equal(ring.PreviousIDs(), []string{a.ID(), b.ID()}) {
		t.Fatalf("ring: %s %v", ring.ID(), ring.PreviousIDs())
	}
	if len(c.PreviousIDs()) != 0 {
		t.Error("WithPrevious changed the box it was called on")
	}
	for v, want := range map[string]string{sealedA: "sealed with A", sealedB: "sealed with B", "plain": "plain", "": ""} {
		if got, err := ring.Open(v); err != nil || got != want {
			t.Errorf("open %.20q: %q %v, want %q", v, got, err, want)
		}
	}
	if got, err := ring.Open(sealedD); !errors.Is(err, ErrWrongKey) || got != "" {
		t.Errorf("a key outside the ring: %q %v, want ErrWrongKey", got, err)
	}
	for name, v := range map[string]string{"altered": sealedA[:len(sealedA)-2] + "AA", "truncated": Prefix + "AAAA", "not base64": Prefix + "!!!"} {
		if _, err := ring.Open(v); !errors.Is(err, ErrWrongKey) {
			t.Errorf("%s: %v, want ErrWrongKey", name, err)
		}
	}

	// The ring seals with the current key: the current key alone opens it,
	// a previous one does not.
	sealed, err := ring.Seal("new value")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Open(sealed); err != nil || got != "new value" {
		t.Errorf("the current key alone: %q %v", got, err)
	}
	if _, err := a.Open(sealed); !errors.Is(err, ErrWrongKey) {
		t.Errorf("a previous key opens what the ring sealed: %v", err)
	}

	// Which key sealed what, and what a reseal pass rewrites.
	for _, tc := range []struct {
		name  string
		v     string
		id    string
		stale bool
		err   error
	}{
		{"current", sealed, c.ID(), false, nil},
		{"first previous", sealedA, a.ID(), true, nil},
		{"second previous", sealedB, b.ID(), true, nil},
		{"not sealed yet", "plain", "", true, nil},
		{"empty", "", "", false, nil},
		{"another key", sealedD, "", false, ErrWrongKey},
	} {
		id, err := ring.SealedWith(tc.v)
		if id != tc.id || !errors.Is(err, tc.err) {
			t.Errorf("%s: sealed with %q %v, want %q %v", tc.name, id, err, tc.id, tc.err)
		}
		stale, err := ring.Stale(tc.v)
		if stale != tc.stale || !errors.Is(err, tc.err) {
			t.Errorf("%s: stale %t %v, want %t %v", tc.name, stale, err, tc.stale, tc.err)
		}
	}

	// Opens: the replicas' check.
	for id, want := range map[string]bool{c.ID(): true, a.ID(): true, b.ID(): true, d.ID(): false, "": false} {
		if ring.Opens(id) != want {
			t.Errorf("opens %q: %t", id, !want)
		}
	}

	// The current key or a repeated one among the previous is dropped;
	// a previous box's own previous keys join.
	again := c.WithPrevious(c, a, a, b.WithPrevious(d))
	if !slices.Equal(again.PreviousIDs(), []string{a.ID(), b.ID(), d.ID()}) {
		t.Errorf("previous of a repeated list: %v", again.PreviousIDs())
	}
	if got, err := again.Open(sealedD); err != nil || got != "sealed with D" {
		t.Errorf("a previous key's previous key: %q %v", got, err)
	}
}

// TestReseal: the values a previous key sealed (or none) are sealed with
// the current key, the current ones are left as they are, a record with a
// value no key opens is left whole, and a second pass changes nothing.
func TestReseal(t *testing.T) {
	a, b, c := mustBox(t, 1), mustBox(t, 40), mustBox(t, 80)
	ring := b.WithPrevious(a)
	current, _ := b.Seal("current")
	old, _ := a.Seal("old")
	lost, _ := c.Seal("lost")

	vs := []string{current, old, "plain", ""}
	out, err := ring.Reseal(&vs[0], &vs[1], &vs[2], &vs[3])
	if out != Resealed || err != nil {
		t.Fatalf("reseal: %v %v", out, err)
	}
	if vs[0] != current || vs[3] != "" {
		t.Errorf("a current or empty value was rewritten: %q %q", vs[0], vs[3])
	}
	for i, want := range []string{"current", "old", "plain", ""} {
		if got, err := b.Open(vs[i]); err != nil || got != want || (want != "" && !Sealed(vs[i])) {
			t.Errorf("value %d after the reseal: %q (%q) %v, want %q sealed with the current key", i, got, vs[i], err, want)
		}
	}
	before := slices.Clone(vs)
	if out, err := ring.Reseal(&vs[0], &vs[1], &vs[2], &vs[3]); out != Current || err != nil || !slices.Equal(vs, before) {
		t.Errorf("second pass: %v %v, changed %t", out, err, !slices.Equal(vs, before))
	}

	empty := []string{"", ""}
	if out, err := ring.Reseal(&empty[0], &empty[1]); out != NoSecret || err != nil {
		t.Errorf("no secret: %v %v", out, err)
	}

	mixed := []string{old, lost}
	if out, err := ring.Reseal(&mixed[0], &mixed[1]); !errors.Is(err, ErrWrongKey) || out != NoSecret || mixed[0] != old || mixed[1] != lost {
		t.Errorf("a value no key opens: %v %v %v, want ErrWrongKey and nothing changed", out, err, mixed)
	}
}

func TestParseList(t *testing.T) {
	keys := make([]string, 3)
	var want []string
	for i := range keys {
		k := make([]byte, KeySize)
		k[0] = byte(i + 1)
		keys[i] = base64.StdEncoding.EncodeToString(k)
		b, _ := New(k)
		want = append(want, b.ID())
	}
	boxes, err := ParseList(" " + keys[0] + ", " + keys[1] + ",," + strings.TrimRight(keys[2], "=") + ",")
	if err != nil || len(boxes) != 3 {
		t.Fatalf("parse: %d %v", len(boxes), err)
	}
	for i, b := range boxes {
		if b.ID() != want[i] {
			t.Errorf("key %d: %s, want %s", i, b.ID(), want[i])
		}
	}
	if boxes, err := ParseList(""); err != nil || len(boxes) != 0 {
		t.Errorf("empty: %v %v", boxes, err)
	}
	if _, err := ParseList(keys[0] + ",not base64!"); err == nil || !strings.Contains(err.Error(), "key 2") {
		t.Errorf("a bad key: %v", err)
	}
}
