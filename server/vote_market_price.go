package main

import (
	"io"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/shop/vote"
	"microshop/tenants"
)

// Group prices on the cart and checkout pages: placing an order prices a
// line at its group deal's price when the deal is live for the shopper
// (order.DealPricer, shop/vote), so the cart and the checkout show that
// price too, the line marked with the regular price beside it. The pages
// are shop/order's; their data passes through dealPages on its way to the
// templates, which prices the lines by the same DealPrice the order will
// use. The shipping fee follows the new goods total (the shop's flat fee,
// waived from its threshold); the points offer stays as offered (placing
// the order takes the discount on what is then paid).

// DealLine is a line under a group deal: the price paid and the regular.
type DealLine struct {
	Price, Regular int64
}

// DealPage is order.ShopPage with the lines under a group deal, by their
// index in the cart or the checkout.
type DealPage struct {
	order.ShopPage
	Deals map[int]*DealLine
}

// dealPages is the renderer's decorator that prices the cart's and the
// checkout's lines at group deals.
type dealPages struct {
	next   echo.Renderer
	deals  *vote.Service
	orders *order.Service
}

func (r dealPages) Render(w io.Writer, name string, data any, c echo.Context) error {
	if p, ok := data.(order.ShopPage); ok && (name == "shop_cart.html" || name == "shop_checkout.html") {
		data = r.price(c, name, p)
	}
	return r.next.Render(w, name, data, c)
}

// price prices p's lines at the deals live for the shopper; on any error
// the page shows the regular prices (placing the order decides).
func (r dealPages) price(c echo.Context, name string, p order.ShopPage) DealPage {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	fanID := fan.FromContext(c)
	out := DealPage{ShopPage: p, Deals: map[int]*DealLine{}}
	if fanID == "" || t.ID == "" {
		return out
	}
	lines := p.Cart.Items
	if name == "shop_checkout.html" {
		lines = p.Checkout.Lines
	}
	priced := make([]order.CartLine, len(lines))
	copy(priced, lines)
	now, byProduct, saved := r.deals.Now(), map[string]int64{}, int64(0)
	for i, l := range priced {
		if l.Problem != "" || l.Qty <= 0 {
			continue
		}
		id, price, err := r.deals.DealPrice(ctx, t.ID, fanID, l.ProductID, l.Qty+byProduct[l.ProductID], now)
		if err != nil || id == "" || price >= l.Price {
			continue
		}
		byProduct[l.ProductID] += l.Qty
		out.Deals[i] = &DealLine{Price: price, Regular: l.Price}
		saved += (l.Price - price) * l.Qty
		priced[i].Price, priced[i].Amount = price, price*l.Qty
		priced[i].PriceChanged = false // the line says its regular price beside the group price
	}
	if len(out.Deals) == 0 {
		return out
	}
	if name == "shop_cart.html" {
		out.Cart.Items = priced
		out.Cart.GoodsTotal -= saved // the lines without a problem, as the cart sums them
		return out
	}
	co := &out.Checkout
	co.Lines = priced
	co.GoodsTotal -= saved
	if st, err := r.orders.Settings(ctx, t.ID); err == nil {
		co.ShippingFee = st.ShippingFee
		if st.FreeShippingOver > 0 && co.GoodsTotal >= st.FreeShippingOver {
			co.ShippingFee = 0
		}
	}
	co.Payable = max(0, co.GoodsTotal+co.ShippingFee-co.Discount)
	return out
}
