package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/services/transferbatch"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"microshop/tenants/fault"
	"microshop/tenants/wechat/paysim"
)

// A shop's WeChat Pay SDK client, kept per shop and credentials, and the
// count of RSA signatures it makes (the orders benchmark reads it).

// payClient is one shop's SDK client, notify handler and JSAPI and H5
// services.
type payClient struct {
	acct      WeChatPaySettings
	jsapi     jsapi.JsapiApiService
	h5        h5.H5ApiService
	refunds   refunddomestic.RefundsApiService
	transfers transferbatch.TransferBatchApiService
	notify    *notify.Handler
}

// maxPayClients bounds the cache; past it, it starts over.
const maxPayClients = 10_000

// client returns the SDK client of the shop's account acct, made once per
// process and set of credentials.
func (w *WeChatPay) client(ctx context.Context, tenantID string, acct WeChatPaySettings) (*payClient, error) {
	h := sha256.New()
	for _, f := range acct.credentials() {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	key := tenantID + "/" + hex.EncodeToString(h.Sum(nil))
	w.mu.Lock()
	c, ok := w.clients[key]
	w.mu.Unlock()
	if ok {
		return c, nil
	}
	priv, err := utils.LoadPrivateKey(acct.PrivateKey)
	if err != nil {
		return nil, fault.Conflict("the WeChat Pay private key cannot be read; check the order settings")
	}
	pub, _, err := parsePublicKey(acct.PublicKey)
	if err != nil {
		return nil, fault.Conflict("the WeChat Pay public key cannot be read; check the order settings")
	}
	if acct.Sandbox && w.sim != nil {
		// The simulator forgets its merchants when the process ends: tell
		// it again who this one is.
		if err := w.sim.Enroll(paysim.Merchant{MchID: acct.MchID, APIv3Key: acct.APIv3Key, CertSerial: acct.CertSerial,
			PublicKey: &priv.PublicKey}); err != nil {
			return nil, fmt.Errorf("enroll sandbox merchant %s: %w", acct.MchID, err)
		}
	}
	cc, err := core.NewClient(ctx,
		option.WithWechatPayPublicKeyAuthCipher(acct.MchID, acct.CertSerial, priv, acct.PublicKeyID, pub),
		// The same signer, counted (Signatures).
		option.WithSigner(countedSigner{&signers.SHA256WithRSASigner{MchID: acct.MchID, PrivateKey: priv, CertificateSerialNo: acct.CertSerial}}),
		option.WithHTTPClient(w.http))
	if err != nil {
		return nil, fmt.Errorf("wechat pay client of %s: %w", acct.MchID, err)
	}
	nh, err := notify.NewRSANotifyHandler(acct.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(acct.PublicKeyID, *pub))
	if err != nil {
		return nil, fault.Conflict("the WeChat Pay API v3 key must be 32 characters; check the order settings")
	}
	c = &payClient{acct: acct, jsapi: jsapi.JsapiApiService{Client: cc}, h5: h5.H5ApiService{Client: cc}, refunds: refunddomestic.RefundsApiService{Client: cc},
		transfers: transferbatch.TransferBatchApiService{Client: cc}, notify: nh}
	w.mu.Lock()
	if len(w.clients) >= maxPayClients {
		w.clients = map[string]*payClient{}
	}
	w.clients[key] = c
	w.mu.Unlock()
	return c, nil
}

// signatures counts the RSA-SHA256 signatures made with merchants' keys:
// each request to WeChat Pay's API (its Authorization header) and each
// JSAPI paySign. One costs about a millisecond of CPU (RSA-2048).
var signatures atomic.Int64

// Signatures is how many RSA signatures this process has made with
// merchants' keys (server/wechatpay.go puts it in /metrics, so that a
// benchmark can tell the signing cost from the rest of an order's).
func Signatures() int64 { return signatures.Load() }

// countedSigner is the SDK's signer, counted in signatures.
type countedSigner struct{ auth.Signer }

func (c countedSigner) Sign(ctx context.Context, message string) (*auth.SignatureResult, error) {
	signatures.Add(1)
	return c.Signer.Sign(ctx, message)
}
