package source_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"microshop/shop/pcstore/feedgen"
	"microshop/shop/pcstore/source"
	"microshop/tenants/fault"
)

// taobaoCSV is the CSV inside a package (the first file).
func taobaoCSV(t testing.TB, pkg []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

// FuzzTaobaoPackage feeds the Taobao package reader whole zips (asCSV
// false) and CSVs zipped beside a picture (asCSV true, so the mutations
// reach the CSV reader instead of failing the zip's checksums). Seeds: the
// sample package in both encodings.
func FuzzTaobaoPackage(f *testing.F) {
	for _, enc := range []feedgen.TaobaoEncoding{feedgen.UTF16Tab, feedgen.GBKComma} {
		pkg := feedgen.TaobaoSample(enc, 0)
		f.Add(pkg, false)
		f.Add(taobaoCSV(f, pkg), true)
	}
	f.Add([]byte("version 1.00\ntitle\tprice\tnum\tnum_id\tskuProps\tpicture\nx\t1\t1\t1\t1:1::1:1;2:2\tp:1:0:|;\n"), true)
	picture := feedgen.JPEG(4, 4, feedgen.Red)
	f.Fuzz(func(t *testing.T, data []byte, asCSV bool) {
		if asCSV {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			w, _ := zw.Create("pkg.csv")
			_, _ = w.Write(data)
			w, _ = zw.Create("pkg/p.tbi")
			_, _ = w.Write(picture)
			_ = zw.Close()
			data = b.Bytes()
		}
		var items []source.Item
		var err error
		inTime(t, func() {
			var p *source.TaobaoPackage
			p, err = source.OpenTaobao(data)
			if err != nil {
				return
			}
			err = p.Scan(context.Background(), 0, source.Options{}, source.Visitor{Item: func(it source.Item) error {
				items = append(items, it)
				for _, pic := range it.Pictures {
					if b, err := pic.Load(); err == nil && len(b) > source.MaxPictureBytes {
						t.Fatalf("picture of %d bytes", len(b))
					}
				}
				return nil
			}})
		})
		var fe *fault.Error
		if err != nil && (!errors.As(err, &fe) || fe.Status != 400 || fe.Message == "") {
			t.Fatalf("error %v is not a 400 with a message", err)
		}
		for _, it := range items {
			checkTaobaoItem(t, it)
			if len(it.Images)+len(it.Pictures) > source.MaxImages {
				t.Fatalf("%d images and %d pictures", len(it.Images), len(it.Pictures))
			}
		}
		if len(items) > len(data) {
			t.Fatalf("%d items from %d bytes", len(items), len(data))
		}
	})
}

// checkTaobaoItem fails t if an importable item breaks one of the
// catalog's rules.
func checkTaobaoItem(t *testing.T, it source.Item) {
	t.Helper()
	if it.Err != nil {
		if it.Err.Error() == "" {
			t.Fatalf("item error without a message: %+v", it)
		}
		return
	}
	switch {
	case strings.TrimSpace(it.ExternalID) == "" || len(it.ExternalID) > 200:
		t.Fatalf("bad id %q", it.ExternalID)
	case it.Title == "" || utf8.RuneCountInString(it.Title) > source.MaxTitle || !utf8.ValidString(it.Title):
		t.Fatalf("bad title %q", it.Title)
	case utf8.RuneCountInString(it.Description) > source.MaxDescription || !utf8.ValidString(it.Description):
		t.Fatalf("description of %d runes", utf8.RuneCountInString(it.Description))
	case it.Price <= 0 || it.Price > source.MaxPriceFen || it.Stock < 0 || it.Stock > source.MaxStock:
		t.Fatalf("price %d stock %d", it.Price, it.Stock)
	case len(it.Variants) > source.MaxVariants:
		t.Fatalf("%d variants", len(it.Variants))
	}
	names := map[string]bool{}
	for _, v := range it.Variants {
		if v.Name == "" || names[v.Name] || utf8.RuneCountInString(v.Name) > source.MaxVariantName || !utf8.ValidString(v.Name) ||
			v.Price <= 0 || v.Price > source.MaxPriceFen || v.Stock < 0 || v.Stock > source.MaxStock {
			t.Fatalf("variant %+v", v)
		}
		names[v.Name] = true
	}
}

// inTime fails t if fn does not return within a second.
func inTime(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the parser did not return within a second")
	}
}
