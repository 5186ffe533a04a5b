package market

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// The sales counted for ranking, on both engines (see sales.go).

func (s *sqliteStore) PutSale(ctx context.Context, sale Sale) error {
	products, err := json.Marshal(sale.Products)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO market_sales (id, tenant_id, buyer, address, phone, products, paid_at, refunded, staff)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET refunded = refunded OR excluded.refunded`,
		sale.ID, sale.TenantID, sale.Buyer, sale.Address, sale.Phone, string(products), engine.TimeText(sale.PaidAt), sale.Refunded, sale.Staff)
	if err != nil {
		return fmt.Errorf("record sale %s: %w", sale.ID, err)
	}
	return nil
}

func (s *sqliteStore) SalesSince(ctx context.Context, since time.Time) ([]Sale, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant_id, buyer, address, phone, products, paid_at, refunded, staff
		FROM market_sales WHERE paid_at >= ?`, engine.TimeText(since))
	if err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	defer rows.Close()
	var out []Sale
	for rows.Next() {
		var sale Sale
		var products, paid string
		if err := rows.Scan(&sale.ID, &sale.TenantID, &sale.Buyer, &sale.Address, &sale.Phone, &products, &paid,
			&sale.Refunded, &sale.Staff); err != nil {
			return nil, fmt.Errorf("read sales: %w", err)
		}
		if err := json.Unmarshal([]byte(products), &sale.Products); err != nil {
			return nil, fmt.Errorf("read sale %s: %w", sale.ID, err)
		}
		sale.PaidAt = engine.ParseTimeText(paid)
		out = append(out, sale)
	}
	return out, rows.Err()
}

func (s *sqliteStore) DeleteSalesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM market_sales WHERE paid_at < ?`, engine.TimeText(t))
	if err != nil {
		return 0, fmt.Errorf("forget old sales: %w", err)
	}
	return res.RowsAffected()
}

func (s *mongoStore) PutSale(ctx context.Context, sale Sale) error {
	insert := bson.D{{Key: "tenant_id", Value: sale.TenantID}, {Key: "buyer", Value: sale.Buyer},
		{Key: "address", Value: sale.Address}, {Key: "phone", Value: sale.Phone}, {Key: "products", Value: sale.Products},
		{Key: "paid_at", Value: sale.PaidAt}, {Key: "staff", Value: sale.Staff}}
	update := bson.D{}
	if sale.Refunded {
		update = append(update, bson.E{Key: "$set", Value: bson.D{{Key: "refunded", Value: true}}})
	} else {
		insert = append(insert, bson.E{Key: "refunded", Value: false})
	}
	update = append(update, bson.E{Key: "$setOnInsert", Value: insert})
	_, err := s.db.Collection("market_sales").UpdateOne(ctx, bson.D{{Key: "_id", Value: sale.ID}}, update,
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record sale %s: %w", sale.ID, err)
	}
	return nil
}

func (s *mongoStore) SalesSince(ctx context.Context, since time.Time) ([]Sale, error) {
	cur, err := s.db.Collection("market_sales").Find(ctx, bson.D{{Key: "paid_at", Value: bson.D{{Key: "$gte", Value: since}}}})
	if err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	var out []Sale
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	return out, nil
}

func (s *mongoStore) DeleteSalesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.Collection("market_sales").DeleteMany(ctx, bson.D{{Key: "paid_at", Value: bson.D{{Key: "$lt", Value: t}}}})
	if err != nil {
		return 0, fmt.Errorf("forget old sales: %w", err)
	}
	return res.DeletedCount, nil
}
