package pcstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/pcstore/source"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

// linkID is the _id of a tenant's one link document: the tenant's id, so
// it stays unique if tenants ever share a database (pooling).
func linkID(db *engine.MongoScope) string { return "link:" + db.TenantID() }

type linkDoc struct {
	Type            string                 `bson:"type"`
	URL             string                 `bson:"url"`
	Key             string                 `bson:"api_key"`
	Secret          string                 `bson:"api_secret"`
	UploadID        string                 `bson:"upload_id"`
	UploadName      string                 `bson:"upload_name"`
	Currency        string                 `bson:"currency"`
	Rates           map[string]source.Rate `bson:"rates"`
	IntervalMinutes int                    `bson:"interval_minutes"`
	AssumedStock    int64                  `bson:"assumed_stock"`
	CreatedAt       time.Time              `bson:"created_at"`
	UpdatedAt       time.Time              `bson:"updated_at"`
	NextRunAt       time.Time              `bson:"next_run_at"`
	CurrentRun      string                 `bson:"current_run"`
	LastRunID       string                 `bson:"last_run_id"`
	LastCount       int64                  `bson:"last_count"`
}

func (s *mongoStore) GetLink(ctx context.Context, tenantID string) (Link, error) {
	var d linkDoc
	db := s.e.Mongo(tenantID)
	err := db.C("pcstore_links").FindOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Link{}, fault.NotFound("PC store link")
	}
	if err != nil {
		return Link{}, fmt.Errorf("get link: %w", err)
	}
	return Link{Type: d.Type, URL: d.URL, Key: d.Key, Secret: d.Secret, UploadID: d.UploadID, UploadName: d.UploadName,
		Currency: d.Currency, Rates: d.Rates, IntervalMinutes: d.IntervalMinutes, AssumedStock: d.AssumedStock,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), NextRunAt: d.NextRunAt.UTC(),
		CurrentRun: d.CurrentRun, LastRunID: d.LastRunID, LastCount: d.LastCount}, nil
}

func (s *mongoStore) PutLink(ctx context.Context, tenantID string, l Link) error {
	db := s.e.Mongo(tenantID)
	// The settings are $set, the schedule fields only $setOnInsert: an edit
	// never undoes what a sync recorded.
	_, err := db.C("pcstore_links").UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}}, bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "tenant_id", Value: db.TenantID()},
			{Key: "type", Value: l.Type}, {Key: "url", Value: l.URL}, {Key: "api_key", Value: l.Key},
			{Key: "api_secret", Value: l.Secret}, {Key: "upload_id", Value: l.UploadID}, {Key: "upload_name", Value: l.UploadName},
			{Key: "currency", Value: l.Currency}, {Key: "rates", Value: nonNilRates(l.Rates)},
			{Key: "interval_minutes", Value: l.IntervalMinutes}, {Key: "assumed_stock", Value: l.AssumedStock},
			{Key: "updated_at", Value: l.UpdatedAt}, {Key: "next_run_at", Value: l.NextRunAt},
		}},
		{Key: "$setOnInsert", Value: bson.D{
			{Key: "created_at", Value: l.CreatedAt}, {Key: "current_run", Value: ""},
			{Key: "last_run_id", Value: ""}, {Key: "last_count", Value: int64(0)},
		}},
	}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("put link: %w", err)
	}
	return nil
}

func (s *mongoStore) DeleteLink(ctx context.Context, tenantID string) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("pcstore_links").DeleteOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return fault.NotFound("PC store link")
	}
	return nil
}

func (s *mongoStore) SetLinkRun(ctx context.Context, tenantID, runID string) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("pcstore_links").UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "current_run", Value: runID}}}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return fault.NotFound("PC store link")
	}
	return nil
}

func (s *mongoStore) FinishLinkRun(ctx context.Context, tenantID, runID string, next time.Time, lastCount int64) error {
	db := s.e.Mongo(tenantID)
	c := db.C("pcstore_links")
	set := bson.D{{Key: "last_run_id", Value: runID}, {Key: "next_run_at", Value: next}, {Key: "last_count", Value: lastCount}}
	if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}}, bson.D{{Key: "$set", Value: set}}); err != nil {
		return err
	}
	// Cleared only if still this run: a conditional single-document update.
	_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}, {Key: "current_run", Value: runID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "current_run", Value: ""}}}})
	return err
}

type mappingDoc struct {
	ID         string            `bson:"_id"`
	Source     string            `bson:"source"`
	ExternalID string            `bson:"external_id"`
	ProductID  string            `bson:"product_id"`
	SKUs       map[string]string `bson:"skus"`
	Run        string            `bson:"run"`
	Outcome    string            `bson:"outcome"`
	Gone       bool              `bson:"gone"`
	UpdatedAt  time.Time         `bson:"updated_at"`
}

func (d mappingDoc) mapping() Mapping {
	return Mapping{Source: d.Source, ExternalID: d.ExternalID, ProductID: d.ProductID, SKUs: d.SKUs, Run: d.Run,
		Outcome: d.Outcome, Gone: d.Gone, UpdatedAt: d.UpdatedAt.UTC()}
}

func (s *mongoStore) Mappings(ctx context.Context, tenantID, src string, ids []string) (map[string]Mapping, error) {
	out := make(map[string]Mapping, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := s.e.Mongo(tenantID).C("pcstore_mappings").Find(ctx,
		bson.D{{Key: "source", Value: src}, {Key: "external_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	var docs []mappingDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	for _, d := range docs {
		out[d.ExternalID] = d.mapping()
	}
	return out, nil
}

func (s *mongoStore) ClaimMappings(ctx context.Context, tenantID string, ms []Mapping) error {
	if len(ms) == 0 {
		return nil
	}
	docs := make([]any, len(ms))
	for i, m := range ms {
		skus := m.SKUs
		if skus == nil {
			skus = map[string]string{}
		}
		docs[i] = mappingDoc{ID: engine.NewID(), Source: m.Source, ExternalID: m.ExternalID, ProductID: m.ProductID,
			SKUs: skus, Run: m.Run, Outcome: m.Outcome, Gone: m.Gone, UpdatedAt: m.UpdatedAt}
	}
	// Unordered: the unique (tenant, source, external id) index turns away
	// the claims someone else holds, the others go in.
	err := s.e.Mongo(tenantID).C("pcstore_mappings").InsertMany(ctx, docs)
	if err != nil && !onlyDuplicates(err) {
		return fmt.Errorf("claim mappings: %w", err)
	}
	return nil
}

// onlyDuplicates reports whether every write error of a bulk insert is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0 {
		for _, we := range bwe.WriteErrors {
			if !engine.IsUniqueViolation(we) {
				return false
			}
		}
		return true
	}
	return engine.IsUniqueViolation(err)
}

func (s *mongoStore) SaveMapping(ctx context.Context, tenantID string, m Mapping) error {
	skus := m.SKUs
	if skus == nil {
		skus = map[string]string{}
	}
	res, err := s.e.Mongo(tenantID).C("pcstore_mappings").UpdateOne(ctx,
		bson.D{{Key: "source", Value: m.Source}, {Key: "external_id", Value: m.ExternalID}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "product_id", Value: m.ProductID}, {Key: "skus", Value: skus}, {Key: "run", Value: m.Run},
			{Key: "outcome", Value: m.Outcome}, {Key: "gone", Value: m.Gone}, {Key: "updated_at", Value: m.UpdatedAt},
		}}})
	if err != nil {
		return fmt.Errorf("save mapping: %w", err)
	}
	if res.MatchedCount == 0 {
		return fault.NotFound("mapping")
	}
	return nil
}

func (s *mongoStore) MarkSeen(ctx context.Context, tenantID, src, runID, outcome string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.e.Mongo(tenantID).C("pcstore_mappings").UpdateMany(ctx,
		bson.D{{Key: "source", Value: src}, {Key: "external_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "run", Value: runID}, {Key: "outcome", Value: outcome},
			{Key: "updated_at", Value: time.Now().UTC()}}}})
	return err
}

func (s *mongoStore) StaleMappings(ctx context.Context, tenantID, src, runID string, limit int) ([]Mapping, error) {
	cur, err := s.e.Mongo(tenantID).C("pcstore_mappings").Find(ctx,
		bson.D{{Key: "source", Value: src}, {Key: "gone", Value: false}, {Key: "run", Value: bson.D{{Key: "$ne", Value: runID}}}},
		options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []mappingDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Mapping, len(docs))
	for i, d := range docs {
		out[i] = d.mapping()
	}
	return out, nil
}

func (s *mongoStore) CountOutcomes(ctx context.Context, tenantID, runID string) (Counts, error) {
	// One count per outcome, each served by the (run, outcome) index; no
	// $group, which FerretDB does not do well.
	c := s.e.Mongo(tenantID).C("pcstore_mappings")
	var out Counts
	for _, o := range []string{outCreated, outUpdated, outUnchanged, outOffSale} {
		n, err := c.CountDocuments(ctx, bson.D{{Key: "run", Value: runID}, {Key: "outcome", Value: o}})
		if err != nil {
			return Counts{}, err
		}
		out.add(o, n)
	}
	return out, nil
}

type runDoc struct {
	ID          string    `bson:"_id"`
	Status      string    `bson:"status"`
	Trigger     string    `bson:"trigger"`
	Spec        Spec      `bson:"spec"`
	Counts      Counts    `bson:"counts"`
	Total       int64     `bson:"total"`
	BytesRead   int64     `bson:"bytes_read"`
	BytesTotal  int64     `bson:"bytes_total"`
	Page        int       `bson:"page"`
	Resumes     int       `bson:"resumes"`
	Error       string    `bson:"error"`
	Notes       []string  `bson:"notes"`
	StartedAt   time.Time `bson:"started_at"`
	FinishedAt  time.Time `bson:"finished_at"`
	HeartbeatAt time.Time `bson:"heartbeat_at"`
	ActiveMS    int64     `bson:"active_ms"`
}

func (d runDoc) run() Run {
	r := Run(d)
	r.StartedAt, r.HeartbeatAt = d.StartedAt.UTC(), d.HeartbeatAt.UTC()
	if !d.FinishedAt.IsZero() && d.FinishedAt.Unix() > 0 {
		r.FinishedAt = d.FinishedAt.UTC()
	} else {
		r.FinishedAt = time.Time{}
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	return r
}

func (s *mongoStore) CreateRun(ctx context.Context, tenantID string, r Run) error {
	if err := s.e.Mongo(tenantID).C("pcstore_runs").InsertOne(ctx, runDoc(r)); err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

func (s *mongoStore) GetRun(ctx context.Context, tenantID, id string) (Run, error) {
	var d runDoc
	err := s.e.Mongo(tenantID).C("pcstore_runs").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Run{}, fault.NotFound("run")
	}
	if err != nil {
		return Run{}, err
	}
	return d.run(), nil
}

func (s *mongoStore) SaveRun(ctx context.Context, tenantID string, r Run) error {
	res, err := s.e.Mongo(tenantID).C("pcstore_runs").UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "status", Value: r.Status}, {Key: "spec", Value: r.Spec}, {Key: "counts", Value: r.Counts},
			{Key: "total", Value: r.Total}, {Key: "bytes_read", Value: r.BytesRead}, {Key: "bytes_total", Value: r.BytesTotal},
			{Key: "page", Value: r.Page}, {Key: "resumes", Value: r.Resumes}, {Key: "error", Value: r.Error},
			{Key: "notes", Value: nonNilNotes(r.Notes)}, {Key: "finished_at", Value: r.FinishedAt},
			{Key: "heartbeat_at", Value: r.HeartbeatAt}, {Key: "active_ms", Value: r.ActiveMS},
		}}})
	if err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	if res.MatchedCount == 0 {
		return fault.NotFound("run")
	}
	return nil
}

func (s *mongoStore) ListRuns(ctx context.Context, tenantID string, before time.Time, limit int) ([]Run, error) {
	filter := bson.D{}
	if !before.IsZero() {
		filter = bson.D{{Key: "started_at", Value: bson.D{{Key: "$lt", Value: before}}}}
	}
	cur, err := s.e.Mongo(tenantID).C("pcstore_runs").Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []runDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Run, len(docs))
	for i, d := range docs {
		out[i] = d.run()
	}
	return out, nil
}

type runErrorDoc struct {
	ID         string    `bson:"_id"`
	RunID      string    `bson:"run_id"`
	Ref        string    `bson:"ref"`
	Seq        int64     `bson:"seq"`
	ExternalID string    `bson:"external_id"`
	Title      string    `bson:"title"`
	Message    string    `bson:"message"`
	At         time.Time `bson:"at"`
}

func (s *mongoStore) AddRunError(ctx context.Context, tenantID string, e RunError) (bool, error) {
	// The unique (run_id, ref) index makes a replayed error a no-op.
	err := s.e.Mongo(tenantID).C("pcstore_run_errors").InsertOne(ctx, runErrorDoc{ID: engine.NewID(), RunID: e.RunID,
		Ref: e.Ref, Seq: e.At.UnixNano(), ExternalID: e.ExternalID, Title: e.Title, Message: e.Message, At: e.At})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add run error: %w", err)
	}
	return true, nil
}

func (s *mongoStore) RunErrors(ctx context.Context, tenantID, runID string, offset, limit int) ([]RunError, error) {
	cur, err := s.e.Mongo(tenantID).C("pcstore_run_errors").Find(ctx, bson.D{{Key: "run_id", Value: runID}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetSkip(int64(offset)).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []runErrorDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]RunError, len(docs))
	for i, d := range docs {
		out[i] = RunError{RunID: d.RunID, Ref: d.Ref, ExternalID: d.ExternalID, Title: d.Title, Message: d.Message, At: d.At.UTC()}
	}
	return out, nil
}

func (s *mongoStore) CountRunErrors(ctx context.Context, tenantID, runID string) (int64, error) {
	return s.e.Mongo(tenantID).C("pcstore_run_errors").CountDocuments(ctx, bson.D{{Key: "run_id", Value: runID}})
}

type uploadDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Size      int64     `bson:"size"`
	CreatedAt time.Time `bson:"created_at"`
}

type chunkDoc struct {
	ID       string `bson:"_id"`
	UploadID string `bson:"upload_id"`
	Seq      int    `bson:"seq"`
	Data     []byte `bson:"data"`
}

func (s *mongoStore) PutUpload(ctx context.Context, tenantID string, u Upload, r io.Reader, max int64) (int64, error) {
	db := s.e.Mongo(tenantID)
	size, err := writeChunks(r, max, func(seq int, data []byte) error {
		return db.C("pcstore_upload_chunks").InsertOne(ctx, chunkDoc{ID: fmt.Sprintf("%s:%d", u.ID, seq), UploadID: u.ID, Seq: seq, Data: data})
	})
	if err != nil {
		return 0, err
	}
	err = db.C("pcstore_uploads").InsertOne(ctx, uploadDoc{ID: u.ID, Name: u.Name, Size: size, CreatedAt: u.CreatedAt})
	return size, err
}

func (s *mongoStore) OpenUpload(ctx context.Context, tenantID, id string) (io.ReadCloser, int64, error) {
	db := s.e.Mongo(tenantID)
	var u uploadDoc
	err := db.C("pcstore_uploads").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&u)
	if engine.IsNoDocuments(err) {
		return nil, 0, fault.NotFound("uploaded feed")
	}
	if err != nil {
		return nil, 0, err
	}
	return &chunkReader{next: func(seq int) ([]byte, error) {
		var c chunkDoc
		err := db.C("pcstore_upload_chunks").FindOne(ctx, bson.D{{Key: "upload_id", Value: id}, {Key: "seq", Value: seq}}).Decode(&c)
		if engine.IsNoDocuments(err) {
			return nil, io.EOF
		}
		return c.Data, err
	}}, u.Size, nil
}

func (s *mongoStore) DeleteUploads(ctx context.Context, tenantID string, keep ...string) error {
	db := s.e.Mongo(tenantID)
	cur, err := db.C("pcstore_uploads").Find(ctx, bson.D{})
	if err != nil {
		return err
	}
	var ups []uploadDoc
	if err := cur.All(ctx, &ups); err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	for _, u := range ups {
		if kept[u.ID] {
			continue
		}
		if _, err := db.C("pcstore_uploads").DeleteOne(ctx, bson.D{{Key: "_id", Value: u.ID}}); err != nil {
			return err
		}
		if _, err := db.C("pcstore_upload_chunks").DeleteMany(ctx, bson.D{{Key: "upload_id", Value: u.ID}}); err != nil {
			return err
		}
	}
	return nil
}
