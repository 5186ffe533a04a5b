package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

const productColumns = `id, title, description, price, stock, images, category, status, rev, created_at, updated_at, translations, original_price, code`

func scanProduct(scan func(...any) error) (Product, error) {
	var p Product
	var images, created, updated, translations string
	err := scan(&p.ID, &p.Title, &p.Description, &p.Price, &p.Stock, &images, &p.Category, &p.Status, &p.Rev, &created, &updated, &translations, &p.OriginalPrice, &p.Code)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(images), &p.Images); err != nil {
		return p, fmt.Errorf("product %s images: %w", p.ID, err)
	}
	if translations != "{}" && translations != "" {
		if err := json.Unmarshal([]byte(translations), &p.Translations); err != nil {
			return p, fmt.Errorf("product %s translations: %w", p.ID, err)
		}
	}
	p.CreatedAt, p.UpdatedAt = engine.ParseTimeText(created), engine.ParseTimeText(updated)
	p.stored()
	return p, nil
}

func (s *sqliteStore) Create(ctx context.Context, tenantID string, p *Product) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	// Product, SKUs and stamp are written one after another without a
	// transaction, like on Mongo: the product is the last write, so a crash
	// leaves at worst orphan SKUs, never a product missing its SKUs.
	if err := s.writeSKUs(ctx, db, p.ID, nil, p.SKUs); err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO products (tenant_id, `+productColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Title, p.Description, p.Price, p.stockToStore(), engine.JSONText(p.Images), p.Category, p.Status, p.Rev,
		engine.TimeText(p.CreatedAt), engine.TimeText(p.UpdatedAt), translationsText(p.Translations), p.OriginalPrice, p.Code)
	if err != nil {
		return fmt.Errorf("insert product: %w", err)
	}
	return s.touch(ctx, db)
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Product, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Product{}, err
	}
	p, err := scanProduct(db.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, fault.NotFound("product")
	}
	if err != nil {
		return Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	skus, err := s.skus(ctx, db, `WHERE tenant_id = ? AND product_id = ?`, id)
	if err != nil {
		return Product{}, err
	}
	p.attach(skus)
	return p, nil
}

func (s *sqliteStore) Update(ctx context.Context, tenantID string, p *Product, old Product) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	// The revision check makes a read-modify-write safe: a PATCH that read
	// an older product loses and is retried instead of undoing another edit.
	res, err := db.Exec(ctx, `UPDATE products SET title = ?, description = ?, price = ?, original_price = ?, code = ?, stock = stock + ?, images = ?,
		category = ?, status = ?, translations = ?, rev = rev + 1, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND rev = ?`,
		p.Title, p.Description, p.Price, p.OriginalPrice, p.Code, p.stockToStore()-old.rowStock, engine.JSONText(p.Images), p.Category, p.Status,
		translationsText(p.Translations), engine.TimeText(p.UpdatedAt), p.ID, p.Rev)
	if isCheckViolation(err) {
		return fault.ErrConflict // orders took stock meanwhile: re-read and retry
	}
	if err != nil {
		return fmt.Errorf("update product: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.missingOrConflict(ctx, db, p.ID)
	}
	p.Rev++
	p.rowStock = p.stockToStore()
	if err := s.writeSKUs(ctx, db, p.ID, old.SKUs, p.SKUs); err != nil {
		return err
	}
	return s.touch(ctx, db)
}

func (s *sqliteStore) missingOrConflict(ctx context.Context, db *engine.SQLScope, id string) error {
	var one int
	err := db.QueryRow(ctx, `SELECT 1 FROM products WHERE tenant_id = ? AND id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFound("product")
	}
	if err != nil {
		return err
	}
	return fault.ErrConflict
}

// writeSKUs makes the stored SKUs of a product equal to next, read earlier
// as old (see skuWrites).
func (s *sqliteStore) writeSKUs(ctx context.Context, db *engine.SQLScope, productID string, old, next []SKU) error {
	for _, w := range skuWrites(old, next) {
		var err error
		switch {
		case w.gone:
			_, err = db.Exec(ctx, `DELETE FROM skus WHERE tenant_id = ? AND id = ?`, w.ID)
		case w.new:
			_, err = db.Exec(ctx, `INSERT INTO skus (tenant_id, id, product_id, name, code, price, original_price, stock, position)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, productID, w.Name, w.Code, w.Price, w.OriginalPrice, w.Stock, w.pos)
		default:
			_, err = db.Exec(ctx, `UPDATE skus SET name = ?, code = ?, price = ?, original_price = ?, stock = stock + ?, position = ?
				WHERE tenant_id = ? AND id = ?`, w.Name, w.Code, w.Price, w.OriginalPrice, w.delta, w.pos, w.ID)
		}
		if isCheckViolation(err) {
			return stockChanged(w.SKU)
		}
		if err != nil {
			return fmt.Errorf("write sku %s: %w", w.ID, err)
		}
	}
	return nil
}

func (s *sqliteStore) Delete(ctx context.Context, tenantID, id string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	res, err := db.Exec(ctx, `DELETE FROM products WHERE tenant_id = ? AND id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	if err := engine.One(res, nil, fault.NotFound("product")); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `DELETE FROM skus WHERE tenant_id = ? AND product_id = ?`, id); err != nil {
		return fmt.Errorf("delete skus of product %s: %w", id, err)
	}
	return s.touch(ctx, db)
}

func (s *sqliteStore) List(ctx context.Context, tenantID string, f Filter) ([]Product, int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, 0, err
	}
	where := []string{"tenant_id = ?"}
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Category != "" {
		where, args = append(where, "category = ?"), append(args, f.Category)
	}
	if f.Query != "" {
		// The title, or a code (the product's or a SKU's): the merchant
		// searches by any.
		like := "%" + escapeLike(f.Query) + "%"
		where, args = append(where, `(title LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\' OR id IN (SELECT product_id FROM skus
			WHERE skus.tenant_id = products.tenant_id AND code LIKE ? ESCAPE '\'))`), append(args, like, like, like)
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM products`+cond+` LIMIT ?)`, append(args, countLimit)...).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("count products: %w", err)
	}
	products, err := s.find(ctx, db, `SELECT `+productColumns+` FROM products`+cond+
		` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	return products, total, err
}

func (s *sqliteStore) OnSale(ctx context.Context, tenantID string) ([]Product, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return s.find(ctx, db, `SELECT `+productColumns+` FROM products WHERE tenant_id = ? AND status = ?
		ORDER BY created_at DESC, id DESC`, OnSale)
}

func (s *sqliteStore) Products(ctx context.Context, tenantID string, ids []string) ([]Product, error) {
	if len(ids) == 0 {
		return []Product{}, nil
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return s.find(ctx, db, `SELECT `+productColumns+` FROM products WHERE tenant_id = ? AND id IN (`+engine.Placeholders(len(ids))+`)`, args...)
}

// find runs a query for products and attaches their SKUs with one more.
func (s *sqliteStore) find(ctx context.Context, db *engine.SQLScope, query string, args ...any) ([]Product, error) {
	products, err := engine.QueryAll(ctx, db, scanProduct, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	if len(products) == 0 {
		return products, nil
	}
	var skus map[string][]SKU
	if len(products) > 200 {
		skus, err = s.skus(ctx, db, `WHERE tenant_id = ?`)
	} else {
		ids := make([]any, len(products))
		for i, p := range products {
			ids[i] = p.ID
		}
		skus, err = s.skus(ctx, db, `WHERE tenant_id = ? AND product_id IN (`+engine.Placeholders(len(ids))+`)`, ids...)
	}
	if err != nil {
		return nil, err
	}
	for i := range products {
		products[i].attach(skus)
	}
	return products, nil
}

func (s *sqliteStore) skus(ctx context.Context, db *engine.SQLScope, where string, args ...any) (map[string][]SKU, error) {
	rows, err := db.Query(ctx, `SELECT product_id, id, name, code, price, original_price, stock FROM skus `+where+` ORDER BY product_id, position`, args...)
	if err != nil {
		return nil, fmt.Errorf("list skus: %w", err)
	}
	defer rows.Close()
	out := map[string][]SKU{}
	for rows.Next() {
		var pid string
		var k SKU
		if err := rows.Scan(&pid, &k.ID, &k.Name, &k.Code, &k.Price, &k.OriginalPrice, &k.Stock); err != nil {
			return nil, err
		}
		out[pid] = append(out[pid], k)
	}
	return out, rows.Err()
}

func (s *sqliteStore) touch(ctx context.Context, db *engine.SQLScope) error {
	_, err := db.Exec(ctx, `INSERT INTO catalog_meta (tenant_id, stamp) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET stamp = excluded.stamp`, engine.NewID())
	return fault.Wrap(err, "stamp catalog")
}

func (s *sqliteStore) Stamp(ctx context.Context, tenantID string) (Stamp, error) {
	var st Stamp
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT stamp FROM catalog_meta WHERE tenant_id = ?`).Scan(&st.Catalog)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err == nil {
		err = s.e.SQLQueryRow(ctx, tenantID, `SELECT COALESCE(MAX(seq), 0) FROM stock_log WHERE tenant_id = ?`).Scan(&st.Stock)
	}
	return st, fault.Wrap(err, "read catalog stamp")
}

func (s *sqliteStore) StockChanges(ctx context.Context, tenantID string, since int64) (int64, []string, bool, error) {
	type entry struct {
		seq     int64
		product string
	}
	// The entry at since itself, if still kept, proves nothing after it was
	// cut off.
	log, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (entry, error) {
		var e entry
		return e, scan(&e.seq, &e.product)
	}, `SELECT seq, product_id FROM stock_log WHERE tenant_id = ? AND seq >= ? ORDER BY seq`, since)
	if err != nil {
		return 0, nil, false, fmt.Errorf("read stock log: %w", err)
	}
	if len(log) == 0 {
		return since, nil, since == 0, nil
	}
	if log[0].seq != since && !(since == 0 && log[0].seq == 1) {
		return log[len(log)-1].seq, nil, false, nil
	}
	var ids []string
	for _, e := range log {
		if e.seq > since {
			ids = append(ids, e.product)
		}
	}
	return log[len(log)-1].seq, ids, true, nil
}

// logStock appends productID to the stock log (see stocklog.go) in tx, and
// cuts the log back to stockLogKeep entries.
func logStock(ctx context.Context, tx *engine.SQLTx, productID string) error {
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM stock_log WHERE tenant_id = ?`).Scan(&seq); err != nil {
		return fmt.Errorf("log stock of product %s: %w", productID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO stock_log (tenant_id, seq, product_id) VALUES (?, ?, ?)`, seq, productID); err != nil {
		return fmt.Errorf("log stock of product %s: %w", productID, err)
	}
	_, err := tx.Exec(ctx, `DELETE FROM stock_log WHERE tenant_id = ? AND seq <= ?`, seq-int64(stockLogKeep))
	return fault.Wrap(err, "trim stock log")
}

func isCheckViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "CHECK constraint failed")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s *sqliteStore) Hold(ctx context.Context, tenantID, key, productID, skuID string, qty int64) (int64, error) {
	left := int64(-1)
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		res, err := tx.Exec(ctx, `INSERT OR IGNORE INTO stock_holds (tenant_id, key, product_id, sku_id, qty) VALUES (?, ?, ?, ?, ?)`,
			key, productID, skuID, qty)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // held before: a replay
		}
		if skuID != "" {
			err = tx.QueryRow(ctx, `UPDATE skus SET stock = stock - ? WHERE tenant_id = ? AND id = ? AND product_id = ? AND stock >= ?
				RETURNING stock`, qty, skuID, productID, qty).Scan(&left)
		} else {
			err = tx.QueryRow(ctx, `UPDATE products SET stock = stock - ? WHERE tenant_id = ? AND id = ? AND stock >= ?
				RETURNING stock`, qty, productID, qty).Scan(&left)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return ErrOutOfStock // rolls the hold back too
		}
		if err == nil && shownChange(left+qty, left) {
			err = logStock(ctx, tx, productID)
		}
		return err
	})
	return left, err
}

func (s *sqliteStore) Release(ctx context.Context, tenantID, key, productID, skuID string) (bool, bool, error) {
	released, shown := false, false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var qty int64
		err := tx.QueryRow(ctx, `DELETE FROM stock_holds WHERE tenant_id = ? AND key = ? RETURNING qty`, key).Scan(&qty)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing held: released before, or never taken
		}
		if err != nil {
			return err
		}
		released = true
		shown, err = giveBack(ctx, tx, productID, skuID, qty)
		return err
	})
	return released, shown, err
}

// giveBack adds qty units to the product (or its SKU) inside tx and logs
// the change when the storefront shows it (shown); a product or SKU
// deleted meanwhile takes nothing.
func giveBack(ctx context.Context, tx *engine.SQLTx, productID, skuID string, qty int64) (shown bool, err error) {
	var stock int64
	if skuID != "" {
		err = tx.QueryRow(ctx, `UPDATE skus SET stock = stock + ? WHERE tenant_id = ? AND id = ? RETURNING stock`, qty, skuID).Scan(&stock)
	} else {
		err = tx.QueryRow(ctx, `UPDATE products SET stock = stock + ? WHERE tenant_id = ? AND id = ? RETURNING stock`, qty, productID).Scan(&stock)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || !shownChange(stock-qty, stock) {
		return false, err
	}
	return true, logStock(ctx, tx, productID)
}

func (s *sqliteStore) Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) (bool, error) {
	shown := false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		// The key and the increment in one transaction: once per key.
		res, err := tx.Exec(ctx, `INSERT OR IGNORE INTO restocks (tenant_id, key) VALUES (?, ?)`, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // restocked before
		}
		shown, err = giveBack(ctx, tx, productID, skuID, qty)
		return err
	})
	return shown, err
}

func (s *sqliteStore) Commit(ctx context.Context, tenantID, key, productID, skuID string, _ int64) error {
	_, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM stock_holds WHERE tenant_id = ? AND key = ?`, key)
	return err
}

// translationsText is a product's translations as stored: JSON, "{}" for none.
func translationsText(trs map[string]ProductText) string {
	if len(trs) == 0 {
		return "{}"
	}
	return engine.JSONText(trs)
}
