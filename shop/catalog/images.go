package catalog

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/shop/image"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Images is the image store products' pictures are uploaded to
// (shop/image's Service); server plugs it in with SetImages. A product's
// images are URLs; those of the store are its storefront URLs
// (image.URL), which the API also accepts as bare image ids.
type Images interface {
	Put(ctx context.Context, tenantID string, data []byte) (image.Image, error)
	Exists(ctx context.Context, tenantID string, ids ...string) error
}

// SetImages plugs in the image store (wired by server).
func (h *Handlers) SetImages(im Images) { h.images = im }

// resolveImages turns the store's images among in.Images into their
// storefront URLs, refusing (400) an id the shop holds no image for; other
// URLs stay as they are (cleanImages checks them).
func (h *Handlers) resolveImages(ctx context.Context, t tenants.Tenant, in *Input) error {
	if in.Images == nil || len(*in.Images) > MaxImages {
		return nil
	}
	out := make([]string, len(*in.Images))
	var ids []string
	for i, s := range *in.Images {
		s = strings.TrimSpace(s)
		if id := image.IDFromURL(t.Slug, s); id != "" && h.images != nil {
			ids = append(ids, id)
			s = image.URL(t.Slug, id)
		}
		out[i] = s
	}
	if len(ids) > 0 {
		if err := h.images.Exists(ctx, t.ID, ids...); err != nil {
			return err
		}
	}
	in.Images = &out
	return nil
}

// Thumb is the first image's thumbnail URL when the image store holds it
// (its storefront thumbnail), else the first image URL, or "": lists show
// it.
func (p *Product) Thumb() string {
	return thumbURL(p.Image())
}

// thumbURL is the thumbnail of the store's image at u (a path
// /s/{slug}/img/{id}); u itself for another URL.
func thumbURL(u string) string {
	parts := strings.Split(u, "/")
	if len(parts) == 5 && parts[0] == "" && parts[1] == "s" && parts[3] == "img" && engine.ValidID(parts[4]) {
		return u + "/thumb"
	}
	return u
}

// FormImage is one line of the product form's images, as the form lists
// them with their buttons.
type FormImage struct {
	Index       int
	URL, Thumb  string
	First, Last bool
}

// ImageList is the form's images, in order (the first is the main image).
func (f ProductForm) ImageList() []FormImage {
	lines := imageLines(f.Images)
	out := make([]FormImage, len(lines))
	for i, u := range lines {
		out[i] = FormImage{Index: i, URL: u, Thumb: thumbURL(u), First: i == 0, Last: i == len(lines)-1}
	}
	return out
}

func imageLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if l := strings.TrimSpace(line); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formImages does the product form's image work before it is saved: the
// files of its upload field go to the image store and their URLs to the
// end of its images; a move button (image_move "up:2", "down:2",
// "remove:2") reorders them and shows the form again, unsaved. It reports
// whether it answered the request (the form shown again: a move, or an
// upload refused), with that answer's error.
func (h *Handlers) formImages(c echo.Context, t tenants.Tenant, form *ProductForm, editing bool) (bool, error) {
	if h.images != nil && strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		mf, err := c.MultipartForm()
		if err != nil {
			return true, h.formError(c, t, *form, editing, fault.Invalid("upload", "the form cannot be read"))
		}
		lines := imageLines(form.Images)
		for _, fh := range mf.File["upload"] {
			if err := h.uploadFormFile(c, t, fh, &lines); err != nil {
				form.Images = strings.Join(lines, "\n")
				return true, h.formError(c, t, *form, editing, err)
			}
		}
		form.Images = strings.Join(lines, "\n")
	}
	move := c.FormValue("image_move")
	if move == "" {
		return false, nil
	}
	op, at, _ := strings.Cut(move, ":")
	i, err := strconv.Atoi(at)
	lines := imageLines(form.Images)
	if err == nil && i >= 0 && i < len(lines) {
		switch {
		case op == "up" && i > 0:
			lines[i-1], lines[i] = lines[i], lines[i-1]
		case op == "down" && i+1 < len(lines):
			lines[i], lines[i+1] = lines[i+1], lines[i]
		case op == "remove":
			lines = append(lines[:i], lines[i+1:]...)
		}
	}
	form.Images = strings.Join(lines, "\n")
	return true, c.Render(http.StatusOK, "admin_product_form.html", AdminPage{Shop: t, Form: *form, Editing: editing})
}

// uploadFormFile stores one uploaded file and appends its URL to lines.
func (h *Handlers) uploadFormFile(c echo.Context, t tenants.Tenant, fh *multipart.FileHeader, lines *[]string) error {
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, image.MaxSize+1)) // Put refuses more than MaxSize
	if err != nil {
		return fault.Invalid("upload", "the form cannot be read")
	}
	img, err := h.images.Put(c.Request().Context(), t.ID, data)
	if err != nil {
		return err
	}
	*lines = append(*lines, image.URL(t.Slug, img.ID))
	return nil
}
