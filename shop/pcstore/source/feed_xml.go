package source

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

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
				return fmt.Errorf("the feed is not well-formed XML at line %d", se.Line)
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
					return errors.New("not an RSS or Atom product feed: the document's root element is neither <rss> nor <feed>")
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
