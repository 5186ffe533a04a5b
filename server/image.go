package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/shop/image"
)

// uploadOverhead is what a multipart form adds around an image (the
// boundaries, the part headers, the console's other fields).
const uploadOverhead = 256 << 10

// imageUploadRoutes are the routes whose body may carry an image upload:
// they take up to image.MaxSize (and the form around it) whatever the
// server's body limit for everything else.
var imageUploadRoutes = map[string]bool{
	http.MethodPost + " /api/v1/images":      true,
	http.MethodPost + " /admin/images":       true,
	http.MethodPost + " /s/:slug/api/images": true,
	http.MethodPost + " /admin/products":     true, // the product form's upload field
	http.MethodPost + " /admin/products/:id": true,
}

// packageUploadRoutes take a Taobao Assistant data package: a zip of the
// CSV and every picture, several megabytes for a real store.
var packageUploadRoutes = map[string]bool{
	http.MethodPost + " /api/v1/pcstore/taobao": true,
	http.MethodPost + " /admin/pcstore/taobao":  true,
}

// maxPackageUpload bounds a Taobao package upload (the reader caps what is
// inside it again).
const maxPackageUpload = 64 << 20

// uploadBodyLimit is bodyLimit(limit), but for the image upload routes,
// which take image.MaxSize and the form around it when that is more, and
// the package uploads, which take maxPackageUpload.
func uploadBodyLimit(limit int64) echo.MiddlewareFunc {
	small, large := bodyLimit(limit), bodyLimit(max(limit, image.MaxSize+uploadOverhead))
	pkg := bodyLimit(max(limit, maxPackageUpload))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		s, l, p := small(next), large(next), pkg(next)
		return func(c echo.Context) error {
			route := c.Request().Method + " " + c.Path()
			switch {
			case imageUploadRoutes[route]:
				return l(c)
			case packageUploadRoutes[route]:
				return p(c)
			}
			return s(c)
		}
	}
}
