package source

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// Downloading a PC store's images, to copy them into the shop's image
// store.
const (
	// MaxImageBytes bounds an image downloaded (the image store's limit).
	MaxImageBytes = 10 << 20
	imageTimeout  = 30 * time.Second
)

// ImageFetch is an image downloaded, or the news that it did not change.
type ImageFetch struct {
	Data []byte
	// ETag and LastModified are the store's validators of the image, for
	// the next conditional request.
	ETag         string
	LastModified string
	// NotModified says the store answered 304 to the validators given:
	// Data is empty, the copy made before is still good.
	NotModified bool
}

// Image downloads the image at u (at most MaxImageBytes, one try: a sync
// asks again next time), conditionally when etag or lastModified are
// given. Failures are *FetchError, as every fetch's.
func (c *Client) Image(ctx context.Context, u, etag, lastModified string) (ImageFetch, error) {
	b, h, err := c.get(ctx, request{url: u, limit: MaxImageBytes, timeout: imageTimeout, tries: 1,
		accept: "image/webp,image/jpeg,image/png,image/*;q=0.8", auth: func(r *http.Request) {
			if etag != "" {
				r.Header.Set("If-None-Match", etag)
			}
			if lastModified != "" {
				r.Header.Set("If-Modified-Since", lastModified)
			}
		}})
	var fe *FetchError
	if errors.As(err, &fe) && fe.Status == http.StatusNotModified && (etag != "" || lastModified != "") {
		return ImageFetch{ETag: etag, LastModified: lastModified, NotModified: true}, nil
	}
	if err != nil {
		return ImageFetch{}, err
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		return ImageFetch{}, err
	}
	return ImageFetch{Data: data, ETag: h.Get("ETag"), LastModified: h.Get("Last-Modified")}, nil
}
