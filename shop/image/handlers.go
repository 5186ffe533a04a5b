package image

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Shoppers' uploads are limited per fan and per address (a fan cookie is
// free to throw away), on every replica together.
const (
	uploadWindow       = time.Hour
	uploadsPerFan      = 30
	uploadsPerAddress  = 100
	cacheForever       = "public, max-age=31536000, immutable"
	servedImagesPolicy = "default-src 'none'; sandbox"
)

// Handlers serve the image store over HTTP.
type Handlers struct {
	svc     *Service
	uploads *tenants.WindowCounter
}

// NewHandlers returns the image handlers over svc, counting uploads with
// counters.
func NewHandlers(svc *Service, counters tenants.Counters) *Handlers {
	return &Handlers{svc: svc, uploads: counters.Window("uploads", uploadWindow)}
}

// APIRoutes mounts the merchant API's image calls on g (/api/v1, keyed):
// the upload takes multipart/form-data, so server lets it past the JSON
// content-type rule.
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.POST("/images", h.upload)
	g.GET("/images/:id", h.get)
}

// AdminRoutes mounts the console's upload on g (/admin, signed in, CSRF
// token in the form): the product form's upload button posts the file
// there and gets the same JSON as the API.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.POST("/images", h.upload)
}

// StorefrontAPIRoutes mounts the shoppers' upload (after-sale photos,
// review photos) on g (/s/:slug, shop and fan resolved), under /api.
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	g.POST("/api/images", h.shopperUpload, sameOrigin)
}

// StorefrontRoutes mounts the images and thumbnails on g (/s/:slug, shop
// resolved; no fan cookie is set on an answer every cache may keep).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/img/:id", h.serve(false))
	g.GET("/img/:id/thumb", h.serve(true))
	g.HEAD("/img/:id", h.serve(false))
	g.HEAD("/img/:id/thumb", h.serve(true))
}

// Answer is what an upload and GET /api/v1/images/{id} answer: the
// image's record and where the storefront serves it and its thumbnail.
type Answer struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	ThumbURL    string    `json:"thumb_url"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// AnswerFor is img's Answer in the shop with slug.
func AnswerFor(slug string, img Image) Answer {
	return Answer{ID: img.ID, URL: URL(slug, img.ID), ThumbURL: ThumbURL(slug, img.ID), Width: img.Width, Height: img.Height,
		ContentType: img.ContentType, Size: img.Size, SHA256: img.SHA256, CreatedAt: img.CreatedAt}
}

// ReadUpload reads the file of a multipart/form-data request's field
// "file", refusing another body, a missing file and one over MaxSize.
func ReadUpload(c echo.Context) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != echo.MIMEMultipartForm {
		return nil, fault.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the image as multipart/form-data, in the field file")
	}
	fh, err := c.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, fault.Invalid("file", "send the image in the form field file")
	}
	if err != nil {
		return nil, fault.Invalid("file", "the form cannot be read")
	}
	if fh.Size > MaxSize {
		return nil, errTooLarge()
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fault.Invalid("file", "the form cannot be read")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fault.Invalid("file", "the form cannot be read")
	}
	return data, nil
}

func (h *Handlers) upload(c echo.Context) error {
	t := tenants.FromContext(c)
	data, err := ReadUpload(c)
	if err != nil {
		return err
	}
	img, err := h.svc.Put(c.Request().Context(), t.ID, data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, AnswerFor(t.Slug, img))
}

func (h *Handlers) get(c echo.Context) error {
	t := tenants.FromContext(c)
	img, err := h.svc.Get(c.Request().Context(), t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, AnswerFor(t.Slug, img))
}

// shopperUpload is a shopper's upload, counted against the fan's and the
// address's limits (an upload refused as bad input is given back).
func (h *Handlers) shopperUpload(c echo.Context) error {
	t := tenants.FromContext(c)
	now := time.Now()
	keys := []string{"fan:" + t.ID + ":" + fan.FromContext(c), "ip:" + t.ID + ":" + c.RealIP()}
	limits := []int{uploadsPerFan, uploadsPerAddress}
	for i, key := range keys {
		if ok, wait := h.uploads.Take(key, limits[i], now); !ok {
			for _, taken := range keys[:i] {
				h.uploads.Give(taken)
			}
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return fault.TooManyRequests("too many uploads; try again in %d minutes", int(wait.Minutes())+1)
		}
	}
	err := h.upload(c)
	var f *fault.Error
	if errors.As(err, &f) && f.Status < 500 {
		for _, key := range keys {
			h.uploads.Give(key)
		}
	}
	return err
}

// sameOrigin refuses a shopper's upload another site's page sends: the
// fan is known by a cookie, and a cross-site form may post a file (the
// storefront's JSON calls are kept same-site by their content type,
// fan.RequireJSON; a multipart upload cannot be).
func sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			return fault.Forbidden("upload from the shop's own pages")
		}
		if origin := r.Header.Get(echo.HeaderOrigin); origin != "" {
			if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
				return fault.Forbidden("upload from the shop's own pages")
			}
		}
		return next(c)
	}
}

// serve answers an image's (or its thumbnail's) bytes: immutable, so
// cached for a year; the stored content type, never sniffed; a sandbox
// policy in case a browser is made to open it as a page.
func (h *Handlers) serve(thumb bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		t := tenants.FromContext(c)
		ctx := c.Request().Context()
		var img Image
		var data []byte
		var err error
		if thumb {
			img, data, err = h.svc.Thumb(ctx, t.ID, c.Param("id"))
		} else {
			img, data, err = h.svc.Bytes(ctx, t.ID, c.Param("id"))
		}
		if err != nil {
			return err
		}
		etag := `"` + img.SHA256[:32] + `"`
		if thumb {
			etag = `"t` + img.SHA256[:31] + `"`
		}
		hd := c.Response().Header()
		hd.Set(echo.HeaderContentType, img.ContentType)
		hd.Set(echo.HeaderCacheControl, cacheForever)
		hd.Set(echo.HeaderXContentTypeOptions, "nosniff")
		hd.Set(echo.HeaderContentSecurityPolicy, servedImagesPolicy)
		hd.Set("ETag", etag)
		http.ServeContent(c.Response(), c.Request(), "", img.CreatedAt, bytes.NewReader(data))
		return nil
	}
}
