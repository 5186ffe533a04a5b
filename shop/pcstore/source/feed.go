package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Limits that keep a hostile or broken feed from using unbounded memory or
// time. A feed beyond them ends with an error saying which was hit.
const (
	// MaxFeedBytes bounds a feed after decompression.
	MaxFeedBytes = 512 << 20
	// maxToken bounds one XML token (an element's text, a tag) and one TSV
	// line.
	maxToken = 4 << 20
	// maxField bounds the text kept of one field.
	maxField = 1 << 20
	// maxDepth bounds XML nesting.
	maxDepth = 64
	// maxFields bounds the fields of one item, and maxValues the values of
	// one field (additional images).
	maxFields = 256
	maxValues = 32
)

// record is one feed item's fields by normalised name ("image_link"),
// before it becomes an Item.
type record struct {
	ref    string
	fields map[string][]string
}

// get returns the field's first value: the g: element, else the RSS or
// Atom element of that name (<title>, <link>, <description>).
func (r *record) get(name string) string {
	if v := r.fields[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	if v := r.fields[coreField+name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// coreField prefixes the names of XML elements outside the Google
// namespace, so an Atom <id> never shadows <g:id>.
const coreField = "~"

// googleNS is the namespace of Google's product attributes.
const googleNS = "http://base.google.com/ns/1.0"

func (r *record) add(name, value string) {
	if r.fields == nil {
		r.fields = map[string][]string{}
	}
	v := r.fields[name]
	if len(v) >= maxValues || (v == nil && len(r.fields) >= maxFields) {
		return
	}
	r.fields[name] = append(v, value)
}

// fieldName normalises a column or element name: lower case, no "g:"
// prefix, spaces as underscores ("Image Link" and "g:image_link" are the
// same field).
func fieldName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "g:")
	return strings.ReplaceAll(s, " ", "_")
}

// ParseFeed reads a Google Merchant Center feed: RSS 2.0 or Atom XML with
// the g: namespace, or tab-separated text with a header line, optionally
// gzip-compressed; the format is recognised from the content. It calls emit
// for every product in order (variants sharing an item_group_id, listed
// together, make one product) and stops at emit's first error. It returns an
// error only when the document cannot be read any further; items read
// before it have been emitted.
func ParseFeed(r io.Reader, opt Options, emit func(Item) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("feed looks gzip-compressed but is not: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(&limitReader{r: zr, n: MaxFeedBytes}, 64<<10)
	}
	g := &grouper{opt: opt, emit: emit}
	text, note, err := sniffText(br)
	if err != nil {
		return err
	}
	head, _ := text.Peek(512)
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '<' {
		err = parseXML(text, g)
	} else {
		g.note = note
		err = parseTSV(text, g)
	}
	if err != nil {
		// Items read whole before the break are good; a variant group may
		// have been cut short, and applying it would drop its missing
		// variants, so it is not emitted.
		if g.group == "" {
			if ferr := g.flush(); ferr != nil {
				return ferr
			}
		}
		return err
	}
	return g.flush()
}

// sniffText undoes a byte-order mark (UTF-8 or UTF-16, as spreadsheet
// programs write "Unicode text") and, for text that is not UTF-8, decodes
// GB18030 (what Chinese spreadsheet programs write). XML declares its own
// encoding, so only a BOM is handled for it.
func sniffText(br *bufio.Reader) (*bufio.Reader, string, error) {
	head, _ := br.Peek(4096)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
		return br, "", nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		dec := unicode.BOMOverride(unicode.UTF8.NewDecoder())
		return bufio.NewReaderSize(transform.NewReader(br, dec), 64<<10), "read as UTF-16", nil
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '<' {
		return br, "", nil
	}
	if !validUTF8Prefix(head) {
		return bufio.NewReaderSize(transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), 64<<10),
			"the file is not UTF-8: read as GB18030 (save it as UTF-8 to be sure)", nil
	}
	return br, "", nil
}

// validUTF8Prefix reports whether b is UTF-8, allowing a rune cut at the end.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 3 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// limitReader fails (instead of ending quietly) past n bytes.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("feed is larger than %d MB", MaxFeedBytes>>20)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// tokenGuard fails a read when more than max bytes pass without the XML
// decoder producing a token: the decoder buffers a whole token, so this
// bounds its memory.
type tokenGuard struct {
	r    io.Reader
	n    int
	max  int
	read int64
}

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.n > g.max {
		return 0, fmt.Errorf("an XML element or text is larger than %d MB", g.max>>20)
	}
	n, err := g.r.Read(p)
	g.n += n
	g.read += int64(n)
	return n, err
}

// parseXML reads RSS <item> or Atom <entry> elements token by token.
func parseXML(r io.Reader, g *grouper) error {
	guard := &tokenGuard{r: r, max: maxToken}
	d := xml.NewDecoder(guard)
	d.Strict = true
	d.Entity = xml.HTMLEntity // &nbsp; and friends appear in real feeds
	d.CharsetReader = charset.NewReaderLabel
	depth := 0
	root := ""
	var (
		rec        *record // the item being read
		itemDepth  int
		field      string // the item's child being read
		fieldDepth int
		text       strings.Builder
		n          int
	)
	for {
		guard.n = 0
		tok, err := d.Token()
		if err == io.EOF {
			if root == "" {
				return errors.New("the feed is empty")
			}
			if rec != nil || depth > 0 {
				return errors.New("the feed ends in the middle of an element (truncated?)")
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return fmt.Errorf("the feed is not well-formed XML at line %d: %s", se.Line, se.Msg)
			}
			return fmt.Errorf("read feed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return fmt.Errorf("the feed nests elements deeper than %d", maxDepth)
			}
			local := strings.ToLower(t.Name.Local)
			if root == "" {
				root = local
				switch root {
				case "rss", "feed", "rdf":
				case "html":
					return errors.New("this address serves a web page, not a product feed (RSS, Atom or TSV)")
				default:
					return fmt.Errorf("not an RSS or Atom product feed: the document is <%s>", clip(t.Name.Local, 40))
				}
			}
			switch {
			case rec == nil && (local == "item" || local == "entry"):
				n++
				rec = &record{ref: fmt.Sprintf("item %d", n)}
				itemDepth = depth
			case rec != nil && depth == itemDepth+1:
				field, fieldDepth = fieldName(t.Name.Local), depth
				if t.Name.Space != googleNS && t.Name.Space != "g" {
					field = coreField + field
				}
				text.Reset()
				if field == coreField+"link" { // Atom: <link href="..." rel="alternate"/>
					for _, a := range t.Attr {
						if a.Name.Local == "href" {
							text.WriteString(a.Value)
						}
					}
				}
			}
		case xml.CharData:
			if rec != nil && field != "" && depth == fieldDepth && text.Len() < maxField {
				text.Write(t[:min(len(t), maxField-text.Len())])
			}
		case xml.EndElement:
			if rec != nil && field != "" && depth == fieldDepth {
				rec.add(field, text.String())
				field = ""
			}
			if rec != nil && depth == itemDepth {
				if err := g.add(rec); err != nil {
					return err
				}
				rec = nil
			}
			depth--
		}
	}
}

// parseTSV reads tab-separated lines: a header naming the columns, then one
// product (or variant) per line. A field may be quoted ("...") to hold tabs
// or line breaks, with "" for a quote.
func parseTSV(r *bufio.Reader, g *grouper) error {
	t := &tsvReader{r: r}
	var header []string
	for {
		fields, err := t.record()
		if err == io.EOF {
			if header == nil {
				return errors.New("the feed is empty")
			}
			return nil
		}
		if errors.Is(err, errLineTooLong) {
			if header == nil {
				return fmt.Errorf("line %d (the header) is longer than %d MB", t.line, maxToken>>20)
			}
			if err := g.fail(fmt.Sprintf("line %d", t.startLine), fmt.Sprintf("line is longer than %d MB", maxToken>>20)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read feed line %d: %w", t.line, err)
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		if header == nil {
			header = make([]string, len(fields))
			hasID := false
			for i, f := range fields {
				header[i] = fieldName(f)
				hasID = hasID || header[i] == "id"
			}
			if !hasID {
				return fmt.Errorf("the first line must name the columns, tab-separated, including id (found %q): is this a TSV product feed?",
					clip(strings.Join(fields, " | "), 80))
			}
			continue
		}
		rec := &record{ref: fmt.Sprintf("line %d", t.startLine)}
		for i, v := range fields {
			if i >= len(header) || header[i] == "" {
				continue
			}
			if header[i] == "additional_image_link" {
				for _, u := range strings.Split(v, ",") {
					rec.add(header[i], u)
				}
				continue
			}
			rec.add(header[i], v)
		}
		if err := g.add(rec); err != nil {
			return err
		}
	}
}

var errLineTooLong = errors.New("line too long")

// tsvReader reads records from tab-separated text, one byte at a time
// through a buffer, so no line is held beyond maxToken.
type tsvReader struct {
	r         *bufio.Reader
	line      int // lines read so far
	startLine int // line where the last record started
}

func (t *tsvReader) record() ([]string, error) {
	var fields []string
	var cur []byte
	size := 0
	quoted, atStart, afterQuote := false, true, false
	t.line++
	t.startLine = t.line
	tooLong := false
	for {
		c, err := t.r.ReadByte()
		if err == io.EOF {
			if size == 0 && fields == nil && !quoted {
				return nil, io.EOF
			}
			if tooLong {
				return nil, errLineTooLong
			}
			return append(fields, string(cur)), nil
		}
		if err != nil {
			return nil, err
		}
		size++
		if size > maxToken {
			tooLong = true
			cur = cur[:0]
			if c != '\n' {
				continue
			}
			quoted = false // a runaway quote ends at the next line after the limit
		}
		switch {
		case quoted && c == '"':
			next, err := t.r.Peek(1)
			if err == nil && next[0] == '"' {
				_, _ = t.r.ReadByte()
				cur = append(cur, '"')
				continue
			}
			quoted, afterQuote = false, true
		case quoted:
			if c == '\n' {
				t.line++
			}
			cur = append(cur, c)
		case c == '"' && atStart:
			quoted = true
			atStart = false
		case c == '\t':
			fields = append(fields, string(cur))
			cur, atStart, afterQuote = cur[:0], true, false
		case c == '\n':
			if tooLong {
				return nil, errLineTooLong
			}
			s := string(cur)
			if !afterQuote {
				s = strings.TrimSuffix(s, "\r")
			}
			return append(fields, s), nil
		default:
			if afterQuote && c == '\r' {
				continue
			}
			cur = append(cur, c)
			atStart = false
		}
	}
}

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
		it.Err = itemErr("more than %d variants share item_group_id %q", MaxVariants, clip(g.group, 40))
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
			it.Err = itemErr("a variant of item group %q has no id (%s)", clip(g.group, 40), r.ref)
			return it
		}
		if seen[id] {
			it.Notes = append(it.Notes, fmt.Sprintf("variant id %q listed twice; the second is ignored", clip(id, 40)))
			continue
		}
		seen[id] = true
		price, stock, notes, err := g.offer(r)
		if err != nil {
			it.Err = itemErr("variant %q: %v", clip(id, 40), err)
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
		notes = append(notes, fmt.Sprintf("availability %q not understood; read as in stock", clip(r.get("availability"), 30)))
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
