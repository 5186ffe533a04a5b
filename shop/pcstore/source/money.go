package source

import (
	"fmt"
	"math/big"
	"strings"

	"microshop/tenants/fault"
)

// MaxPriceFen is the largest price an item may carry, in fen (the
// catalog's limit: 100 million yuan).
const MaxPriceFen = 10_000_000_000

// Amount is a decimal amount of money exactly as a PC store wrote it:
// Units / 10^Scale of Currency. No floating point is ever involved.
type Amount struct {
	Units    int64
	Scale    int
	Currency string // ISO 4217, upper case; "" when the text named none
}

// maxDigits bounds the digits an amount may have, so Units never overflows.
const maxDigits = 18

// maxDecimals bounds the decimals an amount may have.
const maxDecimals = 6

// ParseAmount reads a price as feeds and store APIs write it: "12.34",
// "12.34 USD", "12.34USD", "1299 CNY". It is strict: digits with at most one
// '.', an optional three-letter currency code (RMB is read as CNY), and
// nothing else: no sign, no thousands separator, no exponent, no comma for a
// decimal point.
func ParseAmount(s string) (Amount, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Amount{}, fmt.Errorf("price is empty")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, rest := t[:i], strings.TrimSpace(t[i:])
	var a Amount
	if rest != "" {
		if len(rest) != 3 || !isLetters(rest) {
			return Amount{}, fmt.Errorf("price %q: write it as 12.34 or 12.34 CNY (digits, '.', then a three-letter currency code)", fault.Clip(s, 40))
		}
		a.Currency = strings.ToUpper(rest)
		if a.Currency == "RMB" {
			a.Currency = "CNY"
		}
	}
	if num == "" {
		return Amount{}, fmt.Errorf("price %q has no amount", fault.Clip(s, 40))
	}
	whole, frac, dot := strings.Cut(num, ".")
	switch {
	case whole == "" || (dot && frac == ""):
		return Amount{}, fmt.Errorf("price %q: write the amount with digits on both sides of the '.', like 0.50", fault.Clip(s, 40))
	case strings.Contains(frac, "."):
		return Amount{}, fmt.Errorf("price %q has more than one '.'", fault.Clip(s, 40))
	case len(frac) > maxDecimals:
		return Amount{}, fmt.Errorf("price %q has more than %d decimals", fault.Clip(s, 40), maxDecimals)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole)+len(frac) > maxDigits {
		return Amount{}, fmt.Errorf("price %q is too large", fault.Clip(s, 40))
	}
	for _, c := range whole + frac {
		a.Units = a.Units*10 + int64(c-'0')
	}
	a.Scale = len(frac)
	return a, nil
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// Rate is how many yuan one unit of a foreign currency is worth, as an
// exact fraction Num/Den (7.2315 is 72315/10000).
type Rate struct {
	Num int64 `json:"num" bson:"num"`
	Den int64 `json:"den" bson:"den"`
}

// ParseRate reads a rate written as a decimal number of yuan per unit,
// like "7.2315" or "0.0482"; it must be positive.
func ParseRate(s string) (Rate, error) {
	a, err := ParseAmount(s)
	if err != nil || a.Currency != "" {
		return Rate{}, fmt.Errorf("rate %q: write yuan per unit as a decimal number, like 7.2315", fault.Clip(s, 40))
	}
	if a.Units == 0 {
		return Rate{}, fmt.Errorf("rate %q must be more than zero", fault.Clip(s, 40))
	}
	den := int64(1)
	for range a.Scale {
		den *= 10
	}
	return Rate{Num: a.Units, Den: den}, nil
}

// String writes the rate back as a decimal (exact: Den is a power of ten
// for rates ParseRate made; others are written as a fraction).
func (r Rate) String() string {
	if r.Den <= 0 {
		return ""
	}
	scale, d := 0, r.Den
	for d%10 == 0 {
		d /= 10
		scale++
	}
	if d != 1 {
		return fmt.Sprintf("%d/%d", r.Num, r.Den)
	}
	s := fmt.Sprintf("%0*d", scale+1, r.Num)
	if scale == 0 {
		return s
	}
	return s[:len(s)-scale] + "." + s[len(s)-scale:]
}

// Prices turns amounts into fen: CNY as is (at most two decimals), other
// currencies through the shop's rates, and amounts without a currency in
// Default. A currency is never guessed: an amount that names none, without
// a Default, is refused.
type Prices struct {
	Default string          // currency of amounts that name none; "" when not known
	Rates   map[string]Rate // yuan per unit, by currency code
}

// Fen converts a parsed amount to fen. A currency without a rate is refused
// with a message that says how to fix it. Foreign amounts are rounded half
// up to the fen.
func (p Prices) Fen(a Amount) (int64, error) {
	cur := a.Currency
	if cur == "" {
		cur = p.Default
	}
	if cur == "" {
		return 0, fmt.Errorf("price %s names no currency and the store's currency is not known: set the currency in the PC store link", format(a))
	}
	var fen *big.Int
	if cur == "CNY" {
		if a.Scale > 2 {
			// Only decimals beyond the fen that are all zero are fine.
			div := pow10(a.Scale - 2)
			q, m := new(big.Int).QuoRem(big.NewInt(a.Units), div, new(big.Int))
			if m.Sign() != 0 {
				return 0, fmt.Errorf("price %s CNY has fractions of a fen", format(a))
			}
			fen = q
		} else {
			fen = new(big.Int).Mul(big.NewInt(a.Units), pow10(2-a.Scale))
		}
	} else {
		r, ok := p.Rates[cur]
		if !ok || r.Num <= 0 || r.Den <= 0 {
			return 0, fmt.Errorf("price is in %s, not CNY: set an exchange rate for %s in the PC store link to import it", cur, cur)
		}
		// fen = units / 10^scale * num / den * 100, rounded half up.
		num := new(big.Int).Mul(big.NewInt(a.Units), big.NewInt(r.Num))
		num.Mul(num, big.NewInt(100))
		den := new(big.Int).Mul(pow10(a.Scale), big.NewInt(r.Den))
		q, m := new(big.Int).QuoRem(num, den, new(big.Int))
		if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		fen = q
	}
	if !fen.IsInt64() || fen.Int64() > MaxPriceFen {
		return 0, fmt.Errorf("price %s %s is more than the ¥100,000,000 a product may cost", format(a), cur)
	}
	return fen.Int64(), nil
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

func format(a Amount) string {
	s := fmt.Sprintf("%0*d", a.Scale+1, a.Units)
	if a.Scale == 0 {
		return s
	}
	return s[:len(s)-a.Scale] + "." + s[len(s)-a.Scale:]
}

// ParsePrice parses s and converts it to fen in one step.
func (p Prices) ParsePrice(s string) (int64, error) {
	a, err := ParseAmount(s)
	if err != nil {
		return 0, err
	}
	return p.Fen(a)
}
