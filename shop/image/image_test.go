package image_test

import (
	"bytes"
	"context"
	"errors"
	stdimage "image"
	"image/color"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/shop/image"
	"microshop/shop/image/imagetest"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{image.Schema}

// decode reads stored bytes back as a picture.
func decode(t *testing.T, data []byte) (stdimage.Image, string) {
	t.Helper()
	img, format, err := stdimage.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("stored bytes do not decode: %v", err)
	}
	return img, format
}

func status(err error) int {
	var f *fault.Error
	if errors.As(err, &f) {
		return f.Status
	}
	return 0
}

func TestPut(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		shop, other := enginetest.Tenant(t, e), enginetest.Tenant(t, e)
		s := image.NewService(image.NewStore(e))

		t.Run("png with a thumbnail", func(t *testing.T) {
			img, err := s.Put(ctx, shop, imagetest.PNG(800, 600, 1))
			if err != nil {
				t.Fatal(err)
			}
			if img.ContentType != image.PNG || img.Width != 800 || img.Height != 600 || img.Size == 0 || !engine.ValidID(img.ID) {
				t.Fatalf("image = %+v", img)
			}
			if img.ThumbID == img.ID || img.ThumbWidth != 320 || img.ThumbHeight != 240 {
				t.Fatalf("thumbnail = %s %dx%d, want its own 320x240", img.ThumbID, img.ThumbWidth, img.ThumbHeight)
			}
			got, err := s.Get(ctx, shop, img.ID)
			if err != nil || got.SHA256 != img.SHA256 || !got.CreatedAt.Equal(img.CreatedAt) || got.ThumbSize != img.ThumbSize {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, img)
			}
			_, data, err := s.Bytes(ctx, shop, img.ID)
			if err != nil || int64(len(data)) != img.Size {
				t.Fatalf("Bytes: %d bytes, %v; want %d", len(data), err, img.Size)
			}
			if p, format := decode(t, data); format != "png" || p.Bounds().Dx() != 800 {
				t.Fatalf("stored %s %v", format, p.Bounds())
			}
			_, thumb, err := s.Thumb(ctx, shop, img.ID)
			if err != nil || int64(len(thumb)) != img.ThumbSize {
				t.Fatalf("Thumb: %d bytes, %v", len(thumb), err)
			}
			if p, _ := decode(t, thumb); p.Bounds().Dx() != 320 || p.Bounds().Dy() != 240 {
				t.Fatalf("thumbnail is %v", p.Bounds())
			}

			again, err := s.Put(ctx, shop, imagetest.PNG(800, 600, 1))
			if err != nil || again.ID != img.ID {
				t.Fatalf("the same upload again = %s, %v; want %s", again.ID, err, img.ID)
			}
			if _, err := s.Get(ctx, other, img.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("another shop's Get = %v, want not found", err)
			}
			if _, _, err := s.Bytes(ctx, other, img.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("another shop's Bytes = %v, want not found", err)
			}
			theirs, err := s.Put(ctx, other, imagetest.PNG(800, 600, 1))
			if err != nil || theirs.ID == img.ID {
				t.Fatalf("another shop's same upload = %s, %v: want an image of its own", theirs.ID, err)
			}
		})

		t.Run("a small image is its own thumbnail", func(t *testing.T) {
			img, err := s.Put(ctx, shop, imagetest.JPEG(100, 50, 2))
			if err != nil {
				t.Fatal(err)
			}
			if img.ContentType != image.JPEG || img.ThumbID != img.ID || img.ThumbWidth != 100 {
				t.Fatalf("image = %+v", img)
			}
			_, thumb, err := s.Thumb(ctx, shop, img.ID)
			if err != nil || int64(len(thumb)) != img.Size {
				t.Fatalf("Thumb = %d bytes, %v", len(thumb), err)
			}
		})

		t.Run("exif is dropped, its orientation applied", func(t *testing.T) {
			upload := imagetest.EXIFJPEG(40, 20, 3, 6)
			if !bytes.Contains(upload, []byte(imagetest.Secret)) {
				t.Fatal("the fixture carries no secret")
			}
			img, err := s.Put(ctx, shop, upload)
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != 20 || img.Height != 40 {
				t.Fatalf("upright size = %dx%d, want 20x40 (orientation 6 turns it)", img.Width, img.Height)
			}
			_, data, err := s.Bytes(ctx, shop, img.ID)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(imagetest.Secret)) || bytes.Contains(data, []byte("Exif")) {
				t.Fatal("the stored image still carries the EXIF block")
			}
		})

		t.Run("a payload after the image is dropped", func(t *testing.T) {
			img, err := s.Put(ctx, shop, imagetest.PolyglotPNG(64, 64))
			if err != nil {
				t.Fatal(err)
			}
			_, data, err := s.Bytes(ctx, shop, img.ID)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("<script")) || bytes.Contains(data, []byte("html")) {
				t.Fatal("the stored image still carries the payload")
			}
		})

		t.Run("gif becomes png", func(t *testing.T) {
			pal := stdimage.NewPaletted(stdimage.Rect(0, 0, 30, 20), color.Palette{color.White, color.Black})
			pal.SetColorIndex(3, 4, 1)
			var buf bytes.Buffer
			if err := gif.Encode(&buf, pal, nil); err != nil {
				t.Fatal(err)
			}
			img, err := s.Put(ctx, shop, buf.Bytes())
			if err != nil || img.ContentType != image.PNG || img.Width != 30 {
				t.Fatalf("gif = %+v, %v", img, err)
			}
		})

		t.Run("webp", func(t *testing.T) {
			for _, c := range []struct{ file, want string }{
				{"testdata/blue-purple-pink.lossy.webp", image.JPEG},
				{"testdata/gopher-doc.with-alpha.lossless.webp", image.PNG},
			} {
				data, err := os.ReadFile(c.file)
				if err != nil {
					t.Fatal(err)
				}
				img, err := s.Put(ctx, shop, data)
				if err != nil || img.ContentType != c.want {
					t.Fatalf("%s: %+v, %v; want %s", c.file, img, err, c.want)
				}
				_, stored, err := s.Bytes(ctx, shop, img.ID)
				if err != nil {
					t.Fatal(err)
				}
				if p, _ := decode(t, stored); p.Bounds().Dx() != img.Width {
					t.Fatalf("%s: stored %v, record says %d wide", c.file, p.Bounds(), img.Width)
				}
			}
		})

		refused := []struct {
			name   string
			data   []byte
			status int
		}{
			{"text", []byte("hello, this is not a picture\n"), http.StatusBadRequest},
			{"html", []byte("<html><script>alert(1)</script></html>"), http.StatusBadRequest},
			{"empty", nil, http.StatusBadRequest},
			{"oversized", append(imagetest.PNG(10, 10, 0), make([]byte, image.MaxSize)...), http.StatusRequestEntityTooLarge},
			{"pixel bomb", imagetest.PixelBomb(60000), http.StatusBadRequest},
			{"truncated", imagetest.PNG(200, 200, 5)[:300], http.StatusBadRequest},
		}
		for _, c := range refused {
			t.Run("refuses "+c.name, func(t *testing.T) {
				_, err := s.Put(ctx, shop, c.data)
				if status(err) != c.status {
					t.Fatalf("Put = %v (status %d), want status %d", err, status(err), c.status)
				}
			})
		}

		t.Run("exists", func(t *testing.T) {
			a, err := s.Put(ctx, shop, imagetest.PNG(20, 20, 7))
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Put(ctx, shop, imagetest.PNG(20, 20, 8))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Exists(ctx, shop, a.ID, b.ID); err != nil {
				t.Fatalf("Exists = %v", err)
			}
			if err := s.Exists(ctx, shop); err != nil {
				t.Fatalf("Exists() = %v", err)
			}
			missing := engine.NewID()
			if err := s.Exists(ctx, shop, a.ID, missing); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), missing) {
				t.Fatalf("Exists with a missing id = %v", err)
			}
			if err := s.Exists(ctx, other, a.ID); status(err) != http.StatusBadRequest {
				t.Fatalf("Exists of another shop's image = %v", err)
			}
			if err := s.Exists(ctx, shop, "../x"); status(err) != http.StatusBadRequest {
				t.Fatalf("Exists with a malformed id = %v", err)
			}
		})

		t.Run("delete", func(t *testing.T) {
			img, err := s.Put(ctx, shop, imagetest.PNG(500, 400, 9))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, other, img.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("another shop's Delete = %v", err)
			}
			if err := s.Delete(ctx, shop, img.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Thumb(ctx, shop, img.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("Thumb after Delete = %v", err)
			}
			if err := s.Delete(ctx, shop, img.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("Delete twice = %v", err)
			}
			again, err := s.Put(ctx, shop, imagetest.PNG(500, 400, 9))
			if err != nil || again.ID == img.ID {
				t.Fatalf("Put after Delete = %v, %v", again.ID, err)
			}
		})
	})
}

// blobs counts the shop's stored byte records (rows, or chunk documents).
func blobs(t *testing.T, e *engine.Engine, tenantID string) int64 {
	t.Helper()
	ctx := context.Background()
	if e.Kind() == engine.Mongo {
		enginetest.AllowFullScan(t, e, "image_chunks", "the test counts every chunk of the shop")
		n, err := e.Mongo(tenantID).C("image_chunks").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var n int64
	if err := e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM image_data WHERE tenant_id = ?`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPutConcurrently: many requests putting the same picture at once make
// one image, stored once.
func TestPutConcurrently(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		shop := enginetest.Tenant(t, e)
		store := image.NewStore(e)
		s := image.NewService(store)
		const n = 12

		var stored int64 // the byte records one copy of the service's image takes
		t.Run("service", func(t *testing.T) {
			data := imagetest.PNG(640, 480, 11) // with a thumbnail: two blobs
			ids := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					img, err := s.Put(ctx, shop, data)
					if err != nil {
						t.Error(err)
					}
					ids[i] = img.ID
				})
			}
			wg.Wait()
			for _, id := range ids {
				if id != ids[0] {
					t.Fatalf("ids = %v, want one", ids)
				}
			}
			img, err := s.Get(ctx, shop, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			stored = 2
			if e.Kind() == engine.Mongo { // chunks of 255 KiB
				const chunk = 255 << 10
				stored = (img.Size+chunk-1)/chunk + (img.ThumbSize+chunk-1)/chunk
			}
		})
		base := blobs(t, e, shop)

		t.Run("store", func(t *testing.T) {
			// Straight to the store, past the service's look-ups: the unique
			// hash decides.
			sum := strings.Repeat("ab", 32)
			data := bytes.Repeat([]byte{7}, 300<<10) // two chunks on Mongo
			kept := make([]string, n)
			var inserted sync.Map
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					img := image.Image{ID: engine.NewID(), SHA256: sum, ContentType: image.PNG, Width: 1, Height: 1, Size: int64(len(data))}
					img.ThumbID = img.ID
					got, ok, err := store.Insert(ctx, shop, img, data, nil)
					if err != nil {
						t.Error(err)
					}
					kept[i] = got.ID
					if ok {
						inserted.Store(i, got.ID)
					}
				})
			}
			wg.Wait()
			count := 0
			inserted.Range(func(_, _ any) bool { count++; return true })
			if count != 1 {
				t.Fatalf("%d inserts won, want 1", count)
			}
			for _, id := range kept {
				if id != kept[0] {
					t.Fatalf("kept = %v, want one", kept)
				}
			}
			_, got, err := s.Bytes(ctx, shop, kept[0])
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Bytes = %d bytes, %v", len(got), err)
			}
		})
		want := base + 1
		if e.Kind() == engine.Mongo {
			want = base + 2
		}
		if got := blobs(t, e, shop); got != want {
			t.Fatalf("%d byte records stored, want %d (one copy)", got, want)
		}
		if base != stored {
			t.Fatalf("the service's racing puts left %d byte records, want %d (one copy)", base, stored)
		}
	})
}
