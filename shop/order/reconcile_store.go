package order

import (
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// What reconciliation reads of the store: a provider's payments of a
// period, and the orders that had money refunded.

func (s *sqliteStore) PaymentsBetween(ctx context.Context, tenantID, provider string, from, to time.Time) ([]Payment, error) {
	scan := func(scan func(...any) error) (Payment, error) {
		var p Payment
		var at, refunded string
		err := scan(&p.Provider, &p.TransactionID, &p.OrderID, &p.Amount, &at, &p.Refund, &p.Reason, &refunded)
		p.At, p.RefundedAt = engine.ParseTimeText(at), engine.ParseOptTime(refunded)
		return p, err
	}
	list, err := engine.SQLAll(ctx, s.e, tenantID, scan, `SELECT provider, transaction_id, order_id, amount, at, refund, reason, refunded_at
		FROM payments WHERE tenant_id = ? AND provider = ? AND at >= ? AND at < ? ORDER BY at`,
		provider, engine.TimeText(from), engine.TimeText(to))
	return list, fault.Wrap(err, "list payments between")
}

func (s *sqliteStore) RefundedSince(ctx context.Context, tenantID string, createdFrom time.Time) ([]Order, error) {
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND created_at >= ? AND refunded > 0`,
		engine.TimeText(createdFrom))
	return list, fault.Wrap(err, "refunded orders")
}

func (s *mongoStore) PaymentsBetween(ctx context.Context, tenantID, provider string, from, to time.Time) ([]Payment, error) {
	out, err := findAll[Payment](ctx, s.e.Mongo(tenantID).C("payments"), bson.D{{Key: "provider", Value: provider},
		{Key: "at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return nil, fault.Wrap(err, "list payments between")
	}
	// The payments that paid their orders are the orders' own (MarkPaid).
	paid, err := s.find(ctx, tenantID, bson.D{{Key: "paid_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}, options.Find())
	if err != nil {
		return nil, fault.Wrap(err, "list payments between")
	}
	paid = slices.DeleteFunc(paid, func(o Order) bool { return o.Provider != provider })
	return withOrderPayments(out, paid), nil
}

func (s *mongoStore) RefundedSince(ctx context.Context, tenantID string, createdFrom time.Time) ([]Order, error) {
	list, err := s.find(ctx, tenantID, bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: createdFrom}}},
		{Key: "refunded", Value: bson.D{{Key: "$gt", Value: 0}}}}, options.Find())
	return list, fault.Wrap(err, "refunded orders")
}

// reconciliationDoc is one shop's reconciliation of one China day.
func reconciliationDoc(date string) engine.Doc {
	return engine.Doc{Table: "order_reconciliations", Name: date}
}

func (s engineStore) Reconciliation(ctx context.Context, tenantID, date string) (Reconciliation, bool, error) {
	var r Reconciliation
	found, err := s.e.LoadDoc(ctx, tenantID, reconciliationDoc(date), &r)
	return r.normal(), found, err
}

func (s engineStore) SaveReconciliation(ctx context.Context, tenantID string, r Reconciliation) error {
	return s.e.SaveDoc(ctx, tenantID, reconciliationDoc(r.Date), r.normal())
}
