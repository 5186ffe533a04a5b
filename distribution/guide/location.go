package guide

import (
	"context"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Location is a physical store of the shop.
type Location struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// LocationInput is a store as created or edited.
type LocationInput struct {
	Name    *string `json:"name"`
	Address *string `json:"address"`
	Active  *bool   `json:"active"`
}

// CreateLocation adds a store.
func (g *Guides) CreateLocation(ctx context.Context, tenantID string, in LocationInput) (Location, error) {
	name, err := text("name", in.Name, true, 64)
	if err != nil {
		return Location{}, err
	}
	addr, err := text("address", in.Address, false, 200)
	if err != nil {
		return Location{}, err
	}
	l := Location{ID: engine.NewID(), Name: name, Address: addr, Active: in.Active == nil || *in.Active, CreatedAt: g.clock()}
	return l, g.store.CreateLocation(ctx, tenantID, l)
}

// UpdateLocation edits a store.
func (g *Guides) UpdateLocation(ctx context.Context, tenantID, id string, in LocationInput) (Location, error) {
	l, err := g.Location(ctx, tenantID, id)
	if err != nil {
		return Location{}, err
	}
	if in.Name != nil {
		if l.Name, err = text("name", in.Name, true, 64); err != nil {
			return Location{}, err
		}
	}
	if in.Address != nil {
		if l.Address, err = text("address", in.Address, false, 200); err != nil {
			return Location{}, err
		}
	}
	if in.Active != nil {
		l.Active = *in.Active
	}
	return l, g.store.UpdateLocation(ctx, tenantID, l)
}

// Location returns one store.
func (g *Guides) Location(ctx context.Context, tenantID, id string) (Location, error) {
	if !engine.ValidID(id) {
		return Location{}, fault.NotFound("store")
	}
	return g.store.Location(ctx, tenantID, id)
}

// Locations lists the shop's stores, oldest first (never nil).
func (g *Guides) Locations(ctx context.Context, tenantID string) ([]Location, error) {
	ls, err := g.store.Locations(ctx, tenantID, maxLocations)
	if ls == nil {
		ls = []Location{}
	}
	return ls, err
}

// maxLocations bounds the stores a list shows (a shop has a handful).
const maxLocations = 1000

// Names maps the shop's stores (by "store") or guides (otherwise) to their
// names, for reports and pages.
func (g *Guides) Names(ctx context.Context, tenantID, of string) (map[string]string, error) {
	names := map[string]string{}
	if of == "store" {
		ls, err := g.store.Locations(ctx, tenantID, maxLocations)
		for _, l := range ls {
			names[l.ID] = l.Name
		}
		return names, err
	}
	gs, err := g.store.Guides(ctx, tenantID, "", 5000, 0)
	for _, gd := range gs {
		names[gd.ID] = gd.Name
	}
	return names, err
}
