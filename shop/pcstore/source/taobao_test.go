package source_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"microshop/shop/pcstore/feedgen"
	"microshop/shop/pcstore/source"
	"microshop/tenants/fault"
)

// scanTaobao reads every item of a package.
func scanTaobao(t *testing.T, data []byte) []source.Item {
	t.Helper()
	p, err := source.OpenTaobao(data)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var items []source.Item
	err = p.Scan(context.Background(), 0, source.Options{}, source.Visitor{Item: func(it source.Item) error {
		items = append(items, it)
		return nil
	}})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return items
}

func TestTaobaoPackage(t *testing.T) {
	for _, enc := range []struct {
		name string
		enc  feedgen.TaobaoEncoding
	}{{"utf16-tab", feedgen.UTF16Tab}, {"gbk-comma", feedgen.GBKComma}} {
		t.Run(enc.name, func(t *testing.T) {
			items := scanTaobao(t, feedgen.TaobaoSample(enc.enc, 0))
			if len(items) != 3 {
				t.Fatalf("%d items, want 3", len(items))
			}
			shirt, tea, bad := items[0], items[1], items[2]
			if shirt.Err != nil || tea.Err != nil {
				t.Fatalf("errors: %v / %v", shirt.Err, tea.Err)
			}
			want := source.Item{Ref: "line 4", ExternalID: "600123456789", Title: "纯棉短袖T恤",
				Description: "100%纯棉，透气舒适\n\n洗涤：30℃以下", URL: "https://item.taobao.com/item.htm?id=600123456789",
				Images: []string{}, Price: 5900, Stock: 22, Variants: []source.Variant{
					{ExternalID: "1627207:-1001;20509:28315", Name: "颜色分类:红色;尺码:M", Code: "TX-R-M", Price: 5900, Stock: 10},
					{ExternalID: "1627207:-1001;20509:28317", Name: "颜色分类:红色;尺码:XL", Code: "TX-R-XL", Price: 5900, Stock: 0},
					{ExternalID: "1627207:-1002;20509:28315", Name: "颜色分类:蓝色;尺码:M", Code: "TX-B-M", Price: 6950, Stock: 5},
					{ExternalID: "1627207:-1002;20509:28317", Name: "颜色分类:蓝色;尺码:XL", Code: "TX-B-XL", Price: 6950, Stock: 7},
				}}
			got := shirt
			got.Pictures = nil
			got.Code = "" // a product with SKUs keeps the code on the row; checked below
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("shirt\n got %+v\nwant %+v", got, want)
			}
			if shirt.Code != "TX-001" {
				t.Fatalf("code %q", shirt.Code)
			}
			colours := []string{}
			for _, p := range shirt.Pictures {
				b, err := p.Load()
				if err != nil {
					t.Fatal(err)
				}
				colours = append(colours, p.Name)
				if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) || int64(len(b)) != p.Size {
					t.Fatalf("picture %s: %d bytes, size %d", p.Name, len(b), p.Size)
				}
			}
			if strings.Join(colours, ",") != "a1b2c3d4e5f60001.tbi,a1b2c3d4e5f60002.tbi,a1b2c3d4e5f60003.tbi" {
				t.Fatalf("pictures %v", colours)
			}
			if tea.ExternalID != "600987654321" || tea.Title != "西湖龙井 明前特级 250g" || tea.Price != 26800 || tea.Stock != 30 ||
				tea.Code != "LJ-250" || len(tea.Variants) != 0 || len(tea.Pictures) != 1 || tea.Ref != "line 5" ||
				tea.Description != "产地\n\n杭州西湖\n\n• 明前采摘\n• 特级" {
				t.Fatalf("tea %+v", tea)
			}
			if bad.Err == nil || bad.Ref != "line 6" || !strings.Contains(bad.Err.Error(), "no title") {
				t.Fatalf("bad row %+v", bad)
			}
		})
	}
}

func TestTaobaoRows(t *testing.T) {
	row := func(cols map[string]string) source.Item {
		t.Helper()
		items := scanTaobao(t, feedgen.TaobaoPackage("x", feedgen.UTF16Tab, []feedgen.TaobaoItem{{Columns: cols}}))
		return items[0]
	}
	cases := []struct {
		name  string
		given map[string]string
		check func(source.Item) bool
	}{
		{"price with fractions of a fen", map[string]string{"title": "a", "price": "1.005", "num": "1", "num_id": "1"},
			func(it source.Item) bool {
				return it.Err != nil && strings.Contains(it.Err.Error(), "fractions of a fen")
			}},
		{"price 0 is not for sale", map[string]string{"title": "a", "price": "0.00", "num": "1", "num_id": "1"},
			func(it source.Item) bool { return source.NotForSale(it.Err) }},
		{"stock not a number", map[string]string{"title": "a", "price": "1", "num": "x", "num_id": "1"},
			func(it source.Item) bool { return it.Err != nil && strings.Contains(it.Err.Error(), "whole number") }},
		{"no id at all", map[string]string{"title": "a", "price": "1", "num": "1", "num_id": "0"},
			func(it source.Item) bool { return it.Err != nil && strings.Contains(it.Err.Error(), "no item id") }},
		{"unpublished item known by its code", map[string]string{"title": "a", "price": "1", "num": "1", "num_id": "0", "outer_id": "A-1"},
			func(it source.Item) bool { return it.Err == nil && it.ExternalID == "outer:A-1" && it.URL == "" }},
		{"bad skuProps", map[string]string{"title": "a", "price": "1", "num": "1", "num_id": "1", "skuProps": "1:2:3"},
			func(it source.Item) bool { return it.Err != nil && strings.Contains(it.Err.Error(), "skuProps") }},
		{"one bad SKU dropped", map[string]string{"title": "a", "price": "1", "num": "1", "num_id": "1",
			"skuProps": "1.00:5::1627207:28320;0:5::1627207:28340;"},
			func(it source.Item) bool {
				return it.Err == nil && len(it.Variants) == 1 && len(it.Dropped) == 1 && it.Variants[0].Name == "颜色分类:28320" && len(it.Notes) == 1
			}},
		{"picture not in the package, with an address", map[string]string{"title": "a", "price": "1", "num": "1", "num_id": "1",
			"picture": "abc:1:0:|https://img.alicdn.com/x.jpg;def:1:1:|;"},
			func(it source.Item) bool {
				return it.Err == nil && len(it.Images) == 1 && it.Images[0] == "https://img.alicdn.com/x.jpg" && len(it.Notes) == 1
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if it := row(tc.given); !tc.check(it) {
				t.Fatalf("got %+v (err %v)", it, it.Err)
			}
		})
	}
}

func TestTaobaoMalformed(t *testing.T) {
	zipOf := func(files map[string]string) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for n, c := range files {
			f, _ := zw.Create(n)
			_, _ = f.Write([]byte(c))
		}
		_ = zw.Close()
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("title,price\n"), "is not a zip file"},
		{"no csv", zipOf(map[string]string{"a/x.tbi": "x"}), "holds no .csv file"},
		{"not a taobao csv", zipOf(map[string]string{"a.csv": "version 1.00\nname,cost\nx,1\n"}), "has no title column"},
		{"no header", zipOf(map[string]string{"a.csv": "version 1.00\n"}), "has no header line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := source.OpenTaobao(tc.data)
			if err == nil {
				err = p.Scan(context.Background(), 0, source.Options{}, source.Visitor{Item: func(source.Item) error { return nil }})
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest || !strings.Contains(fe.Message, tc.want) {
				t.Fatalf("got %v, want a 400 with %q", err, tc.want)
			}
		})
	}
}
