package paysim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRemote: the control calls of a simulator served over HTTP do what
// the in-process methods do: its public key, a generated merchant (then
// enrolled), a merchant enrolled again with a new key, and the buyer
// paying (an order it does not have is refused).
func TestRemote(t *testing.T) {
	ctx := context.Background()
	sim, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	r, err := Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if r.PublicKeyID() != sim.PublicKeyID() || r.PublicKeyPEM() != sim.PublicKeyPEM() {
		t.Errorf("public key %s, want %s", r.PublicKeyID(), sim.PublicKeyID())
	}
	c, err := r.NewMerchant()
	if err != nil || !sim.Enrolled(c.MchID) || !strings.Contains(c.PrivateKeyPEM, "PRIVATE KEY") || c.PublicKeyID != sim.PublicKeyID() {
		t.Fatalf("new merchant %+v %v", c.MchID, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enroll(Merchant{MchID: "1900000001", APIv3Key: strings.Repeat("k", 32), CertSerial: "ABC123", PublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	if !sim.Enrolled("1900000001") {
		t.Error("enrolled merchant unknown")
	}
	if err := r.Enroll(Merchant{MchID: "1900000002", APIv3Key: "short", CertSerial: "ABC123", PublicKey: &key.PublicKey}); err == nil {
		t.Error("a merchant with a short API v3 key was enrolled")
	}
	if _, err := r.Pay(ctx, c.MchID, "no-such-order"); err == nil || !strings.Contains(err.Error(), "no-such-order") {
		t.Errorf("paying an unknown order: %v", err)
	}
	if _, err := Dial(ctx, srv.URL+"/nowhere"); err == nil {
		t.Error("dialled a simulator that is not there")
	}
}
