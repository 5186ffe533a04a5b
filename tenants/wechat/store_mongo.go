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
	ID                 string    `bson:"_id"`
	AppID              string    `bson:"app_id"`
	AppSecret          string    `bson:"app_secret"`
	Token              string    `bson:"token"`
	EncodingAESKey     string    `bson:"aes_key"`
	PrevEncodingAESKey string    `bson:"prev_aes_key"`
	Mode               Mode      `bson:"mode"`
	Welcome            string    `bson:"welcome"`
	Sandbox            bool      `bson:"sandbox"`
	Rev                int64     `bson:"rev"`
	UpdatedAt          time.Time `bson:"updated_at"`
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
	return Settings{AppID: d.AppID, AppSecret: d.AppSecret, Token: d.Token, EncodingAESKey: d.EncodingAESKey,
		PrevEncodingAESKey: d.PrevEncodingAESKey, Mode: d.Mode, Welcome: d.Welcome, Sandbox: d.Sandbox, Rev: d.Rev,
		UpdatedAt: d.UpdatedAt.UTC()}, nil
}

func (s *mongoStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	c := s.e.Mongo(tenantID).C("wechat_settings")
	d := settingsDoc{ID: tenantID, AppID: st.AppID, AppSecret: st.AppSecret, Token: st.Token, EncodingAESKey: st.EncodingAESKey,
		PrevEncodingAESKey: st.PrevEncodingAESKey, Mode: st.Mode, Welcome: st.Welcome, Sandbox: st.Sandbox, Rev: st.Rev,
		UpdatedAt: st.UpdatedAt}
	if st.Rev <= 1 {
		d.Rev = 1
		err := c.InsertOne(ctx, d)
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return err
	}
	res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: tenantID}, {Key: "rev", Value: st.Rev - 1}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "app_id", Value: d.AppID}, {Key: "app_secret", Value: d.AppSecret}, {Key: "token", Value: d.Token},
			{Key: "aes_key", Value: d.EncodingAESKey}, {Key: "prev_aes_key", Value: d.PrevEncodingAESKey},
			{Key: "mode", Value: d.Mode}, {Key: "welcome", Value: d.Welcome}, {Key: "sandbox", Value: d.Sandbox},
			{Key: "rev", Value: d.Rev}, {Key: "updated_at", Value: d.UpdatedAt}}}})
	if err != nil {
		return fmt.Errorf("save wechat settings: %w", err)
	}
	if res.MatchedCount != 1 {
		return fault.ErrConflict
	}
	return nil
}

type qrDoc struct {
	Scene     string    `bson:"scene"`
	Permanent bool      `bson:"permanent"`
	Ticket    string    `bson:"ticket"`
	URL       string    `bson:"url"`
	ExpiresAt time.Time `bson:"expires_at"`
	CreatedAt time.Time `bson:"created_at"`
}

func (d qrDoc) qr() QRCode {
	q := QRCode{Scene: d.Scene, Permanent: d.Permanent, Ticket: d.Ticket, URL: d.URL, CreatedAt: d.CreatedAt.UTC()}
	if !d.ExpiresAt.IsZero() && d.ExpiresAt.Year() > 1 {
		q.ExpiresAt = d.ExpiresAt.UTC()
	}
	return q
}

func (s *mongoStore) QR(ctx context.Context, tenantID, scene string, permanent bool) (QRCode, error) {
	var d qrDoc
	err := s.e.Mongo(tenantID).C("wechat_qrcodes").FindOne(ctx,
		bson.D{{Key: "scene", Value: scene}, {Key: "permanent", Value: permanent}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return QRCode{}, fault.NotFound("qr code")
	}
	if err != nil {
		return QRCode{}, fmt.Errorf("read qr code: %w", err)
	}
	return d.qr(), nil
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
	if err != nil {
		return fmt.Errorf("store qr code: %w", err)
	}
	return nil
}

func (s *mongoStore) QRCodes(ctx context.Context, tenantID string, limit int) ([]QRCode, error) {
	cur, err := s.e.Mongo(tenantID).C("wechat_qrcodes").Find(ctx, bson.D{},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list qr codes: %w", err)
	}
	var docs []qrDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]QRCode, len(docs))
	for i, d := range docs {
		out[i] = d.qr()
	}
	return out, nil
}

func (s *mongoStore) CountPermanentQR(ctx context.Context, tenantID string) (int64, error) {
	return s.e.Mongo(tenantID).C("wechat_qrcodes").CountDocuments(ctx, bson.D{{Key: "permanent", Value: true}})
}
