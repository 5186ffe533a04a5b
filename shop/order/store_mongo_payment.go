package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The payments on MongoDB: a payment that paid its order is kept in the
// order itself (one update pays and records it); others (flagged, refunds)
// in the payments collection. Reads merge the two.

// orderPayment is the payment that paid o, as the order records it (false:
// o was never paid).
func orderPayment(o Order) (Payment, bool) {
	if o.TransactionID == "" || o.Provider == "" || o.PaidAt == nil {
		return Payment{}, false
	}
	return Payment{Provider: o.Provider, TransactionID: o.TransactionID, OrderID: o.ID, Amount: o.Paid, At: *o.PaidAt}, true
}

// withOrderPayments adds to list the payments of orders (orderPayment)
// it does not hold yet: on MongoDB the payment that pays an order is
// written into the order only; the payments collection holds the others
// (flagged for a refund) and those of earlier releases.
// The result is by time (At), an order's own payment before the others
// of the same time (it came first: they could not pay the order).
func withOrderPayments(list []Payment, orders []Order) []Payment {
	seen := make(map[string]bool, len(list))
	for _, p := range list {
		seen[p.Provider+"/"+p.TransactionID] = true
	}
	var own []Payment
	for _, o := range orders {
		if p, ok := orderPayment(o); ok && !seen[p.Provider+"/"+p.TransactionID] {
			seen[p.Provider+"/"+p.TransactionID] = true
			own = append(own, p)
		}
	}
	out := append(own, list...)
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	slices.SortStableFunc(out, func(a, b Payment) int { return a.At.Compare(b.At) })
	return out
}

func (s *mongoStore) InsertPayment(ctx context.Context, tenantID string, p Payment) (bool, error) {
	err := s.e.Mongo(tenantID).C("payments").InsertOne(ctx, p)
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, fault.Wrap(err, "record payment %s", p.TransactionID)
}

func (s *mongoStore) FlagPayment(ctx context.Context, tenantID, provider, transactionID, reason string) (bool, error) {
	ok, err := updatedOne(s.e.Mongo(tenantID).C("payments").UpdateOne(ctx,
		bson.D{{Key: "provider", Value: provider}, {Key: "transaction_id", Value: transactionID}, {Key: "refund", Value: bson.D{{Key: "$in", Value: bson.A{"", nil}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refund", Value: PaymentToRefund}, {Key: "reason", Value: reason}}}}))
	return ok, fault.Wrap(err, "flag payment %s", transactionID)
}

func (s *mongoStore) RefundedPayment(ctx context.Context, tenantID, orderID, provider, transactionID string, at time.Time) (bool, error) {
	ok, err := updatedOne(s.e.Mongo(tenantID).C("payments").UpdateOne(ctx,
		bson.D{{Key: "provider", Value: provider}, {Key: "transaction_id", Value: transactionID}, {Key: "order_id", Value: orderID}, {Key: "refund", Value: PaymentToRefund}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refund", Value: PaymentRefunded}, {Key: "refunded_at", Value: at}}}}))
	return ok, fault.Wrap(err, "mark payment %s refunded", transactionID)
}

func (s *mongoStore) Payments(ctx context.Context, tenantID, refund, orderID string, limit int) ([]Payment, error) {
	filter := bson.D{{Key: "refund", Value: refund}}
	opts := options.Find().SetSort(bson.D{{Key: "refund", Value: 1}, {Key: "at", Value: -1}}).SetLimit(int64(limit))
	if orderID != "" {
		filter, opts = bson.D{{Key: "order_id", Value: orderID}}, options.Find()
	}
	out, err := findAll[Payment](ctx, s.e.Mongo(tenantID).C("payments"), filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	if orderID != "" {
		o, err := s.Get(ctx, tenantID, orderID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return nil, err
		}
		out = withOrderPayments(out, []Order{o})
	}
	return out, nil
}
