package catalog

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AdminRoutes mounts the console's catalog pages on g (/admin, signed in,
// CSRF-protected).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/products", h.adminList)
	g.GET("/products/new", h.adminNew)
	g.POST("/products", h.adminCreate)
	g.GET("/products/:id/edit", h.adminEdit)
	g.POST("/products/:id", h.adminUpdate)
	g.POST("/products/:id/delete", h.adminDelete)
}

// AdminPage is what the console's catalog templates receive.
type AdminPage struct {
	Shop          tenants.Tenant
	StorefrontURL string
	OnSale        int64
	Total         int64
	Products      []Product
	Filter        Filter
	HasMore       bool
	Form          ProductForm
	Editing       bool
	Error         string
	Notice        string
}

// TotalCapped reports whether Total stopped counting at MaxCounted (the
// page shows "10000+").
func (p AdminPage) TotalCapped() bool { return p.Total >= countLimit }

// ProductForm is the product form's fields as typed, with the product's
// words in the shop's other language (TransLang).
type ProductForm struct {
	ID, Title, Description, Price, OriginalPrice, Code, Stock, Images, Category, Status, SKUs string
	TransLang, TransTitle, TransDescription, TransCategory                                    string
}

// TransLangName names the translation's language in that language.
func (f ProductForm) TransLangName() string { return i18n.Name(f.TransLang) }

// otherLang is the language a shop's products are translated into in the
// console: English for a Chinese shop, Chinese for an English one.
func otherLang(t tenants.Tenant) string {
	if t.Language() == i18n.En {
		return i18n.ZhCN
	}
	return i18n.En
}

func (h *Handlers) adminList(c echo.Context) error {
	t := tenants.FromContext(c)
	f, err := filterFromQuery(c)
	if err != nil {
		return err
	}
	f.Limit = 50
	products, total, err := h.catalog.List(c.Request().Context(), t.ID, f)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_products.html", AdminPage{Shop: t, Products: products, Total: total,
		Filter: f, HasMore: hasMore(f.Offset, len(products), f.Limit, total), Notice: i18n.Done(c, productNotices)})
}

// productNotices are the product list's notices after a form, by ?done=.
var productNotices = map[string]string{"created": "console.products.done_created",
	"saved": "console.products.done_saved", "deleted": "console.products.done_deleted"}

func (h *Handlers) adminNew(c echo.Context) error {
	t := tenants.FromContext(c)
	return c.Render(http.StatusOK, "admin_product_form.html", AdminPage{Shop: t, Form: ProductForm{Status: OnSale, Stock: "0", TransLang: otherLang(t)}})
}

func (h *Handlers) adminCreate(c echo.Context) error {
	t := tenants.FromContext(c)
	form := formFromRequest(c)
	if answered, err := h.formImages(c, t, &form, false); answered { // uploads, image moves (images.go)
		return err
	}
	in, err := form.input(nil)
	if err == nil {
		err = h.resolveImages(c.Request().Context(), t, &in)
	}
	if err == nil {
		_, err = h.catalog.Create(c.Request().Context(), t.ID, in)
	}
	if err != nil {
		return h.formError(c, t, form, false, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/products?done=created")
}

func (h *Handlers) adminEdit(c echo.Context) error {
	t := tenants.FromContext(c)
	p, err := h.catalog.Get(c.Request().Context(), t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_product_form.html", AdminPage{Shop: t, Form: formFromProduct(p, otherLang(t)), Editing: true})
}

func (h *Handlers) adminUpdate(c echo.Context) error {
	t := tenants.FromContext(c)
	ctx := c.Request().Context()
	p, err := h.catalog.Get(ctx, t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	form := formFromRequest(c)
	form.ID = p.ID
	if answered, err := h.formImages(c, t, &form, true); answered { // uploads, image moves (images.go)
		return err
	}
	in, err := form.input(p.SKUs)
	if err == nil {
		err = h.resolveImages(ctx, t, &in)
	}
	if err == nil {
		_, err = h.catalog.Patch(ctx, t.ID, p.ID, in)
	}
	if err != nil {
		return h.formError(c, t, form, true, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/products?done=saved")
}

func (h *Handlers) adminDelete(c echo.Context) error {
	if err := h.catalog.Delete(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/products?done=deleted")
}

// formError shows the form again with what was typed and what is wrong.
func (h *Handlers) formError(c echo.Context, t tenants.Tenant, form ProductForm, editing bool, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status == http.StatusNotFound {
		return err
	}
	return c.Render(fe.Status, "admin_product_form.html", AdminPage{Shop: t, Form: form, Editing: editing, Error: fault.Message(c.Request().Context(), fe)})
}

func formFromRequest(c echo.Context) ProductForm {
	return ProductForm{Title: c.FormValue("title"), Description: c.FormValue("description"), Price: c.FormValue("price"),
		OriginalPrice: c.FormValue("original_price"), Code: c.FormValue("code"), Stock: c.FormValue("stock"), Images: c.FormValue("images"), Category: c.FormValue("category"),
		Status: c.FormValue("status"), SKUs: c.FormValue("skus"), TransLang: c.FormValue("trans_lang"),
		TransTitle: c.FormValue("trans_title"), TransDescription: c.FormValue("trans_description"),
		TransCategory: c.FormValue("trans_category")}
}

func formFromProduct(p Product, transLang string) ProductForm {
	var skus []string
	for _, s := range p.SKUs {
		line := s.Name + " | " + FormatYuan(s.Price) + " | " + strconv.FormatInt(s.Stock, 10)
		switch {
		case s.OriginalPrice > 0:
			line += " | " + s.Code + " | " + FormatYuan(s.OriginalPrice)
		case s.Code != "":
			line += " | " + s.Code
		}
		skus = append(skus, line)
	}
	original := ""
	if p.OriginalPrice > 0 && len(p.SKUs) == 0 {
		original = FormatYuan(p.OriginalPrice)
	}
	return ProductForm{ID: p.ID, Title: p.Title, Description: p.Description, Price: FormatYuan(p.Price), OriginalPrice: original, Code: p.Code,
		Stock: strconv.FormatInt(p.Stock, 10), Images: strings.Join(p.Images, "\n"), Category: p.Category,
		Status: p.Status, SKUs: strings.Join(skus, "\n"), TransLang: transLang,
		TransTitle: p.Translations[transLang].Title, TransDescription: p.Translations[transLang].Description,
		TransCategory: p.Translations[transLang].Category}
}

// input turns the form into an Input. SKU lines read "name | price | stock",
// optionally followed by "| code" and "| original price" (the crossed-out
// one); a line keeps the id of the existing SKU with the same name.
func (f ProductForm) input(existing []SKU) (Input, error) {
	in := Input{Title: &f.Title, Description: &f.Description, Category: &f.Category, Status: &f.Status}
	if f.TransLang != "" { // the form's other language: its words replace the product's translations
		trs := map[string]ProductText{f.TransLang: {Title: f.TransTitle, Description: f.TransDescription, Category: f.TransCategory}}
		in.Translations = &trs
	}
	images := []string{}
	for _, line := range strings.Split(f.Images, "\n") {
		if s := strings.TrimSpace(line); s != "" {
			images = append(images, s)
		}
	}
	in.Images = &images
	skus := []SKUInput{}
	byName := map[string]string{}
	for _, s := range existing {
		byName[s.Name] = s.ID
	}
	for i, line := range strings.Split(f.SKUs, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, "|")
		field := "skus line " + strconv.Itoa(i+1)
		if len(parts) < 3 || len(parts) > 5 {
			return Input{}, fault.Invalid(field, "write each option as: name | price | stock, optionally | code | original price")
		}
		name := strings.TrimSpace(parts[0])
		price, err := ParseYuan(field+" price", parts[1])
		if err != nil {
			return Input{}, err
		}
		stock, err := strconv.ParseInt(strings.TrimSpace(parts[2]), 10, 64)
		if err != nil {
			return Input{}, fault.Invalid(field+" stock", "must be a whole number")
		}
		sku := SKUInput{ID: byName[name], Name: name, Price: price, Stock: stock}
		if len(parts) > 3 {
			sku.Code = strings.TrimSpace(parts[3])
		}
		if len(parts) > 4 && strings.TrimSpace(parts[4]) != "" {
			if sku.OriginalPrice, err = ParseYuan(field+" original price", parts[4]); err != nil {
				return Input{}, err
			}
		}
		skus = append(skus, sku)
	}
	in.SKUs = &skus
	if len(skus) == 0 {
		price, err := ParseYuan("price", f.Price)
		if err != nil {
			return Input{}, err
		}
		in.Price = &price
		stock, err := strconv.ParseInt(strings.TrimSpace(f.Stock), 10, 64)
		if err != nil {
			return Input{}, fault.Invalid("stock", "must be a whole number")
		}
		in.Stock = &stock
		original := int64(0)
		if strings.TrimSpace(f.OriginalPrice) != "" {
			if original, err = ParseYuan("original_price", f.OriginalPrice); err != nil {
				return Input{}, err
			}
		}
		in.OriginalPrice = &original
	}
	code := "" // with options, each option carries its own code
	if len(skus) == 0 {
		code = f.Code
	}
	in.Code = &code
	return in, nil
}
