package source

import (
	"fmt"
	"strings"
	"time"

	"microshop/tenants/fault"
)

// grouper turns records into items: consecutive records with the same
// item_group_id become one product with a variant each.
type grouper struct {
	opt   Options
	emit  func(Item) error
	note  string // a note for the first item (how the file was decoded)
	group string
	recs  []*record
	extra int // records of the current group beyond MaxVariants+1
}

func (g *grouper) add(r *record) error {
	gid := r.get("item_group_id")
	if gid != "" && gid == g.group && len(g.recs) > 0 {
		if len(g.recs) > MaxVariants {
			g.extra++
			return nil
		}
		g.recs = append(g.recs, r)
		return nil
	}
	if err := g.flush(); err != nil {
		return err
	}
	g.group, g.recs = gid, append(g.recs[:0], r)
	return nil
}

func (g *grouper) fail(ref, msg string) error {
	if err := g.flush(); err != nil {
		return err
	}
	return g.emit(Item{Ref: ref, Err: itemErr("%s", msg)})
}

func (g *grouper) flush() error {
	if len(g.recs) == 0 {
		return nil
	}
	it := g.item()
	if g.note != "" {
		it.Notes = append(it.Notes, g.note)
		g.note = ""
	}
	g.recs, g.group, g.extra = g.recs[:0], "", 0
	return g.emit(it)
}

// item builds the product from the current group's records.
func (g *grouper) item() Item {
	first := g.recs[0]
	it := Item{Ref: first.ref, ExternalID: first.get("id")}
	grouped := g.group != "" && len(g.recs) > 1
	if g.group != "" {
		it.ExternalID = g.group // a lone variant keeps its group's id: more may come
	}
	titles := make([]string, 0, len(g.recs))
	for _, r := range g.recs {
		if t := Line(r.get("title")); t != "" {
			titles = append(titles, t)
		}
		if len(it.Images) < 4*MaxImages {
			it.Images = append(it.Images, r.fields["image_link"]...)
			it.Images = append(it.Images, r.fields["additional_image_link"]...)
		}
		if it.Description == "" {
			it.Description = PlainText(firstOf(r.get("description"), r.get("summary"), r.get("content")))
		}
		if it.URL == "" {
			it.URL = r.get("link")
		}
		if it.Category == "" {
			it.Category = CategoryFrom(r.get("product_type"))
		}
		if it.Category == "" {
			it.Category = CategoryFrom(r.get("google_product_category"))
		}
	}
	if len(titles) > 0 {
		it.Title = titles[0]
		if grouped {
			it.Title = commonTitle(titles)
		}
	}
	if g.extra > 0 {
		it.Err = itemErr("more than %d variants share item_group_id %q", MaxVariants, fault.Clip(g.group, 40))
		return it
	}
	if !grouped {
		price, stock, notes, err := g.offer(first)
		if err != nil {
			it.Err = err
			return it
		}
		it.Price, it.Stock, it.Notes = price, stock, append(it.Notes, notes...)
		it.finish()
		return it
	}
	seen := map[string]bool{}
	for _, r := range g.recs {
		id := r.get("id")
		name := variantName(r, it.Title)
		if id == "" {
			it.Err = itemErr("a variant of item group %q has no id (%s)", fault.Clip(g.group, 40), r.ref)
			return it
		}
		if seen[id] {
			it.Notes = append(it.Notes, fmt.Sprintf("variant id %q listed twice; the second is ignored", fault.Clip(id, 40)))
			continue
		}
		seen[id] = true
		price, stock, notes, err := g.offer(r)
		if err != nil {
			it.Err = itemErr("variant %q: %v", fault.Clip(id, 40), err)
			return it
		}
		it.Notes = append(it.Notes, notes...)
		it.Variants = append(it.Variants, Variant{ExternalID: id, Name: name, Price: price, Stock: stock})
	}
	it.finish()
	return it
}

// offer reads a record's price (its sale price when on sale now) and stock.
func (g *grouper) offer(r *record) (price, stock int64, notes []string, err error) {
	raw := r.get("price")
	if raw == "" {
		return 0, 0, nil, itemErr("no price")
	}
	price, err = g.opt.Prices.ParsePrice(raw)
	if err != nil {
		return 0, 0, nil, itemErr("%v", err)
	}
	if sale := r.get("sale_price"); sale != "" {
		sp, serr := g.opt.Prices.ParsePrice(sale)
		switch {
		case serr != nil:
			notes = append(notes, fmt.Sprintf("sale price ignored: %v", serr))
		case !saleActive(r.get("sale_price_effective_date"), g.opt.now()):
		default:
			price = sp
		}
	}
	stock = g.opt.AssumedStock
	q, given, qerr := parseStock(firstOf(r.get("quantity"), r.get("sell_on_google_quantity")))
	if qerr != nil {
		return 0, 0, nil, itemErr("%v", qerr)
	}
	if given {
		stock = q
	}
	switch strings.ReplaceAll(strings.ToLower(r.get("availability")), " ", "_") {
	case "out_of_stock", "outofstock", "sold_out":
		stock = 0
	case "", "in_stock", "instock", "preorder", "backorder", "limited_availability", "available_for_order":
	default:
		notes = append(notes, fmt.Sprintf("availability %q not understood; read as in stock", fault.Clip(r.get("availability"), 30)))
	}
	return price, stock, notes, nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// saleActive reads Google's sale_price_effective_date ("start/end" in ISO
// 8601); blank or unreadable dates mean the sale is on.
func saleActive(span string, now time.Time) bool {
	from, to, ok := strings.Cut(strings.TrimSpace(span), "/")
	if !ok {
		return true
	}
	start, err1 := parseISOTime(from)
	end, err2 := parseISOTime(to)
	if err1 != nil || err2 != nil {
		return true
	}
	return !now.Before(start) && now.Before(end)
}

func parseISOTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", s)
}

// variantName names a variant by its attributes ("Blue / M"), else by what
// its title adds to the product's, else "".
func variantName(r *record, productTitle string) string {
	var parts []string
	for _, f := range []string{"color", "size", "material", "pattern", "age_group", "gender"} {
		if v := Line(r.get(f)); v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " / ")
	}
	t := Line(r.get("title"))
	if rest := strings.TrimSpace(strings.TrimPrefix(t, productTitle)); rest != t {
		return strings.Trim(rest, " -–|,/:")
	}
	return ""
}

// commonTitle is the words the variants' titles share at their start
// ("Tea cup - Blue", "Tea cup - Red" give "Tea cup"), or the first title.
func commonTitle(titles []string) string {
	words := strings.Fields(titles[0])
	n := len(words)
	for _, t := range titles[1:] {
		w := strings.Fields(t)
		i := 0
		for i < n && i < len(w) && w[i] == words[i] {
			i++
		}
		n = i
	}
	common := strings.TrimRight(strings.Join(words[:n], " "), " -–|,/:")
	if len([]rune(common)) < 3 {
		return titles[0]
	}
	return common
}
