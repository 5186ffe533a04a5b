package catalog

import "context"

// Extras is what other domains add to the storefront's shop and product
// pages: a product's rating and latest reviews (shop/review), the shop's
// credit badge (shop/credit). Each call returns a version and the data:
// pages are cached per version (a new review or a new credit level is a
// new version), and data is called only to render one. server plugs it
// in; without one the pages show none.
type Extras interface {
	ShopExtras(ctx context.Context, tenantID string) (version string, data func() any, err error)
	ProductExtras(ctx context.Context, tenantID, productID string) (version string, data func() any, err error)
}

// SetExtras plugs in what the storefront's pages show beside the catalog
// (wired by server).
func (h *Handlers) SetExtras(x Extras) { h.extras = x }

// shopExtras is Extras.ShopExtras, nothing without Extras.
func (h *Handlers) shopExtras(ctx context.Context, tenantID string) (string, func() any, error) {
	if h.extras == nil {
		return "", func() any { return nil }, nil
	}
	return h.extras.ShopExtras(ctx, tenantID)
}

// productExtras is Extras.ProductExtras, nothing without Extras.
func (h *Handlers) productExtras(ctx context.Context, tenantID, productID string) (string, func() any, error) {
	if h.extras == nil {
		return "", func() any { return nil }, nil
	}
	return h.extras.ProductExtras(ctx, tenantID, productID)
}
