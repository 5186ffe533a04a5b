package message

import "github.com/labstack/echo/v4"

// Every address the package serves is mounted in this file.

// Handlers serve messaging: the merchant API (api.go), the console
// (admin.go) and the fan's storefront inbox (storefront.go), with what
// they share in handlers.go. They decode, call the Service and encode;
// they never reach the store.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the messaging handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/segments", h.apiSegments)
	g.POST("/segments", h.apiCreateSegment)
	g.POST("/segments/count", h.apiCount)
	g.GET("/segments/:id", h.apiSegment)
	g.DELETE("/segments/:id", h.apiDeleteSegment)
	g.GET("/campaigns", h.apiCampaigns)
	g.POST("/campaigns", h.apiCreateCampaign)
	g.GET("/campaigns/:id", h.apiCampaign)
	g.GET("/campaigns/:id/deliveries", h.apiDeliveries)
	g.POST("/campaigns/:id/cancel", h.apiCancel)
	g.GET("/message-settings", h.apiSettings)
	g.PUT("/message-settings", h.apiSaveSettings)
	g.GET("/fans/:id/audience", h.apiProfile)
	g.PUT("/fans/:id/tags", h.apiSetTags)
	g.GET("/fans/:id/inbox", h.apiFanInbox)
}

// AdminRoutes mounts the console's messaging pages on g (/admin, signed
// in, CSRF-protected): campaigns, segments with their live counts, the
// notice settings, and a fan's tags and inbox.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/messages", h.adminCampaigns)
	g.POST("/messages", h.adminCreateCampaign)
	g.GET("/messages/:id", h.adminCampaign)
	g.POST("/messages/:id/cancel", h.adminCancel)
	g.GET("/segments", h.adminSegments)
	g.POST("/segments", h.adminSaveSegment)
	g.POST("/segments/:id/delete", h.adminDeleteSegment)
	g.GET("/message-settings", h.adminSettings)
	g.POST("/message-settings", h.adminSaveSettings)
	g.GET("/audience/:id", h.adminFan)
	g.POST("/audience/:id/tags", h.adminSetTags)
}

// StorefrontRoutes mounts the fan's inbox page on g (/s/:slug, shop and
// fan resolved).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/inbox", h.inboxPage)
}

// StorefrontAPIRoutes mounts the inbox's JSON calls on g (/s/:slug, shop
// and fan resolved), under /api; the server refuses their writes without a
// JSON content type (fault.RequireJSON).
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	g.GET("/api/inbox", h.myInbox)
	g.PUT("/api/inbox/preferences", h.setPreferences)
}
