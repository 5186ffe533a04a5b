package secret

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustBox(t *testing.T, seed byte) *Box {
	t.Helper()
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = seed + byte(i)
	}
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := mustBox(t, 1)
	for _, plain := range []string{"refresh@@@token", "中文密钥", strings.Repeat("k", 43)} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !Sealed(sealed) || strings.Contains(sealed, plain) {
			t.Errorf("sealed %q: %q", plain, sealed)
		}
		again, _ := b.Seal(plain)
		if again == sealed {
			t.Error("two seals of one value are equal (the nonce must be random)")
		}
		if got, err := b.Open(sealed); err != nil || got != plain {
			t.Errorf("open: %q %v, want %q", got, err, plain)
		}
		if twice, _ := b.Seal(sealed); twice != sealed {
			t.Error("a sealed value was sealed again")
		}
	}
	if s, err := b.Seal(""); s != "" || err != nil {
		t.Errorf("empty: %q %v", s, err)
	}
}

func TestOpenPlainAndWrongKey(t *testing.T) {
	b := mustBox(t, 1)
	// A value stored before sealing began reads as it is.
	if got, err := b.Open("plain-old-token"); err != nil || got != "plain-old-token" {
		t.Errorf("plain row: %q %v", got, err)
	}
	sealed, _ := b.Seal("secret")
	for name, v := range map[string]string{
		"another key": func() string { s, _ := mustBox(t, 9).Seal("secret"); return s }(),
		"altered":     sealed[:len(sealed)-2] + "AA",
		"truncated":   Prefix + "AAAA",
		"not base64":  Prefix + "!!!",
	} {
		if got, err := b.Open(v); !errors.Is(err, ErrWrongKey) || got != "" {
			t.Errorf("%s: %q %v, want ErrWrongKey", name, got, err)
		}
	}
}

func TestLoad(t *testing.T) {
	key := make([]byte, KeySize)
	key[0] = 7
	env := base64.StdEncoding.EncodeToString(key)
	b, src, _, err := Load(env, t.TempDir())
	if err != nil || src != FromEnv {
		t.Fatalf("from env: %v %v", src, err)
	}
	want, _ := New(key)
	if b.ID() != want.ID() {
		t.Error("the env key is not the key used")
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString(key[:16])} {
		if _, _, _, err := Load(bad, ""); err == nil {
			t.Errorf("env %q: no error", bad)
		}
	}

	// The key file: created once, 0600, the same key on every load, and
	// several processes starting at once agree on one.
	dir := filepath.Join(t.TempDir(), "data")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _, _, err := Load("", dir)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = b.ID()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent loads disagree: %v", ids)
		}
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	b2, src, path, err := Load("", dir)
	if err != nil || src != FromFile || b2.ID() != ids[0] || path != filepath.Join(dir, KeyFile) {
		t.Errorf("second load: %v %s %s %v", src, b2.ID(), path, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	b3, src, _, err := Load("", "")
	if err != nil || src != FromEphemeral || b3 == nil {
		t.Fatalf("no env, no dir: %v %v", src, err)
	}
	if b4, _, _, _ := Load("", ""); b4.ID() != b3.ID() {
		t.Error("two loads without a key in one process disagree")
	}
}
