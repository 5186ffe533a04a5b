package market

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"

	"microshop/shop/order"
)

// Sales counted for ranking (the published formula's "sales" term, and
// repeat buyers) are kept as orders are paid and refunded: the market is an
// order.Subscriber of every shop (server plugs it in), and each order paid
// while its shop is listed is one Sale in the platform database (a refund
// is recorded whatever the listing, so a sale counted earlier leaves). A search never counts anything: RefreshQuality (every minute)
// reads the last 90 days' sales once and counts them (countSales).
//
// Brushing is left out by these rules, published at /m/ranking:
//   - only paid orders count, never test-mode ones; an order refunded in
//     full no longer counts;
//   - buyers who share a delivery address or a phone number count as one
//     buyer (they are joined, also through one another);
//   - buyers joined to the shop's own staff (an order delivered to a phone
//     of the shop's staff: its shopping guides) do not count at all;
//   - a buyer counts once however many orders they pay.
//
// Addresses and phones are kept only as hashes salted with the shop's id,
// so nothing joins a shopper across shops.
type Sale struct {
	ID       string    `bson:"_id"` // the shop's id and the order's
	TenantID string    `bson:"tenant_id"`
	Buyer    string    // the shop's fan id ("" none)
	Address  string    // hash of the delivery address ("" none)
	Phone    string    // hash of the delivery phone ("" none)
	Products []string  // the order's products
	PaidAt   time.Time `bson:"paid_at"`
	Refunded bool      // refunded in full
	Staff    bool      // delivered to the shop's staff
}

// SalesStore keeps the sales counted for ranking.
type SalesStore interface {
	// PutSale records a sale once: a sale recorded already keeps its
	// fields, except that Refunded, once true, stays true.
	PutSale(ctx context.Context, s Sale) error
	// SalesSince lists the sales paid at or after since.
	SalesSince(ctx context.Context, since time.Time) ([]Sale, error)
	// DeleteSalesBefore forgets the sales paid before t.
	DeleteSalesBefore(ctx context.Context, t time.Time) (int64, error)
}

// StaffCheck says whether a phone number is one of the shop's staff's
// (server plugs in the shop's shopping guides). phone is normalized
// (NormalizePhone); compare it with the staff's phones normalized alike.
type StaffCheck interface {
	StaffPhone(ctx context.Context, tenantID, phone string) (bool, error)
}

// SetStaff plugs the shop's staff in (nil: no order is a staff order).
func (s *Service) SetStaff(c StaffCheck) { s.staff = c }

const (
	// salesDays is the window of the sales term; repeatDays of repeat buyers.
	salesDays  = 30
	repeatDays = 90
	// fullSales is the number of distinct buyers in salesDays at which the
	// sales term is full (log scale: every tenfold adds a third).
	fullSales = 1000
	// minRepeatBase is how many buyers a shop needs before its share of
	// repeat buyers counts (one buyer buying twice is not 100%).
	minRepeatBase = 10
)

// OrderEvent implements order.Subscriber: a paid order is a sale, a
// refund that leaves nothing paid takes it out. Idempotent.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if o.Test || (ev.Type != order.EventPaid && ev.Type != order.EventRefunded) {
		return nil
	}
	refunded := o.Status == order.Refunded || (o.Paid > 0 && o.Refunded >= o.Paid)
	if ev.Type == order.EventRefunded && !refunded {
		return nil // a partial refund: still a sale
	}
	if ev.Type == order.EventPaid && !refunded {
		// Only a listed shop's sales are counted (from its listing on):
		// the others' payments cost no write to the platform database.
		s.mu.RLock()
		sh := s.listed[tenantID]
		s.mu.RUnlock()
		if !sh.Listed {
			return nil
		}
	}
	sale := Sale{ID: tenantID + "/" + o.ID, TenantID: tenantID, Buyer: o.FanID, Refunded: refunded,
		Address: salted(tenantID, "address", normalizeAddress(o.Address)), Phone: salted(tenantID, "phone", NormalizePhone(o.Address.Phone))}
	seen := map[string]bool{}
	for _, l := range o.Lines {
		if !seen[l.ProductID] {
			seen[l.ProductID] = true
			sale.Products = append(sale.Products, l.ProductID)
		}
	}
	sale.PaidAt = ev.At.UTC().Truncate(time.Millisecond)
	if o.PaidAt != nil {
		sale.PaidAt = o.PaidAt.UTC().Truncate(time.Millisecond)
	}
	if phone := NormalizePhone(o.Address.Phone); s.staff != nil && phone != "" {
		staff, err := s.staff.StaffPhone(ctx, tenantID, phone)
		if err != nil {
			return err
		}
		sale.Staff = staff
	}
	return s.store.PutSale(ctx, sale)
}

// normalizeAddress folds width and case and drops spaces and punctuation,
// so "杭州市 西湖区 文三路1号" and "杭州市西湖区文三路１号" are one address.
func normalizeAddress(a order.Address) string {
	s := width.Fold.String(strings.ToLower(a.Province + a.City + a.District + a.Detail))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsPunct(r) {
			return -1
		}
		return r
	}, s)
}

// NormalizePhone keeps a phone's digits, without China's country code
// ("+86 139-0000-0001" is "13900000001").
func NormalizePhone(p string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, width.Fold.String(p))
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = d[2:]
	}
	return d
}

// salted is a hash of v salted with the shop's id and its kind; "" for "".
func salted(tenantID, kind, v string) string {
	if v == "" {
		return ""
	}
	h := sha256.Sum256([]byte(tenantID + "\x00" + kind + "\x00" + v))
	return hex.EncodeToString(h[:12])
}

// SalesFacts are a shop's sales as the formula counts them.
type SalesFacts struct {
	// Buyers are the distinct buyers of the last 30 days, brushing left
	// out, and ProductBuyers the same per product.
	Buyers        int
	ProductBuyers map[string]int
	// Repeat is the share of the last 90 days' buyers who paid on two
	// different days or more (0 below minRepeatBase buyers).
	Repeat float64
}

// countSales counts sales per shop by the rules above, as of now.
func countSales(sales []Sale, now time.Time) map[string]SalesFacts {
	byShop := map[string][]Sale{}
	for _, s := range sales {
		if !s.Refunded && now.Sub(s.PaidAt) <= repeatDays*24*time.Hour {
			byShop[s.TenantID] = append(byShop[s.TenantID], s)
		}
	}
	out := make(map[string]SalesFacts, len(byShop))
	for tenant, list := range byShop {
		// Join buyers through shared addresses and phones (union-find).
		parent := map[string]string{}
		var find func(string) string
		find = func(x string) string {
			p, ok := parent[x]
			if !ok || p == x {
				parent[x] = x
				return x
			}
			r := find(p)
			parent[x] = r
			return r
		}
		union := func(a, b string) {
			if ra, rb := find(a), find(b); ra != rb {
				parent[ra] = rb
			}
		}
		node := func(s Sale) string {
			if s.Buyer != "" {
				return "b:" + s.Buyer
			}
			return "o:" + s.ID // a buyer without a fan id is their order
		}
		for _, s := range list {
			n := node(s)
			find(n)
			if s.Address != "" {
				union(n, "a:"+s.Address)
			}
			if s.Phone != "" {
				union(n, "p:"+s.Phone)
			}
		}
		staff := map[string]bool{}
		for _, s := range list {
			if s.Staff {
				staff[find(node(s))] = true
			}
		}
		f := SalesFacts{ProductBuyers: map[string]int{}}
		buyers := map[string]bool{}
		products := map[string]map[string]bool{}
		days := map[string]map[string]bool{}
		for _, s := range list {
			who := find(node(s))
			if staff[who] {
				continue
			}
			if days[who] == nil {
				days[who] = map[string]bool{}
			}
			days[who][s.PaidAt.Format(time.DateOnly)] = true
			if now.Sub(s.PaidAt) > salesDays*24*time.Hour {
				continue
			}
			buyers[who] = true
			for _, p := range s.Products {
				if products[p] == nil {
					products[p] = map[string]bool{}
				}
				products[p][who] = true
			}
		}
		f.Buyers = len(buyers)
		for p, b := range products {
			f.ProductBuyers[p] = len(b)
		}
		if len(days) >= minRepeatBase {
			repeat := 0
			for _, d := range days {
				if len(d) >= 2 {
					repeat++
				}
			}
			f.Repeat = float64(repeat) / float64(len(days))
		}
		out[tenant] = f
	}
	return out
}

// salesFactor is the sales term from distinct buyers: log scale, full at
// fullSales.
func salesFactor(buyers int) float64 {
	if buyers <= 0 {
		return 0
	}
	return clamp(math.Log10(1+float64(buyers)) / math.Log10(1+fullSales))
}

// withSales adds the sales counted to the shops' factors: each shop's
// buyers and its products' (the sales term), and its repeat buyers where
// the quality source gave none. A shop the source did not name starts
// neutral.
func withSales(factors map[string]ShopFactors, sales map[string]SalesFacts) map[string]ShopFactors {
	out := make(map[string]ShopFactors, len(factors)+len(sales))
	for id, f := range factors {
		out[id] = f
	}
	for id, sf := range sales {
		f, ok := out[id]
		if !ok {
			f = NeutralFactors
		}
		f.Buyers, f.ProductBuyers = sf.Buyers, sf.ProductBuyers
		if f.RepeatBuyers == 0 {
			f.RepeatBuyers = sf.Repeat
		}
		out[id] = f
	}
	return out
}

// refreshSales reads the last repeatDays of sales and counts them.
func (s *Service) countRecentSales(ctx context.Context) (map[string]SalesFacts, error) {
	now := s.clock()
	sales, err := s.store.SalesSince(ctx, now.Add(-repeatDays*24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	return countSales(sales, now), nil
}

// PruneSales forgets sales older than the formula looks (the market job).
func (s *Service) PruneSales(ctx context.Context) (int64, error) {
	return s.store.DeleteSalesBefore(ctx, s.clock().Add(-(repeatDays+1)*24*time.Hour))
}
