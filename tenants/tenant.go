package tenants

import (
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// ErrNotFound is returned by stores for a missing record.
var ErrNotFound = fault.ErrNotFound

// Tenant is one merchant's shop.
type Tenant struct {
	ID       string `json:"id" bson:"_id"`
	Slug     string `json:"slug" bson:"slug"`
	Name     string `json:"name" bson:"name"`
	TimeZone string `json:"time_zone" bson:"time_zone"`
	// Lang is the shop's own language ("zh-CN", "en"; empty: the
	// platform's default): its storefront's default for shoppers who
	// chose none, and the language of what it sends without a request to
	// go by (WeChat replies and notices).
	Lang      string    `json:"lang" bson:"lang,omitempty"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
}

// Language is the shop's language: Lang, or the platform's default.
func (t Tenant) Language() string {
	if lang, ok := i18n.Supported(t.Lang); ok {
		return lang
	}
	return i18n.Default
}

// Location is the shop's time zone (TimeZone, else DefaultTimeZone, else
// UTC should the zone database lack both).
func (t Tenant) Location() *time.Location {
	for _, name := range []string{t.TimeZone, DefaultTimeZone} {
		if name == "" {
			continue
		}
		if loc, ok := loadZone(name); ok {
			return loc
		}
	}
	return time.UTC
}

// zones remembers loaded zones: time.LoadLocation parses the zone data on
// every call, and Location is on the paths of orders, check-ins and pages.
// Shops name a few zones between them, and only valid ones are kept.
var zones sync.Map // name → *time.Location

func loadZone(name string) (*time.Location, bool) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zones.Store(name, loc)
	return loc, true
}

// User is a merchant user who signs in to the console of one tenant.
type User struct {
	ID           string    `bson:"_id"`
	TenantID     string    `bson:"tenant_id"`
	Email        string    `bson:"email"`
	PasswordHash string    `bson:"password_hash"`
	CreatedAt    time.Time `bson:"created_at"`
}

// APIKey is a merchant API credential; only its SHA-256 is stored.
type APIKey struct {
	ID        string    `bson:"_id"`
	TenantID  string    `bson:"tenant_id"`
	Hash      string    `bson:"hash"`
	Prefix    string    `bson:"prefix"` // first characters, to tell keys apart in the console
	CreatedAt time.Time `bson:"created_at"`
	// Name says what the key is for; Role limits it ("": the owner's
	// full access). Both are set when the key is created (role.go).
	Name string `bson:"name,omitempty"`
	Role Role   `bson:"role,omitempty"`
	// LastUsedAt is when the key last authenticated a call (zero: never),
	// recorded at most once a minute per key and replica.
	LastUsedAt time.Time `bson:"last_used_at,omitempty"`
}

// errSlugTaken is the conflict of a sign-up whose shop address another shop
// has.
func errSlugTaken(slug string) error {
	return fault.Conflict("the shop address %q is taken; choose another", slug)
}

// errEmailTaken is the conflict of a sign-up whose email has an account.
func errEmailTaken(email string) error {
	return fault.Conflict("an account with email %s already exists; sign in instead", email)
}

// DefaultTimeZone is the zone day boundaries use when a shop sets none.
const DefaultTimeZone = "Asia/Shanghai"

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// reservedSlugs would clash with the platform's own paths or mislead users.
var reservedSlugs = map[string]bool{
	"admin": true, "api": true, "s": true, "wx": true, "static": true, "login": true, "logout": true,
	"signup": true, "healthz": true, "readyz": true, "metrics": true, "www": true, "app": true,
	"platform": true, "microshop": true, "help": true, "support": true, "root": true, "system": true,
	"assets": true, "media": true, "shop": true, "shops": true, "store": true, "pay": true, "oauth": true,
}

// ValidateSlug says what is wrong with a shop slug, or nil.
func ValidateSlug(slug string) error {
	switch {
	case slug == "":
		return fault.Invalid("slug", "is required")
	case len(slug) < 3 || len(slug) > 32:
		return fault.Invalid("slug", "must be 3 to 32 characters, got %d", utf8.RuneCountInString(slug))
	case !slugPattern.MatchString(slug):
		return fault.Invalid("slug", "may contain only lower-case letters, digits and single hyphens between them")
	case reservedSlugs[slug]:
		return fault.Invalid("slug", "%q is reserved; choose another", slug)
	}
	return nil
}

// SignUp is what a merchant submits to open a shop.
type SignUp struct {
	Name     string `json:"name"`
	Slug     string `json:"slug"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Normalize trims the input and lower-cases slug and email.
func (s *SignUp) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Slug = strings.ToLower(strings.TrimSpace(s.Slug))
	s.Email = strings.ToLower(strings.TrimSpace(s.Email))
}

// Validate says what is wrong with the sign-up, field by field.
func (s *SignUp) Validate() error {
	name, err := fault.Text("name", s.Name, 64)
	if err != nil {
		return err
	}
	if name == "" {
		return fault.Invalid("name", "is required")
	}
	s.Name = name
	if err := ValidateSlug(s.Slug); err != nil {
		return err
	}
	if len(s.Email) > 254 {
		return fault.Invalid("email", "must be at most 254 characters")
	}
	if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email {
		return fault.Invalid("email", "is not a valid email address")
	}
	return validatePassword("password", s.Password)
}

// validatePassword says what is wrong with a new password given as field.
func validatePassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < 8 {
		return fault.Invalid(field, "must be at least 8 characters")
	}
	if len(pw) > 72 {
		// bcrypt reads 72 bytes at most; a longer password would be silently cut.
		return fault.Invalid(field, "must be at most 72 bytes")
	}
	return nil
}
