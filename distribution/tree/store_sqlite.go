package tree

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

// uplineChars is the length of the last MaxUpline segments of a path text:
// "/" and MaxUpline times an id and "/".
const uplineChars = 1 + MaxUpline*(engine.IDLen+1)

// pathText encodes a path as "/a/b/c/" ("/" when empty).
func pathText(path []string) string {
	if len(path) == 0 {
		return "/"
	}
	return "/" + strings.Join(path, "/") + "/"
}

// splitPath decodes pathText.
func splitPath(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, "/") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// uplineText is the last MaxUpline segments of a path text, as stored.
func uplineText(path []string) string { return pathText(path[max(0, len(path)-MaxUpline):]) }

// uplineOf decodes an upline text (root first) into the upline (parent
// first).
func uplineOf(s string) []string {
	p := splitPath(s)
	out := make([]string, len(p))
	for i := range p {
		out[i] = p[len(p)-1-i]
	}
	return out
}

func checkIDs(ids []string) error {
	for _, id := range ids {
		if len(id) != engine.IDLen || strings.Contains(id, "/") {
			return fmt.Errorf("distributor id %q cannot be on a path", id)
		}
	}
	return nil
}

const lightColumns = `id, fan_id, code, parent_id, upline, depth, status, created_at, activated_at`

func scanLight(scan func(...any) error) (Distributor, error) {
	var d Distributor
	var up, created, activated string
	err := scan(&d.ID, &d.FanID, &d.Code, &d.ParentID, &up, &d.Depth, &d.Status, &created, &activated)
	d.Upline, d.CreatedAt = uplineOf(up), engine.ParseTimeText(created)
	if activated != "" {
		d.ActivatedAt = engine.ParseTimeText(activated)
	}
	return d, err
}

func (s *sqliteStore) db(tenantID string) (*engine.SQLScope, error) { return s.e.SQL(tenantID) }

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, d Distributor) error {
	if err := checkIDs(append([]string{d.ID}, d.Path...)); err != nil {
		return err
	}
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	// Counters first: a crash in between leaves a harmless zero row.
	if _, err := db.Exec(ctx, `INSERT OR IGNORE INTO distributor_stats (tenant_id, id) VALUES (?, ?)`, d.ID); err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO distributors (tenant_id, id, fan_id, code, parent_id, path, upline, depth, status, created_at, activated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.FanID, d.Code, d.ParentID, pathText(d.Path), uplineText(d.Path),
		d.Depth, d.Status, engine.TimeText(d.CreatedAt), engine.OptTimeText(d.ActivatedAt))
	return err
}

func (s *sqliteStore) one(ctx context.Context, tenantID, where string, full bool, args ...any) (Distributor, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return Distributor{}, err
	}
	cols := lightColumns
	if full {
		cols += ", path"
	}
	var path string
	var d Distributor
	row := db.QueryRow(ctx, `SELECT `+cols+` FROM distributors WHERE `+where, args...)
	if full {
		d, err = scanLight(func(dest ...any) error { return row.Scan(append(dest, &path)...) })
		d.Path = splitPath(path)
	} else {
		d, err = scanLight(row.Scan)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Distributor{}, fault.NotFound("distributor")
	}
	return d, err
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Distributor, error) {
	return s.one(ctx, tenantID, `tenant_id = ? AND id = ?`, true, id)
}

func (s *sqliteStore) Light(ctx context.Context, tenantID, id string) (Distributor, error) {
	return s.one(ctx, tenantID, `tenant_id = ? AND id = ?`, false, id)
}

func (s *sqliteStore) ByFan(ctx context.Context, tenantID, fanID string) (Distributor, error) {
	return s.one(ctx, tenantID, `tenant_id = ? AND fan_id = ?`, false, fanID)
}

func (s *sqliteStore) ByCode(ctx context.Context, tenantID, code string) (Distributor, error) {
	return s.one(ctx, tenantID, `tenant_id = ? AND code = ?`, false, code)
}

func (s *sqliteStore) list(ctx context.Context, tenantID, q string, full bool, args ...any) ([]Distributor, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	cols := lightColumns
	if full {
		cols += ", path"
	}
	rows, err := db.Query(ctx, `SELECT `+cols+` FROM distributors `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Distributor
	for rows.Next() {
		var path string
		var d Distributor
		if full {
			d, err = scanLight(func(dest ...any) error { return rows.Scan(append(dest, &path)...) })
			d.Path = splitPath(path)
		} else {
			d, err = scanLight(rows.Scan)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Many(ctx context.Context, tenantID string, ids []string) (map[string]Distributor, error) {
	out := map[string]Distributor{}
	if len(ids) == 0 {
		return out, nil
	}
	ds, err := s.list(ctx, tenantID, `WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, false, jsonList(ids))
	for _, d := range ds {
		out[d.ID] = d
	}
	return out, err
}

func jsonList(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func (s *sqliteStore) Children(ctx context.Context, tenantID, parentID string, limit, offset int) ([]Distributor, error) {
	return s.list(ctx, tenantID, `WHERE tenant_id = ? AND parent_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?`, false,
		parentID, limit, offset)
}

func (s *sqliteStore) CountChildren(ctx context.Context, tenantID, parentID string) (int64, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM distributors WHERE tenant_id = ? AND parent_id = ?`, parentID).Scan(&n)
	return n, err
}

func (s *sqliteStore) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Distributor, error) {
	if status == "" {
		return s.list(ctx, tenantID, `WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, false, limit, offset)
	}
	return s.list(ctx, tenantID, `WHERE tenant_id = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, false,
		status, limit, offset)
}

func (s *sqliteStore) SetStatus(ctx context.Context, tenantID, id, from, to string, at time.Time) (bool, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return false, err
	}
	activated := ""
	if to == Active {
		activated = engine.TimeText(at)
	}
	res, err := db.Exec(ctx, `UPDATE distributors SET status = ?, activated_at = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		to, activated, id, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) SetPlace(ctx context.Context, tenantID, id, parentID string, path []string, depth int) error {
	if err := checkIDs(path); err != nil {
		return err
	}
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE distributors SET parent_id = ?, path = ?, upline = ?, depth = ? WHERE tenant_id = ? AND id = ?`,
		parentID, pathText(path), uplineText(path), depth, id)
	return err
}

// MoveSubtree is one statement: every path under the old prefix gets the
// new prefix (SQLite evaluates every SET expression on the old row).
func (s *sqliteStore) MoveSubtree(ctx context.Context, tenantID, id string, oldPath, newPath []string) error {
	if err := checkIDs(append([]string{id}, newPath...)); err != nil {
		return err
	}
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	oldPrefix, newPrefix := pathText(oldPath)+id+"/", pathText(newPath)+id+"/"
	rest := len(oldPrefix) + 1
	next := `(? || substr(path, ?))`
	_, err = db.Exec(ctx, `UPDATE distributors SET path = `+next+`, depth = depth + ?,
		upline = CASE WHEN length(`+next+`) > ? THEN substr(`+next+`, ?) ELSE `+next+` END
		WHERE tenant_id = ? AND path >= ? AND path < ?`,
		newPrefix, rest, len(newPath)-len(oldPath),
		newPrefix, rest, uplineChars, newPrefix, rest, -uplineChars, newPrefix, rest,
		oldPrefix, oldPrefix[:len(oldPrefix)-1]+"0")
	return err
}

func (s *sqliteStore) CountSubtree(ctx context.Context, tenantID string, d Distributor) (int64, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	prefix := pathText(d.Path) + d.ID + "/"
	var n int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM distributors WHERE tenant_id = ? AND path >= ? AND path < ?`,
		prefix, prefix[:len(prefix)-1]+"0").Scan(&n)
	return n, err
}

func (s *sqliteStore) All(ctx context.Context, tenantID, afterID string, limit int) ([]Distributor, error) {
	return s.list(ctx, tenantID, `WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, true, afterID, limit)
}

func (s *sqliteStore) Stats(ctx context.Context, tenantID string, ids []string) (map[string]Stats, error) {
	out := map[string]Stats{}
	if len(ids) == 0 {
		return out, nil
	}
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, team_size, team_sales, own_sales, rolled FROM distributor_stats
		WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, jsonList(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var st Stats
		if err := rows.Scan(&st.ID, &st.TeamSize, &st.TeamSales, &st.OwnSales, &st.Rolled); err != nil {
			return nil, err
		}
		out[st.ID] = st
	}
	return out, rows.Err()
}

func (s *sqliteStore) add(ctx context.Context, tenantID, column string, ids []string, delta int64) error {
	if len(ids) == 0 || delta == 0 {
		return nil
	}
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE distributor_stats SET `+column+` = `+column+` + ?
		WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, delta, jsonList(ids))
	return err
}

func (s *sqliteStore) AddTeamSize(ctx context.Context, tenantID string, ids []string, delta int64) error {
	return s.add(ctx, tenantID, "team_size", ids, delta)
}

func (s *sqliteStore) AddTeamSales(ctx context.Context, tenantID string, ids []string, delta int64) error {
	return s.add(ctx, tenantID, "team_sales", ids, delta)
}

func (s *sqliteStore) AddOwnSales(ctx context.Context, tenantID, id string, delta int64) error {
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO distributor_stats (tenant_id, id, own_sales, dirty) VALUES (?, ?, ?, 1)
		ON CONFLICT (tenant_id, id) DO UPDATE SET own_sales = own_sales + excluded.own_sales, dirty = 1`, id, delta)
	return err
}

func (s *sqliteStore) Dirty(ctx context.Context, tenantID string, limit int) ([]Stats, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, team_size, team_sales, own_sales, rolled FROM distributor_stats
		WHERE tenant_id = ? AND dirty = 1 LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stats
	for rows.Next() {
		var st Stats
		if err := rows.Scan(&st.ID, &st.TeamSize, &st.TeamSales, &st.OwnSales, &st.Rolled); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Claim(ctx context.Context, tenantID, id string, own, rolled int64) (bool, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `UPDATE distributor_stats SET rolled = ?, dirty = 0
		WHERE tenant_id = ? AND id = ? AND own_sales = ? AND rolled = ?`, own, id, own, rolled)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Top(ctx context.Context, tenantID, by string, limit int) ([]Stats, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	col := "team_sales"
	if by == "size" {
		col = "team_size"
	}
	rows, err := db.Query(ctx, `SELECT id, team_size, team_sales, own_sales, rolled FROM distributor_stats
		WHERE tenant_id = ? ORDER BY `+col+` DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stats
	for rows.Next() {
		var st Stats
		if err := rows.Scan(&st.ID, &st.TeamSize, &st.TeamSales, &st.OwnSales, &st.Rolled); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func (s *sqliteStore) SetStats(ctx context.Context, tenantID string, st Stats) error {
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO distributor_stats (tenant_id, id, team_size, team_sales, own_sales, rolled, dirty)
		VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (tenant_id, id) DO UPDATE SET team_size = excluded.team_size,
		team_sales = excluded.team_sales, own_sales = excluded.own_sales, rolled = excluded.rolled, dirty = 0`,
		st.ID, st.TeamSize, st.TeamSales, st.OwnSales, st.Rolled)
	return err
}
