// Package source reads product catalogs from PC (desktop web) stores:
// Shopify's public products.json, the WooCommerce REST API v3, and Google
// Merchant Center feeds (RSS 2.0 or Atom XML with the g: namespace, or
// tab-separated text), by URL or from a file.
//
// Every reader streams: XML is read token by token, TSV line by line, and
// JSON pages one product at a time, so a 50 MB feed is read in bounded
// memory. Each product comes out as an Item already in the micro-shop's
// terms (prices in fen, plain-text descriptions, cleaned image URLs), or
// with Err set saying why it cannot be imported; a bad item never stops
// the reading of the others. Only a broken transport or a document that
// cannot be parsed any further ends a scan.
//
// The package knows nothing of databases: pcstore applies the items.
package source

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"microshop/tenants/fault"
)

// Item is one product as a PC store lists it, in the micro-shop's terms.
type Item struct {
	// Ref says where the item is in the source ("item 12", "line 40",
	// "page 3 #7"), for messages; it is stable when the same document is
	// read again.
	Ref         string
	ExternalID  string
	Title       string
	Description string // plain text
	URL         string // the product's page on the PC store
	Images      []string
	// Pictures are images the source carries itself (a Taobao package's
	// files), after Images in the product's order; only a store that keeps
	// copies of images (pcstore's ImageStore) can import them.
	Pictures []Picture
	Category string
	Price    int64 // fen; with variants, the lowest price of those in stock (of all when none is)
	// OriginalPrice is the crossed-out price (划线价: Shopify's
	// compare_at_price, WooCommerce's regular price beside a sale price, a
	// feed's price beside its sale price), in fen; 0 when none is above
	// Price.
	OriginalPrice int64
	// Code is the merchant's code of a product without variants (its
	// sku, a feed's id); each variant has its own otherwise.
	Code     string
	Stock    int64
	Variants []Variant
	// Notes are what was changed to make the item fit (a title cut, an
	// image dropped); the item is still imported.
	Notes []string
	// Dropped are the variants that cannot be imported, each with why
	// ("variation 12: no price"); the item is imported with the others.
	Dropped []string
	// Err is why the item cannot be imported; the other fields may be
	// partly filled.
	Err error
}

// Variant is one option of a product (a size, a colour), a SKU in the
// micro-shop.
type Variant struct {
	ExternalID string
	Name       string
	// Code is the merchant's SKU code (Shopify's and WooCommerce's sku, a
	// feed's id), "" when the store gives none.
	Code          string
	Price         int64 // fen
	OriginalPrice int64 // fen, the crossed-out price; 0 for none
	Stock         int64
	// Err is why this variant cannot be imported; the item's other
	// variants still are (finish moves it to the item's Dropped).
	Err error
}

// Options are the shop's settings that reading needs.
type Options struct {
	Prices Prices
	// AssumedStock is the stock given to an item the source says is
	// available without saying how many (Shopify's storefront, feeds
	// without quantity).
	AssumedStock int64
	// Now decides whether a sale price's effective dates cover today.
	Now time.Time
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// ItemError is an item's failure as reported to the merchant.
type ItemError struct {
	Msg string
	// NotForSale says the store lists the product as something not to be
	// sold as it is (a price of 0, a type a plugin added): a product
	// imported from it before is taken off sale.
	NotForSale bool
}

func (e *ItemError) Error() string { return e.Msg }

func itemErr(format string, args ...any) error { return &ItemError{Msg: fmt.Sprintf(format, args...)} }

// notForSale is the error of an item that must not be on sale.
func notForSale(format string, args ...any) error {
	return &ItemError{Msg: fmt.Sprintf(format, args...), NotForSale: true}
}

// NotForSale says whether err is an item's that must not be on sale.
func NotForSale(err error) bool {
	var ie *ItemError
	return errors.As(err, &ie) && ie.NotForSale
}

// finish checks and trims an item to what the catalog accepts, noting what
// it changed; an item that cannot be fixed gets Err.
func (it *Item) finish() {
	it.Title = Line(it.Title)
	if it.Err != nil {
		return
	}
	it.Code, _ = Cut(Line(it.Code), MaxCode)
	it.ExternalID = strings.TrimSpace(it.ExternalID)
	switch {
	case it.ExternalID == "":
		it.Err = itemErr("no id: every product needs a unique id in the PC store")
		return
	case len(it.ExternalID) > 200:
		it.Err = itemErr("id is longer than 200 characters")
		return
	}
	if it.Title == "" {
		it.Err = itemErr("no title")
		return
	}
	if t, cut := Cut(it.Title, MaxTitle); cut {
		it.Title = t
		it.Notes = append(it.Notes, fmt.Sprintf("title cut to %d characters", MaxTitle))
	}
	if d, cut := Cut(it.Description, MaxDescription); cut {
		it.Description = d
		it.Notes = append(it.Notes, fmt.Sprintf("description cut to %d characters", MaxDescription))
	}
	it.Category = CategoryFrom(it.Category)
	it.Images = cleanImages(it.Images, &it.Notes)
	if it.URL != "" && !isHTTPURL(it.URL) {
		it.URL = ""
	}
	if len(it.Variants) > MaxVariants {
		it.Err = itemErr("%d variants; a product may have at most %d", len(it.Variants), MaxVariants)
		return
	}
	if len(it.Variants) > 0 {
		it.finishVariants()
		if it.Err != nil {
			return
		}
	} else {
		if err := checkStock(it.Stock); err != nil {
			it.Err = itemErr("%v", err)
			return
		}
		if it.Price <= 0 {
			it.Err = notForSale("price is 0: a product that costs nothing is not put on sale")
			return
		}
		it.OriginalPrice = originalAbove(it.OriginalPrice, it.Price)
	}
}

// finishVariants checks each variant: a bad one (no price, a price of 0, a
// stock that is not a count) is dropped and reported, the others kept;
// then the item's price is the lowest of the variants in stock (of all,
// when none is) and its stock their total.
func (it *Item) finishVariants() {
	kept := it.Variants[:0]
	names := map[string]bool{}
	for i, v := range it.Variants {
		v.Name = Line(v.Name)
		if v.Name == "" {
			v.Name = "Option " + strconv.Itoa(i+1)
		}
		v.Name, _ = Cut(v.Name, MaxVariantName)
		v.Code, _ = Cut(Line(v.Code), MaxCode)
		if v.Err == nil {
			if err := checkStock(v.Stock); err != nil {
				v.Err = err
			} else if v.Price <= 0 {
				v.Err = errors.New("price is 0: an option that costs nothing is not put on sale")
			}
		}
		if v.Err != nil {
			it.Dropped = append(it.Dropped, fmt.Sprintf("variant %s (%s): %v", fault.Clip(v.ExternalID, 30), fault.Clip(v.Name, 40), v.Err))
			continue
		}
		if names[v.Name] {
			// Two options with one name: number the later ones, the
			// base cut so the number always fits.
			base, _ := Cut(v.Name, MaxVariantName-8)
			for n := 2; names[v.Name]; n++ {
				v.Name = fmt.Sprintf("%s (%d)", base, n)
			}
		}
		names[v.Name] = true
		v.OriginalPrice = originalAbove(v.OriginalPrice, v.Price)
		kept = append(kept, v)
	}
	it.Variants = kept
	if len(kept) == 0 {
		it.Err = itemErr("none of its %d options can be imported: %s", len(it.Dropped), strings.Join(it.Dropped, "; "))
		return
	}
	it.Stock = 0
	best := -1
	for i, v := range kept {
		it.Stock += v.Stock
		switch {
		case best < 0:
			best = i
		case v.Stock > 0 && kept[best].Stock <= 0:
			best = i
		case (v.Stock > 0) == (kept[best].Stock > 0) && v.Price < kept[best].Price:
			best = i
		}
	}
	it.Price, it.OriginalPrice = kept[best].Price, kept[best].OriginalPrice
	if err := checkStock(it.Stock); err != nil {
		it.Err = itemErr("%v", err)
	}
}

// originalAbove is a crossed-out price worth showing beside price: itself
// when above it, else 0.
func originalAbove(original, price int64) int64 {
	if original > price && original <= MaxPriceFen {
		return original
	}
	return 0
}

func checkStock(n int64) error {
	switch {
	case n < 0:
		return fmt.Errorf("stock %d is negative", n)
	case n > MaxStock:
		return fmt.Errorf("stock %d is more than %d", n, MaxStock)
	}
	return nil
}

// parseStock reads a stock count; blank is "not given".
func parseStock(s string) (int64, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("stock %q is not a whole number", fault.Clip(s, 30))
	}
	if err := checkStock(n); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// cleanImages keeps the http(s) image URLs the catalog accepts, at most
// MaxImages, without duplicates, noting what it dropped.
func cleanImages(in []string, notes *[]string) []string {
	out := make([]string, 0, min(len(in), MaxImages))
	seen := map[string]bool{}
	dropped, extra := 0, 0
	for _, raw := range in {
		s := strings.TrimSpace(raw)
		if s == "" || seen[s] {
			continue
		}
		if strings.HasPrefix(s, "//") {
			s = "https:" + s // protocol-relative, as Shopify writes them
		}
		if len(s) > MaxImageURL || !isHTTPURL(s) || strings.ContainsAny(s, " \t\n\"'<>") {
			dropped++
			continue
		}
		if len(out) == MaxImages {
			extra++
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	if dropped > 0 {
		*notes = append(*notes, fmt.Sprintf("%d image URL(s) dropped: not http(s) or too long", dropped))
	}
	if extra > 0 {
		*notes = append(*notes, fmt.Sprintf("%d image(s) beyond the first %d dropped", extra, MaxImages))
	}
	return out
}
