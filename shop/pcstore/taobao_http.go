package pcstore

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// The Taobao package's routes: the merchant API's one call and the
// console's upload, preview and import (taobao.go is the service).

// readPackage reads the package of a multipart/form-data request (field
// "package") and its file name; another body, a missing file and one over
// MaxTaobaoPackage are 4xx.
func readPackage(c echo.Context) (string, []byte, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != echo.MIMEMultipartForm {
		return "", nil, fault.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the package as multipart/form-data, in the field package")
	}
	fh, err := c.FormFile("package")
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return "", nil, fault.TooLarge(tooBig.Limit)
	case errors.Is(err, http.ErrMissingFile):
		return "", nil, fault.Invalid("package", "send the Taobao Assistant data package (a .zip) in the form field package")
	case err != nil:
		return "", nil, fault.Invalid("package", "the form cannot be read")
	case fh.Size > MaxTaobaoPackage:
		return "", nil, fault.New(http.StatusRequestEntityTooLarge, "too_large", "the package is larger than %d MB", MaxTaobaoPackage>>20).WithField("package")
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, fault.Invalid("package", "the form cannot be read")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTaobaoPackage+1))
	if err != nil {
		return "", nil, fault.Invalid("package", "the form cannot be read")
	}
	return fh.Filename, data, nil
}

// apiTaobao is POST /api/v1/pcstore/taobao[?dry_run=1]: the package in the
// multipart field package; dry_run answers the preview, else the package is
// imported and the finished run answered (202 with the run still going
// when it takes longer than the wait: poll GET /runs/{id}).
func (h *Handlers) apiTaobao(c echo.Context) error {
	dry := false
	if d := c.QueryParam("dry_run"); d != "" {
		b, err := strconv.ParseBool(d)
		if err != nil {
			return fault.Invalid("dry_run", "must be true or false")
		}
		dry = b
	}
	name, data, err := readPackage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	if dry {
		p, err := h.syncer.PreviewTaobao(ctx, t.ID, data)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	}
	r, err := h.syncer.ImportTaobao(ctx, t.ID, name, data)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, h.WaitLimit)
	defer cancel()
	if r, err = h.syncer.Wait(wctx, t.ID, r.ID); err != nil {
		return err
	}
	v := view(r)
	if r.Status == Running {
		return c.JSON(http.StatusAccepted, v)
	}
	if v.Errors, err = h.syncer.RunErrors(ctx, t.ID, r.ID, 0, 100); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// TaobaoStaged is a package uploaded in the console, previewed and kept
// until the merchant imports it.
type TaobaoStaged struct {
	Preview  TaobaoPreview
	UploadID string
	Name     string
}

// adminTaobao previews an uploaded package and keeps it for the import.
func (h *Handlers) adminTaobao(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	name, data, err := readPackage(c)
	var st TaobaoStaged
	if err == nil {
		st, err = h.syncer.StageTaobao(ctx, t.ID, name, data)
	}
	if err != nil {
		return h.formError(c, nil, err)
	}
	p, err := h.page(c)
	if err != nil {
		return err
	}
	p.Taobao = &st
	return c.Render(http.StatusOK, "admin_pcstore_taobao.html", p)
}

// adminTaobaoImport imports the package the preview kept.
func (h *Handlers) adminTaobaoImport(c echo.Context) error {
	r, err := h.syncer.ImportStaged(c.Request().Context(), tenants.FromContext(c).ID, c.FormValue("upload_id"), c.FormValue("name"))
	return h.toRun(c, r, err)
}
