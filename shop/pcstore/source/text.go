package source

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits the catalog puts on what a product holds; longer text is cut here
// (with a note) rather than failing the item.
const (
	MaxTitle       = 120
	MaxDescription = 20000
	MaxCategory    = 32
	MaxImages      = 12
	MaxImageURL    = 1024
	MaxVariants    = 100
	MaxVariantName = 64
	MaxCode        = 64
	MaxStock       = 1_000_000_000
)

// maxHTMLInput bounds the HTML PlainText reads: a description beyond it is
// cut before sanitising.
const maxHTMLInput = 1 << 20

// skipped elements: their content is not text a shopper should see.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Template: true, atom.Noscript: true,
	atom.Iframe: true, atom.Object: true, atom.Svg: true, atom.Math: true, atom.Select: true, atom.Textarea: true,
}

// block elements end a line.
var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true, atom.Ol: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Tr: true, atom.Table: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Dd: true, atom.Dt: true,
	atom.Dl: true, atom.Figure: true, atom.Figcaption: true, atom.Address: true, atom.Main: true, atom.Nav: true,
}

// PlainText turns an HTML fragment (a product description from a PC store)
// into plain text: tags dropped, entities decoded, scripts and styles
// removed, block elements and <br> as line breaks, list items as "• ",
// runs of blanks collapsed, at most one empty line in a row. The storefront
// escapes text, so the result is safe to show as is. Input without tags
// (a feed's plain-text description) keeps its lines: its paragraphs and
// its lists ("- one", "- two") come out as they were, entities decoded and
// blanks tidied.
func PlainText(s string) string {
	if len(s) > maxHTMLInput {
		s = s[:maxHTMLInput]
	}
	if !hasMarkup(s) {
		return plainLines(s)
	}
	z := html.NewTokenizer(strings.NewReader(s))
	z.SetMaxBuf(maxHTMLInput + 4096)
	var b textBuilder
	skip := 0 // depth inside skipped elements
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a buffer overflow (the input is bounded, so not
			// in practice): what was read so far is the text.
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip > 0 {
				continue
			}
			if block[a] {
				b.newline(a == atom.P || a == atom.Table || a == atom.Ul || a == atom.Ol || (a >= atom.H1 && a <= atom.H6) || a == atom.Hr)
			}
			if a == atom.Li {
				b.text("• ")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip == 0 && block[a] {
				b.newline(a == atom.P || a == atom.Table || a == atom.Ul || a == atom.Ol || (a >= atom.H1 && a <= atom.H6))
			}
		}
	}
}

// hasMarkup says whether s holds an HTML tag or comment: a '<' followed
// by a letter, '/', '!' or '?'.
func hasMarkup(s string) bool {
	for i := strings.IndexByte(s, '<'); i >= 0 && i+1 < len(s); {
		c := s[i+1]
		if c == '/' || c == '!' || c == '?' || c|0x20 >= 'a' && c|0x20 <= 'z' {
			return true
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// plainLines tidies text without tags line by line: blanks within a line
// collapsed, a run of empty lines kept as one (a paragraph break).
func plainLines(s string) string {
	s = html.UnescapeString(s)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	var b textBuilder
	empty := false
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimFunc(line, func(r rune) bool { return r == '\u00a0' || unicode.IsSpace(r) || hidden(r) }) == "" {
			empty = true
			continue
		}
		b.newline(empty)
		empty = false
		b.text(line)
	}
	return b.String()
}

// textBuilder collects text with collapsed blanks and bounded empty lines.
type textBuilder struct {
	sb      strings.Builder
	pending int  // line breaks owed before the next text (0, 1 or 2)
	space   bool // a blank is owed before the next text on this line
	started bool
}

func (b *textBuilder) text(s string) {
	for _, r := range s {
		if r == '\u00a0' || unicode.IsSpace(r) {
			b.space = true
			continue
		}
		if hidden(r) {
			continue
		}
		if b.started {
			switch {
			case b.pending > 0:
				b.sb.WriteString(strings.Repeat("\n", b.pending))
			case b.space:
				b.sb.WriteByte(' ')
			}
		}
		b.pending, b.space, b.started = 0, false, true
		b.sb.WriteRune(r)
	}
}

// newline owes a line break, or an empty line for paragraph-like elements.
func (b *textBuilder) newline(paragraph bool) {
	if !b.started {
		return
	}
	want := 1
	if paragraph {
		want = 2
	}
	b.pending = max(b.pending, want)
	b.space = false
}

func (b *textBuilder) String() string { return b.sb.String() }

// Line cleans a one-line field (a title, a variant name, a category): HTML
// entities and tags removed, blanks and control characters collapsed to
// single spaces, bidirectional controls and bytes that are not UTF-8
// dropped.
func Line(s string) string {
	if strings.ContainsAny(s, "<&") {
		s = PlainText(s)
	}
	s = strings.Map(func(r rune) rune {
		if hidden(r) && !unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == '\u00a0' || unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// hidden reports a character imported text leaves out: control
// characters, bidirectional controls (which make a title read otherwise
// than it is stored) and bytes that are not UTF-8 (read as
// utf8.RuneError). Typed text with them is refused (fault.Text); a PC
// store's feed is cleaned instead, since the merchant cannot fix it here.
func hidden(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// Cut shortens s to at most n runes, ending with "…" when it was cut.
func Cut(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return strings.TrimSpace(s[:i]) + "…", true
}

// CategoryFrom picks a category out of a PC store's category path
// ("Home & Garden > Kitchen > Tableware" gives "Tableware"): the last
// segment, cut to the catalog's limit. A purely numeric value (a Google
// category id) gives "".
func CategoryFrom(path string) string {
	path = Line(path)
	if i := strings.LastIndexAny(path, ">/"); i >= 0 {
		path = strings.TrimSpace(path[i+1:])
	}
	if strings.Trim(path, "0123456789") == "" {
		return ""
	}
	c, _ := Cut(path, MaxCategory)
	return c
}
