package pcstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"microshop/shop/pcstore"
	"microshop/shop/pcstore/feedgen"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// imageServer is a PC store's image host: each path serves a JPEG with an
// ETag (a 304 to a request that names it), counting full downloads.
type imageServer struct {
	*httptest.Server
	mu     sync.Mutex
	images map[string][]byte
	etags  map[string]int
	full   map[string]int
	asked  map[string]int
}

func newImageServer(t *testing.T) *imageServer {
	s := &imageServer{images: map[string][]byte{}, etags: map[string]int{}, full: map[string]int{}, asked: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		b, ok := s.images[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.asked[r.URL.Path]++
		etag := fmt.Sprintf(`"v%d"`, s.etags[r.URL.Path])
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.full[r.URL.Path]++
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// set serves data at path, as a new version.
func (s *imageServer) set(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images[path] = data
	s.etags[path]++
}

func (s *imageServer) downloads(path string) (full, asked int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full[path], s.asked[path]
}

// TestSyncCopiesImages: a sync copies each product image into the shop's
// image store once (two products showing one image: one copy), products
// reference the copies; a later sync asks the store with the ETag and
// stores nothing for an image that did not change, and copies again only
// the one that did, whose product then shows the new copy. A picture the
// image store refuses is left out, noted in the run.
func TestSyncCopiesImages(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		v := newEnv(t, e)
		s := v.replica(t, nil)
		images := newMemImages()
		s.SetImageStore(images)
		s.ImageRecheck = 0 // ask the store on every sync
		host := newImageServer(t)
		red, blue, green := feedgen.JPEG(8, 8, feedgen.Red), feedgen.JPEG(8, 8, feedgen.Blue), feedgen.JPEG(8, 8, feedgen.Green)
		host.set("/a.jpg", red)
		host.set("/b.jpg", blue)
		host.set("/bad.jpg", []byte("<html>not an image</html>"))
		shop := newFakeStore(t)
		shop.set("/meta.json", shopifyMeta("CNY"))
		shop.set("/products.json", []byte(`{"products":[
 {"id":1,"title":"Jasmine","handle":"j","images":[{"src":"`+host.URL+`/a.jpg"},{"src":"`+host.URL+`/b.jpg"},{"src":"`+host.URL+`/bad.jpg"}],
  "variants":[{"id":11,"title":"Default Title","price":"12.50","available":true}]},
 {"id":2,"title":"Oolong","handle":"o","images":[{"src":"`+host.URL+`/a.jpg"}],
  "variants":[{"id":21,"title":"Default Title","price":"30.00","available":true}]}]}`))
		if _, _, err := s.SaveLink(context.Background(), v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL}); err != nil {
			t.Fatal(err)
		}
		r := mustSync(t, s, v.tenant)
		if r.Counts.Created != 2 || len(r.Notes) != 1 || !slices.ContainsFunc(r.Notes, func(n string) bool { return len(n) > 0 && n[:len("image not copied")] == "image not copied" }) {
			t.Fatalf("first sync = %+v", r)
		}
		got := v.products(t)
		if im := got["Jasmine"].Images; !slices.Equal(im, []string{images.url(red), images.url(blue)}) {
			t.Fatalf("jasmine images = %v", im)
		}
		if im := got["Oolong"].Images; !slices.Equal(im, []string{images.url(red)}) {
			t.Fatalf("oolong images = %v", im)
		}
		if puts, n := images.counts(); puts != 2 || n != 2 {
			t.Fatalf("%d puts of %d images; want each image once", puts, n)
		}
		if full, _ := host.downloads("/a.jpg"); full != 1 {
			t.Fatalf("a.jpg downloaded %d times", full)
		}

		// Nothing changed: asked again, nothing stored, products unchanged.
		if r := mustSync(t, s, v.tenant); r.Counts.Unchanged != 2 {
			t.Fatalf("second sync = %+v", r.Counts)
		}
		if full, asked := host.downloads("/a.jpg"); full != 1 || asked != 2 {
			t.Fatalf("a.jpg: %d downloads of %d requests", full, asked)
		}
		if puts, _ := images.counts(); puts != 2 {
			t.Fatalf("%d puts after a sync with no change", puts)
		}

		// b.jpg changes: only it is copied again, and Jasmine shows the copy.
		host.set("/b.jpg", green)
		if r := mustSync(t, s, v.tenant); r.Counts.Updated != 1 || r.Counts.Unchanged != 1 {
			t.Fatalf("third sync = %+v", r.Counts)
		}
		if im := v.products(t)["Jasmine"].Images; !slices.Equal(im, []string{images.url(red), images.url(green)}) {
			t.Fatalf("jasmine images after the change = %v", im)
		}
		if puts, n := images.counts(); puts != 3 || n != 3 {
			t.Fatalf("%d puts of %d images after one changed", puts, n)
		}
		if full, _ := host.downloads("/a.jpg"); full != 1 {
			t.Fatalf("a.jpg downloaded %d times", full)
		}

		// Within ImageRecheck the copies are used without asking.
		s.ImageRecheck = pcstore.DefaultImageRecheck
		_, before := host.downloads("/a.jpg")
		mustSync(t, s, v.tenant)
		if _, after := host.downloads("/a.jpg"); after != before {
			t.Fatalf("a.jpg asked %d times within the recheck time", after-before)
		}
	})
}
