package order

import (
	"strings"
	"unicode"
)

// Couriers. The console offers the couriers Chinese shops ship with by
// name in its language; a shipped order keeps the courier's English name
// (what the API answers, readable anywhere) and pages show the courier in
// their own language, from the catalog's courier.<code> (CarrierCode).
// A courier the list does not know is kept and shown as the merchant typed
// it.

// courier is one courier the console offers: its code (the catalog's
// courier.<code>), the English name orders keep, and other ways of writing
// it that name it too (its Chinese names, the console's earlier choices).
type courier struct {
	code, name string
	aliases    []string
}

// couriers are the couriers the console offers, in its order.
var couriers = []courier{
	{"sf", "SF Express", []string{"SF", "顺丰", "顺丰速运", "顺丰快递", "SF Express 顺丰"}},
	{"zto", "ZTO Express", []string{"ZTO", "中通", "中通快递", "ZTO 中通"}},
	{"yto", "YTO Express", []string{"YTO", "圆通", "圆通速递", "圆通快递", "YTO 圆通"}},
	{"yunda", "Yunda Express", []string{"Yunda", "韵达", "韵达快递", "韵达速递", "Yunda 韵达"}},
	{"sto", "STO Express", []string{"STO", "申通", "申通快递", "STO 申通"}},
	{"jd", "JD Logistics", []string{"JD", "京东", "京东物流", "京东快递", "JD Logistics 京东"}},
	{"ems", "China Post EMS", []string{"EMS", "邮政EMS", "中国邮政EMS", "EMS 邮政"}},
}

// courierKey is how a courier's name is compared: lower case, without
// spaces.
func courierKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// courierByKey finds a courier by any of its names (courierKey).
var courierByKey = func() map[string]courier {
	m := map[string]courier{}
	for _, c := range couriers {
		for _, n := range append([]string{c.code, c.name}, c.aliases...) {
			m[courierKey(n)] = c
		}
	}
	return m
}()

// CourierCodes are the codes of the couriers the console offers, in its
// order (the catalog names each: courier.<code>).
func CourierCodes() []string {
	out := make([]string, len(couriers))
	for i, c := range couriers {
		out[i] = c.code
	}
	return out
}

// CourierCode is the code of the courier carrier names, in any language
// or as the console once offered it ("顺丰速运", "SF Express",
// "SF Express 顺丰": "sf"); "" for a courier the list does not know.
func CourierCode(carrier string) string { return courierByKey[courierKey(carrier)].code }

// CourierName is what an order keeps of the courier the merchant named:
// a known courier's English name, else the text as typed (trimmed).
func CourierName(carrier string) string {
	if c, ok := courierByKey[courierKey(carrier)]; ok {
		return c.name
	}
	return strings.TrimSpace(carrier)
}

// CarrierCode is the code of the courier o was shipped with ("" for one
// the list does not know: pages show o.Carrier as it is).
func (o Order) CarrierCode() string { return CourierCode(o.Carrier) }
