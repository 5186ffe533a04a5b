package pcstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"microshop/shop/pcstore/source"
	"microshop/tenants/fault"
)

// Copying a PC store's images into the shop's image store, so products
// never hot-link the PC store: each image is copied once (by address, and
// the same bytes again are not stored again), and again only when it
// changed there. A copy is trusted for ImageRecheck; after that a sync asks
// the store with the validators it sent (ETag, Last-Modified: a 304 keeps
// the copy) and compares the bytes' hash before storing anything. An image
// several products show is asked for once per run.
//
// An image that cannot be downloaded keeps its earlier copy, or, never
// copied, its address at the PC store until a later sync copies it (the
// cause goes to the log); one the image store refuses (not an image, too
// large) is left out, noted in the run.

// ImageStore keeps images in the shop's image store (shop/image, plugged
// by the server).
type ImageStore interface {
	// PutImage stores data as an image of the shop (checked, re-encoded,
	// deduplicated by content) and returns the address products show it
	// at. An image it refuses is a 4xx fault.Error.
	PutImage(ctx context.Context, tenantID string, data []byte) (string, error)
}

// DefaultImageRecheck is how long a copied image is used without asking
// the PC store whether it changed.
const DefaultImageRecheck = 24 * time.Hour

// SetImageStore makes syncs and Taobao imports copy images into st; without
// one, products keep the PC store's addresses and a Taobao package's
// pictures are left out.
func (s *Syncer) SetImageStore(st ImageStore) { s.images = st }

// imagePrefix starts the run's notes on images not copied.
const imagePrefix = "image not copied: "

// copyImages replaces it's images (the PC store's addresses) and pictures
// (a package's files) with their copies in the shop's image store. Only a
// failure of the platform is returned (errInfra, or the end of ctx).
func (x *runner) copyImages(ctx context.Context, it *source.Item) error {
	st := x.s.images
	if st == nil {
		if len(it.Pictures) > 0 {
			x.note(imagePrefix, fmt.Sprintf("%s [%s] %s: %d picture(s): this server keeps no images", it.Ref, it.ExternalID, problemTitle(*it), len(it.Pictures)))
			it.Pictures = nil
		}
		return nil
	}
	out := make([]string, 0, len(it.Images)+len(it.Pictures))
	have, err := x.s.store.ImageCopies(ctx, x.tenantID, it.Images)
	if err != nil {
		return errInfra{err}
	}
	for _, u := range it.Images {
		stored, err := x.copyImage(ctx, u, have[u])
		if err != nil {
			if ctx.Err() != nil || errors.As(err, new(errInfra)) {
				return err
			}
			x.note(imagePrefix, fmt.Sprintf("%s [%s] %s: %s: %s", it.Ref, it.ExternalID, problemTitle(*it), fault.Clip(u, 100), imageProblem(err)))
			continue
		}
		out = append(out, stored)
	}
	for _, p := range it.Pictures {
		data, err := p.Load() // a file of the package that cannot be read is the package's problem
		var stored string
		if err == nil {
			stored, err = st.PutImage(ctx, x.tenantID, data)
			var fe *fault.Error
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return ctx.Err()
			case !errors.As(err, &fe) || fe.Status >= http.StatusInternalServerError:
				return errInfra{err}
			}
		}
		if err != nil {
			x.note(imagePrefix, fmt.Sprintf("%s [%s] %s: %s: %s", it.Ref, it.ExternalID, problemTitle(*it), p.Name, imageProblem(err)))
			continue
		}
		out = append(out, stored)
	}
	seen := map[string]bool{}
	it.Images = out[:0]
	for _, u := range out {
		if !seen[u] { // two files of the same picture are one image
			seen[u] = true
			it.Images = append(it.Images, u)
		}
	}
	it.Pictures = nil
	return nil
}

// imageProblem says why an image was not copied, for the run's notes.
func imageProblem(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// copyImage returns the address of the copy of the image at u, copying it
// when it was never copied or changed since; have is its copy so far (zero
// if none). A download that fails keeps the earlier copy, or else u itself
// (copied by a later sync); an image the store refuses is an error.
func (x *runner) copyImage(ctx context.Context, u string, have ImageCopy) (string, error) {
	now := x.s.now()
	if have.Stored != "" && (now.Sub(have.CheckedAt) < x.s.ImageRecheck || !have.CheckedAt.Before(x.run.StartedAt)) {
		return have.Stored, nil // recent enough, or checked in this run already (another product shows it too)
	}
	etag, modified := "", ""
	if have.Stored != "" {
		etag, modified = have.ETag, have.LastModified
	}
	f, err := x.s.client.Image(ctx, u, etag, modified)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var fe *source.FetchError
		if errors.As(err, &fe) {
			x.s.log.Info("pcstore image not downloaded", "tenant", x.tenantID, "run", x.run.ID, "detail", fe.Detail())
		}
		if have.Stored != "" {
			return have.Stored, nil
		}
		return u, nil // shown from the PC store until a sync copies it
	}
	c := ImageCopy{URL: u, ETag: fault.Clip(f.ETag, 200), LastModified: fault.Clip(f.LastModified, 100), CheckedAt: x.s.stamp()}
	switch sum := sha256.Sum256(f.Data); {
	case f.NotModified:
		c.SHA256, c.Stored = have.SHA256, have.Stored
	case have.Stored != "" && have.SHA256 == hex.EncodeToString(sum[:]):
		c.SHA256, c.Stored = have.SHA256, have.Stored // the same bytes: nothing to store
	default:
		stored, err := x.s.images.PutImage(ctx, x.tenantID, f.Data)
		if err != nil {
			var fe *fault.Error
			if ctx.Err() == nil && errors.As(err, &fe) && fe.Status < http.StatusInternalServerError {
				return "", err
			}
			return "", errInfra{err}
		}
		c.SHA256, c.Stored = hex.EncodeToString(sum[:]), stored
	}
	if err := x.s.store.SaveImageCopy(ctx, x.tenantID, c); err != nil {
		return "", errInfra{err}
	}
	return c.Stored, nil
}
