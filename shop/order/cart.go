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

// CartLine is one cart item as the shopper sees it now: the order line it
// would make at today's price, and the stock left.
type CartLine struct {
	Line
	PriceSeen int64 `json:"price_seen"`
	Stock     int64 `json:"stock"`
	// Problem says why the line cannot be bought as it is: "off_sale",
	// "gone", "out_of_stock", "insufficient_stock"; PriceChanged flags a
	// price different from when it was added.
	Problem      string `json:"problem,omitempty"`
	PriceChanged bool   `json:"price_changed"`
	// RegularPrice is the product's price when the line is priced at a
	// group deal live for the shopper (Price is the deal's): what placing
	// the order would charge now.
	RegularPrice int64 `json:"regular_price,omitempty"`
}

// CartItemRequest adds or sets a cart item.
type CartItemRequest struct {
	ProductID string `json:"product_id"`
	SKUID     string `json:"sku_id"`
	Qty       int64  `json:"qty"`
}

// checkItemIDs refuses an item whose product or option id is malformed;
// prefix is where the item stands in the request ("items[2].").
func checkItemIDs(prefix string, it CartItemRequest) error {
	if err := engine.CheckID(prefix+"product_id", "product", it.ProductID); err != nil || it.SKUID == "" {
		return err
	}
	return engine.CheckID(prefix+"sku_id", "option", it.SKUID)
}

// lineOf prices qty of the product (or of its SKU skuID) at today's price:
// the order line, the stock left, and the problem "off_sale" when it is not
// on sale. An SKU the product does not have (or lacks) is a 400.
func lineOf(p catalog.Product, skuID string, qty int64) (l Line, stock int64, problem string, err error) {
	l = Line{ProductID: p.ID, SKUID: skuID, Title: p.Title, Image: p.Image(), Qty: qty}
	if len(p.SKUs) > 0 {
		if skuID == "" {
			return Line{}, 0, "", fault.Invalid("sku_id", "%q comes in options: choose one (sku_id)", p.Title)
		}
		for _, k := range p.SKUs {
			if k.ID == skuID {
				l.SKUName, l.Price, stock = k.Name, k.Price, k.Stock
			}
		}
		if l.SKUName == "" {
			return Line{}, 0, "", fault.Invalid("sku_id", "%q has no option %q", p.Title, skuID)
		}
	} else {
		if skuID != "" {
			return Line{}, 0, "", fault.Invalid("sku_id", "%q has no options; leave sku_id empty", p.Title)
		}
		l.Price, stock = p.Price, p.Stock
	}
	l.Amount = l.Price * qty
	if p.Status != catalog.OnSale {
		problem = "off_sale"
	}
	return l, stock, problem, nil
}

// cartLine is qty of the product (or SKU) as a cart line, with what stands
// in the way of buying it now.
func cartLine(p catalog.Product, skuID string, qty int64) (CartLine, error) {
	l, stock, problem, err := lineOf(p, skuID, qty)
	if err != nil {
		return CartLine{}, err
	}
	if problem == "" && stock == 0 {
		problem = "out_of_stock"
	} else if problem == "" && stock < qty {
		problem = "insufficient_stock"
	}
	return CartLine{Line: l, PriceSeen: l.Price, Stock: stock, Problem: problem}, nil
}

// Cart returns the fan's cart as it stands now.
func (s *Service) Cart(ctx context.Context, tenantID, fanID string) (CartView, error) {
	items, err := s.store.Cart(ctx, tenantID, fanID)
	if err != nil {
		return CartView{}, err
	}
	v := CartView{Items: []CartLine{}, Ready: len(items) > 0}
	for _, it := range items {
		line, err := s.itemLine(ctx, tenantID, it)
		if err != nil {
			return CartView{}, err
		}
		line.PriceSeen = it.PriceSeen
		line.PriceChanged = line.Problem != "gone" && line.Price != it.PriceSeen
		if line.Problem != "" {
			v.Ready = false
		} else {
			v.GoodsTotal += line.Amount
			v.Count += line.Qty
		}
		v.Items = append(v.Items, line)
	}
	s.priceDeals(ctx, tenantID, fanID, &v)
	return v, nil
}

// itemLine is a cart item as a line of the cart now: "gone" when its
// product or its option was removed.
func (s *Service) itemLine(ctx context.Context, tenantID string, it CartItem) (CartLine, error) {
	gone := CartLine{Line: Line{ProductID: it.ProductID, SKUID: it.SKUID, Qty: it.Qty}, Problem: "gone"}
	p, err := s.catalog.Get(ctx, tenantID, it.ProductID)
	if errors.Is(err, fault.ErrNotFound) {
		return gone, nil
	}
	if err != nil {
		return CartLine{}, err
	}
	line, err := cartLine(p, it.SKUID, it.Qty)
	if err != nil {
		gone.Title, gone.Image = p.Title, p.Image()
		return gone, nil
	}
	return line, nil
}

// SetCartItem adds (add=true: qty more) or sets (qty exactly; 0 removes) an
// item of the fan's cart.
func (s *Service) SetCartItem(ctx context.Context, tenantID, fanID string, req CartItemRequest, add bool) (CartView, error) {
	if err := checkItemIDs("", req); err != nil {
		return CartView{}, err
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
		l, _, problem, err := lineOf(p, req.SKUID, qty)
		if err != nil {
			return CartView{}, err
		}
		price = l.Price
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
