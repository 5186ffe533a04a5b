package tree

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ common }

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
	d.Upline, d.CreatedAt, d.ActivatedAt = uplineOf(up), engine.ParseTimeText(created), engine.ParseOptTimeText(activated)
	return d, err
}

// scanFull reads lightColumns and the path.
func scanFull(scan func(...any) error) (Distributor, error) {
	var path string
	d, err := scanLight(func(dest ...any) error { return scan(append(dest, &path)...) })
	d.Path = splitPath(path)
	return d, err
}

// columns are the columns a lookup reads and how to scan them: with the
// path (full) or without.
func columns(full bool) (string, func(func(...any) error) (Distributor, error)) {
	if full {
		return lightColumns + ", path", scanFull
	}
	return lightColumns, scanLight
}

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, d Distributor) error {
	if err := checkIDs(append([]string{d.ID}, d.Path...)); err != nil {
		return err
	}
	// Counters first: a crash in between leaves a harmless zero row.
	if _, err := s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO distributor_stats (tenant_id, id) VALUES (?, ?)`, d.ID); err != nil {
		return fault.Wrap(err, "insert counters of distributor %s", d.ID)
	}
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO distributors (tenant_id, id, fan_id, code, parent_id, path, upline, depth, status,
		created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.FanID, d.Code, d.ParentID, pathText(d.Path),
		uplineText(d.Path), d.Depth, d.Status, engine.TimeText(d.CreatedAt), engine.OptTimeText(d.ActivatedAt))
	return fault.Wrap(err, "insert distributor %s", d.ID)
}

// one reads the distributor whose column (id, fan_id or code) is v.
func (s *sqliteStore) lookup(ctx context.Context, tenantID, column, v string, full bool) (Distributor, error) {
	cols, scan := columns(full)
	d, err := scan(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+cols+` FROM distributors WHERE tenant_id = ? AND `+column+` = ?`, v).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Distributor{}, fault.NotFound("distributor")
	}
	return d, fault.Wrap(err, "load distributor by %s %s", column, v)
}

func (s *sqliteStore) list(ctx context.Context, tenantID, q string, full bool, args ...any) ([]Distributor, error) {
	cols, scan := columns(full)
	ds, err := engine.SQLAll(ctx, s.e, tenantID, scan, `SELECT `+cols+` FROM distributors `+q, args...)
	return ds, fault.Wrap(err, "list distributors")
}

func (s *sqliteStore) Many(ctx context.Context, tenantID string, ids []string) (map[string]Distributor, error) {
	out := map[string]Distributor{}
	if len(ids) == 0 {
		return out, nil
	}
	ds, err := s.list(ctx, tenantID, `WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, false, engine.JSONText(ids))
	for _, d := range ds {
		out[d.ID] = d
	}
	return out, err
}

func (s *sqliteStore) Children(ctx context.Context, tenantID, parentID string, limit, offset int) ([]Distributor, error) {
	return s.list(ctx, tenantID, `WHERE tenant_id = ? AND parent_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?`, false,
		parentID, limit, offset)
}

// count counts the distributors that where selects.
func (s *sqliteStore) count(ctx context.Context, tenantID, where string, args ...any) (int64, error) {
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM distributors WHERE tenant_id = ? AND `+where, args...).Scan(&n)
	return n, fault.Wrap(err, "count distributors")
}

func (s *sqliteStore) CountChildren(ctx context.Context, tenantID, parentID string) (int64, error) {
	return s.count(ctx, tenantID, `parent_id = ?`, parentID)
}

func (s *sqliteStore) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Distributor, error) {
	if status == "" {
		return s.list(ctx, tenantID, `WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, false, limit, offset)
	}
	return s.list(ctx, tenantID, `WHERE tenant_id = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, false,
		status, limit, offset)
}

func (s *sqliteStore) SetStatus(ctx context.Context, tenantID, id, from, to string, at time.Time) (bool, error) {
	activated := ""
	if to == Active {
		activated = engine.TimeText(at)
	}
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE distributors SET status = ?, activated_at = ?
		WHERE tenant_id = ? AND id = ? AND status = ?`, to, activated, id, from))
	return ok, fault.Wrap(err, "set status of distributor %s", id)
}

func (s *sqliteStore) SetPlace(ctx context.Context, tenantID, id, parentID string, path []string, depth int) error {
	if err := checkIDs(path); err != nil {
		return err
	}
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE distributors SET parent_id = ?, path = ?, upline = ?, depth = ? WHERE tenant_id = ? AND id = ?`,
		parentID, pathText(path), uplineText(path), depth, id)
	return fault.Wrap(err, "place distributor %s", id)
}

// MoveSubtree is one statement: every path under the old prefix gets the
// new prefix (SQLite evaluates every SET expression on the old row).
func (s *sqliteStore) MoveSubtree(ctx context.Context, tenantID, id string, oldPath, newPath []string) error {
	if err := checkIDs(append([]string{id}, newPath...)); err != nil {
		return err
	}
	oldPrefix, newPrefix := pathText(oldPath)+id+"/", pathText(newPath)+id+"/"
	rest := len(oldPrefix) + 1
	next := `(? || substr(path, ?))`
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE distributors SET path = `+next+`, depth = depth + ?,
		upline = CASE WHEN length(`+next+`) > ? THEN substr(`+next+`, ?) ELSE `+next+` END
		WHERE tenant_id = ? AND path >= ? AND path < ?`,
		newPrefix, rest, len(newPath)-len(oldPath),
		newPrefix, rest, uplineChars, newPrefix, rest, -uplineChars, newPrefix, rest,
		oldPrefix, oldPrefix[:len(oldPrefix)-1]+"0")
	return fault.Wrap(err, "move the team of distributor %s", id)
}

func (s *sqliteStore) CountSubtree(ctx context.Context, tenantID string, d Distributor) (int64, error) {
	prefix := pathText(d.Path) + d.ID + "/"
	return s.count(ctx, tenantID, `path >= ? AND path < ?`, prefix, prefix[:len(prefix)-1]+"0")
}

func (s *sqliteStore) All(ctx context.Context, tenantID, afterID string, limit int) ([]Distributor, error) {
	return s.list(ctx, tenantID, `WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, true, afterID, limit)
}

func scanStats(scan func(...any) error) (Stats, error) {
	var st Stats
	err := scan(&st.ID, &st.TeamSize, &st.TeamSales, &st.OwnSales, &st.Rolled)
	return st, err
}

// stats reads the counters that rest (after WHERE tenant_id = ?) selects.
func (s *sqliteStore) stats(ctx context.Context, tenantID, rest string, args ...any) ([]Stats, error) {
	out, err := engine.SQLAll(ctx, s.e, tenantID, scanStats, `SELECT id, team_size, team_sales, own_sales, rolled
		FROM distributor_stats WHERE tenant_id = ? `+rest, args...)
	return out, fault.Wrap(err, "read team counters")
}

func (s *sqliteStore) Stats(ctx context.Context, tenantID string, ids []string) (map[string]Stats, error) {
	out := map[string]Stats{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := s.stats(ctx, tenantID, `AND id IN (SELECT value FROM json_each(?))`, engine.JSONText(ids))
	for _, st := range list {
		out[st.ID] = st
	}
	return out, err
}

func (s *sqliteStore) inc(ctx context.Context, tenantID, column string, ids []string, delta int64) error {
	if len(ids) == 0 || delta == 0 {
		return nil
	}
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE distributor_stats SET `+column+` = `+column+` + ?
		WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, delta, engine.JSONText(ids))
	return fault.Wrap(err, "add to %s", column)
}

func (s *sqliteStore) AddOwnSales(ctx context.Context, tenantID, id string, delta int64) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO distributor_stats (tenant_id, id, own_sales, dirty) VALUES (?, ?, ?, 1)
		ON CONFLICT (tenant_id, id) DO UPDATE SET own_sales = own_sales + excluded.own_sales, dirty = 1`, id, delta)
	return fault.Wrap(err, "add own sales of distributor %s", id)
}

func (s *sqliteStore) Dirty(ctx context.Context, tenantID string, limit int) ([]Stats, error) {
	return s.stats(ctx, tenantID, `AND dirty = 1 LIMIT ?`, limit)
}

func (s *sqliteStore) Claim(ctx context.Context, tenantID, id string, own, rolled int64) (bool, error) {
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE distributor_stats SET rolled = ?, dirty = 0
		WHERE tenant_id = ? AND id = ? AND own_sales = ? AND rolled = ?`, own, id, own, rolled))
	return ok, fault.Wrap(err, "claim own sales of distributor %s", id)
}

func (s *sqliteStore) Top(ctx context.Context, tenantID, by string, limit int) ([]Stats, error) {
	col := "team_sales"
	if by == "size" {
		col = "team_size"
	}
	return s.stats(ctx, tenantID, `ORDER BY `+col+` DESC LIMIT ?`, limit)
}

func (s *sqliteStore) SetStats(ctx context.Context, tenantID string, st Stats) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO distributor_stats (tenant_id, id, team_size, team_sales, own_sales, rolled, dirty)
		VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (tenant_id, id) DO UPDATE SET team_size = excluded.team_size,
		team_sales = excluded.team_sales, own_sales = excluded.own_sales, rolled = excluded.rolled, dirty = 0`,
		st.ID, st.TeamSize, st.TeamSales, st.OwnSales, st.Rolled)
	return fault.Wrap(err, "set counters of distributor %s", st.ID)
}
