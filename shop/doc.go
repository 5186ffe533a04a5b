// Package shop is the merchant's shop: its sub-packages own the catalog and
// storefront (shop/catalog) and, as they land, the cart, orders, payments,
// fans, check-in points and fan messaging. shop never imports distribution:
// it declares the small interfaces it needs and server plugs distribution in.
package shop
