package source

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"microshop/tenants/fault"
)

// A Taobao package's row as an Item: its id, prices and stock, its SKUs
// (skuProps with the property names of propAlias and input_custom_cpv) and
// its pictures (see taobao.go for the format).

// TaobaoItemURL is the address of item id on Taobao.
func TaobaoItemURL(id string) string { return "https://item.taobao.com/item.htm?id=" + id }

// item reads one row.
func (p *TaobaoPackage) item(cols taobaoColumns, rec []string) Item {
	it := Item{Title: cols.get(rec, "title"), Code: cols.get(rec, "outer_id")}
	id := strings.TrimSpace(cols.get(rec, "num_id"))
	switch {
	case isDigits(id) && strings.Trim(id, "0") != "":
		it.ExternalID = strings.TrimLeft(id, "0")
		it.URL = TaobaoItemURL(it.ExternalID)
	case it.Code != "":
		it.ExternalID = "outer:" + it.Code // never published: known by the merchant's code
	default:
		it.Err = itemErr("no item id: the row has neither a Taobao item id (num_id) nor a merchant code (outer_id)")
		it.finish()
		return it
	}
	it.Description = PlainText(cols.get(rec, "description"))
	prices := Prices{Default: "CNY"}
	price, err := prices.ParsePrice(cols.get(rec, "price"))
	if err != nil {
		it.Err = itemErr("%v", err)
	}
	it.Price = price
	stock, _, err := parseStock(cols.get(rec, "num"))
	if err != nil && it.Err == nil {
		it.Err = itemErr("%v", err)
	}
	it.Stock = stock
	if it.Err == nil {
		names := propertyNames(cols.get(rec, "propAlias"), cols.get(rec, "input_custom_cpv"))
		skus, unnamed, err := parseSKUProps(cols.get(rec, "skuProps"), names, prices)
		if err != nil {
			it.Err = itemErr("%v", err)
		}
		it.Variants = skus
		if unnamed > 0 {
			it.Notes = append(it.Notes, fmt.Sprintf("%d option value(s) are Taobao's standard values without a name in the package: named by their number", unnamed))
		}
	}
	p.readPictures(&it, cols.get(rec, "picture"))
	it.finish()
	return it
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != "" && len(s) <= 20
}

// taobaoProperties are the names of Taobao's common sales properties.
var taobaoProperties = map[string]string{
	"1627207": "颜色分类",
	"20509":   "尺码",
	"20549":   "鞋码",
}

// propertyNames reads the names of property values from propAlias and
// input_custom_cpv ("pid:vid:name;…"), by "pid:vid".
func propertyNames(lists ...string) map[string]string {
	out := map[string]string{}
	for _, l := range lists {
		for _, e := range strings.Split(l, ";") {
			parts := strings.SplitN(strings.TrimSpace(e), ":", 3)
			if len(parts) != 3 || len(out) >= 1000 {
				continue
			}
			if n := Line(parts[2]); n != "" {
				out[parts[0]+":"+parts[1]] = n
			}
		}
	}
	return out
}

// parseSKUProps reads skuProps: each SKU "price:quantity:code:pid:vid;"
// then "pid:vid;" per further property. It returns the SKUs and how many
// values had no name.
func parseSKUProps(s string, names map[string]string, prices Prices) ([]Variant, int, error) {
	var out []Variant
	var props []string
	unnamed := 0
	end := func() {
		if len(out) == 0 {
			return
		}
		v := &out[len(out)-1]
		v.ExternalID = strings.Join(props, ";")
		parts := make([]string, 0, len(props))
		for _, pv := range props {
			pid, vid, _ := strings.Cut(pv, ":")
			pname := taobaoProperties[pid]
			if pname == "" {
				pname = pid
			}
			vname := names[pv]
			if vname == "" {
				vname = vid
				unnamed++
			}
			parts = append(parts, pname+":"+vname)
		}
		v.Name = strings.Join(parts, ";")
		props = props[:0]
	}
	for _, tok := range strings.Split(s, ";") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		parts := strings.Split(tok, ":")
		switch {
		case len(parts) >= 5:
			end()
			if len(out) > 2*MaxVariants {
				return nil, 0, fmt.Errorf("more than %d SKUs", 2*MaxVariants)
			}
			n := len(parts)
			v := Variant{Code: strings.Join(parts[2:n-2], ":")}
			var err error
			if v.Price, err = prices.ParsePrice(parts[0]); err != nil {
				v.Err = err
			} else if v.Stock, _, err = parseStock(parts[1]); err != nil {
				v.Err = err
			}
			out = append(out, v)
			props = append(props, parts[n-2]+":"+parts[n-1])
		case len(parts) == 2 && len(out) > 0:
			if len(props) < 10 {
				props = append(props, tok)
			}
		default:
			return nil, 0, fmt.Errorf("skuProps: %q is neither price:quantity:code:property:value nor property:value", fault.Clip(tok, 40))
		}
	}
	end()
	return out, unnamed, nil
}

// readPictures reads the picture field into it: the package's own files as
// Pictures (main pictures in order, then the properties'), addresses of
// pictures not in the package as Images.
func (p *TaobaoPackage) readPictures(it *Item, field string) {
	type pic struct {
		name, url string
		kind, pos int
	}
	var pics []pic
	for _, e := range strings.Split(field, ";") {
		e = strings.TrimSpace(e)
		if e == "" || len(pics) >= 4*MaxImages {
			continue
		}
		left, u, _ := strings.Cut(e, "|")
		parts := strings.Split(left, ":")
		pc := pic{name: strings.TrimSpace(parts[0]), url: strings.TrimSpace(u), kind: 1}
		if len(parts) >= 3 {
			pc.kind, _ = strconv.Atoi(parts[1])
			pc.pos, _ = strconv.Atoi(parts[2])
		}
		if pc.name == "" && pc.url == "" {
			continue
		}
		pics = append(pics, pc)
	}
	slices.SortStableFunc(pics, func(a, b pic) int {
		if a.kind != b.kind {
			return a.kind - b.kind
		}
		return a.pos - b.pos
	})
	seen := map[string]bool{}
	missing := 0
	for _, pc := range pics {
		if len(it.Pictures)+len(it.Images) >= MaxImages {
			break
		}
		key := strings.ToLower(pc.name)
		if seen[key] && key != "" {
			continue
		}
		seen[key] = true
		if f, ok := p.pictures[key]; ok && key != "" {
			it.Pictures = append(it.Pictures, Picture{Name: path.Base(f.Name), Size: int64(f.UncompressedSize64), file: f})
			continue
		}
		if pc.url != "" {
			it.Images = append(it.Images, pc.url)
			continue
		}
		missing++
	}
	if missing > 0 {
		it.Notes = append(it.Notes, fmt.Sprintf("%d picture(s) named in the row are not in the package", missing))
	}
}
