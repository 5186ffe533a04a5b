package aftersale

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// sqliteStore keeps the requests in the shop's SQLite file. A request and
// the order lines it holds are written in one transaction.
type sqliteStore struct {
	e *engine.Engine
	docStore
}

// errClaimed ends Insert's transaction when a line is held.
var errClaimed = errors.New("an order line is held by an open request")

func dueText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return engine.TimeText(*t)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, r Request) (bool, error) {
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		for _, l := range r.Lines {
			_, err := tx.Exec(ctx, `INSERT INTO aftersale_claims (tenant_id, order_id, line, request_id, at) VALUES (?, ?, ?, ?, ?)`,
				r.OrderID, l.Index, r.ID, engine.TimeText(r.CreatedAt))
			if engine.IsUniqueViolation(err) {
				return errClaimed
			}
			if err != nil {
				return fmt.Errorf("claim line %d of order %s: %w", l.Index, r.OrderID, err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO aftersales (tenant_id, id, order_id, fan_id, status, rev, due_at, refund_status, queued,
			created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.OrderID, r.FanID, r.Status, r.Rev, dueText(r.DueAt), r.RefundStatus, boolInt(r.Queued),
			engine.TimeText(r.CreatedAt), engine.TimeText(r.UpdatedAt), engine.JSONText(r))
		if err != nil {
			return fmt.Errorf("insert after-sale request %s: %w", r.ID, err)
		}
		return nil
	})
	if errors.Is(err, errClaimed) {
		return false, nil
	}
	return err == nil, err
}

func scanRequest(scan func(...any) error) (Request, error) {
	var doc string
	var rev, queued int64
	if err := scan(&doc, &rev, &queued); err != nil {
		return Request{}, err
	}
	var r Request
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return Request{}, fmt.Errorf("read after-sale request: %w", err)
	}
	r.Rev, r.Queued = rev, queued == 1
	return r, nil
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Request, error) {
	r, err := scanRequest(s.e.SQLQueryRow(ctx, tenantID, `SELECT doc, rev, queued FROM aftersales WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fault.NotFound("after-sale request")
	}
	if err != nil {
		return Request{}, fmt.Errorf("read after-sale request %s: %w", id, err)
	}
	return r, nil
}

func (s *sqliteStore) Update(ctx context.Context, tenantID string, r Request, rev int64) (bool, error) {
	changed := false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		res, err := tx.Exec(ctx, `UPDATE aftersales SET status = ?, rev = ?, due_at = ?, refund_status = ?, queued = ?, updated_at = ?,
			doc = ? WHERE tenant_id = ? AND id = ? AND rev = ?`,
			r.Status, r.Rev, dueText(r.DueAt), r.RefundStatus, boolInt(r.Queued), engine.TimeText(r.UpdatedAt), engine.JSONText(r),
			r.ID, rev)
		if changed, err = engine.Changed(res, err); err != nil || !changed {
			return err
		}
		if !IsOpen(r.Status) {
			if _, err := tx.Exec(ctx, `DELETE FROM aftersale_claims WHERE tenant_id = ? AND request_id = ?`, r.ID); err != nil {
				return fmt.Errorf("release the lines of after-sale request %s: %w", r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("update after-sale request %s: %w", r.ID, err)
	}
	return changed, nil
}

// requests reads the requests the rest of the query selects.
func (s *sqliteStore) requests(ctx context.Context, tenantID, rest string, args ...any) ([]Request, error) {
	list, err := engine.SQLAll(ctx, s.e, tenantID, scanRequest, `SELECT doc, rev, queued FROM aftersales WHERE tenant_id = ? `+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("read after-sale requests: %w", err)
	}
	return list, nil
}

func (s *sqliteStore) ByOrder(ctx context.Context, tenantID, orderID string) ([]Request, error) {
	return s.requests(ctx, tenantID, `AND order_id = ? ORDER BY created_at, id`, orderID)
}

func (s *sqliteStore) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Request, int64, error) {
	where, args := "", []any{}
	if status != "" {
		where, args = "AND status = ? ", []any{status}
	}
	var n int64
	if err := s.e.SQLQueryRow(ctx, tenantID, `SELECT COUNT(*) FROM aftersales WHERE tenant_id = ? `+where, args...).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("count after-sale requests: %w", err)
	}
	list, err := s.requests(ctx, tenantID, where+`ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	return list, n, err
}

func (s *sqliteStore) Between(ctx context.Context, tenantID string, from, to time.Time, limit, offset int) ([]Request, error) {
	return s.requests(ctx, tenantID, `AND created_at >= ? AND created_at < ? ORDER BY created_at, id LIMIT ? OFFSET ?`,
		engine.TimeText(from), engine.TimeText(to), limit, offset)
}

func (s *sqliteStore) Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Request, error) {
	return s.requests(ctx, tenantID, `AND due_at > '' AND due_at <= ? ORDER BY due_at LIMIT ?`, engine.TimeText(now), limit)
}

func (s *sqliteStore) Stuck(ctx context.Context, tenantID string, before time.Time, limit int) ([]Request, error) {
	return s.requests(ctx, tenantID, `AND refund_status = ? AND updated_at <= ? ORDER BY updated_at LIMIT ?`,
		RefundSending, engine.TimeText(before), limit)
}

func (s *sqliteStore) Unqueued(ctx context.Context, tenantID string, limit int) ([]Request, error) {
	return s.requests(ctx, tenantID, `AND status = ? AND queued = 0 ORDER BY created_at LIMIT ?`, Escalated, limit)
}

func (s *sqliteStore) AddMessage(ctx context.Context, tenantID string, m Message) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO aftersale_messages (tenant_id, request_id, id, author, text, images, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, m.RequestID, m.ID, m.Author, m.Text, engine.JSONText(m.Images), engine.TimeText(m.At))
	if err != nil {
		return fmt.Errorf("add a message to after-sale request %s: %w", m.RequestID, err)
	}
	return nil
}

func (s *sqliteStore) Messages(ctx context.Context, tenantID, requestID string, limit int) ([]Message, error) {
	list, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (Message, error) {
		var m Message
		var images, at string
		if err := scan(&m.RequestID, &m.ID, &m.Author, &m.Text, &images, &at); err != nil {
			return m, err
		}
		if err := json.Unmarshal([]byte(images), &m.Images); err != nil {
			return m, err
		}
		m.At = engine.ParseTimeText(at)
		return m, nil
	}, `SELECT request_id, id, author, text, images, at FROM aftersale_messages WHERE tenant_id = ? AND request_id = ?
		ORDER BY at, id LIMIT ?`, requestID, limit)
	if err != nil {
		return nil, fmt.Errorf("read the thread of after-sale request %s: %w", requestID, err)
	}
	return list, nil
}

func (s *sqliteStore) AdoptSettings(ctx context.Context, tenantID string, st Settings) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO aftersale_settings (tenant_id, doc) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO NOTHING`, engine.JSONText(st))
	return err
}
