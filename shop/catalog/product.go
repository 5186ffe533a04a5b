// Package catalog owns a shop's products and their SKUs: the types and their
// validation, the store on both engines, the merchant API and console pages,
// and the storefront pages consumers browse, served from an in-memory shelf
// so a page view does not query the database.
package catalog

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Product statuses.
const (
	OnSale  = "on_sale"
	OffSale = "off_sale"
)

// Limits on what a product may hold; inputs beyond them are a 400.
const (
	MaxTitle       = 120
	MaxDescription = 20000
	MaxImages      = 12
	MaxImageURL    = 1024
	MaxCategory    = 32
	MaxSKUs        = 100
	MaxSKUName     = 64
	MaxSKUCode     = 64
	MaxPrice       = 10_000_000_000 // 100 million yuan in fen
	MaxStock       = 1_000_000_000
)

// MaxCounted is as far as a product list counts its matches: counting every
// product of a large shop would read its whole collection on each page.
const MaxCounted = 10_000

// countLimit is MaxCounted, lowered by tests.
var countLimit int64 = MaxCounted

// hasMore reports whether products follow a page of n (of at most limit)
// starting at offset, in a list whose count was total: past a capped count,
// a full page may have more after it.
func hasMore(offset, n, limit int, total int64) bool {
	return int64(offset+n) < total || (total >= countLimit && n == limit)
}

// Product is one item in a shop's catalog. Money is int64 fen. In Mongo it
// is stored as it is, under the lower-cased field names (bson tags name the
// others); its SKUs are documents of their own.
type Product struct {
	ID          string `json:"id" bson:"_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Price       int64  `json:"price"`
	// OriginalPrice is the crossed-out price (划线价) shown beside Price
	// when above it; 0 for none. With SKUs, both are those of the SKU the
	// product is listed at.
	OriginalPrice int64 `json:"original_price" bson:"original_price"`
	// Code is the merchant's own code of a product without SKUs (the PC
	// store's sku; each SKU has its own otherwise): "" for none, searchable
	// in the console.
	Code     string   `json:"code" bson:"code"`
	Stock    int64    `json:"stock"`
	Images   []string `json:"images"`
	Category string   `json:"category"`
	Status   string   `json:"status"`
	SKUs     []SKU    `json:"skus" bson:"-"`
	// Translations are the product's words in other languages, by
	// language ("en"): shoppers reading the storefront in one see them
	// instead of Title, Description and Category where they are set.
	Translations map[string]ProductText `json:"translations,omitempty" bson:"translations,omitempty"`
	Rev          int64                  `json:"rev"`
	CreatedAt    time.Time              `json:"created_at" bson:"created_at"`
	UpdatedAt    time.Time              `json:"updated_at" bson:"updated_at"`

	// rowStock is the product record's own stock as stored: the stock of a
	// product without SKUs (Stock shows the SKUs' total otherwise).
	rowStock int64
}

// ProductText is a product's words in one language; an empty one is the
// product's own.
type ProductText struct {
	Title       string `json:"title,omitempty" bson:"title,omitempty"`
	Description string `json:"description,omitempty" bson:"description,omitempty"`
	Category    string `json:"category,omitempty" bson:"category,omitempty"`
}

// In is the product as a shopper reading lang sees it: its translation's
// words where it has them, its own elsewhere.
func (p Product) In(lang string) Product {
	tr, ok := p.Translations[lang]
	if !ok {
		return p
	}
	if tr.Title != "" {
		p.Title = tr.Title
	}
	if tr.Description != "" {
		p.Description = tr.Description
	}
	if tr.Category != "" {
		p.Category = tr.Category
	}
	return p
}

// stored finishes a product as a store read it, before its SKUs are
// attached: its own stock as stored, empty lists rather than none, times in
// UTC.
func (p *Product) stored() {
	p.rowStock = p.Stock
	p.SKUs = []SKU{}
	if p.Images == nil {
		p.Images = []string{}
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
}

// stockToStore is the product record's stock after a write of p: its own
// stock without SKUs, 0 with SKUs (each SKU holds its own).
func (p *Product) stockToStore() int64 {
	if len(p.SKUs) > 0 {
		return 0
	}
	return p.Stock
}

// SKU is one purchasable variant of a product, with its own price and stock.
type SKU struct {
	ID   string `json:"id" bson:"_id"`
	Name string `json:"name"`
	// Code is the merchant's own SKU code ("" for none): searchable in the
	// console, kept by PC-store syncs.
	Code          string `json:"code" bson:"code"`
	Price         int64  `json:"price"`
	OriginalPrice int64  `json:"original_price" bson:"original_price"` // crossed out when above Price; 0 for none
	Stock         int64  `json:"stock"`
}

// attach gives the product its SKUs from skus (by product id), if it has
// any.
func (p *Product) attach(skus map[string][]SKU) {
	if k := skus[p.ID]; k != nil {
		p.SKUs = k
		p.derive()
	}
}

// derive sets a product with SKUs to show its total SKU stock and the
// price (and crossed-out price) it can be bought at: the lowest among the
// SKUs in stock, or among all when none is, so a sold-out cheap option
// does not list the product at a price nobody can pay. Lists and the
// storefront need not know about SKUs.
func (p *Product) derive() {
	if len(p.SKUs) == 0 {
		return
	}
	best := -1
	p.Stock = 0
	for i, s := range p.SKUs {
		p.Stock += s.Stock
		switch {
		case best < 0:
			best = i
		case s.Stock > 0 && p.SKUs[best].Stock <= 0:
			best = i
		case (s.Stock > 0) == (p.SKUs[best].Stock > 0) && s.Price < p.SKUs[best].Price:
			best = i
		}
	}
	p.Price, p.OriginalPrice = p.SKUs[best].Price, p.SKUs[best].OriginalPrice
}

// ShowsOriginal says whether the product has a crossed-out price to show:
// one above its price.
func (p Product) ShowsOriginal() bool { return p.OriginalPrice > p.Price }

// ShowsOriginal says whether the SKU has a crossed-out price to show.
func (s SKU) ShowsOriginal() bool { return s.OriginalPrice > s.Price }

// Image returns the first image URL, or "".
func (p *Product) Image() string {
	if len(p.Images) == 0 {
		return ""
	}
	return p.Images[0]
}

// Input is a product as the API and console submit it; nil fields are left
// unchanged by a PATCH and take defaults on create.
type Input struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Price       *int64  `json:"price"`
	// OriginalPrice is the crossed-out price in fen (0 for none), shown
	// only when above the price.
	OriginalPrice *int64 `json:"original_price"`
	// Code is the product's own code (for a product without SKUs).
	Code     *string     `json:"code"`
	Stock    *int64      `json:"stock"`
	Images   *[]string   `json:"images"`
	Category *string     `json:"category"`
	Status   *string     `json:"status"`
	SKUs     *[]SKUInput `json:"skus"`
	// Translations replace the product's translations as a whole (an
	// empty object removes them all).
	Translations *map[string]ProductText `json:"translations"`
}

// SKUInput is a SKU as submitted: without an id it is new; with one it must
// be an existing SKU of the product.
type SKUInput struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Code          string `json:"code"`
	Price         int64  `json:"price"`
	OriginalPrice int64  `json:"original_price"`
	Stock         int64  `json:"stock"`
}

// apply validates in and writes it onto p. create requires a title and a
// price (unless SKUs carry the prices); newID mints SKU ids.
func (in Input) apply(p *Product, create bool, newID func() string) error {
	if in.Title != nil {
		t, err := fault.Text("title", *in.Title, MaxTitle)
		if err != nil {
			return err
		}
		if t == "" {
			return fault.Invalid("title", "must not be empty")
		}
		p.Title = t
	} else if create {
		return fault.Invalid("title", "is required")
	}
	if in.Description != nil {
		d, err := fault.MultilineText("description", *in.Description, MaxDescription)
		if err != nil {
			return err
		}
		p.Description = d
	}
	if in.Price != nil {
		if err := checkMoney("price", *in.Price); err != nil {
			return err
		}
		p.Price = *in.Price
	} else if create && (in.SKUs == nil || len(*in.SKUs) == 0) {
		return fault.Invalid("price", "is required (in fen: 1999 is ¥19.99)")
	}
	if in.OriginalPrice != nil {
		if err := checkMoney("original_price", *in.OriginalPrice); err != nil {
			return err
		}
		p.OriginalPrice = *in.OriginalPrice
	}
	if in.Code != nil {
		code, err := fault.Text("code", *in.Code, MaxSKUCode)
		if err != nil {
			return err
		}
		p.Code = code
	}
	if in.Stock != nil {
		if err := checkStock("stock", *in.Stock); err != nil {
			return err
		}
		p.Stock = *in.Stock
	}
	if in.Images != nil {
		imgs, err := cleanImages(*in.Images)
		if err != nil {
			return err
		}
		p.Images = imgs
	}
	if p.Images == nil {
		p.Images = []string{}
	}
	if in.Category != nil {
		cat, err := fault.Text("category", *in.Category, MaxCategory)
		if err != nil {
			return err
		}
		p.Category = cat
	}
	if in.Status != nil {
		if *in.Status != OnSale && *in.Status != OffSale {
			return fault.Invalid("status", "must be %q or %q", OnSale, OffSale)
		}
		p.Status = *in.Status
	} else if create {
		p.Status = OnSale
	}
	if in.Translations != nil {
		trs, err := cleanTranslations(*in.Translations)
		if err != nil {
			return err
		}
		p.Translations = trs
	}
	if in.SKUs != nil {
		skus, err := mergeSKUs(p.SKUs, *in.SKUs, newID)
		if err != nil {
			return err
		}
		p.SKUs = skus
	}
	if p.SKUs == nil {
		p.SKUs = []SKU{}
	}
	return nil
}

func checkMoney(field string, v int64) error {
	if v < 0 {
		return fault.Invalid(field, "must not be negative")
	}
	if v > MaxPrice {
		return fault.Invalid(field, "must be at most %d fen", int64(MaxPrice))
	}
	return nil
}

func checkStock(field string, v int64) error {
	if v < 0 {
		return fault.Invalid(field, "must not be negative")
	}
	if v > MaxStock {
		return fault.Invalid(field, "must be at most %d", MaxStock)
	}
	return nil
}

func cleanImages(in []string) ([]string, error) {
	if len(in) > MaxImages {
		return nil, fault.Invalid("images", "at most %d images", MaxImages)
	}
	out := make([]string, 0, len(in))
	for _, raw := range in {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if len(s) > MaxImageURL {
			return nil, fault.Invalid("images", "an image URL is longer than %d characters", MaxImageURL)
		}
		u, err := url.Parse(s)
		local := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")
		remote := err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
		if !local && !remote {
			return nil, fault.Invalid("images", "%q is not an http(s) URL or a path on this site", s)
		}
		out = append(out, s)
	}
	return out, nil
}

func mergeSKUs(old []SKU, in []SKUInput, newID func() string) ([]SKU, error) {
	if len(in) > MaxSKUs {
		return nil, fault.Invalid("skus", "at most %d SKUs", MaxSKUs)
	}
	existing := map[string]bool{}
	for _, s := range old {
		existing[s.ID] = true
	}
	names := map[string]bool{}
	ids := map[string]bool{}
	out := make([]SKU, 0, len(in))
	for i, s := range in {
		field := "skus[" + strconv.Itoa(i) + "]"
		name, err := fault.Text(field+".name", s.Name, MaxSKUName)
		switch {
		case err != nil:
			return nil, err
		case name == "":
			return nil, fault.Invalid(field+".name", "is required")
		case names[name]:
			return nil, fault.Invalid(field+".name", "%q is used twice", name)
		}
		names[name] = true
		if err := checkMoney(field+".price", s.Price); err != nil {
			return nil, err
		}
		if err := checkMoney(field+".original_price", s.OriginalPrice); err != nil {
			return nil, err
		}
		code, err := fault.Text(field+".code", s.Code, MaxSKUCode)
		if err != nil {
			return nil, err
		}
		if err := checkStock(field+".stock", s.Stock); err != nil {
			return nil, err
		}
		id := s.ID
		if id == "" {
			id = newID()
		} else if !existing[id] {
			return nil, fault.Invalid(field+".id", "%q is not a SKU of this product; omit id to add a new SKU", id)
		}
		if ids[id] {
			return nil, fault.Invalid(field+".id", "%q is used twice", id)
		}
		ids[id] = true
		out = append(out, SKU{ID: id, Name: name, Code: code, Price: s.Price, OriginalPrice: s.OriginalPrice, Stock: s.Stock})
	}
	return out, nil
}

// cleanTranslations checks each translation as the product's own words are
// checked; a language must be one the storefront speaks, and an empty
// translation is dropped.
func cleanTranslations(in map[string]ProductText) (map[string]ProductText, error) {
	out := map[string]ProductText{}
	for key, tr := range in {
		lang, ok := i18n.Supported(key)
		if !ok {
			return nil, fault.Invalid("translations", "%q is not a language the storefront speaks (zh-CN or en)", fault.Clip(key, 20))
		}
		field := "translations." + lang
		var err error
		if tr.Title, err = fault.Text(field+".title", tr.Title, MaxTitle); err != nil {
			return nil, err
		}
		if tr.Description, err = fault.MultilineText(field+".description", tr.Description, MaxDescription); err != nil {
			return nil, err
		}
		if tr.Category, err = fault.Text(field+".category", tr.Category, MaxCategory); err != nil {
			return nil, err
		}
		if tr != (ProductText{}) {
			out[lang] = tr
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
