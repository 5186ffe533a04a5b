package paysim

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// A simulator in another process (cmd/paysim): the sandbox's own calls —
// generate a merchant, enroll one, the buyer paying — over HTTP under
// ControlPrefix, beside the v3 API. A server pointed at it (Dial) pays
// through the same code path as with the simulator in process, and its CPU
// is then only its own: the simulator's signatures are made elsewhere
// (scripts/bench -scenario orders).

// ControlPrefix is where the sandbox's control calls are served. They are
// not WeChat Pay's API: no signature is asked (the simulator is a test
// double, reached on a loopback address).
const ControlPrefix = "/sim/"

// control serves the control calls: GET key, POST merchants, POST enroll,
// POST pay.
func (s *Simulator) control(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	var out any
	switch op := strings.TrimPrefix(r.URL.Path, ControlPrefix); {
	case r.Method == http.MethodGet && op == "key":
		out = remoteKey{ID: s.PublicKeyID(), PEM: s.PublicKeyPEM()}
	case r.Method == http.MethodPost && op == "merchants":
		out, err = s.NewMerchant()
	case r.Method == http.MethodPost && op == "enroll":
		var in remoteMerchant
		if err = json.Unmarshal(body, &in); err == nil {
			var m Merchant
			if m, err = in.merchant(); err == nil {
				err = s.Enroll(m)
			}
		}
		out = struct{}{}
	case r.Method == http.MethodPost && op == "pay":
		var in remotePay
		if err = json.Unmarshal(body, &in); err == nil {
			out, err = s.Pay(r.Context(), in.MchID, in.OutTradeNo)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

type remoteKey struct {
	ID  string `json:"id"`
	PEM string `json:"pem"`
}

type remoteMerchant struct {
	MchID      string `json:"mchid"`
	APIv3Key   string `json:"api_v3_key"`
	CertSerial string `json:"cert_serial"`
	PublicKey  string `json:"public_key"` // PEM, PKIX
}

func (m remoteMerchant) merchant() (Merchant, error) {
	b, _ := pem.Decode([]byte(m.PublicKey))
	if b == nil {
		return Merchant{}, errors.New("enroll: public_key is not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return Merchant{}, fmt.Errorf("enroll: %w", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return Merchant{}, errors.New("enroll: public_key is not RSA")
	}
	return Merchant{MchID: m.MchID, APIv3Key: m.APIv3Key, CertSerial: m.CertSerial, PublicKey: pub}, nil
}

type remotePay struct {
	MchID      string `json:"mchid"`
	OutTradeNo string `json:"out_trade_no"`
}

// Remote is a simulator in another process, as the order service uses one
// in sandbox mode: the same methods as *Simulator's, over HTTP.
type Remote struct {
	base   string
	client *http.Client
	keyID  string
	keyPEM string
}

// Dial reaches the simulator listening at base (http://host:port) and
// reads its public key.
func Dial(ctx context.Context, base string) (*Remote, error) {
	r := &Remote{base: strings.TrimRight(base, "/"), client: &http.Client{Timeout: 30 * time.Second, Transport: pooled}}
	var k remoteKey
	if err := r.call(ctx, http.MethodGet, "key", nil, &k); err != nil {
		return nil, err
	}
	if k.ID == "" || k.PEM == "" {
		return nil, fmt.Errorf("wechat pay simulator at %s: no public key", base)
	}
	r.keyID, r.keyPEM = k.ID, k.PEM
	return r, nil
}

// Client is an HTTP client whose v3 API requests (to api.mch.weixin.qq.com)
// go to the remote simulator.
func (r *Remote) Client() *http.Client { return RewriteClient(r.base) }

// PublicKeyID is the simulator's WeChat Pay public key id.
func (r *Remote) PublicKeyID() string { return r.keyID }

// PublicKeyPEM is the simulator's WeChat Pay public key.
func (r *Remote) PublicKeyPEM() string { return r.keyPEM }

// NewMerchant generates a merchant account at the simulator.
func (r *Remote) NewMerchant() (Credentials, error) {
	var c Credentials
	err := r.call(context.Background(), http.MethodPost, "merchants", struct{}{}, &c)
	return c, err
}

// Enroll makes m known to the simulator (again).
func (r *Remote) Enroll(m Merchant) error {
	if m.PublicKey == nil {
		return errors.New("enroll: no public key")
	}
	der, err := x509.MarshalPKIXPublicKey(m.PublicKey)
	if err != nil {
		return err
	}
	return r.call(context.Background(), http.MethodPost, "enroll", remoteMerchant{MchID: m.MchID, APIv3Key: m.APIv3Key,
		CertSerial: m.CertSerial, PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, &struct{}{})
}

// Pay is the buyer paying the merchant's order out_trade_no; the
// notification sent at once has been answered when it returns.
func (r *Remote) Pay(ctx context.Context, mchID, outTradeNo string) (Transaction, error) {
	var t Transaction
	err := r.call(ctx, http.MethodPost, "pay", remotePay{MchID: mchID, OutTradeNo: outTradeNo}, &t)
	return t, err
}

func (r *Remote) call(ctx context.Context, method, op string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+ControlPrefix+op, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("wechat pay simulator %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wechat pay simulator %s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wechat pay simulator %s: %s: %s", op, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
