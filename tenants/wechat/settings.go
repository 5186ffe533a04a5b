package wechat

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"microshop/tenants/fault"
)

// Mode is how the official account encrypts pushes (WeChat's 消息加解密方式).
type Mode string

// The three message modes WeChat offers.
const (
	// Plaintext pushes are signed, not encrypted.
	Plaintext Mode = "plaintext"
	// Compatible pushes may come either way.
	Compatible Mode = "compatible"
	// Safe pushes are AES-encrypted (encrypt_type=aes).
	Safe Mode = "safe"
)

// MaxWelcome is the longest welcome text, in characters.
const MaxWelcome = 600

// Settings is one shop's official account as the shop configured it (or as
// the sandbox generated it). The bson names are the Mongo document's fields.
type Settings struct {
	AppID          string `bson:"app_id"`
	AppSecret      string `bson:"app_secret"`
	Token          string `bson:"token"`
	EncodingAESKey string `bson:"aes_key"`
	// PrevEncodingAESKey is the key before the last rotation: WeChat may
	// still send pushes encrypted with it for a while.
	PrevEncodingAESKey string `bson:"prev_aes_key"`
	Mode               Mode   `bson:"mode"`
	// Welcome is sent as the passive reply to a follow; empty for none.
	Welcome string `bson:"welcome"`
	// Sandbox marks credentials the platform generated for the simulator;
	// a server running --wechat=live treats the shop as not configured.
	Sandbox   bool      `bson:"sandbox"`
	Rev       int64     `bson:"rev"`
	UpdatedAt time.Time `bson:"updated_at"`
}

// Encrypted reports whether the account takes AES-encrypted pushes.
func (s Settings) Encrypted() bool { return s.Mode == Safe || s.Mode == Compatible }

// Input is what a merchant submits (PUT /api/v1/wechat, or the console
// form). Secrets left empty keep their stored value, so the form never
// needs to show them.
type Input struct {
	AppID          string `json:"app_id"`
	AppSecret      string `json:"app_secret"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	Mode           Mode   `json:"mode"`
	Welcome        string `json:"welcome"`
}

var (
	appIDPattern  = regexp.MustCompile(`^wx[0-9A-Za-z]{16}$`)
	secretPattern = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)
	tokenPattern  = regexp.MustCompile(`^[0-9A-Za-z]{3,32}$`)
	aesPattern    = regexp.MustCompile(`^[0-9A-Za-z]{43}$`)
)

// apply merges in onto cur (the stored settings, zero if none) and checks
// the result. A new EncodingAESKey moves the current one to
// PrevEncodingAESKey.
func (in Input) apply(cur Settings, exists bool) (Settings, error) {
	in.AppID = strings.TrimSpace(in.AppID)
	in.AppSecret = strings.TrimSpace(in.AppSecret)
	in.Token = strings.TrimSpace(in.Token)
	in.EncodingAESKey = strings.TrimSpace(in.EncodingAESKey)
	s := cur
	switch {
	case in.AppID == "":
		return Settings{}, fault.Invalid("app_id", "is required (公众号 AppID, starts with wx)")
	case !appIDPattern.MatchString(in.AppID):
		return Settings{}, fault.Invalid("app_id", "must be wx followed by 16 letters or digits, as shown in the official account's 基本配置 page")
	}
	sameApp := exists && in.AppID == cur.AppID
	if in.AppID != cur.AppID {
		// Another account: its credentials are not the old ones.
		s = Settings{Rev: cur.Rev}
	}
	s.AppID = in.AppID
	// Generated sandbox credentials stay sandbox ones when only the mode or
	// the welcome changes; a real secret makes them the merchant's own.
	s.Sandbox = sameApp && cur.Sandbox && in.AppSecret == ""
	if err := setSecret(&s.AppSecret, in.AppSecret, sameApp, "app_secret", secretPattern,
		"must be 32 letters or digits (AppSecret)", "is required for a new account"); err != nil {
		return Settings{}, err
	}
	if err := setSecret(&s.Token, in.Token, sameApp, "token", tokenPattern,
		"must be 3 to 32 letters or digits, the same as the Token in the account's server settings",
		"is required: the Token set in the account's server settings (服务器配置)"); err != nil {
		return Settings{}, err
	}
	if in.EncodingAESKey != "" {
		if !validAESKey(in.EncodingAESKey) {
			return Settings{}, fault.Invalid("encoding_aes_key", "must be 43 letters or digits (EncodingAESKey)")
		}
		if in.EncodingAESKey != s.EncodingAESKey {
			s.PrevEncodingAESKey = s.EncodingAESKey
			s.EncodingAESKey = in.EncodingAESKey
		}
	}
	switch in.Mode {
	case "":
		if !sameApp || s.Mode == "" {
			s.Mode = Plaintext
			if s.EncodingAESKey != "" {
				s.Mode = Safe
			}
		}
	case Plaintext, Compatible, Safe:
		s.Mode = in.Mode
	default:
		return Settings{}, fault.Invalid("mode", "must be plaintext, compatible or safe")
	}
	if s.Encrypted() && s.EncodingAESKey == "" {
		return Settings{}, fault.Invalid("encoding_aes_key", "is required in %s mode", s.Mode)
	}
	welcome, err := fault.MultilineText("welcome", in.Welcome, MaxWelcome)
	if err != nil {
		return Settings{}, err
	}
	s.Welcome = welcome
	return s, nil
}

// setSecret sets *stored to in, a secret that must match pattern (else the
// error says wrong); left empty it keeps the stored value, which only the
// same account has (else the error says required).
func setSecret(stored *string, in string, sameApp bool, field string, pattern *regexp.Regexp, wrong, required string) error {
	switch {
	case in != "":
		if !pattern.MatchString(in) {
			return fault.Invalid(field, wrong)
		}
		*stored = in
	case !sameApp || *stored == "":
		return fault.Invalid(field, required)
	}
	return nil
}

func validAESKey(k string) bool {
	if !aesPattern.MatchString(k) {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k + "=")
	return err == nil && len(b) == 32
}

// SandboxSettings generates credentials for the simulator: the same shapes
// as real ones, in safe mode so the AES path runs by default.
func SandboxSettings(now time.Time) Settings {
	return Settings{
		AppID:          "wx" + randomHex(8),
		AppSecret:      randomHex(16),
		Token:          randomAlnum(32),
		EncodingAESKey: randomAlnum(43),
		Mode:           Safe,
		Welcome:        "Thanks for following! Tap the menu to open our shop.",
		Sandbox:        true,
		Rev:            1,
		UpdatedAt:      now,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	for {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = alnum[int(b[i])%len(alnum)]
		}
		// An EncodingAESKey must decode to 32 bytes: the 43rd character
		// carries 2 bits that must be zero; try again when they are not.
		if n != 43 || validAESKey(string(b)) {
			return string(b)
		}
	}
}

// Mask shows the last four characters of a secret.
func Mask(secret string) string {
	if secret == "" {
		return ""
	}
	if len(secret) <= 8 {
		return "••••"
	}
	return "••••" + secret[len(secret)-4:]
}

// View is the settings as the API and the console show them: secrets
// masked.
type View struct {
	Configured     bool      `json:"configured"`
	Sandbox        bool      `json:"sandbox"`
	ServerMode     string    `json:"server_mode"`
	AppID          string    `json:"app_id,omitempty"`
	AppSecret      string    `json:"app_secret,omitempty"`
	Token          string    `json:"token,omitempty"`
	EncodingAESKey string    `json:"encoding_aes_key,omitempty"`
	Mode           Mode      `json:"mode,omitempty"`
	Welcome        string    `json:"welcome,omitempty"`
	PushURL        string    `json:"push_url"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// View returns the masked view of s.
func (s Settings) View() View {
	return View{Configured: s.AppID != "", Sandbox: s.Sandbox, AppID: s.AppID, AppSecret: Mask(s.AppSecret),
		Token: Mask(s.Token), EncodingAESKey: Mask(s.EncodingAESKey), Mode: s.Mode, Welcome: s.Welcome, UpdatedAt: s.UpdatedAt}
}
