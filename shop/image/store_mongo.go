package image

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps records in images and bytes in image_chunks documents
// {blob_id, n, data} of the shop's database, tenant-scoped like every other
// collection. (Not GridFS: its fs.files and fs.chunks queries carry no
// tenant_id, which the engine's scope adds to every query and index, so
// they could not share a database between shops.)
type mongoStore struct{ e *engine.Engine }

type chunkDoc struct {
	BlobID string `bson:"blob_id"`
	N      int    `bson:"n"`
	Data   []byte `bson:"data"`
}

func (s *mongoStore) one(ctx context.Context, tenantID string, f bson.D) (Image, error) {
	var img Image
	err := s.e.Mongo(tenantID).C(imagesColl).FindOne(ctx, f).Decode(&img)
	if engine.IsNoDocuments(err) {
		return Image{}, fault.NotFound("image")
	}
	if err != nil {
		return Image{}, fmt.Errorf("read image: %w", err)
	}
	img.CreatedAt = img.CreatedAt.UTC()
	return img, nil
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Image, error) {
	return s.one(ctx, tenantID, bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) BySHA256(ctx context.Context, tenantID, sum string) (Image, error) {
	return s.one(ctx, tenantID, bson.D{{Key: "sha256", Value: sum}})
}

func (s *mongoStore) BySource(ctx context.Context, tenantID, sum string) (Image, error) {
	return s.one(ctx, tenantID, bson.D{{Key: "source_sha256", Value: sum}})
}

// Insert writes the bytes first, then the record: readers find bytes
// only through a record, so a crash in between leaves unreachable chunks,
// never a record without its bytes. The unique sha256 decides which of two
// same uploads is kept; the loser removes its chunks.
func (s *mongoStore) Insert(ctx context.Context, tenantID string, img Image, data, thumb []byte) (Image, bool, error) {
	m := s.e.Mongo(tenantID)
	if err := s.writeChunks(ctx, m, img.ID, data); err != nil {
		return Image{}, false, err
	}
	if img.ThumbID != img.ID {
		if err := s.writeChunks(ctx, m, img.ThumbID, thumb); err != nil {
			s.removeChunks(ctx, m, img.ID)
			return Image{}, false, err
		}
	}
	err := m.C(imagesColl).InsertOne(ctx, img)
	if err == nil {
		return img, true, nil
	}
	s.removeChunks(ctx, m, img.ID, img.ThumbID)
	if !engine.IsUniqueViolation(err) {
		return Image{}, false, fmt.Errorf("insert image: %w", err)
	}
	kept, err := s.BySHA256(ctx, tenantID, img.SHA256)
	return kept, false, err
}

func (s *mongoStore) writeChunks(ctx context.Context, m *engine.MongoScope, blobID string, data []byte) error {
	docs := []any{}
	for n := 0; n == 0 || n*chunkSize < len(data); n++ {
		end := min((n+1)*chunkSize, len(data))
		docs = append(docs, chunkDoc{BlobID: blobID, N: n, Data: data[n*chunkSize : end]})
	}
	// A few at a time: one insert command is at most 48 MB.
	for len(docs) > 0 {
		k := min(len(docs), 32)
		if err := m.C(chunksColl).InsertMany(ctx, docs[:k]); err != nil {
			return fmt.Errorf("write image bytes: %w", err)
		}
		docs = docs[k:]
	}
	return nil
}

// removeChunks deletes the chunks of blobs, best effort (they are
// unreachable without a record).
func (s *mongoStore) removeChunks(ctx context.Context, m *engine.MongoScope, blobIDs ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, id := range blobIDs {
		_, _ = m.C(chunksColl).DeleteMany(ctx, bson.D{{Key: "blob_id", Value: id}})
	}
}

func (s *mongoStore) Bytes(ctx context.Context, tenantID, blobID string) ([]byte, error) {
	cur, err := s.e.Mongo(tenantID).C(chunksColl).Find(ctx, bson.D{{Key: "blob_id", Value: blobID}},
		options.Find().SetSort(bson.D{{Key: "n", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read image bytes: %w", err)
	}
	var chunks []chunkDoc
	if err := cur.All(ctx, &chunks); err != nil {
		return nil, fmt.Errorf("read image bytes: %w", err)
	}
	if len(chunks) == 0 {
		return nil, fault.NotFound("image")
	}
	var out []byte
	for i, c := range chunks {
		if c.N != i {
			return nil, errors.New("read image bytes: a chunk is missing")
		}
		out = append(out, c.Data...)
	}
	return out, nil
}

func (s *mongoStore) Existing(ctx context.Context, tenantID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	found, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C(imagesColl), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		func(d struct {
			ID string `bson:"_id"`
		}) string {
			return d.ID
		}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find images: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// Delete removes the record first (the image is gone for readers), then
// its bytes.
func (s *mongoStore) Delete(ctx context.Context, tenantID, id string) error {
	img, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	m := s.e.Mongo(tenantID)
	res, err := m.C(imagesColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return fmt.Errorf("delete image %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return fault.NotFound("image")
	}
	s.removeChunks(ctx, m, img.ID, img.ThumbID)
	return nil
}
