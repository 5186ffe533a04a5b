package pcstore

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AdminRoutes mounts the console's PC store pages on g (/admin, signed in,
// CSRF-protected).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/pcstore", h.adminPage)
	g.POST("/pcstore/link", h.adminLink)
	g.POST("/pcstore/upload", h.adminUpload)
	g.POST("/pcstore/sync", h.adminSync)
	g.POST("/pcstore/unlink", h.adminUnlink)
	g.GET("/pcstore/runs/:id", h.adminRun)
	g.GET("/pcstore/runs/:id/progress", h.adminProgress)
	g.POST("/pcstore/taobao", h.adminTaobao)
	g.POST("/pcstore/taobao/import", h.adminTaobaoImport)
}

// AdminPage is what the console's PC store templates receive.
type AdminPage struct {
	Shop    tenants.Tenant
	Link    *Link
	View    LinkView
	Form    LinkForm
	Preview *Preview
	Runs    []RunView
	Run     *RunView
	Errors  []RunError
	Widget  Widget
	// Taobao is a Taobao package uploaded and previewed, to import.
	Taobao *TaobaoStaged
	Error  string
	Notice string
}

// NextRun is when the linked store syncs next (zero when it is not on a
// schedule), for the page to write in its language.
func (p AdminPage) NextRun() time.Time {
	t, err := time.Parse(time.RFC3339, p.View.NextRunAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

// LinkForm is the link form's fields as typed.
type LinkForm struct {
	Type, URL, Key, Currency, Rates, Interval, AssumedStock string
}

func (f LinkForm) input() (LinkInput, error) {
	in, err := settingsFrom(f.Currency, f.Rates, f.Interval, f.AssumedStock)
	if err != nil {
		return in, err
	}
	in.Type, in.URL, in.Key = f.Type, f.URL, f.Key
	return in, nil
}

func formFrom(c echo.Context) LinkForm {
	return LinkForm{Type: c.FormValue("type"), URL: c.FormValue("url"), Key: c.FormValue("key"), Currency: c.FormValue("currency"),
		Rates: c.FormValue("rates"), Interval: c.FormValue("interval_minutes"), AssumedStock: c.FormValue("assumed_stock")}
}

func formOf(l Link) LinkForm {
	f := LinkForm{Type: l.Type, URL: l.URL, Key: l.Key, Currency: l.Currency,
		Interval: strconv.Itoa(l.IntervalMinutes), AssumedStock: strconv.FormatInt(l.AssumedStock, 10)}
	if l.CurrencyFromStore {
		// The store states it: linking again asks the store afresh, so a
		// store that changed its currency is not contradicted by the form.
		f.Currency = ""
	}
	for i, r := range l.RateList() {
		if i > 0 {
			f.Rates += ", "
		}
		f.Rates += r
	}
	if l.IntervalMinutes == 0 {
		f.Interval = strconv.Itoa(DefaultInterval)
	}
	return f
}

// page fills what every PC store page shows: the link, recent runs, the
// widget.
func (h *Handlers) page(c echo.Context) (AdminPage, error) {
	t := tenants.FromContext(c)
	ctx := c.Request().Context()
	p := AdminPage{Shop: t, Widget: WidgetIn(h.base(c), t.Slug, t.Language()),
		Form: LinkForm{Type: "shopify", Interval: strconv.Itoa(DefaultInterval), AssumedStock: strconv.Itoa(DefaultAssumedStock)}}
	l, err := h.syncer.Link(ctx, t.ID)
	switch {
	case err == nil:
		p.Link, p.View, p.Form = &l, l.View(), formOf(l)
	case !errors.Is(err, fault.ErrNotFound):
		return p, err
	}
	runs, err := h.syncer.Runs(ctx, t.ID, time.Time{}, 10)
	if err != nil {
		return p, err
	}
	for _, r := range runs {
		p.Runs = append(p.Runs, view(r))
	}
	return p, nil
}

func (h *Handlers) adminPage(c echo.Context) error {
	p, err := h.page(c)
	if err != nil {
		return err
	}
	p.Notice = i18n.Done(c, map[string]string{"unlinked": "console.pcstore.unlinked"})
	return c.Render(http.StatusOK, "admin_pcstore.html", p)
}

// formError shows the page again with what was typed and what is wrong.
func (h *Handlers) formError(c echo.Context, form *LinkForm, err error) error {
	fe, ok := fault.Client(err)
	if !ok {
		return err
	}
	p, perr := h.page(c)
	if perr != nil {
		return perr
	}
	if form != nil {
		p.Form = *form
	}
	p.Error = fault.Message(c.Request().Context(), fe)
	return c.Render(fe.Status, "admin_pcstore.html", p)
}

func (h *Handlers) adminLink(c echo.Context) error {
	form := formFrom(c)
	in, err := form.input()
	if err == nil {
		in.Secret = c.FormValue("secret")
		_, prev, err2 := h.syncer.SaveLink(c.Request().Context(), tenants.FromContext(c).ID, in)
		if err2 == nil {
			return h.showPreview(c, prev)
		}
		err = err2
	}
	return h.formError(c, &form, err)
}

func (h *Handlers) adminUpload(c echo.Context) error {
	form := formFrom(c)
	form.Type, form.URL = "feed", ""
	in, err := form.input()
	if err != nil {
		return h.formError(c, &form, err)
	}
	fh, err := c.FormFile("feed")
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return h.formError(c, &form, &fault.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "feed",
			Message: fmt.Sprintf("the file is larger than the %d bytes this server accepts in a form; import it with go run ./scripts/import, or link the feed's address", tooBig.Limit)})
	}
	if err != nil {
		return h.formError(c, &form, fault.Invalid("feed", "choose the feed file to upload"))
	}
	f, err := fh.Open()
	if err != nil {
		return h.formError(c, &form, fault.Invalid("feed", "the upload could not be read"))
	}
	defer f.Close()
	_, prev, err := h.syncer.SaveUpload(c.Request().Context(), tenants.FromContext(c).ID, fh.Filename, io.Reader(f), in)
	if err != nil {
		return h.formError(c, &form, err)
	}
	return h.showPreview(c, prev)
}

func (h *Handlers) showPreview(c echo.Context, prev Preview) error {
	p, err := h.page(c)
	if err != nil {
		return err
	}
	p.Preview = &prev
	p.Notice = i18n.T(c.Request().Context(), "console.pcstore.linked_notice")
	return c.Render(http.StatusOK, "admin_pcstore.html", p)
}

func (h *Handlers) adminSync(c echo.Context) error {
	r, err := h.syncer.Start(c.Request().Context(), tenants.FromContext(c).ID, "manual")
	return h.toRun(c, r, err)
}

// toRun answers a form that started run r (or failed with err) with the
// run's page: the page of the run already going when the shop was Busy.
func (h *Handlers) toRun(c echo.Context, r Run, err error) error {
	var b *Busy
	if errors.As(err, &b) && b.RunID != "" {
		return c.Redirect(http.StatusSeeOther, "/admin/pcstore/runs/"+b.RunID)
	}
	if err != nil {
		return h.formError(c, nil, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/pcstore/runs/"+r.ID)
}

func (h *Handlers) adminUnlink(c echo.Context) error {
	if err := h.syncer.Unlink(c.Request().Context(), tenants.FromContext(c).ID); err != nil {
		return h.formError(c, nil, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/pcstore?done=unlinked")
}

func (h *Handlers) adminRun(c echo.Context) error {
	t := tenants.FromContext(c)
	ctx := c.Request().Context()
	r, err := h.syncer.Run(ctx, t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	errs, err := h.syncer.RunErrors(ctx, t.ID, r.ID, 0, 200)
	if err != nil {
		return err
	}
	v := view(r)
	return c.Render(http.StatusOK, "admin_pcstore_run.html", AdminPage{Shop: t, Run: &v, Errors: errs})
}

// adminProgress is the JSON the run page polls for its progress bar.
func (h *Handlers) adminProgress(c echo.Context) error {
	r, err := h.syncer.Run(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, view(r))
}
