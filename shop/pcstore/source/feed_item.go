package source

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
		if g.group != "" {
			// A group's name is what its titles share; a lone variant's,
			// its title less its attributes ("Beanie — Charcoal, Size
			// One Size" is a "Beanie").
			it.Title = commonTitle(titles, g.recs)
		}
	}
	if g.extra > 0 {
		it.Err = itemErr("more than %d variants share item_group_id %q", MaxVariants, fault.Clip(g.group, 40))
		return it
	}
	if !grouped {
		price, original, stock, notes, err := g.offer(first)
		if err != nil {
			it.Err = err
			return it
		}
		it.Price, it.OriginalPrice, it.Stock, it.Notes = price, original, stock, append(it.Notes, notes...)
		it.Code = first.get("id") // a feed's id is its item's code, as a variant's is
		it.finish()
		return it
	}
	differ := differingAttributes(g.recs)
	seen := map[string]bool{}
	for _, r := range g.recs {
		id := r.get("id")
		name := variantName(r, differ, it.Title)
		if id == "" {
			it.Err = itemErr("a variant of item group %q has no id (%s)", fault.Clip(g.group, 40), r.ref)
			return it
		}
		if seen[id] {
			it.Notes = append(it.Notes, fmt.Sprintf("variant id %q listed twice; the second is ignored", fault.Clip(id, 40)))
			continue
		}
		seen[id] = true
		v := Variant{ExternalID: id, Name: name, Code: id}
		var notes []string
		v.Price, v.OriginalPrice, v.Stock, notes, v.Err = g.offer(r)
		it.Notes = append(it.Notes, notes...)
		it.Variants = append(it.Variants, v)
	}
	it.finish()
	return it
}

// offer reads a record's price (its sale price when on sale now, the
// regular price then being the crossed-out one) and stock.
func (g *grouper) offer(r *record) (price, original, stock int64, notes []string, err error) {
	raw := r.get("price")
	if raw == "" {
		return 0, 0, 0, nil, itemErr("no price")
	}
	price, err = g.opt.Prices.ParsePrice(raw)
	if err != nil {
		return 0, 0, 0, nil, itemErr("%v", err)
	}
	if sale := r.get("sale_price"); sale != "" {
		sp, serr := g.opt.Prices.ParsePrice(sale)
		switch {
		case serr != nil:
			notes = append(notes, fmt.Sprintf("sale price ignored: %v", serr))
		case !saleActive(r.get("sale_price_effective_date"), g.opt.now()):
		default:
			price, original = sp, price
		}
	}
	stock = g.opt.AssumedStock
	q, given, qerr := parseStock(firstOf(r.get("quantity"), r.get("sell_on_google_quantity")))
	if qerr != nil {
		return 0, 0, 0, nil, itemErr("%v", qerr)
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
	return price, original, stock, notes, nil
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

// variantAttributes are the feed attributes that tell variants apart, in
// the order a variant's name lists them.
var variantAttributes = []string{"color", "size", "material", "pattern", "age_group", "gender", "size_type", "size_system"}

// differingAttributes are the variant attributes whose values are not the
// same in every record of the group: what a shopper chooses between.
func differingAttributes(recs []*record) []string {
	var out []string
	for _, f := range variantAttributes {
		first := Line(recs[0].get(f))
		for _, r := range recs[1:] {
			if Line(r.get(f)) != first {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// variantName names a variant by the attributes that differ within its
// group ("Blue / M"; what every variant shares, a material, a gender, is
// no choice), else by what its title adds to the product's, else "".
func variantName(r *record, differ []string, productTitle string) string {
	var parts []string
	for _, f := range differ {
		if v := Line(r.get(f)); v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " / ")
	}
	t := Line(r.get("title"))
	if rest := strings.TrimSpace(strings.TrimPrefix(t, productTitle)); rest != t {
		return strings.Trim(rest, titleSeparators)
	}
	return ""
}

// titleSeparators are what joins a product's name to a variant's words in
// a title ("Tea cup - Blue", "Jacket — Black, Size M").
const titleSeparators = " -–—|,/:;·"

// isSeparator says whether a word of a title only separates: "-", "—", "|".
func isSeparator(w string) bool { return strings.Trim(w, titleSeparators) == "" }

// commonTitle is the name the variants' titles share: the words they all
// start with ("Tea cup - Blue", "Tea cup - Red" give "Tea cup"), less a
// segment the shared words end in the middle of ("…, Size" of "…, Size M"
// and "…, Size L") and less trailing segments that are an attribute every
// variant shares ("— Charcoal" when all are charcoal), without dangling
// separators; or the first title when too little is shared.
func commonTitle(titles []string, recs []*record) string {
	words := strings.Fields(titles[0])
	n := len(words)
	whole := true // the shared words end where every title does or at a separator
	for _, t := range titles[1:] {
		w := strings.Fields(t)
		i := 0
		for i < n && i < len(w) && w[i] == words[i] {
			i++
		}
		n = i
	}
	for _, t := range titles {
		w := strings.Fields(t)
		if n < len(w) && !isSeparator(w[n]) && n > 0 && !isSeparator(words[n-1]) && !endsSegment(words[n-1]) {
			whole = false
		}
	}
	common := words[:n]
	if !whole {
		common = dropLastSegment(common)
	}
	var shared []string // attribute values every variant has
	differ := differingAttributes(recs)
	for _, f := range variantAttributes {
		if v := strings.ToLower(Line(recs[0].get(f))); v != "" && !slices.Contains(differ, f) {
			shared = append(shared, v)
		}
	}
	for len(common) > 0 {
		seg := strings.ToLower(lastSegment(common))
		if seg == "" || !slices.ContainsFunc(shared, func(v string) bool { return strings.HasSuffix(seg, v) }) {
			break
		}
		common = dropLastSegment(common)
	}
	name := strings.Trim(strings.Join(common, " "), titleSeparators)
	if len([]rune(name)) < 3 {
		return titles[0]
	}
	return name
}

// endsSegment says whether a word ends a title segment ("Black,").
func endsSegment(w string) bool {
	r, _ := utf8.DecodeLastRuneInString(w)
	return strings.ContainsRune(",;:|/—–·", r)
}

// segmentStart is where the last segment of words (trimmed) starts: after
// the last separator, 0 when there is none.
func segmentStart(w []string) int {
	i := len(w)
	for i > 0 && !isSeparator(w[i-1]) && (i == len(w) || !endsSegment(w[i-1])) {
		i--
	}
	return i
}

// lastSegment is the words after the last separator, joined; "" when
// there is no separator (the words are all one segment).
func lastSegment(words []string) string {
	w := trimSeparators(words)
	i := segmentStart(w)
	if i == 0 {
		return ""
	}
	return strings.Trim(strings.Join(w[i:], " "), titleSeparators)
}

// dropLastSegment removes the words after the last separator, and it;
// words without a separator are kept.
func dropLastSegment(words []string) []string {
	w := trimSeparators(words)
	i := segmentStart(w)
	if i == 0 {
		return w
	}
	return trimSeparators(w[:i])
}

// trimSeparators drops separator words at the end, and a separator
// stuck to the last word ("Black," gives "Black").
func trimSeparators(words []string) []string {
	for len(words) > 0 && isSeparator(words[len(words)-1]) {
		words = words[:len(words)-1]
	}
	if len(words) > 0 {
		last := words[len(words)-1]
		if t := strings.TrimRight(last, titleSeparators); t != last {
			words = append(words[:len(words)-1:len(words)-1], t)
		}
	}
	return words
}
