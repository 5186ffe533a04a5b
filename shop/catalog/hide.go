package catalog

import "context"

// HideProduct takes a product off sale in its shop: what a platform
// operator does to a prohibited product a shopper reported on the market.
func (c *Catalog) HideProduct(ctx context.Context, tenantID, productID string) error {
	off := OffSale
	_, err := c.Patch(ctx, tenantID, productID, Input{Status: &off})
	return err
}
