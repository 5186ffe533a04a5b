package aftersale

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestStaleClaims (MongoDB): a line claimed by a request that ended
// without releasing it, or by one never written (a crash between the
// claim and the insert), is free for a new request; a fresh claim of a
// request being written is not.
func TestStaleClaims(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		if e.Kind() != engine.Mongo {
			t.Skip("SQLite claims lines in the transaction that writes the request")
		}
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		claims := e.Mongo(f.shop).C("aftersale_claims")
		claim := func(line int, request string, at time.Time) {
			t.Helper()
			if _, err := claims.UpdateOne(ctx, bson.D{{Key: "_id", Value: o.ID}},
				bson.D{{Key: "$push", Value: bson.D{{Key: "lines", Value: claim{Line: line, Request: request, At: at}}}},
					{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}}},
				options.UpdateOne().SetUpsert(true)); err != nil {
				t.Fatal(err)
			}
		}
		// An ended request still holding line 0.
		ended := f.create(fanID, o.ID, CreateRequest{Type: Exchange, Reason: "x", Lines: []LineRequest{{Line: line(0)}}})
		if _, err := f.svc.Withdraw(ctx, f.shop, fanID, ended.ID); err != nil {
			t.Fatal(err)
		}
		claim(0, ended.ID, f.now())
		// A request never written, claimed two minutes ago, holding line 1.
		claim(1, engine.NewID(), f.now().Add(-2*time.Minute))
		f.create(fanID, o.ID, CreateRequest{Type: Exchange, Reason: "both", Lines: []LineRequest{{Line: line(0)}, {Line: line(1)}}})

		// A request being written right now holds its line.
		p := f.order(fanID, order.Completed)
		o = p
		claim(0, engine.NewID(), f.now())
		if _, err := f.svc.Create(ctx, f.shop, fanID, p.ID, CreateRequest{Type: Exchange, Reason: "x", Lines: []LineRequest{{Line: line(0)}}}); err == nil {
			t.Fatal("took a line a request being written holds")
		} else {
			wantStatus(t, err, 409)
		}
	})
}
