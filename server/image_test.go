package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	stdimage "image"
	_ "image/jpeg"
	_ "image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"microshop/shop/image"
	"microshop/shop/image/imagetest"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// multipartBody is a multipart/form-data body: fields, then data as the
// file field named file (none when data is nil).
func multipartBody(t testing.TB, file string, data []byte, fields map[string]string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if data != nil {
		fw, err := w.CreateFormFile(file, "photo.bin")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

// uploadImage posts data as the field file to path and decodes a 201.
func (c *client) uploadImage(path string, data []byte) (int, image.Answer) {
	c.t.Helper()
	body, ct := multipartBody(c.t, "file", data, nil)
	status, b := c.do(http.MethodPost, path, body, ct)
	var out image.Answer
	if status == http.StatusCreated {
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Fatalf("POST %s: %v in %.200s", path, err, b)
		}
	}
	return status, out
}

// fetch GETs path and returns the answer whole.
func fetch(t *testing.T, base, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp, buf.Bytes()
}

func TestImageStoreOverHTTP(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		_, srv := startApp(t, e)
		shopA, shopB := signUp(t, srv.URL, "img-a"), signUp(t, srv.URL, "img-b")
		apiA, apiB := shopA.apiClient(t, srv.URL), shopB.apiClient(t, srv.URL)

		status, img := apiA.uploadImage("/api/v1/images", imagetest.PNG(800, 600, 1))
		if status != http.StatusCreated || img.URL != image.URL("img-a", img.ID) || img.ThumbURL != image.ThumbURL("img-a", img.ID) ||
			img.Width != 800 || img.Height != 600 || img.ContentType != "image/png" || img.Size == 0 || len(img.SHA256) != 64 {
			t.Fatalf("upload: %d %+v", status, img)
		}
		var got image.Answer
		if st := apiA.json(http.MethodGet, "/api/v1/images/"+img.ID, nil, &got); st != http.StatusOK || got.SHA256 != img.SHA256 {
			t.Fatalf("GET the image's record: %d %+v", st, got)
		}
		if st, again := apiA.uploadImage("/api/v1/images", imagetest.PNG(800, 600, 1)); st != http.StatusCreated || again.ID != img.ID {
			t.Fatalf("the same upload again: %d %s, want %s", st, again.ID, img.ID)
		}

		t.Run("served with its headers", func(t *testing.T) {
			resp, body := fetch(t, srv.URL, img.URL, nil)
			sum := sha256.Sum256(body)
			if resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != img.SHA256 {
				t.Fatalf("GET %s: %d, %d bytes", img.URL, resp.StatusCode, len(body))
			}
			h := resp.Header
			if h.Get("Content-Type") != "image/png" || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" || h.Get("Set-Cookie") != "" {
				t.Fatalf("headers: %v", h)
			}
			resp, _ = fetch(t, srv.URL, img.URL, http.Header{"If-None-Match": {h.Get("ETag")}})
			if resp.StatusCode != http.StatusNotModified {
				t.Fatalf("GET with If-None-Match: %d", resp.StatusCode)
			}
			head, err := http.Head(srv.URL + img.URL)
			if err != nil || head.StatusCode != http.StatusOK || head.ContentLength != img.Size {
				t.Fatalf("HEAD %s: %v %v", img.URL, err, head)
			}
			head.Body.Close()
			resp, thumb := fetch(t, srv.URL, img.ThumbURL, nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == h.Get("ETag") {
				t.Fatalf("GET %s: %d %v", img.ThumbURL, resp.StatusCode, resp.Header)
			}
			p, _, err := stdimage.Decode(bytes.NewReader(thumb))
			if err != nil || p.Bounds().Dx() != 320 || p.Bounds().Dy() != 240 {
				t.Fatalf("thumbnail: %v %v", err, p.Bounds())
			}
		})

		t.Run("another shop cannot read it", func(t *testing.T) {
			for _, path := range []string{"/s/img-b/img/" + img.ID, "/s/img-b/img/" + img.ID + "/thumb", "/s/img-a/img/" + engine.NewID(), "/s/img-a/img/nope"} {
				if resp, body := fetch(t, srv.URL, path, nil); resp.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte("PNG")) {
					t.Errorf("GET %s: %d", path, resp.StatusCode)
				}
			}
			if st := apiB.json(http.MethodGet, "/api/v1/images/"+img.ID, nil, nil); st != http.StatusNotFound {
				t.Errorf("shop B's GET /api/v1/images/{A's id}: %d", st)
			}
		})

		t.Run("refused uploads", func(t *testing.T) {
			cases := []struct {
				name string
				data []byte
				want int
			}{
				{"text", []byte("just some text, not a picture\n"), http.StatusBadRequest},
				{"html", []byte("<!doctype html><script>alert(1)</script>"), http.StatusBadRequest},
				{"over the image limit", append(imagetest.PNG(10, 10, 0), make([]byte, image.MaxSize)...), http.StatusRequestEntityTooLarge},
				{"over the body limit", make([]byte, 3*image.MaxSize), http.StatusRequestEntityTooLarge},
				{"pixel bomb", imagetest.PixelBomb(50000), http.StatusBadRequest},
			}
			for _, c := range cases {
				if st, _ := apiA.uploadImage("/api/v1/images", c.data); st != c.want {
					t.Errorf("%s: %d, want %d", c.name, st, c.want)
				}
			}
			if st := apiA.json(http.MethodPost, "/api/v1/images", map[string]string{"file": "aGVsbG8="}, nil); st != http.StatusUnsupportedMediaType {
				t.Errorf("JSON body: %d, want 415", st)
			}
			body, ct := multipartBody(t, "picture", imagetest.PNG(10, 10, 0), nil)
			if st, _ := apiA.do(http.MethodPost, "/api/v1/images", body, ct); st != http.StatusBadRequest {
				t.Errorf("no file field: %d, want 400", st)
			}
		})

		t.Run("no payload or metadata survives", func(t *testing.T) {
			st, poly := apiA.uploadImage("/api/v1/images", imagetest.PolyglotPNG(120, 80))
			if st != http.StatusCreated {
				t.Fatalf("polyglot upload: %d", st)
			}
			for _, u := range []string{poly.URL, poly.ThumbURL} {
				_, body := fetch(t, srv.URL, u, nil)
				if bytes.Contains(body, []byte("<script")) || bytes.Contains(body, []byte("<html")) {
					t.Fatalf("GET %s serves the payload", u)
				}
			}
			exif := imagetest.EXIFJPEG(60, 30, 4, 6)
			st, photo := apiA.uploadImage("/api/v1/images", exif)
			if st != http.StatusCreated || photo.ContentType != "image/jpeg" || photo.Width != 30 || photo.Height != 60 {
				t.Fatalf("EXIF upload: %d %+v", st, photo)
			}
			_, body := fetch(t, srv.URL, photo.URL, nil)
			if bytes.Contains(body, []byte(imagetest.Secret)) || bytes.Contains(body, []byte("Exif")) {
				t.Fatal("the served JPEG still carries its EXIF block")
			}
		})

		t.Run("products show uploaded images", func(t *testing.T) {
			p := apiA.createProduct(map[string]any{"title": "Longjing", "price": 3900, "stock": 3,
				"images": []string{img.ID, "https://example.com/tea.jpg"}})
			if len(p.Images) != 2 || p.Images[0] != img.URL || p.Images[1] != "https://example.com/tea.jpg" {
				t.Fatalf("images = %v", p.Images)
			}
			// The URL the upload answered is accepted as well, in any place.
			var patched productJSON
			if st := apiA.json(http.MethodPatch, "/api/v1/products/"+p.ID, map[string]any{"images": []string{"https://example.com/tea.jpg", img.URL}}, &patched); st != http.StatusOK ||
				len(patched.Images) != 2 || patched.Images[1] != img.URL {
				t.Fatalf("patch images: %d %v", st, patched.Images)
			}
			var bad apiError
			missing := engine.NewID()
			if st := apiA.json(http.MethodPost, "/api/v1/products", map[string]any{"title": "Ghost", "price": 100, "stock": 1, "images": []string{missing}}, &bad); st != http.StatusBadRequest ||
				!strings.Contains(bad.Error.Message, missing) {
				t.Fatalf("an unknown image id: %d %+v", st, bad)
			}
			_, imgB := apiB.uploadImage("/api/v1/images", imagetest.PNG(30, 30, 5))
			if st := apiA.json(http.MethodPost, "/api/v1/products", map[string]any{"title": "Theirs", "price": 100, "stock": 1, "images": []string{imgB.ID}}, nil); st != http.StatusBadRequest {
				t.Fatalf("another shop's image id: %d", st)
			}
			// The storefront shows them (the shelf refreshes within its interval).
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, page := fetch(t, srv.URL, "/s/img-a/p/"+p.ID, nil)
				_, home := fetch(t, srv.URL, "/s/img-a/", nil)
				if bytes.Contains(page, []byte(`src="`+img.URL+`"`)) && bytes.Contains(home, []byte(`src="https://example.com/tea.jpg"`)) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the product page does not show %s", img.URL)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})

		t.Run("the console's product form uploads and reorders", func(t *testing.T) {
			console := shopA.consoleClient(t, srv.URL)
			fields := map[string]string{"_csrf": console.csrf, "title": "Biluochun", "price": "29.00", "stock": "4", "status": "on_sale",
				"images": "https://example.com/first.jpg"}
			body, ct := multipartBody(t, "upload", imagetest.JPEG(400, 300, 9), fields)
			if st, b := console.do(http.MethodPost, "/admin/products", body, ct); st != http.StatusSeeOther {
				t.Fatalf("create with an upload: %d %.300s", st, b)
			}
			var list struct{ Items []productJSON }
			apiA.json(http.MethodGet, "/api/v1/products", nil, &list)
			var p productJSON
			for _, it := range list.Items {
				if it.Title == "Biluochun" {
					p = it
				}
			}
			if len(p.Images) != 2 || !strings.HasPrefix(p.Images[1], "/s/img-a/img/") {
				t.Fatalf("products = %+v", list.Items)
			}
			// A file that is not a picture: the form again, with what is wrong.
			body, ct = multipartBody(t, "upload", []byte("not a picture"), fields)
			if st, b := console.do(http.MethodPost, "/admin/products", body, ct); st != http.StatusBadRequest || !bytes.Contains(b, []byte("not a JPEG, PNG, GIF or WebP image")) {
				t.Fatalf("create with a text file: %d %.300s", st, b)
			}
			fields["images"] = strings.Join(p.Images, "\n")
			fields["image_move"] = "down:0"
			body, ct = multipartBody(t, "upload", nil, fields)
			st, page := console.do(http.MethodPost, "/admin/products/"+p.ID, body, ct)
			want := p.Images[1] + "\nhttps://example.com/first.jpg</textarea>"
			if st != http.StatusOK || !strings.Contains(string(page), want) {
				t.Fatalf("move down: %d, want the form with %q in %.2000s", st, want, page)
			}
			if !strings.Contains(string(page), `src="`+p.Images[1]+`/thumb"`) {
				t.Fatalf("the form does not show the thumbnail")
			}
			var same productJSON
			apiA.json(http.MethodGet, "/api/v1/products/"+p.ID, nil, &same)
			if same.Images[0] != "https://example.com/first.jpg" {
				t.Fatalf("a move saved the product: %v", same.Images)
			}
			// The console's own upload answers JSON (the form's script may use it).
			body, ct = multipartBody(t, "file", imagetest.PNG(50, 50, 12), map[string]string{"_csrf": console.csrf})
			if st, b := console.do(http.MethodPost, "/admin/images", body, ct); st != http.StatusCreated || !bytes.Contains(b, []byte(`"thumb_url"`)) {
				t.Fatalf("console upload: %d %.300s", st, b)
			}
			body, ct = multipartBody(t, "file", imagetest.PNG(50, 50, 12), nil)
			if st, _ := console.do(http.MethodPost, "/admin/images", body, ct); st != http.StatusForbidden && st != http.StatusBadRequest {
				t.Fatalf("console upload without the CSRF token: %d", st)
			}
		})

		t.Run("shoppers upload from the shop's pages", func(t *testing.T) {
			fan := newShopper(t, srv.URL, "img-a", "")
			st, photo := fan.uploadImage("/s/img-a/api/images", imagetest.JPEG(200, 100, 13))
			if st != http.StatusCreated || photo.URL != image.URL("img-a", photo.ID) {
				t.Fatalf("shopper upload: %d %+v", st, photo)
			}
			if st, _ := fan.uploadImage("/s/img-a/api/images", []byte("not a picture")); st != http.StatusBadRequest {
				t.Fatalf("shopper upload of text: %d", st)
			}
			fan.header = http.Header{"Origin": {"https://evil.example"}}
			if st, _ := fan.uploadImage("/s/img-a/api/images", imagetest.JPEG(20, 10, 13)); st != http.StatusForbidden {
				t.Fatalf("a cross-site upload: %d", st)
			}
			fan.header = http.Header{"Origin": {srv.URL}}
			limited := 0
			for i := range 40 {
				st, _ := fan.uploadImage("/s/img-a/api/images", imagetest.PNG(8, 8, i))
				if st == http.StatusTooManyRequests {
					limited++
				} else if st != http.StatusCreated {
					t.Fatalf("upload %d: %d", i, st)
				}
			}
			if limited != 11 { // 30 an hour: the first one above, then 29 of these
				t.Fatalf("%d uploads refused, want 11", limited)
			}
		})
	})
}
