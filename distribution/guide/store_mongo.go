package guide

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

type locationDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Address   string    `bson:"address"`
	Active    bool      `bson:"active"`
	CreatedAt time.Time `bson:"created_at"`
}

func (d locationDoc) location() Location {
	d.CreatedAt = d.CreatedAt.UTC()
	return Location(d)
}

type guideDoc struct {
	ID        string     `bson:"_id"`
	Name      string     `bson:"name"`
	Phone     string     `bson:"phone"`
	StoreID   string     `bson:"store_id"`
	Code      string     `bson:"code"`
	Active    bool       `bson:"active"`
	CreatedAt time.Time  `bson:"created_at"`
	LeftAt    *time.Time `bson:"left_at,omitempty"`
	HandedTo  string     `bson:"handed_to"`
	Rev       int64      `bson:"rev"`
}

func (d guideDoc) guide() Guide {
	g := Guide{ID: d.ID, Name: d.Name, Phone: d.Phone, StoreID: d.StoreID, Code: d.Code, Active: d.Active,
		CreatedAt: d.CreatedAt.UTC(), HandedTo: d.HandedTo, Rev: d.Rev}
	if d.LeftAt != nil {
		g.LeftAt = d.LeftAt.UTC()
	}
	return g
}

func toGuideDoc(g Guide) guideDoc {
	return guideDoc{ID: g.ID, Name: g.Name, Phone: g.Phone, StoreID: g.StoreID, Code: g.Code, Active: g.Active,
		CreatedAt: g.CreatedAt, LeftAt: engine.OptTime(g.LeftAt), HandedTo: g.HandedTo, Rev: g.Rev}
}

type dayDoc struct {
	GuideID      string `bson:"guide_id"`
	StoreID      string `bson:"store_id"`
	Day          string `bson:"day"`
	Visits       int64  `bson:"visits"`
	Follows      int64  `bson:"follows"`
	NewFans      int64  `bson:"new_fans"`
	OrderingFans int64  `bson:"ordering_fans"`
	FirstOrders  int64  `bson:"first_orders"`
	Orders       int64  `bson:"orders"`
	PaidGMV      int64  `bson:"paid_gmv"`
	Refunds      int64  `bson:"refunds"`
	RefundAmount int64  `bson:"refund_amount"`
}

func (d dayDoc) day() Day {
	return Day{GuideID: d.GuideID, StoreID: d.StoreID, Day: d.Day, Counts: Counts{Visits: d.Visits, Follows: d.Follows,
		NewFans: d.NewFans, OrderingFans: d.OrderingFans, FirstOrders: d.FirstOrders, Orders: d.Orders, PaidGMV: d.PaidGMV, Refunds: d.Refunds,
		RefundAmount: d.RefundAmount}}
}

func (s *mongoStore) c(tenantID, name string) *engine.Collection { return s.e.Mongo(tenantID).C(name) }

func (s *mongoStore) CreateLocation(ctx context.Context, tenantID string, l Location) error {
	return fault.Wrap(s.c(tenantID, "guide_stores").InsertOne(ctx, locationDoc(l)), "create store %s", l.ID)
}

func (s *mongoStore) Location(ctx context.Context, tenantID, id string) (Location, error) {
	var d locationDoc
	err := s.c(tenantID, "guide_stores").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Location{}, fault.NotFound("store")
	}
	return d.location(), fault.Wrap(err, "load store %s", id)
}

func (s *mongoStore) Locations(ctx context.Context, tenantID string, limit int) ([]Location, error) {
	ls, err := engine.FindAll(ctx, s.c(tenantID, "guide_stores"), bson.D{}, locationDoc.location,
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
	return ls, fault.Wrap(err, "list stores")
}

func (s *mongoStore) UpdateLocation(ctx context.Context, tenantID string, l Location) error {
	_, err := s.c(tenantID, "guide_stores").UpdateOne(ctx, bson.D{{Key: "_id", Value: l.ID}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "name", Value: l.Name}, {Key: "address", Value: l.Address}, {Key: "active", Value: l.Active}}}})
	return fault.Wrap(err, "update store %s", l.ID)
}

func (s *mongoStore) CreateGuide(ctx context.Context, tenantID string, g Guide) error {
	return fault.Wrap(s.c(tenantID, "guides").InsertOne(ctx, toGuideDoc(g)), "create guide %s", g.ID)
}

// guide reads the guide whose field (_id or code) is v.
func (s *mongoStore) guide(ctx context.Context, tenantID, field, v string) (Guide, error) {
	var d guideDoc
	err := s.c(tenantID, "guides").FindOne(ctx, bson.D{{Key: field, Value: v}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Guide{}, fault.NotFound("guide")
	}
	return d.guide(), fault.Wrap(err, "load guide by %s %s", field, v)
}

func (s *mongoStore) Guide(ctx context.Context, tenantID, id string) (Guide, error) {
	return s.guide(ctx, tenantID, "_id", id)
}

func (s *mongoStore) GuideByCode(ctx context.Context, tenantID, code string) (Guide, error) {
	return s.guide(ctx, tenantID, "code", code)
}

func (s *mongoStore) Guides(ctx context.Context, tenantID, storeID string, limit, offset int) ([]Guide, error) {
	f := bson.D{}
	if storeID != "" {
		f = bson.D{{Key: "store_id", Value: storeID}}
	}
	gs, err := engine.FindAll(ctx, s.c(tenantID, "guides"), f, guideDoc.guide, options.Find().SetSort(bson.D{{Key: "name", Value: 1}}).
		SetLimit(int64(limit)).SetSkip(int64(offset)))
	return gs, fault.Wrap(err, "list guides")
}

func (s *mongoStore) UpdateGuide(ctx context.Context, tenantID string, g Guide) (bool, error) {
	set := bson.D{{Key: "name", Value: g.Name}, {Key: "phone", Value: g.Phone}, {Key: "store_id", Value: g.StoreID},
		{Key: "active", Value: g.Active}, {Key: "handed_to", Value: g.HandedTo}, {Key: "rev", Value: g.Rev + 1}}
	update := bson.D{{Key: "$set", Value: set}}
	if g.LeftAt.IsZero() {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "left_at", Value: ""}}})
	} else {
		update[0].Value = append(set, bson.E{Key: "left_at", Value: g.LeftAt})
	}
	res, err := s.c(tenantID, "guides").UpdateOne(ctx, bson.D{{Key: "_id", Value: g.ID}, {Key: "rev", Value: g.Rev}}, update)
	if err != nil {
		return false, fault.Wrap(err, "update guide %s", g.ID)
	}
	return res.MatchedCount == 1, nil
}

func (s *mongoStore) Count(ctx context.Context, tenantID, guideID, storeID, day string, c Counts) error {
	inc := bson.D{}
	for _, f := range []struct {
		k string
		v int64
	}{{"visits", c.Visits}, {"follows", c.Follows}, {"new_fans", c.NewFans}, {"ordering_fans", c.OrderingFans},
		{"first_orders", c.FirstOrders},
		{"orders", c.Orders}, {"paid_gmv", c.PaidGMV}, {"refunds", c.Refunds}, {"refund_amount", c.RefundAmount}} {
		if f.v != 0 {
			inc = append(inc, bson.E{Key: f.k, Value: f.v})
		}
	}
	if len(inc) == 0 {
		return nil
	}
	_, err := s.c(tenantID, "guide_days").UpdateOne(ctx, bson.D{{Key: "_id", Value: guideID + ":" + storeID + ":" + day}},
		bson.D{{Key: "$inc", Value: inc}, {Key: "$setOnInsert", Value: bson.D{{Key: "guide_id", Value: guideID},
			{Key: "store_id", Value: storeID}, {Key: "day", Value: day}}}}, options.UpdateOne().SetUpsert(true))
	return fault.Wrap(err, "count guide %s on %s", guideID, day)
}

func (s *mongoStore) Mark(ctx context.Context, tenantID, key string) (bool, error) {
	err := s.c(tenantID, "guide_marks").InsertOne(ctx, bson.D{{Key: "_id", Value: key}})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, fault.Wrap(err, "mark %s", key)
}

func (s *mongoStore) Days(ctx context.Context, tenantID string, f DayFilter) ([]Day, error) {
	q := bson.D{}
	switch {
	case f.GuideID != "":
		q = bson.D{{Key: "guide_id", Value: f.GuideID}}
	case f.StoreID != "":
		q = bson.D{{Key: "store_id", Value: f.StoreID}}
	}
	q = append(q, bson.E{Key: "day", Value: bson.D{{Key: "$gte", Value: f.From}, {Key: "$lte", Value: f.To}}})
	ds, err := engine.FindAll(ctx, s.c(tenantID, "guide_days"), q, dayDoc.day, options.Find().SetSort(bson.D{{Key: "day", Value: 1}}))
	return ds, fault.Wrap(err, "read funnel days")
}
