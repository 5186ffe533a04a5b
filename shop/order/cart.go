package order

import (
	"context"
	"errors"
	"sort"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Cart limits.
const (
	MaxLines = 50
	MaxQty   = 999
)

func sortCart(items []CartItem) {
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.AddedAt.Equal(b.AddedAt) {
			return a.AddedAt.Before(b.AddedAt)
		}
		if a.ProductID != b.ProductID {
			return a.ProductID < b.ProductID
		}
		return a.SKUID < b.SKUID
	})
}

// CartView is a fan's cart with current prices and what stands in the way
// of checking out.
type CartView struct {
	Items      []CartLine `json:"items"`
	GoodsTotal int64      `json:"goods_total"`
	Count      int64      `json:"count"`
	// Ready is true when every line can be bought as it is.
	Ready bool `json:"ready"`
}

// CartLine is one cart item as the shopper sees it now.
type CartLine struct {
	ProductID string `json:"product_id"`
	SKUID     string `json:"sku_id,omitempty"`
	Title     string `json:"title"`
	SKUName   string `json:"sku_name,omitempty"`
	Image     string `json:"image,omitempty"`
	Price     int64  `json:"price"`
	PriceSeen int64  `json:"price_seen"`
	Qty       int64  `json:"qty"`
	Stock     int64  `json:"stock"`
	Amount    int64  `json:"amount"`
	// Problem says why the line cannot be bought as it is: "off_sale",
	// "gone", "out_of_stock", "insufficient_stock"; PriceChanged flags a
	// price different from when it was added.
	Problem      string `json:"problem,omitempty"`
	PriceChanged bool   `json:"price_changed"`
}

// CartItemRequest adds or sets a cart item.
type CartItemRequest struct {
	ProductID string `json:"product_id"`
	SKUID     string `json:"sku_id"`
	Qty       int64  `json:"qty"`
}

// resolve finds the product (and SKU) an item names: its title, SKU name,
// current price and stock, or why it cannot be bought.
func resolve(p catalog.Product, skuID string) (skuName string, price, stock int64, problem string, err error) {
	if len(p.SKUs) > 0 {
		if skuID == "" {
			return "", 0, 0, "", fault.Invalid("sku_id", "%q comes in options: choose one (sku_id)", p.Title)
		}
		for _, k := range p.SKUs {
			if k.ID == skuID {
				skuName, price, stock = k.Name, k.Price, k.Stock
			}
		}
		if skuName == "" {
			return "", 0, 0, "", fault.Invalid("sku_id", "%q has no option %q", p.Title, skuID)
		}
	} else {
		if skuID != "" {
			return "", 0, 0, "", fault.Invalid("sku_id", "%q has no options; leave sku_id empty", p.Title)
		}
		price, stock = p.Price, p.Stock
	}
	if p.Status != catalog.OnSale {
		problem = "off_sale"
	}
	return skuName, price, stock, problem, nil
}

// Cart returns the fan's cart as it stands now.
func (s *Service) Cart(ctx context.Context, tenantID, fanID string) (CartView, error) {
	items, err := s.store.Cart(ctx, tenantID, fanID)
	if err != nil {
		return CartView{}, err
	}
	v := CartView{Items: []CartLine{}, Ready: len(items) > 0}
	for _, it := range items {
		line := CartLine{ProductID: it.ProductID, SKUID: it.SKUID, Qty: it.Qty, PriceSeen: it.PriceSeen}
		p, err := s.catalog.Get(ctx, tenantID, it.ProductID)
		switch {
		case errors.Is(err, fault.ErrNotFound):
			line.Problem = "gone"
		case err != nil:
			return CartView{}, err
		default:
			var rerr error
			line.Title, line.Image = p.Title, p.Image()
			line.SKUName, line.Price, line.Stock, line.Problem, rerr = resolve(p, it.SKUID)
			if rerr != nil {
				line.Problem = "gone" // the option was removed
			}
		}
		if line.Problem == "" && line.Stock == 0 {
			line.Problem = "out_of_stock"
		} else if line.Problem == "" && line.Stock < line.Qty {
			line.Problem = "insufficient_stock"
		}
		line.PriceChanged = line.Problem != "gone" && line.Price != it.PriceSeen
		line.Amount = line.Price * line.Qty
		if line.Problem != "" {
			v.Ready = false
		} else {
			v.GoodsTotal += line.Amount
			v.Count += line.Qty
		}
		v.Items = append(v.Items, line)
	}
	return v, nil
}

// SetCartItem adds (add=true: qty more) or sets (qty exactly; 0 removes) an
// item of the fan's cart.
func (s *Service) SetCartItem(ctx context.Context, tenantID, fanID string, req CartItemRequest, add bool) (CartView, error) {
	if !engine.ValidID(req.ProductID) {
		return CartView{}, fault.Invalid("product_id", "%q is not a product id", truncate(req.ProductID))
	}
	if req.SKUID != "" && !engine.ValidID(req.SKUID) {
		return CartView{}, fault.Invalid("sku_id", "%q is not an option id", truncate(req.SKUID))
	}
	if req.Qty < 0 || (add && req.Qty == 0) || req.Qty > MaxQty {
		return CartView{}, fault.Invalid("qty", "must be between 1 and %d", MaxQty)
	}
	items, err := s.store.Cart(ctx, tenantID, fanID)
	if err != nil {
		return CartView{}, err
	}
	qty := req.Qty
	found := false
	for _, it := range items {
		if it.ProductID == req.ProductID && it.SKUID == req.SKUID {
			found = true
			if add {
				qty += it.Qty
			}
		}
	}
	if !found && len(items) >= MaxLines && qty > 0 {
		return CartView{}, fault.Invalid("items", "a cart holds at most %d different items", MaxLines)
	}
	qty = min(qty, MaxQty)
	var price int64
	if qty > 0 {
		p, err := s.catalog.Get(ctx, tenantID, req.ProductID)
		if errors.Is(err, fault.ErrNotFound) {
			return CartView{}, fault.NotFound("product")
		}
		if err != nil {
			return CartView{}, err
		}
		var problem string
		_, price, _, problem, err = resolve(p, req.SKUID)
		if err != nil {
			return CartView{}, err
		}
		if problem == "off_sale" {
			return CartView{}, fault.Conflict("%q is not on sale", p.Title)
		}
		if err := s.known.ensure(ctx, s.fans, tenantID, fanID, s.now()); err != nil {
			return CartView{}, err
		}
	}
	err = s.store.SetCartItem(ctx, tenantID, fanID, CartItem{ProductID: req.ProductID, SKUID: req.SKUID, Qty: qty,
		PriceSeen: price, AddedAt: s.now().UTC().Truncate(1e6)})
	if err != nil {
		return CartView{}, err
	}
	return s.Cart(ctx, tenantID, fanID)
}

// removeOrdered takes a placed order's items out of the fan's cart and
// leaves the rest: an order of one item bought straight from its product
// page ("Buy now", or any API client) must not empty the cart. When the
// order holds the whole cart (a checkout from the cart) the cart is cleared
// in one write.
func (s *Service) removeOrdered(ctx context.Context, tenantID, fanID string, lines []Line) error {
	items, err := s.store.Cart(ctx, tenantID, fanID)
	if err != nil || len(items) == 0 {
		return err
	}
	ordered := make(map[string]bool, len(lines))
	for _, l := range lines {
		ordered[l.ProductID+"/"+l.SKUID] = true
	}
	var drop []CartItem
	for _, it := range items {
		if ordered[it.ProductID+"/"+it.SKUID] {
			drop = append(drop, it)
		}
	}
	if len(drop) == len(items) {
		return s.store.ClearCart(ctx, tenantID, fanID)
	}
	for _, it := range drop {
		it.Qty = 0 // removes the item
		if err := s.store.SetCartItem(ctx, tenantID, fanID, it); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
