package pcstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/jpeg"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/feedgen"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// memImages is an image store for pcstore's tests: it keeps JPEGs by the
// hash of their bytes (the same bytes are one image, as in shop/image) and
// refuses what is not one. The server's tests plug the real shop/image.
type memImages struct {
	mu   sync.Mutex
	puts int
	byID map[string][]byte
}

func newMemImages() *memImages { return &memImages{byID: map[string][]byte{}} }

func (m *memImages) PutImage(_ context.Context, tenantID string, data []byte) (string, error) {
	if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
		return "", fault.Invalid("image", "is not a JPEG or PNG image")
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:8])
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	m.byID[id] = data
	return "/s/shop/img/" + id, nil
}

// url is the address the store gives data.
func (m *memImages) url(data []byte) string {
	sum := sha256.Sum256(data)
	return "/s/shop/img/" + hex.EncodeToString(sum[:8])
}

func (m *memImages) counts() (puts, images int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts, len(m.byID)
}

func mustImport(t *testing.T, s *pcstore.Syncer, tenant string, pkg []byte) pcstore.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := s.ImportTaobao(ctx, tenant, "宝贝导出.zip", pkg)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if r, err = s.Wait(ctx, tenant, r.ID); err != nil || r.Status != pcstore.Succeeded {
		t.Fatalf("import run: %+v, %v", r, err)
	}
	return r
}

// TestTaobaoImport imports the sample package (Chinese titles, SKUs with
// their properties, pictures as real JPEGs): previewed, then imported with
// every field as the package has it, the pictures stored once each; a
// newer package updates the same products and SKUs (no duplicates), the
// same package again changes nothing; a malformed package is a 400.
func TestTaobaoImport(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		s := v.replica(t, nil)
		images := newMemImages()
		s.SetImageStore(images)
		red, blue, green := feedgen.JPEG(8, 8, feedgen.Red), feedgen.JPEG(8, 8, feedgen.Blue), feedgen.JPEG(8, 8, feedgen.Green)

		pkg := feedgen.TaobaoSample(feedgen.UTF16Tab, 0)
		p, err := s.PreviewTaobao(ctx, v.tenant, pkg)
		if err != nil {
			t.Fatal(err)
		}
		if p.Count != 3 || p.Importable != 2 || p.New != 2 || p.Existing != 0 || p.Pictures != 4 || p.ProblemCount != 1 ||
			p.Problems[0].Ref != "line 6" || !strings.Contains(p.Problems[0].Message, "no title") || len(p.Items) != 2 ||
			p.Items[0].Title != "纯棉短袖T恤" || p.Items[0].ItemID != "600123456789" || p.Items[0].Price != 5900 ||
			!slices.Equal(p.Items[0].SKUs, []string{"颜色分类:红色;尺码:M", "颜色分类:红色;尺码:XL", "颜色分类:蓝色;尺码:M", "颜色分类:蓝色;尺码:XL"}) {
			t.Fatalf("preview = %+v", p)
		}
		if got := v.products(t); len(got) != 0 {
			t.Fatalf("the preview imported %d products", len(got))
		}

		r := mustImport(t, s, v.tenant, pkg)
		if r.Counts.Created != 2 || r.Counts.Failed != 1 || r.Trigger != "taobao" || r.Spec.Type != "taobao" || r.Spec.UploadName != "宝贝导出.zip" {
			t.Fatalf("run = %+v", r)
		}
		errs, err := s.RunErrors(ctx, v.tenant, r.ID, 0, 10)
		if err != nil || len(errs) != 1 || errs[0].Ref != "line 6" {
			t.Fatalf("run errors = %+v, %v", errs, err)
		}
		got := v.products(t)
		shirt, tea := got["纯棉短袖T恤"], got["西湖龙井 明前特级 250g"]
		if shirt.Description != "100%纯棉，透气舒适\n\n洗涤：30℃以下" || shirt.Price != 5900 || shirt.Stock != 22 || shirt.Code != "TX-001" ||
			!slices.Equal(shirt.Images, []string{images.url(red), images.url(blue), images.url(green)}) || shirt.Status != catalog.OnSale {
			t.Fatalf("shirt = %+v", shirt)
		}
		type sku struct {
			name, code   string
			price, stock int64
		}
		var skus []sku
		for _, k := range shirt.SKUs {
			skus = append(skus, sku{k.Name, k.Code, k.Price, k.Stock})
		}
		want := []sku{{"颜色分类:红色;尺码:M", "TX-R-M", 5900, 10}, {"颜色分类:红色;尺码:XL", "TX-R-XL", 5900, 0},
			{"颜色分类:蓝色;尺码:M", "TX-B-M", 6950, 5}, {"颜色分类:蓝色;尺码:XL", "TX-B-XL", 6950, 7}}
		if !slices.Equal(skus, want) {
			t.Fatalf("shirt skus = %+v", skus)
		}
		if tea.Description != "产地\n\n杭州西湖\n\n• 明前采摘\n• 特级" || tea.Price != 26800 || tea.Stock != 30 || tea.Code != "LJ-250" ||
			len(tea.SKUs) != 0 || !slices.Equal(tea.Images, []string{images.url(green)}) {
			t.Fatalf("tea = %+v", tea)
		}
		if puts, n := images.counts(); n != 3 || puts != 4 {
			t.Fatalf("image store: %d puts, %d images; want 4 puts of 3 images", puts, n)
		}

		// A newer export: the same products and SKUs, updated.
		pkg1 := feedgen.TaobaoSample(feedgen.GBKComma, 1)
		if p, err := s.PreviewTaobao(ctx, v.tenant, pkg1); err != nil || p.Existing != 2 || p.New != 0 || !p.Items[0].Existing {
			t.Fatalf("second preview = %+v, %v", p, err)
		}
		if r := mustImport(t, s, v.tenant, pkg1); r.Counts.Updated != 2 || r.Counts.Created != 0 {
			t.Fatalf("re-import = %+v", r.Counts)
		}
		again := v.products(t)
		if len(again) != 2 {
			t.Fatalf("%d products after a re-import", len(again))
		}
		shirt1, tea1 := again["纯棉短袖T恤"], again["西湖龙井 明前特级 250g 礼盒"]
		if shirt1.ID != shirt.ID || tea1.ID != tea.ID || tea1.Stock != 25 {
			t.Fatalf("re-import made other products: %+v %+v", shirt1, tea1)
		}
		for i, k := range shirt1.SKUs {
			if k.ID != shirt.SKUs[i].ID {
				t.Fatalf("sku %d changed id", i)
			}
		}
		if k := shirt1.SKUs[3]; k.Price != 7200 || k.Stock != 3 || shirt1.Stock != 18 {
			t.Fatalf("blue XL = %+v, stock %d", k, shirt1.Stock)
		}
		if r := mustImport(t, s, v.tenant, pkg1); r.Counts.Unchanged != 2 {
			t.Fatalf("the same package again = %+v", r.Counts)
		}

		// A package that is not one: a 400 saying so, nothing started.
		_, err = s.ImportTaobao(ctx, v.tenant, "x.zip", []byte("not a zip"))
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest || !strings.Contains(fe.Message, "not a zip") {
			t.Fatalf("malformed package: %v", err)
		}
		if runs, _ := s.Runs(ctx, v.tenant, time.Time{}, 10); len(runs) != 3 {
			t.Fatalf("%d runs", len(runs))
		}
	})
}

// TestTaobaoImportConcurrent: imports of one package started at once on two
// replicas make each product once; the ones that find a run going are 409s.
func TestTaobaoImportConcurrent(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		replicas := []*pcstore.Syncer{v.replica(t, nil), v.replica(t, nil)}
		images := newMemImages()
		pkg := feedgen.TaobaoSample(feedgen.UTF16Tab, 0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ran, busy := 0, 0
		for i := range 8 {
			s := replicas[i%2]
			s.SetImageStore(images)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.ImportTaobao(ctx, v.tenant, "a.zip", pkg)
				if err == nil {
					r, err = s.Wait(ctx, v.tenant, r.ID)
				}
				mu.Lock()
				defer mu.Unlock()
				var fe *fault.Error
				switch {
				case err == nil && r.Status == pcstore.Succeeded:
					ran++
				case errors.As(err, &fe) && fe.Status == http.StatusConflict:
					busy++
				default:
					t.Errorf("import: %+v, %v", r, err)
				}
			}()
		}
		wg.Wait()
		if ran == 0 || ran+busy != 8 {
			t.Fatalf("%d ran, %d busy", ran, busy)
		}
		if got := v.products(t); len(got) != 2 {
			t.Fatalf("%d products, want 2", len(got))
		}
	})
}
