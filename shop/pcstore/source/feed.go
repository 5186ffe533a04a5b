package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

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
