package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"microshop/tenants/fault"
)

// flexString is a JSON value stores write as a string or a number (ids,
// prices, quantities), or null; it keeps the text exactly (numbers are not
// turned into floats).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*f = flexString(b)
	default:
		return errors.New("expected a string or a number")
	}
	return nil
}

// eachElement walks a JSON array, element by element: fn decodes one with
// dec.Decode. The decoder must be positioned at the array's '['.
func eachElement(dec *json.Decoder, what string, fn func(i int) error) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%s: expected a JSON array, got %v", what, describeToken(tok))
	}
	for i := 0; dec.More(); i++ {
		if err := fn(i); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonErr(what, err)
	}
	return nil
}

// findKey moves dec into the top-level object to the value of key; found
// is false when the object has no such key.
func findKey(dec *json.Decoder, what, key string) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, jsonErr(what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return false, fmt.Errorf("%s: expected a JSON object, got %v", what, describeToken(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false, jsonErr(what, err)
		}
		if k, _ := tok.(string); k == key {
			return true, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false, jsonErr(what, err)
		}
	}
	return false, nil
}

func describeToken(tok any) string {
	switch t := tok.(type) {
	case json.Delim:
		return string(t)
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

func jsonErr(what string, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: the JSON ends too early (truncated?)", what)
	case errors.As(err, &syn):
		return fmt.Errorf("%s: malformed JSON at byte %d", what, syn.Offset)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// decodeEach decodes the JSON array's elements one at a time as T and
// passes each to emit; an element of the wrong shape goes to bad as an item
// error and the array goes on. It returns how many elements it read.
func decodeEach[T any](dec *json.Decoder, what string, emit func(T) error, bad func(Item) error) (int, error) {
	n := 0
	err := eachElement(dec, what, func(int) error {
		n++
		var v T
		if err := dec.Decode(&v); err != nil {
			it, ok := elementErr(err)
			if !ok {
				return jsonErr(what, err)
			}
			return bad(it)
		}
		return emit(v)
	})
	return n, err
}

// elementErr reports a product that could not be decoded: the array goes
// on (the decoder has consumed the element) unless the JSON is broken.
func elementErr(err error) (Item, bool) {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "product"
		}
		return Item{Err: itemErr("field %s has the wrong type (%s)", field, typ.Value)}, true
	}
	return Item{}, false
}

// shopifyProduct is one product of a products.json page.
type shopifyProduct struct {
	ID          flexString `json:"id"`
	Title       string     `json:"title"`
	Handle      string     `json:"handle"`
	BodyHTML    string     `json:"body_html"`
	ProductType string     `json:"product_type"`
	Variants    []struct {
		ID                flexString `json:"id"`
		Title             string     `json:"title"`
		SKU               string     `json:"sku"`
		Price             flexString `json:"price"`
		CompareAtPrice    flexString `json:"compare_at_price"`
		Available         *bool      `json:"available"`
		InventoryQuantity flexString `json:"inventory_quantity"`
	} `json:"variants"`
	Images []struct {
		Src string `json:"src"`
	} `json:"images"`
}

// ParseShopifyPage reads one page of a Shopify storefront's
// /products.json ({"products": [...]}) product by product, calling emit for
// each, and returns how many products the page held. base is the store's
// address, for product links.
func ParseShopifyPage(r io.Reader, base string, opt Options, emit func(Item) error) (int, error) {
	dec := json.NewDecoder(r)
	found, err := findKey(dec, "products.json", "products")
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, errors.New(`products.json: no "products" list: is this a Shopify store?`)
	}
	return decodeEach(dec, "products.json", func(p shopifyProduct) error { return emit(p.item(base, opt)) }, emit)
}

func (p shopifyProduct) item(base string, opt Options) Item {
	it := Item{ExternalID: string(p.ID), Title: p.Title, Description: PlainText(p.BodyHTML), Category: p.ProductType}
	if p.Handle != "" && base != "" {
		it.URL = strings.TrimRight(base, "/") + "/products/" + p.Handle
	}
	for _, im := range p.Images {
		it.Images = append(it.Images, im.Src)
	}
	if len(p.Variants) == 0 {
		it.Err = itemErr("no variants, so no price")
		return it
	}
	single := len(p.Variants) == 1 && (p.Variants[0].Title == "Default Title" || p.Variants[0].Title == "")
	for _, v := range p.Variants {
		vr := Variant{ExternalID: string(v.ID), Name: v.Title, Code: v.SKU}
		vr.Price, vr.OriginalPrice, vr.Stock, vr.Err = shopifyOffer(string(v.Price), string(v.CompareAtPrice), string(v.InventoryQuantity), v.Available, opt)
		if single {
			if vr.Err != nil {
				it.Err = itemErr("%v", vr.Err)
				return it
			}
			it.Price, it.OriginalPrice, it.Stock, it.Code = vr.Price, vr.OriginalPrice, vr.Stock, v.SKU
			break
		}
		it.Variants = append(it.Variants, vr)
	}
	it.finish()
	return it
}

// shopifyOffer reads a variant's price, compare-at price and stock.
func shopifyOffer(rawPrice, rawCompare, rawQty string, available *bool, opt Options) (price, original, stock int64, err error) {
	price, err = opt.Prices.ParsePrice(rawPrice)
	if err != nil {
		return 0, 0, 0, err
	}
	if strings.TrimSpace(rawCompare) != "" {
		// A compare-at price that cannot be read is no reason to refuse
		// the product: it is just not shown.
		original, _ = opt.Prices.ParsePrice(rawCompare)
	}
	stock = opt.AssumedStock
	if q := strings.TrimSpace(rawQty); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		switch {
		case err != nil:
			return 0, 0, 0, fmt.Errorf("inventory_quantity %q is not a whole number", fault.Clip(q, 20))
		case n > MaxStock:
			return 0, 0, 0, fmt.Errorf("stock %d is more than %d", n, MaxStock)
		}
		stock = max(0, n) // Shopify lets oversold quantities go negative
	}
	if available != nil && !*available {
		stock = 0
	}
	return price, original, stock, nil
}

// WooProduct is a product as the WooCommerce REST API v3 lists it.
type WooProduct struct {
	ID               flexString `json:"id"`
	Name             string     `json:"name"`
	Permalink        string     `json:"permalink"`
	Type             string     `json:"type"`
	Status           string     `json:"status"`
	Description      string     `json:"description"`
	ShortDescription string     `json:"short_description"`
	wooOffer
	Categories []struct {
		Name string `json:"name"`
	} `json:"categories"`
	Images []struct {
		Src string `json:"src"`
	} `json:"images"`
	Variations []flexString `json:"variations"`
}

// wooOffer is the price and stock part products and variations share.
type wooOffer struct {
	SKU           string     `json:"sku"`
	Price         flexString `json:"price"`
	RegularPrice  flexString `json:"regular_price"`
	SalePrice     flexString `json:"sale_price"`
	OnSale        bool       `json:"on_sale"`
	ManageStock   flexString `json:"manage_stock"` // true, false or "parent" on variations
	StockQuantity flexString `json:"stock_quantity"`
	StockStatus   string     `json:"stock_status"`
}

// WooVariation is one variation of a variable WooCommerce product.
type WooVariation struct {
	ID     flexString `json:"id"`
	Status string     `json:"status"`
	wooOffer
	Attributes []struct {
		Name   string `json:"name"`
		Option string `json:"option"`
	} `json:"attributes"`
	Image *struct {
		Src string `json:"src"`
	} `json:"image"`
}

// NeedsVariations says whether the product's options are listed separately.
func (p WooProduct) NeedsVariations() bool { return p.Type == "variable" && len(p.Variations) > 0 }

// ParseWooProducts reads one page of /wp-json/wc/v3/products (a JSON
// array) product by product, calling emit for each; a product that cannot
// be decoded is emitted as an Item error through bad.
func ParseWooProducts(r io.Reader, emit func(WooProduct) error, bad func(Item) error) (int, error) {
	return decodeEach(json.NewDecoder(r), "WooCommerce products", emit, bad)
}

// ParseWooVariations reads one page of /products/<id>/variations.
func ParseWooVariations(r io.Reader) ([]WooVariation, error) {
	dec := json.NewDecoder(r)
	var out []WooVariation
	err := eachElement(dec, "WooCommerce variations", func(i int) error {
		if i >= MaxVariants+1 {
			var skip json.RawMessage
			return dec.Decode(&skip)
		}
		var v WooVariation
		if err := dec.Decode(&v); err != nil {
			return jsonErr("WooCommerce variations", err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// Item maps the product (and its variations, for a variable one) to an Item.
func (p WooProduct) Item(opt Options, variations []WooVariation) Item {
	desc := p.Description
	if strings.TrimSpace(desc) == "" {
		desc = p.ShortDescription
	}
	it := Item{ExternalID: string(p.ID), Title: p.Name, Description: PlainText(desc), URL: p.Permalink}
	if len(p.Categories) > 0 {
		it.Category = p.Categories[0].Name
	}
	for _, im := range p.Images {
		it.Images = append(it.Images, im.Src)
	}
	switch p.Type {
	case "grouped":
		it.Err = itemErr("a WooCommerce grouped product is not imported (its member products are)")
		return it
	case "external":
		it.Err = itemErr("a WooCommerce external/affiliate product is sold elsewhere; not imported")
		return it
	case "variable":
		for _, v := range variations {
			if v.Status != "" && v.Status != "publish" {
				continue
			}
			var names []string
			for _, a := range v.Attributes {
				if a.Option != "" {
					names = append(names, a.Option)
				}
			}
			vr := Variant{ExternalID: string(v.ID), Name: strings.Join(names, " / "), Code: v.SKU}
			vr.Price, vr.OriginalPrice, vr.Stock, vr.Err = v.wooOffer.read(opt)
			if vr.Err == nil && v.Image != nil && v.Image.Src != "" {
				it.Images = append(it.Images, v.Image.Src)
			}
			it.Variants = append(it.Variants, vr)
		}
		if len(it.Variants) == 0 {
			it.Err = itemErr("a variable product without published variations has no price")
			return it
		}
	case "simple", "":
		price, original, stock, err := p.wooOffer.read(opt)
		if err != nil {
			it.Err = itemErr("%v", err)
			return it
		}
		it.Price, it.OriginalPrice, it.Stock, it.Code = price, original, stock, p.SKU
	default:
		// Plugins add types (booking, subscription, bundle, composite…)
		// whose price is not simply what a shopper pays for one unit.
		it.Err = notForSale("WooCommerce product type %q (added by a plugin) is not imported: its price and stock do not mean what a simple product's do", fault.Clip(p.Type, 40))
		return it
	}
	it.finish()
	return it
}

// read gives the current price (the sale price while a sale runs: Woo's
// "price"), the regular price as the crossed-out one, and the stock: the
// stock quantity wherever it is given (manage_stock true, "parent" on a
// variation whose product counts the stock, or missing), the assumed
// stock when the store does not count it.
func (o wooOffer) read(opt Options) (price, original, stock int64, err error) {
	raw := string(o.Price)
	if raw == "" {
		raw = string(o.RegularPrice)
		if o.OnSale && o.SalePrice != "" {
			raw = string(o.SalePrice)
		}
	}
	if raw == "" {
		return 0, 0, 0, errors.New("no price")
	}
	price, err = opt.Prices.ParsePrice(raw)
	if err != nil {
		return 0, 0, 0, err
	}
	if reg := strings.TrimSpace(string(o.RegularPrice)); reg != "" {
		original, _ = opt.Prices.ParsePrice(reg) // shown only when above the price
	}
	stock = opt.AssumedStock
	if o.ManageStock != "false" && o.StockQuantity != "" {
		q, err := strconv.ParseInt(string(o.StockQuantity), 10, 64)
		switch {
		case err != nil:
			return 0, 0, 0, fmt.Errorf("stock_quantity %q is not a whole number", fault.Clip(string(o.StockQuantity), 20))
		case q < 0:
			q = 0 // backordered
		case q > MaxStock:
			return 0, 0, 0, fmt.Errorf("stock %d is more than %d", q, MaxStock)
		}
		stock = q
	}
	if o.StockStatus == "outofstock" {
		stock = 0
	}
	return price, original, stock, nil
}
