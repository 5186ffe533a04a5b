package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"

	"microshop/tenants/wechat"
)

// Delivering a push: what WeChat's servers do after a fan acts.

// Deliver signs the plaintext push msg with the shop's settings s and sends
// it to /wx/{slug} through h (the server's router, in process) as WeChat
// would, returning the answer's status and body.
func Deliver(ctx context.Context, h http.Handler, host, slug string, s wechat.Settings, msg []byte, timestamp int64) (int, []byte, error) {
	q, body, err := wechat.SignPush(s, msg, timestamp, Nonce())
	if err != nil {
		return 0, nil, fmt.Errorf("deliver push to shop %s: %w", slug, err)
	}
	st, out, err := post(ctx, h, host, "/wx/"+slug+"?"+q.Encode(), body)
	if err != nil {
		return 0, nil, fmt.Errorf("deliver push to shop %s: %w", slug, err)
	}
	return st, out, nil
}

// Nonce is a random number string, like WeChat's.
func Nonce() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	return fmt.Sprintf("%d", n.Int64()+1_000_000_000)
}

// responseRecorder keeps the push endpoint's answer: the first status
// written and the body.
type responseRecorder struct {
	header      http.Header
	body        bytes.Buffer
	status      int
	wroteHeader bool
}

func (r *responseRecorder) Header() http.Header { return r.header }

func (r *responseRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.body.Write(b)
}

func (r *responseRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
}
