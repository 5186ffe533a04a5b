package main

import (
	"context"

	"microshop/shop/image"
	"microshop/tenants"
)

// pcstoreImages is where the PC store's images go (pcstore.ImageStore): the
// shop's image store, the copies addressed as products reference images.
type pcstoreImages struct {
	images  *image.Service
	tenants *tenants.Service
}

// PutImage stores data in the shop's image store and returns its address
// on the shop's storefront.
func (p pcstoreImages) PutImage(ctx context.Context, tenantID string, data []byte) (string, error) {
	img, err := p.images.Put(ctx, tenantID, data)
	if err != nil {
		return "", err
	}
	t, err := p.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return image.URL(t.Slug, img.ID), nil
}
