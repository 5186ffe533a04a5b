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

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps pcstore's records in the tenant's MongoDB database: the
// link and runs as their own types (see their bson names), mappings, run
// errors and uploads as the documents below.
type mongoStore struct{ e *engine.Engine }

// linkID is the _id of a tenant's one link document: the tenant's id, so
// it stays unique if tenants ever share a database (pooling).
func linkID(db *engine.MongoScope) string { return "link:" + db.TenantID() }

func (s *mongoStore) GetLink(ctx context.Context, tenantID string) (Link, error) {
	var l Link
	db := s.e.Mongo(tenantID)
	err := db.C("pcstore_links").FindOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}}).Decode(&l)
	if engine.IsNoDocuments(err) {
		return Link{}, errNoLink()
	}
	if err != nil {
		return Link{}, fmt.Errorf("get link: %w", err)
	}
	l.CreatedAt, l.UpdatedAt, l.NextRunAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC(), l.NextRunAt.UTC()
	return l, nil
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
			{Key: "currency", Value: l.Currency}, {Key: "currency_from_store", Value: l.CurrencyFromStore}, {Key: "rates", Value: orEmpty(l.Rates)},
			{Key: "interval_minutes", Value: l.IntervalMinutes}, {Key: "assumed_stock", Value: l.AssumedStock},
			{Key: "updated_at", Value: l.UpdatedAt}, {Key: "next_run_at", Value: l.NextRunAt},
		}},
		{Key: "$setOnInsert", Value: bson.D{
			{Key: "created_at", Value: l.CreatedAt}, {Key: "current_run", Value: ""},
			{Key: "last_run_id", Value: ""}, {Key: "last_count", Value: int64(0)},
		}},
	}, options.UpdateOne().SetUpsert(true))
	return fault.Wrap(err, "put link")
}

func (s *mongoStore) DeleteLink(ctx context.Context, tenantID string) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("pcstore_links").DeleteOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}})
	if err != nil {
		return fmt.Errorf("delete link: %w", err)
	}
	if res.DeletedCount == 0 {
		return errNoLink()
	}
	return nil
}

func (s *mongoStore) SetLinkRun(ctx context.Context, tenantID, runID string) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("pcstore_links").UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "current_run", Value: runID}}}})
	return fault.Wrap(engine.Matched(res, err, errNoLink()), "set link run %s", runID)
}

func (s *mongoStore) FinishLinkRun(ctx context.Context, tenantID, runID string, next time.Time, lastCount int64) error {
	db := s.e.Mongo(tenantID)
	c := db.C("pcstore_links")
	set := bson.D{{Key: "last_run_id", Value: runID}, {Key: "next_run_at", Value: next}, {Key: "last_count", Value: lastCount}}
	_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}}, bson.D{{Key: "$set", Value: set}})
	if err == nil {
		// Cleared only if still this run: a conditional single-document update.
		_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: linkID(db)}, {Key: "current_run", Value: runID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "current_run", Value: ""}}}})
	}
	return fault.Wrap(err, "finish link run %s", runID)
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
	if len(ids) == 0 {
		return map[string]Mapping{}, nil
	}
	ms, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("pcstore_mappings"),
		bson.D{{Key: "source", Value: src}, {Key: "external_id", Value: bson.D{{Key: "$in", Value: ids}}}}, mappingDoc.mapping)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	return byExternalID(ms), nil
}

func (s *mongoStore) ClaimMappings(ctx context.Context, tenantID string, ms []Mapping) error {
	if len(ms) == 0 {
		return nil
	}
	docs := make([]any, len(ms))
	for i, m := range ms {
		docs[i] = mappingDoc{ID: engine.NewID(), Source: m.Source, ExternalID: m.ExternalID, ProductID: m.ProductID,
			SKUs: orEmpty(m.SKUs), Run: m.Run, Outcome: m.Outcome, Gone: m.Gone, UpdatedAt: m.UpdatedAt}
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
	res, err := s.e.Mongo(tenantID).C("pcstore_mappings").UpdateOne(ctx,
		bson.D{{Key: "source", Value: m.Source}, {Key: "external_id", Value: m.ExternalID}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "product_id", Value: m.ProductID}, {Key: "skus", Value: orEmpty(m.SKUs)}, {Key: "run", Value: m.Run},
			{Key: "outcome", Value: m.Outcome}, {Key: "gone", Value: m.Gone}, {Key: "updated_at", Value: m.UpdatedAt},
		}}})
	return fault.Wrap(engine.Matched(res, err, fault.NotFound("mapping")), "save mapping %s", m.ExternalID)
}

func (s *mongoStore) MarkSeen(ctx context.Context, tenantID, src, runID, outcome string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.e.Mongo(tenantID).C("pcstore_mappings").UpdateMany(ctx,
		bson.D{{Key: "source", Value: src}, {Key: "external_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "run", Value: runID}, {Key: "outcome", Value: outcome},
			{Key: "updated_at", Value: time.Now().UTC()}}}})
	return fault.Wrap(err, "mark %d mappings %s", len(ids), outcome)
}

func (s *mongoStore) StaleMappings(ctx context.Context, tenantID, src, runID string, limit int) ([]Mapping, error) {
	ms, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("pcstore_mappings"),
		bson.D{{Key: "source", Value: src}, {Key: "gone", Value: false}, {Key: "run", Value: bson.D{{Key: "$ne", Value: runID}}}},
		mappingDoc.mapping, options.Find().SetLimit(int64(limit)))
	return ms, fault.Wrap(err, "stale mappings")
}

func (s *mongoStore) CountOutcomes(ctx context.Context, tenantID, runID string) (Counts, error) {
	// One count per outcome, each served by the (run, outcome) index; no
	// $group, which FerretDB does not do well.
	c := s.e.Mongo(tenantID).C("pcstore_mappings")
	var out Counts
	for _, o := range []string{outCreated, outUpdated, outUnchanged, outOffSale} {
		n, err := c.CountDocuments(ctx, bson.D{{Key: "run", Value: runID}, {Key: "outcome", Value: o}})
		if err != nil {
			return Counts{}, fmt.Errorf("count outcomes of run %s: %w", runID, err)
		}
		out.add(o, n)
	}
	return out, nil
}

func (s *mongoStore) CreateRun(ctx context.Context, tenantID string, r Run) error {
	return fault.Wrap(s.e.Mongo(tenantID).C("pcstore_runs").InsertOne(ctx, r), "create run")
}

func (s *mongoStore) GetRun(ctx context.Context, tenantID, id string) (Run, error) {
	var r Run
	err := s.e.Mongo(tenantID).C("pcstore_runs").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&r)
	if engine.IsNoDocuments(err) {
		return Run{}, fault.NotFound("run")
	}
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", id, err)
	}
	return r.tidy(), nil
}

func (s *mongoStore) SaveRun(ctx context.Context, tenantID string, r Run) error {
	res, err := s.e.Mongo(tenantID).C("pcstore_runs").UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "status", Value: r.Status}, {Key: "spec", Value: r.Spec}, {Key: "counts", Value: r.Counts},
			{Key: "total", Value: r.Total}, {Key: "bytes_read", Value: r.BytesRead}, {Key: "bytes_total", Value: r.BytesTotal},
			{Key: "page", Value: r.Page}, {Key: "resumes", Value: r.Resumes}, {Key: "error", Value: r.Error},
			{Key: "notes", Value: orNone(r.Notes)}, {Key: "finished_at", Value: r.FinishedAt},
			{Key: "heartbeat_at", Value: r.HeartbeatAt}, {Key: "active_ms", Value: r.ActiveMS},
		}}})
	return fault.Wrap(engine.Matched(res, err, fault.NotFound("run")), "save run %s", r.ID)
}

func (s *mongoStore) ListRuns(ctx context.Context, tenantID string, before time.Time, limit int) ([]Run, error) {
	filter := bson.D{}
	if !before.IsZero() {
		filter = bson.D{{Key: "started_at", Value: bson.D{{Key: "$lt", Value: before}}}}
	}
	rs, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("pcstore_runs"), filter, Run.tidy, options.Find().
		SetSort(bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	return rs, fault.Wrap(err, "list runs")
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

func (d runErrorDoc) runError() RunError {
	return RunError{RunID: d.RunID, Ref: d.Ref, ExternalID: d.ExternalID, Title: d.Title, Message: d.Message, At: d.At.UTC()}
}

func (s *mongoStore) AddRunError(ctx context.Context, tenantID string, e RunError) (bool, error) {
	// The unique (run_id, ref) index makes a replayed error a no-op.
	err := s.e.Mongo(tenantID).C("pcstore_run_errors").InsertOne(ctx, runErrorDoc{ID: engine.NewID(), RunID: e.RunID,
		Ref: e.Ref, Seq: e.At.UnixNano(), ExternalID: e.ExternalID, Title: e.Title, Message: e.Message, At: e.At})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, fault.Wrap(err, "add run error")
}

func (s *mongoStore) RunErrors(ctx context.Context, tenantID, runID string, offset, limit int) ([]RunError, error) {
	es, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("pcstore_run_errors"), bson.D{{Key: "run_id", Value: runID}}, runErrorDoc.runError,
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetSkip(int64(offset)).SetLimit(int64(limit)))
	return es, fault.Wrap(err, "errors of run %s", runID)
}

func (s *mongoStore) CountRunErrors(ctx context.Context, tenantID, runID string) (int64, error) {
	n, err := s.e.Mongo(tenantID).C("pcstore_run_errors").CountDocuments(ctx, bson.D{{Key: "run_id", Value: runID}})
	return n, fault.Wrap(err, "count errors of run %s", runID)
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
	if err := db.C("pcstore_uploads").InsertOne(ctx, uploadDoc{ID: u.ID, Name: u.Name, Size: size, CreatedAt: u.CreatedAt}); err != nil {
		return 0, fmt.Errorf("put upload %s: %w", u.ID, err)
	}
	return size, nil
}

func (s *mongoStore) OpenUpload(ctx context.Context, tenantID, id string) (io.ReadCloser, int64, error) {
	db := s.e.Mongo(tenantID)
	var u uploadDoc
	err := db.C("pcstore_uploads").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&u)
	if engine.IsNoDocuments(err) {
		return nil, 0, errNoUpload()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open upload %s: %w", id, err)
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

// sweptUploads bounds the uploads one DeleteUploads reads, oldest first: a
// shop holds its feed and at most the one replacing it, since every
// upload sweeps the others; any beyond go at the next sweep.
const sweptUploads = 100

func (s *mongoStore) DeleteUploads(ctx context.Context, tenantID string, keep ...string) error {
	db := s.e.Mongo(tenantID)
	ids, err := engine.FindAll(ctx, db.C("pcstore_uploads"), bson.D{}, func(u uploadDoc) string { return u.ID },
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(sweptUploads))
	if err != nil {
		return fmt.Errorf("list uploads: %w", err)
	}
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	for _, id := range ids {
		if kept[id] {
			continue
		}
		if _, err := db.C("pcstore_uploads").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return fmt.Errorf("delete upload %s: %w", id, err)
		}
		if _, err := db.C("pcstore_upload_chunks").DeleteMany(ctx, bson.D{{Key: "upload_id", Value: id}}); err != nil {
			return fmt.Errorf("delete upload %s: %w", id, err)
		}
	}
	return nil
}

type imageCopyDoc struct {
	Key          string    `bson:"key"`
	URL          string    `bson:"url"`
	ETag         string    `bson:"etag"`
	LastModified string    `bson:"last_modified"`
	SHA256       string    `bson:"sha256"`
	Stored       string    `bson:"stored"`
	CheckedAt    time.Time `bson:"checked_at"`
}

func (d imageCopyDoc) copy() ImageCopy {
	return ImageCopy{URL: d.URL, ETag: d.ETag, LastModified: d.LastModified, SHA256: d.SHA256, Stored: d.Stored, CheckedAt: d.CheckedAt.UTC()}
}

func (s *mongoStore) ImageCopies(ctx context.Context, tenantID string, urls []string) (map[string]ImageCopy, error) {
	out := map[string]ImageCopy{}
	if len(urls) == 0 {
		return out, nil
	}
	keys := make([]string, len(urls))
	for i, u := range urls {
		keys[i] = imageKey(u)
	}
	cs, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("pcstore_images"),
		bson.D{{Key: "key", Value: bson.D{{Key: "$in", Value: keys}}}}, imageCopyDoc.copy)
	if err != nil {
		return nil, fmt.Errorf("image copies: %w", err)
	}
	for _, c := range cs {
		out[c.URL] = c
	}
	return out, nil
}

func (s *mongoStore) SaveImageCopy(ctx context.Context, tenantID string, c ImageCopy) error {
	_, err := s.e.Mongo(tenantID).C("pcstore_images").UpdateOne(ctx, bson.D{{Key: "key", Value: imageKey(c.URL)}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "url", Value: c.URL}, {Key: "etag", Value: c.ETag}, {Key: "last_modified", Value: c.LastModified},
			{Key: "sha256", Value: c.SHA256}, {Key: "stored", Value: c.Stored}, {Key: "checked_at", Value: c.CheckedAt},
		}}}, options.UpdateOne().SetUpsert(true))
	if engine.IsUniqueViolation(err) { // two upserts raced: the other's copy is as good
		return nil
	}
	return fault.Wrap(err, "save image copy")
}
