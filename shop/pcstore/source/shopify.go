package source

import (
	"context"
	"fmt"
)

// NewShopify returns the Shopify storefront at address (any page of it).
func NewShopify(c *Client, address string) (Source, error) {
	u, err := CheckURL(address)
	if err != nil {
		return nil, err
	}
	return &shopify{c: c, base: u.Scheme + "://" + u.Host}, nil
}

// shopify reads a storefront's public /products.json, page by page.
type shopify struct {
	c    *Client
	base string
}

// shopifyPageSize is products.json's largest page.
const shopifyPageSize = 250

func (s *shopify) Key() string { return storeKey(Shopify, s.base) }

func (s *shopify) Scan(ctx context.Context, after int, opt Options, v Visitor) error {
	cur, err := s.currency(ctx)
	if err != nil {
		return err
	}
	if err := useCurrency(cur, &opt, v); err != nil {
		return err
	}
	for page := after + 1; page <= maxPages; page++ {
		u := fmt.Sprintf("%s/products.json?limit=%d&page=%d", s.base, shopifyPageSize, page)
		b, _, err := s.c.get(ctx, jsonPage(u))
		if err != nil {
			return err
		}
		n, err := ParseShopifyPage(b, s.base, opt, (&pageItems{v: v, page: page}).emit)
		b.Close()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := v.pageDone(page); err != nil {
			return err
		}
		if n < shopifyPageSize {
			return nil
		}
	}
	return fmt.Errorf("the store lists more than %d pages of products", maxPages)
}

// currency reads the store's currency from /meta.json ("" when it states
// none).
func (s *shopify) currency(ctx context.Context) (string, error) {
	r := jsonPage(s.base + "/meta.json")
	r.limit = 1 << 20
	b, _, err := s.c.get(ctx, r)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return currencyIn(hostOf(s.base), b, err, "currency")
}
