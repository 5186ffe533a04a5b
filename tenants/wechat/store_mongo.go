package wechat

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

// settingsDoc is a shop's one settings document; its _id is the tenant id
// (unique even if tenants are ever pooled into one database).
type settingsDoc struct {
	ID       string `bson:"_id"`
	Settings `bson:",inline"`
}

func (s *mongoStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	var d settingsDoc
	err := s.e.Mongo(tenantID).C("wechat_settings").FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Settings{}, fault.NotFound("wechat settings")
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read wechat settings: %w", err)
	}
	d.UpdatedAt = d.UpdatedAt.UTC()
	return d.Settings, nil
}

func (s *mongoStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	c := s.e.Mongo(tenantID).C("wechat_settings")
	if st.Rev <= 1 {
		st.Rev = 1
		err := c.InsertOne(ctx, settingsDoc{ID: tenantID, Settings: st})
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return fault.Wrap(err, "save wechat settings")
	}
	res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: tenantID}, {Key: "rev", Value: st.Rev - 1}},
		bson.D{{Key: "$set", Value: st}})
	return fault.Wrap(engine.Matched(res, err, fault.ErrConflict), "save wechat settings") // none: another write took the revision
}

// fromMongo is q as read from Mongo: times in UTC, and a permanent code's
// expiry (stored as the zero date) the zero time.
func (q QRCode) fromMongo() QRCode {
	q.CreatedAt = q.CreatedAt.UTC()
	if q.ExpiresAt.IsZero() || q.ExpiresAt.Year() <= 1 {
		q.ExpiresAt = time.Time{}
	} else {
		q.ExpiresAt = q.ExpiresAt.UTC()
	}
	return q
}

func (s *mongoStore) QR(ctx context.Context, tenantID, scene string, permanent bool) (QRCode, error) {
	var q QRCode
	err := s.e.Mongo(tenantID).C("wechat_qrcodes").FindOne(ctx,
		bson.D{{Key: "scene", Value: scene}, {Key: "permanent", Value: permanent}}).Decode(&q)
	if engine.IsNoDocuments(err) {
		return QRCode{}, fault.NotFound("qr code")
	}
	if err != nil {
		return QRCode{}, fmt.Errorf("read qr code: %w", err)
	}
	return q.fromMongo(), nil
}

func (s *mongoStore) PutQR(ctx context.Context, tenantID string, q QRCode) error {
	put := func() error {
		_, err := s.e.Mongo(tenantID).C("wechat_qrcodes").UpdateOne(ctx,
			bson.D{{Key: "scene", Value: q.Scene}, {Key: "permanent", Value: q.Permanent}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "ticket", Value: q.Ticket}, {Key: "url", Value: q.URL},
				{Key: "expires_at", Value: q.ExpiresAt}, {Key: "created_at", Value: q.CreatedAt}}}},
			options.UpdateOne().SetUpsert(true))
		return err
	}
	err := put()
	if engine.IsUniqueViolation(err) {
		err = put() // two upserts raced to insert; the second now updates
	}
	return fault.Wrap(err, "store qr code")
}

func (s *mongoStore) QRCodes(ctx context.Context, tenantID string, limit int) ([]QRCode, error) {
	qs, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("wechat_qrcodes"), bson.D{}, QRCode.fromMongo,
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
	return qs, fault.Wrap(err, "list qr codes")
}

func (s *mongoStore) CountPermanentQR(ctx context.Context, tenantID string) (int64, error) {
	n, err := s.e.Mongo(tenantID).C("wechat_qrcodes").CountDocuments(ctx, bson.D{{Key: "permanent", Value: true}})
	return n, fault.Wrap(err, "count permanent qr codes")
}
