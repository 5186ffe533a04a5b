package pcstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"microshop/shop/pcstore/source"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

func (s *sqliteStore) GetLink(ctx context.Context, tenantID string) (Link, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Link{}, err
	}
	var l Link
	var rates, created, updated, next string
	err = db.QueryRow(ctx, `SELECT type, url, api_key, api_secret, upload_id, upload_name, currency, rates,
		interval_minutes, assumed_stock, created_at, updated_at, next_run_at, current_run, last_run_id, last_count
		FROM pcstore_links WHERE tenant_id = ?`).Scan(&l.Type, &l.URL, &l.Key, &l.Secret, &l.UploadID, &l.UploadName,
		&l.Currency, &rates, &l.IntervalMinutes, &l.AssumedStock, &created, &updated, &next, &l.CurrentRun, &l.LastRunID, &l.LastCount)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, fault.NotFound("PC store link")
	}
	if err != nil {
		return Link{}, fmt.Errorf("get link: %w", err)
	}
	if err := json.Unmarshal([]byte(rates), &l.Rates); err != nil {
		return Link{}, fmt.Errorf("link rates: %w", err)
	}
	l.CreatedAt, l.UpdatedAt, l.NextRunAt = engine.ParseTimeText(created), engine.ParseTimeText(updated), engine.ParseTimeText(next)
	return l, nil
}

func (s *sqliteStore) PutLink(ctx context.Context, tenantID string, l Link) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	rates, err := json.Marshal(nonNilRates(l.Rates))
	if err != nil {
		return err
	}
	// Upsert of the settings only: the schedule columns take their values
	// on insert and are left alone by the update.
	_, err = db.Exec(ctx, `INSERT INTO pcstore_links (tenant_id, type, url, api_key, api_secret, upload_id, upload_name,
		currency, rates, interval_minutes, assumed_stock, created_at, updated_at, next_run_at, current_run, last_run_id, last_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 0)
		ON CONFLICT (tenant_id) DO UPDATE SET type = excluded.type, url = excluded.url, api_key = excluded.api_key,
			api_secret = excluded.api_secret, upload_id = excluded.upload_id, upload_name = excluded.upload_name,
			currency = excluded.currency, rates = excluded.rates, interval_minutes = excluded.interval_minutes,
			assumed_stock = excluded.assumed_stock, updated_at = excluded.updated_at, next_run_at = excluded.next_run_at`,
		l.Type, l.URL, l.Key, l.Secret, l.UploadID, l.UploadName, l.Currency, string(rates), l.IntervalMinutes, l.AssumedStock,
		engine.TimeText(l.CreatedAt), engine.TimeText(l.UpdatedAt), engine.TimeText(l.NextRunAt))
	if err != nil {
		return fmt.Errorf("put link: %w", err)
	}
	return nil
}

func nonNilRates(r map[string]source.Rate) map[string]source.Rate {
	if r == nil {
		return map[string]source.Rate{}
	}
	return r
}

func (s *sqliteStore) DeleteLink(ctx context.Context, tenantID string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	res, err := db.Exec(ctx, `DELETE FROM pcstore_links WHERE tenant_id = ?`)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("PC store link")
	}
	return nil
}

func (s *sqliteStore) SetLinkRun(ctx context.Context, tenantID, runID string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	res, err := db.Exec(ctx, `UPDATE pcstore_links SET current_run = ? WHERE tenant_id = ?`, runID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("PC store link")
	}
	return nil
}

func (s *sqliteStore) FinishLinkRun(ctx context.Context, tenantID, runID string, next time.Time, lastCount int64) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE pcstore_links SET current_run = CASE WHEN current_run = ? THEN '' ELSE current_run END,
		last_run_id = ?, next_run_at = ?, last_count = ? WHERE tenant_id = ?`, runID, runID, engine.TimeText(next), lastCount)
	return err
}

func (s *sqliteStore) Mappings(ctx context.Context, tenantID, src string, ids []string) (map[string]Mapping, error) {
	out := make(map[string]Mapping, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, src)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := db.Query(ctx, `SELECT source, external_id, product_id, skus, run, outcome, gone, updated_at
		FROM pcstore_mappings WHERE tenant_id = ? AND source = ? AND external_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	ms, err := scanMappings(rows)
	for _, m := range ms {
		out[m.ExternalID] = m
	}
	return out, err
}

func scanMappings(rows *sql.Rows) ([]Mapping, error) {
	defer rows.Close()
	var out []Mapping
	for rows.Next() {
		var m Mapping
		var skus, updated string
		if err := rows.Scan(&m.Source, &m.ExternalID, &m.ProductID, &skus, &m.Run, &m.Outcome, &m.Gone, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(skus), &m.SKUs); err != nil {
			return nil, fmt.Errorf("mapping %s skus: %w", m.ExternalID, err)
		}
		m.UpdatedAt = engine.ParseTimeText(updated)
		out = append(out, m)
	}
	return out, rows.Err()
}

func skusJSON(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (s *sqliteStore) ClaimMappings(ctx context.Context, tenantID string, ms []Mapping) error {
	if len(ms) == 0 {
		return nil
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	// One statement per claim batch; the primary key (tenant, source,
	// external id) decides who gets each, OR IGNORE leaves the rest alone.
	// The rows come from a VALUES list so the scope's one tenant_id
	// placeholder serves them all.
	var q strings.Builder
	q.WriteString(`INSERT OR IGNORE INTO pcstore_mappings (tenant_id, source, external_id, product_id, skus, run, outcome, gone, updated_at)
		SELECT ?, column1, column2, column3, column4, column5, column6, column7, column8 FROM (VALUES `)
	args := make([]any, 0, len(ms)*8)
	for i, m := range ms {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, m.Source, m.ExternalID, m.ProductID, skusJSON(m.SKUs), m.Run, m.Outcome, m.Gone, engine.TimeText(m.UpdatedAt))
	}
	q.WriteString(")")
	if _, err := db.Exec(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("claim mappings: %w", err)
	}
	return nil
}

func (s *sqliteStore) SaveMapping(ctx context.Context, tenantID string, m Mapping) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	res, err := db.Exec(ctx, `UPDATE pcstore_mappings SET product_id = ?, skus = ?, run = ?, outcome = ?, gone = ?, updated_at = ?
		WHERE tenant_id = ? AND source = ? AND external_id = ?`,
		m.ProductID, skusJSON(m.SKUs), m.Run, m.Outcome, m.Gone, engine.TimeText(m.UpdatedAt), m.Source, m.ExternalID)
	if err != nil {
		return fmt.Errorf("save mapping: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("mapping")
	}
	return nil
}

func (s *sqliteStore) MarkSeen(ctx context.Context, tenantID, src, runID, outcome string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	args := []any{runID, outcome, engine.TimeText(time.Now()), src}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err = db.Exec(ctx, `UPDATE pcstore_mappings SET run = ?, outcome = ?, updated_at = ?
		WHERE tenant_id = ? AND source = ? AND external_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	return err
}

func (s *sqliteStore) StaleMappings(ctx context.Context, tenantID, src, runID string, limit int) ([]Mapping, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT source, external_id, product_id, skus, run, outcome, gone, updated_at
		FROM pcstore_mappings WHERE tenant_id = ? AND source = ? AND gone = 0 AND run <> ? LIMIT ?`, src, runID, limit)
	if err != nil {
		return nil, err
	}
	return scanMappings(rows)
}

func (s *sqliteStore) CountOutcomes(ctx context.Context, tenantID, runID string) (Counts, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Counts{}, err
	}
	byOutcome, err := engine.CountBy[string](ctx, db, `SELECT outcome, count(*) FROM pcstore_mappings WHERE tenant_id = ? AND run = ? GROUP BY outcome`, runID)
	if err != nil {
		return Counts{}, err
	}
	var c Counts
	for outcome, n := range byOutcome {
		c.add(outcome, n)
	}
	return c, nil
}

func (c *Counts) add(outcome string, n int64) {
	switch outcome {
	case outCreated:
		c.Created += n
	case outUpdated:
		c.Updated += n
	case outUnchanged:
		c.Unchanged += n
	case outOffSale:
		c.OffSale += n
	}
}

const runColumns = `id, status, run_trigger, spec, counts, total, bytes_read, bytes_total, page, resumes, error, notes,
	started_at, finished_at, heartbeat_at, active_ms`

func (s *sqliteStore) CreateRun(ctx context.Context, tenantID string, r Run) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	spec, _ := json.Marshal(specJSON(r.Spec))
	counts, _ := json.Marshal(r.Counts)
	notes, _ := json.Marshal(nonNilNotes(r.Notes))
	_, err = db.Exec(ctx, `INSERT INTO pcstore_runs (tenant_id, `+runColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Status, r.Trigger, string(spec), string(counts), r.Total, r.BytesRead, r.BytesTotal, r.Page, r.Resumes,
		r.Error, string(notes), engine.TimeText(r.StartedAt), timeOrEmpty(r.FinishedAt), engine.TimeText(r.HeartbeatAt), r.ActiveMS)
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

func nonNilNotes(n []string) []string {
	if n == nil {
		return []string{}
	}
	return n
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return engine.TimeText(t)
}

// specJSON is how a spec is kept in SQLite: with the key (the JSON tags
// of Spec leave it out of API answers).
type specJSON struct {
	Type       string `json:"type"`
	URL        string `json:"url"`
	Key        string `json:"key"`
	UploadID   string `json:"upload_id"`
	UploadName string `json:"upload_name"`
	SourceKey  string `json:"source_key"`
}

func scanRun(scan func(...any) error) (Run, error) {
	var r Run
	var spec, counts, notes, started, finished, heartbeat string
	err := scan(&r.ID, &r.Status, &r.Trigger, &spec, &counts, &r.Total, &r.BytesRead, &r.BytesTotal, &r.Page, &r.Resumes,
		&r.Error, &notes, &started, &finished, &heartbeat, &r.ActiveMS)
	if err != nil {
		return r, err
	}
	var sj specJSON
	if err := json.Unmarshal([]byte(spec), &sj); err != nil {
		return r, fmt.Errorf("run %s spec: %w", r.ID, err)
	}
	r.Spec = Spec(sj)
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return r, fmt.Errorf("run %s counts: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(notes), &r.Notes); err != nil {
		return r, fmt.Errorf("run %s notes: %w", r.ID, err)
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	r.StartedAt, r.HeartbeatAt = engine.ParseTimeText(started), engine.ParseTimeText(heartbeat)
	if finished != "" {
		r.FinishedAt = engine.ParseTimeText(finished)
	}
	return r, nil
}

func (s *sqliteStore) GetRun(ctx context.Context, tenantID, id string) (Run, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Run{}, err
	}
	r, err := scanRun(db.QueryRow(ctx, `SELECT `+runColumns+` FROM pcstore_runs WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fault.NotFound("run")
	}
	return r, err
}

func (s *sqliteStore) SaveRun(ctx context.Context, tenantID string, r Run) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	spec, _ := json.Marshal(specJSON(r.Spec))
	counts, _ := json.Marshal(r.Counts)
	notes, _ := json.Marshal(nonNilNotes(r.Notes))
	res, err := db.Exec(ctx, `UPDATE pcstore_runs SET status = ?, spec = ?, counts = ?, total = ?, bytes_read = ?, bytes_total = ?,
		page = ?, resumes = ?, error = ?, notes = ?, finished_at = ?, heartbeat_at = ?, active_ms = ?
		WHERE tenant_id = ? AND id = ?`,
		r.Status, string(spec), string(counts), r.Total, r.BytesRead, r.BytesTotal, r.Page, r.Resumes, r.Error, string(notes),
		timeOrEmpty(r.FinishedAt), engine.TimeText(r.HeartbeatAt), r.ActiveMS, r.ID)
	if err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("run")
	}
	return nil
}

func (s *sqliteStore) ListRuns(ctx context.Context, tenantID string, before time.Time, limit int) ([]Run, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if before.IsZero() {
		rows, err = db.Query(ctx, `SELECT `+runColumns+` FROM pcstore_runs WHERE tenant_id = ?
			ORDER BY started_at DESC, id DESC LIMIT ?`, limit)
	} else {
		rows, err = db.Query(ctx, `SELECT `+runColumns+` FROM pcstore_runs WHERE tenant_id = ? AND started_at < ?
			ORDER BY started_at DESC, id DESC LIMIT ?`, engine.TimeText(before), limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqliteStore) AddRunError(ctx context.Context, tenantID string, e RunError) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO pcstore_run_errors (tenant_id, run_id, ref, seq, external_id, title, message, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.RunID, e.Ref, e.At.UnixNano(), e.ExternalID, e.Title, e.Message, engine.TimeText(e.At))
	if err != nil {
		return false, fmt.Errorf("add run error: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *sqliteStore) RunErrors(ctx context.Context, tenantID, runID string, offset, limit int) ([]RunError, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT ref, external_id, title, message, at FROM pcstore_run_errors
		WHERE tenant_id = ? AND run_id = ? ORDER BY seq LIMIT ? OFFSET ?`, runID, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RunError{}
	for rows.Next() {
		e := RunError{RunID: runID}
		var at string
		if err := rows.Scan(&e.Ref, &e.ExternalID, &e.Title, &e.Message, &at); err != nil {
			return nil, err
		}
		e.At = engine.ParseTimeText(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqliteStore) CountRunErrors(ctx context.Context, tenantID, runID string) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM pcstore_run_errors WHERE tenant_id = ? AND run_id = ?`, runID).Scan(&n)
	return n, err
}

func (s *sqliteStore) PutUpload(ctx context.Context, tenantID string, u Upload, r io.Reader, max int64) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	// Chunks first, the upload record last: an upload without its record
	// is never read, and DeleteUploads sweeps it.
	size, err := writeChunks(r, max, func(seq int, data []byte) error {
		_, err := db.Exec(ctx, `INSERT INTO pcstore_upload_chunks (tenant_id, upload_id, seq, data) VALUES (?, ?, ?, ?)`, u.ID, seq, data)
		return err
	})
	if err != nil {
		return 0, err
	}
	_, err = db.Exec(ctx, `INSERT INTO pcstore_uploads (tenant_id, id, name, size, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Name, size, engine.TimeText(u.CreatedAt))
	return size, err
}

// writeChunks reads r in chunkSize pieces and hands each to put.
func writeChunks(r io.Reader, max int64, put func(seq int, data []byte) error) (int64, error) {
	buf := make([]byte, chunkSize)
	var size int64
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			size += int64(n)
			if size > max {
				return 0, fault.Invalid("feed", "the file is larger than %d MB", max>>20)
			}
			if perr := put(seq, bytes.Clone(buf[:n])); perr != nil {
				return 0, fmt.Errorf("store upload: %w", perr)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func (s *sqliteStore) OpenUpload(ctx context.Context, tenantID, id string) (io.ReadCloser, int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, 0, err
	}
	var size int64
	err = db.QueryRow(ctx, `SELECT size FROM pcstore_uploads WHERE tenant_id = ? AND id = ?`, id).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fault.NotFound("uploaded feed")
	}
	if err != nil {
		return nil, 0, err
	}
	return &chunkReader{next: func(seq int) ([]byte, error) {
		var data []byte
		err := db.QueryRow(ctx, `SELECT data FROM pcstore_upload_chunks WHERE tenant_id = ? AND upload_id = ? AND seq = ?`, id, seq).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, io.EOF
		}
		return data, err
	}}, size, nil
}

// chunkReader reads an upload one stored chunk at a time.
type chunkReader struct {
	next func(seq int) ([]byte, error)
	seq  int
	buf  []byte
	err  error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.buf, c.err = c.next(c.seq)
		c.seq++
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func (c *chunkReader) Close() error { return nil }

func (s *sqliteStore) DeleteUploads(ctx context.Context, tenantID string, keep ...string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	args := []any{}
	cond := ""
	if len(keep) > 0 {
		cond = ` AND upload_id NOT IN (?` + strings.Repeat(", ?", len(keep)-1) + `)`
		for _, k := range keep {
			args = append(args, k)
		}
	}
	if _, err := db.Exec(ctx, `DELETE FROM pcstore_upload_chunks WHERE tenant_id = ?`+cond, args...); err != nil {
		return err
	}
	_, err = db.Exec(ctx, `DELETE FROM pcstore_uploads WHERE tenant_id = ?`+strings.ReplaceAll(cond, "upload_id", "id"), args...)
	return err
}
