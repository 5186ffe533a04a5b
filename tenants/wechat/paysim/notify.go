package paysim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// The notifications: built, signed and encrypted as WeChat Pay sends them,
// and sent under the merchant's rule (dropped, repeated, delayed, held).

// dispatch sends one notification under rule.
func (s *Simulator) dispatch(ctx context.Context, rule Rule, n notice) {
	switch {
	case rule.Drop:
		return
	case rule.Hold:
		s.mu.Lock()
		s.held = append(s.held, n)
		s.mu.Unlock()
		return
	}
	times := max(rule.Repeat, 1)
	send := func() {
		var wg sync.WaitGroup
		for range times {
			wg.Go(func() {
				notify := s.Notify
				if n.refund != "" {
					notify = func(ctx context.Context, mchID, _ string) error { return s.NotifyRefund(ctx, mchID, n.refund) }
				}
				if err := notify(context.WithoutCancel(ctx), n.mchID, n.outTradeNo); err != nil {
					s.log.Warn("wechat pay simulator: notification not taken", "mchid", n.mchID, "order", n.outTradeNo, "err", err)
				}
			})
		}
		wg.Wait()
	}
	if rule.Delay > 0 {
		s.wg.Go(func() {
			time.Sleep(rule.Delay)
			send()
		})
		return
	}
	send()
}

// Release sends the held notifications, last held first when reverse (the
// order WeChat's servers keep no promise about), each as the merchant's
// rule at holding said (Repeat applies), and waits for their answers.
func (s *Simulator) Release(ctx context.Context, reverse bool) {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	if reverse {
		for i, j := 0, len(held)-1; i < j; i, j = i+1, j-1 {
			held[i], held[j] = held[j], held[i]
		}
	}
	for _, n := range held {
		s.mu.Lock()
		rule := Rule{}
		if m, ok := s.merchants[n.mchID]; ok {
			rule = m.rule
		}
		s.mu.Unlock()
		rule.Hold, rule.Drop, rule.Delay = false, false, 0
		s.dispatch(ctx, rule, n)
	}
}

// Wait waits for delayed notifications to be sent.
func (s *Simulator) Wait() { s.wg.Wait() }

// Notify sends the notification of the merchant's paid order once, now,
// and returns an error unless the shop answered 2xx.
func (s *Simulator) Notify(ctx context.Context, mchID, outTradeNo string) error {
	req, err := s.NotificationRequest(ctx, mchID, outTradeNo, nil)
	if err != nil {
		return err
	}
	return s.send(mchID, req)
}

// send sends a notification of the merchant's and returns an error unless
// the shop answered 2xx.
func (s *Simulator) send(mchID string, req *http.Request) error {
	s.mu.Lock()
	rt := s.notifier
	s.mu.Unlock()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("notify %s: %w", req.URL, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify %s: %d %s", req.URL, resp.StatusCode, body)
	}
	s.mu.Lock()
	if m, ok := s.merchants[mchID]; ok {
		m.sent++
	}
	s.mu.Unlock()
	return nil
}

// NotificationRequest builds the payment notification of the merchant's
// paid order as WeChat Pay sends it: the transaction (changed by edit, if
// given: tests forge amounts) encrypted with the API v3 key, the body
// signed with the simulator's key.
func (s *Simulator) NotificationRequest(ctx context.Context, mchID, outTradeNo string, edit func(*Transaction)) (*http.Request, error) {
	s.mu.Lock()
	m, ok := s.merchants[mchID]
	var t Transaction
	if ok {
		var found bool
		var tp *Transaction
		if tp, found = m.orders[outTradeNo]; found {
			t = *tp
		}
		ok = found
	}
	var key string
	if m != nil {
		key = m.APIv3Key
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("notify: merchant %s has no order %s", mchID, outTradeNo)
	}
	if t.TradeState != Success {
		return nil, fmt.Errorf("notify: order %s is %s", outTradeNo, t.TradeState)
	}
	if edit != nil {
		edit(&t)
	}
	plain, _ := json.Marshal(t)
	return s.notification(ctx, t.NotifyURL, key, "transaction", "TRANSACTION.SUCCESS", "支付成功", plain)
}

// notification is a notification as WeChat Pay sends it to url: the
// resource plain (of type kind) encrypted AEAD_AES_256_GCM with the API v3
// key, the body signed with the simulator's key.
func (s *Simulator) notification(ctx context.Context, url, key, kind, event, summary string, plain []byte) (*http.Request, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := randomAlnum(12)
	ad := kind
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(ad))
	body, _ := json.Marshal(map[string]any{
		"id": randomHex(16), "create_time": time.Now().In(chinaTime).Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": event, "summary": summary,
		"resource": map[string]string{"original_type": kind, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(sealed), "associated_data": ad, "nonce": nonce},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	req.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	s.sign(req.Header, body)
	return req, nil
}
