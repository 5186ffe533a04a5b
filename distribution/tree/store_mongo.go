package tree

import (
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ common }

type distributorDoc struct {
	ID          string     `bson:"_id"`
	FanID       string     `bson:"fan_id"`
	Code        string     `bson:"code"`
	ParentID    string     `bson:"parent_id"`
	Path        []string   `bson:"path,omitempty"`
	Upline      []string   `bson:"upline"`
	Depth       int        `bson:"depth"`
	Status      string     `bson:"status"`
	CreatedAt   time.Time  `bson:"created_at"`
	ActivatedAt *time.Time `bson:"activated_at,omitempty"`
}

type statsDoc struct {
	ID        string `bson:"_id"`
	TeamSize  int64  `bson:"team_size"`
	TeamSales int64  `bson:"team_sales"`
	OwnSales  int64  `bson:"own_sales"`
	Rolled    int64  `bson:"rolled"`
	Dirty     bool   `bson:"dirty"`
}

func (d distributorDoc) distributor(full bool) Distributor {
	out := Distributor{ID: d.ID, FanID: d.FanID, Code: d.Code, ParentID: d.ParentID, Upline: d.Upline, Depth: d.Depth,
		Status: d.Status, CreatedAt: d.CreatedAt.UTC()}
	if out.Upline == nil {
		out.Upline = []string{}
	}
	if full {
		out.Path = d.Path
		if out.Path == nil {
			out.Path = []string{}
		}
	}
	if d.ActivatedAt != nil {
		out.ActivatedAt = d.ActivatedAt.UTC()
	}
	return out
}

func (s st) distributors() *engine.Collection { return s.db.C("distributors") }
func (s st) stats() *engine.Collection        { return s.db.C("distributor_stats") }

// st is a tenant's two collections.
type st struct{ db *engine.MongoScope }

func (s *mongoStore) t(tenantID string) st { return st{s.e.Mongo(tenantID)} }

// noPath leaves the (possibly long) path out of lookups that do not need it.
var noPath = bson.D{{Key: "path", Value: 0}}

func (s *mongoStore) Insert(ctx context.Context, tenantID string, d Distributor) error {
	c := s.t(tenantID)
	// Counters first: a crash in between leaves a harmless zero record.
	if err := c.stats().InsertOne(ctx, statsDoc{ID: d.ID}); err != nil && !engine.IsUniqueViolation(err) {
		return fault.Wrap(err, "insert counters of distributor %s", d.ID)
	}
	doc := distributorDoc{ID: d.ID, FanID: d.FanID, Code: d.Code, ParentID: d.ParentID, Path: d.Path, Upline: d.Upline,
		Depth: d.Depth, Status: d.Status, CreatedAt: d.CreatedAt, ActivatedAt: engine.OptTime(d.ActivatedAt)}
	if doc.Path == nil {
		doc.Path = []string{}
	}
	return fault.Wrap(c.distributors().InsertOne(ctx, doc), "insert distributor %s", d.ID)
}

// one reads the distributor whose field (_id, fan_id or code) is v.
func (s *mongoStore) lookup(ctx context.Context, tenantID, field, v string, full bool) (Distributor, error) {
	opts := options.FindOne()
	if !full {
		opts.SetProjection(noPath)
	}
	var d distributorDoc
	err := s.t(tenantID).distributors().FindOne(ctx, bson.D{{Key: field, Value: v}}, opts).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Distributor{}, fault.NotFound("distributor")
	}
	return d.distributor(full), fault.Wrap(err, "load distributor by %s %s", field, v)
}

func (s *mongoStore) find(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder, full bool) ([]Distributor, error) {
	if !full {
		opts.SetProjection(noPath)
	}
	ds, err := engine.FindAll(ctx, s.t(tenantID).distributors(), f, func(d distributorDoc) Distributor { return d.distributor(full) }, opts)
	return ds, fault.Wrap(err, "list distributors")
}

func (s *mongoStore) Many(ctx context.Context, tenantID string, ids []string) (map[string]Distributor, error) {
	out := map[string]Distributor{}
	if len(ids) == 0 {
		return out, nil
	}
	ds, err := s.find(ctx, tenantID, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, options.Find(), false)
	for _, d := range ds {
		out[d.ID] = d
	}
	return out, err
}

func (s *mongoStore) Children(ctx context.Context, tenantID, parentID string, limit, offset int) ([]Distributor, error) {
	return s.find(ctx, tenantID, bson.D{{Key: "parent_id", Value: parentID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)).SetSkip(int64(offset)), false)
}

func (s *mongoStore) CountChildren(ctx context.Context, tenantID, parentID string) (int64, error) {
	n, err := s.t(tenantID).distributors().CountDocuments(ctx, bson.D{{Key: "parent_id", Value: parentID}})
	return n, fault.Wrap(err, "count the children of %s", parentID)
}

func (s *mongoStore) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Distributor, error) {
	f := bson.D{}
	if status != "" {
		f = bson.D{{Key: "status", Value: status}}
	}
	return s.find(ctx, tenantID, f, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(limit)).SetSkip(int64(offset)), false)
}

func (s *mongoStore) SetStatus(ctx context.Context, tenantID, id, from, to string, at time.Time) (bool, error) {
	set := bson.D{{Key: "status", Value: to}}
	if to == Active {
		set = append(set, bson.E{Key: "activated_at", Value: at})
	}
	res, err := s.t(tenantID).distributors().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: from}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return false, fault.Wrap(err, "set status of distributor %s", id)
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) SetPlace(ctx context.Context, tenantID, id, parentID string, path []string, depth int) error {
	if path == nil {
		path = []string{}
	}
	_, err := s.t(tenantID).distributors().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "parent_id", Value: parentID}, {Key: "path", Value: path},
			{Key: "upline", Value: upline(path)}, {Key: "depth", Value: depth}}}})
	return fault.Wrap(err, "place distributor %s", id)
}

// MoveSubtree rewrites each descendant's path (no update pipelines on
// FerretDB, so one update per distributor whose path changes).
func (s *mongoStore) MoveSubtree(ctx context.Context, tenantID, id string, oldPath, newPath []string) error {
	c := s.t(tenantID).distributors()
	for after := ""; ; {
		f := bson.D{{Key: "path", Value: id}}
		if after != "" {
			f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
		}
		page, err := s.find(ctx, tenantID, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(500), true)
		if err != nil {
			return err
		}
		for _, d := range page {
			at := slices.Index(d.Path, id)
			if at < 0 {
				continue
			}
			p := append(append(slices.Clone(newPath), id), d.Path[at+1:]...)
			if slices.Equal(p, d.Path) {
				continue
			}
			if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, bson.D{{Key: "$set", Value: bson.D{
				{Key: "path", Value: p}, {Key: "upline", Value: upline(p)}, {Key: "depth", Value: len(p) + 1}}}}); err != nil {
				return fault.Wrap(err, "move distributor %s", d.ID)
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (s *mongoStore) CountSubtree(ctx context.Context, tenantID string, d Distributor) (int64, error) {
	n, err := s.t(tenantID).distributors().CountDocuments(ctx, bson.D{{Key: "path", Value: d.ID}})
	return n, fault.Wrap(err, "count the team of %s", d.ID)
}

func (s *mongoStore) All(ctx context.Context, tenantID, afterID string, limit int) ([]Distributor, error) {
	return s.find(ctx, tenantID, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)), true)
}

func (d statsDoc) counters() Stats {
	return Stats{ID: d.ID, TeamSize: d.TeamSize, TeamSales: d.TeamSales, OwnSales: d.OwnSales, Rolled: d.Rolled}
}

func (s *mongoStore) statsFind(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Stats, error) {
	out, err := engine.FindAll(ctx, s.t(tenantID).stats(), f, statsDoc.counters, opts)
	return out, fault.Wrap(err, "read team counters")
}

func (s *mongoStore) Stats(ctx context.Context, tenantID string, ids []string) (map[string]Stats, error) {
	out := map[string]Stats{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := s.statsFind(ctx, tenantID, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, options.Find())
	for _, st := range list {
		out[st.ID] = st
	}
	return out, err
}

func (s *mongoStore) inc(ctx context.Context, tenantID, field string, ids []string, delta int64) error {
	if len(ids) == 0 || delta == 0 {
		return nil
	}
	_, err := s.t(tenantID).stats().UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: field, Value: delta}}}})
	return fault.Wrap(err, "add to %s", field)
}

func (s *mongoStore) AddOwnSales(ctx context.Context, tenantID, id string, delta int64) error {
	_, err := s.t(tenantID).stats().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "own_sales", Value: delta}}}, {Key: "$set", Value: bson.D{{Key: "dirty", Value: true}}}},
		options.UpdateOne().SetUpsert(true))
	return fault.Wrap(err, "add own sales of distributor %s", id)
}

func (s *mongoStore) Dirty(ctx context.Context, tenantID string, limit int) ([]Stats, error) {
	return s.statsFind(ctx, tenantID, bson.D{{Key: "dirty", Value: true}}, options.Find().SetLimit(int64(limit)))
}

func (s *mongoStore) Claim(ctx context.Context, tenantID, id string, own, rolled int64) (bool, error) {
	res, err := s.t(tenantID).stats().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "own_sales", Value: own}, {Key: "rolled", Value: rolled}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "rolled", Value: own}, {Key: "dirty", Value: false}}}})
	if err != nil {
		return false, fault.Wrap(err, "claim own sales of distributor %s", id)
	}
	return res.MatchedCount == 1, nil
}

func (s *mongoStore) Top(ctx context.Context, tenantID, by string, limit int) ([]Stats, error) {
	field := "team_sales"
	if by == "size" {
		field = "team_size"
	}
	return s.statsFind(ctx, tenantID, bson.D{}, options.Find().SetSort(bson.D{{Key: field, Value: -1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) SetStats(ctx context.Context, tenantID string, st Stats) error {
	_, err := s.t(tenantID).stats().UpdateOne(ctx, bson.D{{Key: "_id", Value: st.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "team_size", Value: st.TeamSize}, {Key: "team_sales", Value: st.TeamSales},
			{Key: "own_sales", Value: st.OwnSales}, {Key: "rolled", Value: st.Rolled}, {Key: "dirty", Value: false}}}},
		options.UpdateOne().SetUpsert(true))
	return fault.Wrap(err, "set counters of distributor %s", st.ID)
}
