package order

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// Settings are a shop's order rules.
type Settings struct {
	// ShippingFee is the flat fee per order, waived when the goods total
	// reaches FreeShippingOver (0: never waived).
	ShippingFee      int64 `json:"shipping_fee"`
	FreeShippingOver int64 `json:"free_shipping_over"`
	// UnpaidTimeoutMinutes cancels unpaid orders (default 30).
	UnpaidTimeoutMinutes int `json:"unpaid_timeout_minutes"`
	// AutoCompleteDays completes shipped orders (default 10).
	AutoCompleteDays int `json:"auto_complete_days"`
	// WeChatPay, when set, takes payments through WeChat Pay (API v3)
	// instead of the sandbox.
	WeChatPay WeChatPaySettings `json:"wechat_pay"`
	// TestMode makes the shop take sandbox payments (no real money) while
	// it has no WeChat Pay of its own, on a live server as in the sandbox.
	// Orders paid in the sandbox while it is on are marked test (Order.Test).
	TestMode bool `json:"test_mode"`
	// Rev counts the saves: a save of settings read at another revision
	// (another tab, another person, the key reseal) is refused, never
	// silently undone (Store.SaveSettings).
	Rev int64 `json:"rev"`
}

// WeChatPaySettings are a merchant's WeChat Pay API v3 credentials, as the
// merchant platform (pay.weixin.qq.com) gives them. Requests to WeChat Pay
// are signed with PrivateKey (the API certificate's key, whose serial is
// CertSerial); WeChat Pay's answers and notifications are verified with
// PublicKey, WeChat Pay's public key (whose id is PublicKeyID) or a
// platform certificate (its serial is then the id); notifications are
// decrypted with APIv3Key. APIv3Key and PrivateKey are secrets: shown
// Masked, never in full.
type WeChatPaySettings struct {
	AppID       string `json:"app_id"`
	MchID       string `json:"mch_id"`
	APIv3Key    string `json:"api_v3_key,omitempty"`
	CertSerial  string `json:"cert_serial,omitempty"`
	PrivateKey  string `json:"private_key,omitempty"`
	PublicKeyID string `json:"public_key_id,omitempty"`
	PublicKey   string `json:"public_key,omitempty"`
	// Sandbox marks credentials the platform generated for the WeChat Pay
	// simulator (sandbox mode); a live server ignores them, and a
	// merchant's own credentials clear it.
	Sandbox bool `json:"sandbox,omitempty"`
}

// Enabled reports whether every credential WeChat Pay needs is there.
func (w WeChatPaySettings) Enabled() bool {
	return w.AppID != "" && w.MchID != "" && w.APIv3Key != "" && w.CertSerial != "" && w.PrivateKey != "" &&
		w.PublicKey != "" && w.PublicKeyID != ""
}

// Real reports whether the shop set up WeChat Pay with its own merchant
// account (not credentials generated for the simulator).
func (w WeChatPaySettings) Real() bool { return w.Enabled() && !w.Sandbox }

// credentials are the fields that make the account: changing any of them
// makes the settings the merchant's own.
func (w WeChatPaySettings) credentials() [7]string {
	return [7]string{w.AppID, w.MchID, w.APIv3Key, w.CertSerial, w.PrivateKey, w.PublicKeyID, w.PublicKey}
}

// DefaultSettings are what a shop starts with.
func DefaultSettings() Settings {
	return Settings{ShippingFee: 0, UnpaidTimeoutMinutes: 30, AutoCompleteDays: 10}
}

// Masked returns s with the WeChat Pay secrets (API v3 key, private key)
// hidden as the WeChat settings hide theirs: only their last 4 characters
// (of a private key, of its base64 body).
func (s Settings) Masked() Settings {
	s.WeChatPay.APIv3Key = wechat.Mask(s.WeChatPay.APIv3Key)
	s.WeChatPay.PrivateKey = wechat.Mask(pemBody(s.WeChatPay.PrivateKey))
	return s
}

// pemBody is a PEM text's base64 lines joined ("" when there are none).
func pemBody(p string) string {
	var b strings.Builder
	for _, line := range strings.Split(p, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "-----") {
			b.WriteString(line)
		}
	}
	return b.String()
}

var (
	mchIDPattern  = regexp.MustCompile(`^[0-9]{8,12}$`)
	serialPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8,64}$`)
	keyIDPattern  = regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)
	v3KeyPattern  = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)
)

// Validate says what is wrong with s.
func (s Settings) Validate() error {
	switch {
	case s.ShippingFee < 0 || s.ShippingFee > 1_000_000:
		return fault.Invalid("shipping_fee", "must be between 0 and 1000000 fen")
	case s.FreeShippingOver < 0 || s.FreeShippingOver > 1_000_000_000:
		return fault.Invalid("free_shipping_over", "must be between 0 and 1000000000 fen")
	case s.UnpaidTimeoutMinutes < 5 || s.UnpaidTimeoutMinutes > 7*24*60:
		return fault.Invalid("unpaid_timeout_minutes", "must be between 5 and 10080")
	case s.AutoCompleteDays < 1 || s.AutoCompleteDays > 60:
		return fault.Invalid("auto_complete_days", "must be between 1 and 60")
	}
	return s.WeChatPay.validate()
}

// validate checks each credential that is there; an account missing some
// is kept but not Enabled.
func (w WeChatPaySettings) validate() error {
	switch {
	case len(w.AppID) > 64:
		return fault.Invalid("wechat_pay.app_id", "is too long")
	case w.MchID != "" && !mchIDPattern.MatchString(w.MchID):
		return fault.Invalid("wechat_pay.mch_id", "must be the 8 to 12 digit merchant ID (商户号)")
	case w.APIv3Key != "" && !v3KeyPattern.MatchString(w.APIv3Key):
		return fault.Invalid("wechat_pay.api_v3_key", "must be the 32-character API v3 key set in the WeChat Pay merchant platform")
	case w.CertSerial != "" && !serialPattern.MatchString(w.CertSerial):
		return fault.Invalid("wechat_pay.cert_serial", "must be the serial number of the merchant API certificate (hexadecimal)")
	case w.PublicKeyID != "" && !keyIDPattern.MatchString(w.PublicKeyID):
		return fault.Invalid("wechat_pay.public_key_id", "must be the WeChat Pay public key ID (PUB_KEY_ID_…) or the platform certificate's serial number")
	case len(w.PrivateKey) > 8192 || len(w.PublicKey) > 8192:
		return fault.Invalid("wechat_pay", "a key is too long")
	}
	if w.PrivateKey != "" {
		if _, err := utils.LoadPrivateKey(w.PrivateKey); err != nil {
			return fault.Invalid("wechat_pay.private_key", "must be the merchant API private key in PEM (apiclient_key.pem)")
		}
	}
	if w.PublicKey != "" {
		_, id, err := parsePublicKey(w.PublicKey)
		if err != nil {
			return fault.Invalid("wechat_pay.public_key", "must be the WeChat Pay public key or a platform certificate in PEM")
		}
		if id != "" && w.PublicKeyID != "" && !strings.EqualFold(id, w.PublicKeyID) {
			return fault.Invalid("wechat_pay.public_key_id", "must be the platform certificate's serial number %s", id)
		}
	}
	return nil
}

// parsePublicKey reads WeChat Pay's public key (PEM "PUBLIC KEY"), or a
// platform certificate (PEM "CERTIFICATE"), whose serial it also returns.
func parsePublicKey(p string) (*rsa.PublicKey, string, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(p)))
	if block != nil && block.Type == "CERTIFICATE" {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, "", err
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, "", fault.Invalid("wechat_pay.public_key", "must be an RSA key")
		}
		return pub, utils.GetCertificateSerialNumber(*cert), nil
	}
	pub, err := utils.LoadPublicKey(p)
	return pub, "", err
}

// shippingFor is the shipping fee of an order with this goods total.
func (s Settings) shippingFor(goods int64) int64 {
	if s.FreeShippingOver > 0 && goods >= s.FreeShippingOver {
		return 0
	}
	return s.ShippingFee
}

// Settings returns the shop's order settings (the defaults until it saves
// its own). The WeChat Pay secrets are in full: show them Masked.
// They are kept settingsTTL per shop (every order placed and paid reads
// them): a change saved on this replica applies at once, one saved on
// another within settingsTTL.
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	now := s.now()
	if st, ok := s.settings.get(tenantID, now); ok {
		return st, nil
	}
	st, err := s.store.Settings(ctx, tenantID)
	if err == nil {
		s.settings.put(tenantID, st, now)
	}
	return st, err
}

// settingsTTL is how long a shop's order settings are kept in memory.
const settingsTTL = 3 * time.Second

// settingsCache keeps shops' order settings for settingsTTL (bounded:
// past maxKnownFans shops it starts over).
type settingsCache struct {
	mu sync.Mutex
	m  map[string]cachedSettings
}

type cachedSettings struct {
	st Settings
	at time.Time
}

func (c *settingsCache) get(tenantID string, now time.Time) (Settings, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tenantID]
	if !ok || now.Sub(e.at) > settingsTTL || now.Before(e.at) {
		return Settings{}, false
	}
	return e.st, true
}

func (c *settingsCache) put(tenantID string, st Settings, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxKnownFans {
		c.m = map[string]cachedSettings{}
	}
	c.m[tenantID] = cachedSettings{st: st, at: now}
}

// forget drops the shop's settings (saved on this replica).
func (c *settingsCache) forget(tenantID string) {
	c.mu.Lock()
	delete(c.m, tenantID)
	c.mu.Unlock()
}

// SaveSettings validates st and makes it the shop's order settings. A
// WeChat Pay secret as Masked shows it (a form or API client sending back
// what it was shown) keeps the stored one. A platform certificate's
// serial fills an empty public key id. Credentials generated for the
// simulator stay marked so only while none of them changes.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	old, err := s.store.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	w, shown := &st.WeChatPay, old.Masked().WeChatPay
	if w.APIv3Key != "" && w.APIv3Key == shown.APIv3Key {
		w.APIv3Key = old.WeChatPay.APIv3Key
	}
	if w.PrivateKey != "" && w.PrivateKey == shown.PrivateKey {
		w.PrivateKey = old.WeChatPay.PrivateKey
	}
	*w = trimmed(*w)
	if w.PublicKey != "" && w.PublicKeyID == "" {
		if _, id, err := parsePublicKey(w.PublicKey); err == nil {
			w.PublicKeyID = id
		}
	}
	w.Sandbox = old.WeChatPay.Sandbox && w.credentials() == trimmed(old.WeChatPay).credentials()
	if err := st.Validate(); err != nil {
		return err
	}
	defer s.settings.forget(tenantID)
	if st.Rev != old.Rev {
		return errSettingsChanged
	}
	return s.store.SaveSettings(ctx, tenantID, st)
}

// trimmed is w as SaveSettings stores it.
func trimmed(w WeChatPaySettings) WeChatPaySettings {
	w.AppID, w.MchID, w.CertSerial = strings.TrimSpace(w.AppID), strings.TrimSpace(w.MchID), strings.ToUpper(strings.TrimSpace(w.CertSerial))
	w.APIv3Key, w.PublicKeyID = strings.TrimSpace(w.APIv3Key), strings.TrimSpace(w.PublicKeyID)
	// A form's text area sends CRLF line ends.
	w.PrivateKey = strings.TrimSpace(strings.ReplaceAll(w.PrivateKey, "\r\n", "\n"))
	w.PublicKey = strings.TrimSpace(strings.ReplaceAll(w.PublicKey, "\r\n", "\n"))
	return w
}
