package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"runtime"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Service stores and reads the shops' images.
type Service struct {
	store Store
	now   func() time.Time
	// decoding bounds how many uploads are decoded at once: a large image
	// takes its pixels × 4 bytes of memory while it is re-encoded.
	decoding chan struct{}
}

// NewService returns the image service over store.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now, decoding: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

// errTooLarge is the answer to an upload over MaxSize.
func errTooLarge() error {
	return fault.New(http.StatusRequestEntityTooLarge, "too_large", "an image may be at most %d bytes", MaxSize).WithField("file")
}

// Put stores the image data holds for the shop and returns it. The upload
// is checked and re-encoded (see process); the same picture uploaded again
// (or by two requests at once) is the same image, stored once.
func (s *Service) Put(ctx context.Context, tenantID string, data []byte) (Image, error) {
	if len(data) > MaxSize {
		return Image{}, errTooLarge()
	}
	if len(data) == 0 {
		return Image{}, fault.Invalid("file", "the file is empty")
	}
	source := hash(data)
	if img, err := s.store.BySource(ctx, tenantID, source); err == nil {
		return img, nil
	} else if !errors.Is(err, fault.ErrNotFound) {
		return Image{}, err
	}
	select {
	case s.decoding <- struct{}{}:
	case <-ctx.Done():
		return Image{}, ctx.Err()
	}
	enc, err := process(data)
	<-s.decoding
	if err != nil {
		return Image{}, err
	}
	img := Image{ID: engine.NewID(), SHA256: hash(enc.data), ContentType: enc.contentType, Width: enc.width, Height: enc.height,
		Size: int64(len(enc.data)), CreatedAt: s.now().UTC().Truncate(time.Millisecond), SourceSHA256: source}
	if existing, err := s.store.BySHA256(ctx, tenantID, img.SHA256); err == nil {
		return existing, nil
	} else if !errors.Is(err, fault.ErrNotFound) {
		return Image{}, err
	}
	img.ThumbID, img.ThumbSize, img.ThumbWidth, img.ThumbHeight = img.ID, img.Size, img.Width, img.Height
	if enc.thumb != nil {
		img.ThumbID, img.ThumbSize, img.ThumbWidth, img.ThumbHeight = engine.NewID(), int64(len(enc.thumb)), enc.thumbW, enc.thumbH
	}
	stored, _, err := s.store.Insert(ctx, tenantID, img, enc.data, enc.thumb)
	return stored, err
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Get returns the shop's image with id; a malformed or unknown id (or
// another shop's) is a 404.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Image, error) {
	if !engine.ValidID(id) {
		return Image{}, fault.NotFound("image")
	}
	return s.store.Get(ctx, tenantID, id)
}

// Bytes returns the image with id and its stored bytes.
func (s *Service) Bytes(ctx context.Context, tenantID, id string) (Image, []byte, error) {
	return s.open(ctx, tenantID, id, false)
}

// Thumb returns the image with id and its thumbnail's bytes (of the
// image's content type; the image's own when it is small).
func (s *Service) Thumb(ctx context.Context, tenantID, id string) (Image, []byte, error) {
	return s.open(ctx, tenantID, id, true)
}

func (s *Service) open(ctx context.Context, tenantID, id string, thumb bool) (Image, []byte, error) {
	img, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Image{}, nil, err
	}
	blob := img.ID
	if thumb {
		blob = img.ThumbID
	}
	data, err := s.store.Bytes(ctx, tenantID, blob)
	return img, data, err
}

// Exists is nil when every id names an image of the shop, and otherwise
// the 400 naming the first that does not: other domains check the images
// a record refers to with it.
func (s *Service) Exists(ctx context.Context, tenantID string, ids ...string) error {
	for _, id := range ids {
		if err := engine.CheckID("images", "image", id); err != nil {
			return err
		}
	}
	found, err := s.store.Existing(ctx, tenantID, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !found[id] {
			return fault.Invalid("images", "image %s does not exist", id)
		}
	}
	return nil
}

// Delete removes the shop's image with id. Whatever still refers to it
// (a product, a review) shows a missing picture: callers delete only
// images nothing uses.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if !engine.ValidID(id) {
		return fault.NotFound("image")
	}
	return s.store.Delete(ctx, tenantID, id)
}
