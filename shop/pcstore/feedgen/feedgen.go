// Package feedgen writes Google Merchant Center feeds of any size, item by
// item, for tests and benchmarks: realistic sizes (an HTML description of
// about 600 bytes, one to three images), one product in four with three
// variants sharing an item_group_id. Reader streams one without holding it.
package feedgen

import (
	"bytes"
	"fmt"
	"io"
)

// Format is RSS (XML) or TSV.
type Format int

// The formats.
const (
	RSS Format = iota
	TSV
)

// Items is how many feed items (lines) n products make: a product with
// variants is three.
func Items(n int) int {
	return n + 2*((n+3)/4)
}

var categories = []string{"Tea", "Teaware", "Snacks", "Gifts", "Pantry", "Home", "Beauty", "Stationery"}

// Reader returns a reader of a feed of n products, generated as it is read.
// Prices are those of round (a later round changes one product in ten, so
// a re-import has updates to make).
func Reader(f Format, n, round int) io.Reader {
	return &reader{f: f, n: n, round: round}
}

type reader struct {
	f      Format
	n      int
	round  int
	i      int // next product
	buf    bytes.Buffer
	header bool // written
	done   bool
}

func (r *reader) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && !r.done {
		r.fill()
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	return r.buf.Read(p)
}

func (r *reader) fill() {
	switch {
	case !r.header && r.f == RSS:
		r.header = true
		r.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel><title>Generated store</title>` +
			"<link>https://store.example</link><description>feedgen</description>\n")
		return
	case !r.header:
		r.header = true
		r.buf.WriteString("id\ttitle\tdescription\tlink\timage_link\tadditional_image_link\tavailability\tprice\tsale_price\titem_group_id\tsize\tproduct_type\tquantity\n")
		return
	case r.i >= r.n:
		if r.f == RSS {
			r.buf.WriteString("</channel></rss>\n")
		}
		r.done = true
		return
	}
	i := r.i
	r.i++
	price := 100 + (i*7919)%99900
	if r.round > 0 && i%10 == 0 {
		price += 100 * r.round
	}
	cat := categories[i%len(categories)]
	desc := fmt.Sprintf("<p>Product %d is a fine thing to own, made with care &amp; shipped fast.</p>"+
		"<ul><li>Material: cotton and bamboo</li><li>Size: %d cm</li><li>Origin: Hangzhou</li></ul>"+
		"<p>这是一件很好的商品，品质可靠，发货迅速。适合送礼，也适合自用。</p>"+
		"<p>Care: wipe clean with a soft cloth; keep away from direct sunlight; do not soak.</p>", i, 10+i%90)
	images := fmt.Sprintf("https://img.store.example/p/%d/0.jpg", i)
	var extra string
	for j := 1; j <= i%3; j++ {
		if j > 1 {
			extra += ","
		}
		extra += fmt.Sprintf("https://img.store.example/p/%d/%d.jpg", i, j)
	}
	type variant struct {
		id, size string
		price    int
		qty      int
	}
	vs := []variant{{id: fmt.Sprintf("P%06d", i), price: price, qty: i % 200}}
	group := ""
	if i%4 == 0 {
		group = fmt.Sprintf("G%06d", i)
		vs = []variant{
			{fmt.Sprintf("P%06d-S", i), "S", price, 10},
			{fmt.Sprintf("P%06d-M", i), "M", price + 500, 20},
			{fmt.Sprintf("P%06d-L", i), "L", price + 1000, 0},
		}
	}
	for _, v := range vs {
		title := fmt.Sprintf("Generated product %06d · %s 精选好物", i, cat)
		if v.size != "" {
			title += " - " + v.size
		}
		avail := "in_stock"
		if v.qty == 0 {
			avail = "out_of_stock"
		}
		yuan := fmt.Sprintf("%d.%02d CNY", v.price/100, v.price%100)
		if r.f == RSS {
			fmt.Fprintf(&r.buf, "<item><g:id>%s</g:id><title>%s</title><description><![CDATA[%s]]></description>"+
				"<link>https://store.example/p/%d</link><g:image_link>%s</g:image_link>", v.id, title, desc, i, images)
			if extra != "" {
				for _, u := range bytes.Split([]byte(extra), []byte(",")) {
					fmt.Fprintf(&r.buf, "<g:additional_image_link>%s</g:additional_image_link>", u)
				}
			}
			fmt.Fprintf(&r.buf, "<g:availability>%s</g:availability><g:price>%s</g:price><g:quantity>%d</g:quantity>"+
				"<g:product_type>Home &gt; %s</g:product_type><g:condition>new</g:condition><g:brand>Generated</g:brand>", avail, yuan, v.qty, cat)
			if group != "" {
				fmt.Fprintf(&r.buf, "<g:item_group_id>%s</g:item_group_id><g:size>%s</g:size>", group, v.size)
			}
			r.buf.WriteString("</item>\n")
		} else {
			fmt.Fprintf(&r.buf, "%s\t%s\t%s\thttps://store.example/p/%d\t%s\t%s\t%s\t%s\t\t%s\t%s\tHome > %s\t%d\n",
				v.id, title, desc, i, images, extra, avail, yuan, group, v.size, cat, v.qty)
		}
	}
}
