package pcstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// sqliteStore keeps pcstore's records in the tenant's SQLite file; nested
// values (rates, SKU ids, a run's spec, counts and notes) are JSON text.
type sqliteStore struct{ e *engine.Engine }

func (s *sqliteStore) GetLink(ctx context.Context, tenantID string) (Link, error) {
	var l Link
	var rates, created, updated, next string
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT type, url, api_key, api_secret, upload_id, upload_name, currency, currency_from_store, rates,
		interval_minutes, assumed_stock, created_at, updated_at, next_run_at, current_run, last_run_id, last_count
		FROM pcstore_links WHERE tenant_id = ?`).Scan(&l.Type, &l.URL, &l.Key, &l.Secret, &l.UploadID, &l.UploadName,
		&l.Currency, &l.CurrencyFromStore, &rates, &l.IntervalMinutes, &l.AssumedStock, &created, &updated, &next, &l.CurrentRun, &l.LastRunID, &l.LastCount)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, errNoLink()
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
	// Upsert of the settings only: the schedule columns take their values
	// on insert and are left alone by the update.
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO pcstore_links (tenant_id, type, url, api_key, api_secret, upload_id, upload_name,
		currency, currency_from_store, rates, interval_minutes, assumed_stock, created_at, updated_at, next_run_at, current_run, last_run_id, last_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 0)
		ON CONFLICT (tenant_id) DO UPDATE SET type = excluded.type, url = excluded.url, api_key = excluded.api_key,
			api_secret = excluded.api_secret, upload_id = excluded.upload_id, upload_name = excluded.upload_name,
			currency = excluded.currency, currency_from_store = excluded.currency_from_store, rates = excluded.rates, interval_minutes = excluded.interval_minutes,
			assumed_stock = excluded.assumed_stock, updated_at = excluded.updated_at, next_run_at = excluded.next_run_at`,
		l.Type, l.URL, l.Key, l.Secret, l.UploadID, l.UploadName, l.Currency, l.CurrencyFromStore, engine.JSONText(orEmpty(l.Rates)), l.IntervalMinutes,
		l.AssumedStock, engine.TimeText(l.CreatedAt), engine.TimeText(l.UpdatedAt), engine.TimeText(l.NextRunAt))
	return fault.Wrap(err, "put link")
}

func (s *sqliteStore) DeleteLink(ctx context.Context, tenantID string) error {
	res, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM pcstore_links WHERE tenant_id = ?`)
	return fault.Wrap(engine.One(res, err, errNoLink()), "delete link")
}

func (s *sqliteStore) SetLinkRun(ctx context.Context, tenantID, runID string) error {
	res, err := s.e.SQLExec(ctx, tenantID, `UPDATE pcstore_links SET current_run = ? WHERE tenant_id = ?`, runID)
	return fault.Wrap(engine.One(res, err, errNoLink()), "set link run %s", runID)
}

func (s *sqliteStore) FinishLinkRun(ctx context.Context, tenantID, runID string, next time.Time, lastCount int64) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE pcstore_links SET current_run = CASE WHEN current_run = ? THEN '' ELSE current_run END,
		last_run_id = ?, next_run_at = ?, last_count = ? WHERE tenant_id = ?`, runID, runID, engine.TimeText(next), lastCount)
	return fault.Wrap(err, "finish link run %s", runID)
}

const mappingColumns = `source, external_id, product_id, skus, run, outcome, gone, updated_at`

func scanMapping(scan func(...any) error) (Mapping, error) {
	var m Mapping
	var skus, updated string
	if err := scan(&m.Source, &m.ExternalID, &m.ProductID, &skus, &m.Run, &m.Outcome, &m.Gone, &updated); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(skus), &m.SKUs); err != nil {
		return m, fmt.Errorf("mapping %s skus: %w", m.ExternalID, err)
	}
	m.UpdatedAt = engine.ParseTimeText(updated)
	return m, nil
}

func (s *sqliteStore) Mappings(ctx context.Context, tenantID, src string, ids []string) (map[string]Mapping, error) {
	if len(ids) == 0 {
		return map[string]Mapping{}, nil
	}
	ms, err := engine.SQLAll(ctx, s.e, tenantID, scanMapping, `SELECT `+mappingColumns+` FROM pcstore_mappings
		WHERE tenant_id = ? AND source = ? AND external_id IN (`+engine.Placeholders(len(ids))+`)`, append([]any{src}, engine.Strings(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	return byExternalID(ms), nil
}

func (s *sqliteStore) ClaimMappings(ctx context.Context, tenantID string, ms []Mapping) error {
	if len(ms) == 0 {
		return nil
	}
	// One statement per claim batch; the primary key (tenant, source,
	// external id) decides who gets each, OR IGNORE leaves the rest alone.
	// The rows come from a VALUES list so the scope's one tenant_id
	// placeholder serves them all.
	rows := make([]string, len(ms))
	args := make([]any, 0, len(ms)*8)
	for i, m := range ms {
		rows[i] = "(" + engine.Placeholders(8) + ")"
		args = append(args, m.Source, m.ExternalID, m.ProductID, engine.JSONText(orEmpty(m.SKUs)), m.Run, m.Outcome, m.Gone,
			engine.TimeText(m.UpdatedAt))
	}
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO pcstore_mappings (tenant_id, `+mappingColumns+`)
		SELECT ?, column1, column2, column3, column4, column5, column6, column7, column8 FROM (VALUES `+strings.Join(rows, ", ")+`)`,
		args...)
	return fault.Wrap(err, "claim mappings")
}

func (s *sqliteStore) SaveMapping(ctx context.Context, tenantID string, m Mapping) error {
	res, err := s.e.SQLExec(ctx, tenantID, `UPDATE pcstore_mappings SET product_id = ?, skus = ?, run = ?, outcome = ?, gone = ?,
		updated_at = ? WHERE tenant_id = ? AND source = ? AND external_id = ?`,
		m.ProductID, engine.JSONText(orEmpty(m.SKUs)), m.Run, m.Outcome, m.Gone, engine.TimeText(m.UpdatedAt), m.Source, m.ExternalID)
	return fault.Wrap(engine.One(res, err, fault.NotFound("mapping")), "save mapping %s", m.ExternalID)
}

func (s *sqliteStore) MarkSeen(ctx context.Context, tenantID, src, runID, outcome string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE pcstore_mappings SET run = ?, outcome = ?, updated_at = ?
		WHERE tenant_id = ? AND source = ? AND external_id IN (`+engine.Placeholders(len(ids))+`)`,
		append([]any{runID, outcome, engine.TimeText(time.Now()), src}, engine.Strings(ids)...)...)
	return fault.Wrap(err, "mark %d mappings %s", len(ids), outcome)
}

func (s *sqliteStore) StaleMappings(ctx context.Context, tenantID, src, runID string, limit int) ([]Mapping, error) {
	ms, err := engine.SQLAll(ctx, s.e, tenantID, scanMapping, `SELECT `+mappingColumns+` FROM pcstore_mappings
		WHERE tenant_id = ? AND source = ? AND gone = 0 AND run <> ? LIMIT ?`, src, runID, limit)
	return ms, fault.Wrap(err, "stale mappings")
}

func (s *sqliteStore) CountOutcomes(ctx context.Context, tenantID, runID string) (Counts, error) {
	byOutcome, err := engine.SQLCountBy[string](ctx, s.e, tenantID, `SELECT outcome, count(*) FROM pcstore_mappings
		WHERE tenant_id = ? AND run = ? GROUP BY outcome`, runID)
	if err != nil {
		return Counts{}, fmt.Errorf("count outcomes of run %s: %w", runID, err)
	}
	var c Counts
	for outcome, n := range byOutcome {
		c.add(outcome, n)
	}
	return c, nil
}

const runColumns = `id, status, run_trigger, spec, counts, total, bytes_read, bytes_total, page, resumes, error, notes,
	started_at, finished_at, heartbeat_at, active_ms`

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

func (s *sqliteStore) CreateRun(ctx context.Context, tenantID string, r Run) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO pcstore_runs (tenant_id, `+runColumns+`) VALUES (?, `+engine.Placeholders(16)+`)`,
		r.ID, r.Status, r.Trigger, engine.JSONText(specJSON(r.Spec)), engine.JSONText(r.Counts), r.Total, r.BytesRead, r.BytesTotal,
		r.Page, r.Resumes, r.Error, engine.JSONText(orNone(r.Notes)), engine.TimeText(r.StartedAt), engine.OptTimeText(r.FinishedAt),
		engine.TimeText(r.HeartbeatAt), r.ActiveMS)
	return fault.Wrap(err, "create run")
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
	for _, f := range []struct {
		what string
		text string
		v    any
	}{{"spec", spec, &sj}, {"counts", counts, &r.Counts}, {"notes", notes, &r.Notes}} {
		if err := json.Unmarshal([]byte(f.text), f.v); err != nil {
			return r, fmt.Errorf("run %s %s: %w", r.ID, f.what, err)
		}
	}
	r.Spec = Spec(sj)
	r.StartedAt, r.FinishedAt, r.HeartbeatAt = engine.ParseTimeText(started), engine.ParseOptTimeText(finished), engine.ParseTimeText(heartbeat)
	return r.tidy(), nil
}

func (s *sqliteStore) GetRun(ctx context.Context, tenantID, id string) (Run, error) {
	r, err := scanRun(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+runColumns+` FROM pcstore_runs WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fault.NotFound("run")
	}
	return r, fault.Wrap(err, "get run %s", id)
}

func (s *sqliteStore) SaveRun(ctx context.Context, tenantID string, r Run) error {
	res, err := s.e.SQLExec(ctx, tenantID, `UPDATE pcstore_runs SET status = ?, spec = ?, counts = ?, total = ?, bytes_read = ?,
		bytes_total = ?, page = ?, resumes = ?, error = ?, notes = ?, finished_at = ?, heartbeat_at = ?, active_ms = ?
		WHERE tenant_id = ? AND id = ?`,
		r.Status, engine.JSONText(specJSON(r.Spec)), engine.JSONText(r.Counts), r.Total, r.BytesRead, r.BytesTotal, r.Page, r.Resumes,
		r.Error, engine.JSONText(orNone(r.Notes)), engine.OptTimeText(r.FinishedAt), engine.TimeText(r.HeartbeatAt), r.ActiveMS, r.ID)
	return fault.Wrap(engine.One(res, err, fault.NotFound("run")), "save run %s", r.ID)
}

func (s *sqliteStore) ListRuns(ctx context.Context, tenantID string, before time.Time, limit int) ([]Run, error) {
	cond, args := "", []any{limit}
	if !before.IsZero() {
		cond, args = ` AND started_at < ?`, []any{engine.TimeText(before), limit}
	}
	rs, err := engine.SQLAll(ctx, s.e, tenantID, scanRun, `SELECT `+runColumns+` FROM pcstore_runs WHERE tenant_id = ?`+cond+`
		ORDER BY started_at DESC, id DESC LIMIT ?`, args...)
	return rs, fault.Wrap(err, "list runs")
}

func (s *sqliteStore) AddRunError(ctx context.Context, tenantID string, e RunError) (bool, error) {
	res, err := s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO pcstore_run_errors (tenant_id, run_id, ref, seq, external_id, title,
		message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.RunID, e.Ref, e.At.UnixNano(), e.ExternalID, e.Title, e.Message, engine.TimeText(e.At))
	if err != nil {
		return false, fmt.Errorf("add run error: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *sqliteStore) RunErrors(ctx context.Context, tenantID, runID string, offset, limit int) ([]RunError, error) {
	es, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (RunError, error) {
		e := RunError{RunID: runID}
		var at string
		err := scan(&e.Ref, &e.ExternalID, &e.Title, &e.Message, &at)
		e.At = engine.ParseTimeText(at)
		return e, err
	}, `SELECT ref, external_id, title, message, at FROM pcstore_run_errors
		WHERE tenant_id = ? AND run_id = ? ORDER BY seq LIMIT ? OFFSET ?`, runID, limit, offset)
	return es, fault.Wrap(err, "errors of run %s", runID)
}

func (s *sqliteStore) CountRunErrors(ctx context.Context, tenantID, runID string) (int64, error) {
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM pcstore_run_errors WHERE tenant_id = ? AND run_id = ?`, runID).Scan(&n)
	return n, fault.Wrap(err, "count errors of run %s", runID)
}

func (s *sqliteStore) PutUpload(ctx context.Context, tenantID string, u Upload, r io.Reader, max int64) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, fmt.Errorf("put upload %s: %w", u.ID, err)
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
	return size, fault.Wrap(err, "put upload %s", u.ID)
}

func (s *sqliteStore) OpenUpload(ctx context.Context, tenantID, id string) (io.ReadCloser, int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, 0, fmt.Errorf("open upload %s: %w", id, err)
	}
	var size int64
	err = db.QueryRow(ctx, `SELECT size FROM pcstore_uploads WHERE tenant_id = ? AND id = ?`, id).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, errNoUpload()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open upload %s: %w", id, err)
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

func (s *sqliteStore) DeleteUploads(ctx context.Context, tenantID string, keep ...string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return fmt.Errorf("delete uploads: %w", err)
	}
	cond := ""
	if len(keep) > 0 {
		cond = ` AND upload_id NOT IN (` + engine.Placeholders(len(keep)) + `)`
	}
	if _, err := db.Exec(ctx, `DELETE FROM pcstore_upload_chunks WHERE tenant_id = ?`+cond, engine.Strings(keep)...); err != nil {
		return fmt.Errorf("delete upload chunks: %w", err)
	}
	if _, err = db.Exec(ctx, `DELETE FROM pcstore_uploads WHERE tenant_id = ?`+strings.ReplaceAll(cond, "upload_id", "id"), engine.Strings(keep)...); err != nil {
		return fmt.Errorf("delete uploads: %w", err)
	}
	return nil
}

func (s *sqliteStore) ImageCopies(ctx context.Context, tenantID string, urls []string) (map[string]ImageCopy, error) {
	out := map[string]ImageCopy{}
	if len(urls) == 0 {
		return out, nil
	}
	keys := make([]string, len(urls))
	for i, u := range urls {
		keys[i] = imageKey(u)
	}
	cs, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (ImageCopy, error) {
		var c ImageCopy
		var checked string
		err := scan(&c.URL, &c.ETag, &c.LastModified, &c.SHA256, &c.Stored, &checked)
		c.CheckedAt = engine.ParseTimeText(checked)
		return c, err
	}, `SELECT url, etag, last_modified, sha256, stored, checked_at FROM pcstore_images
		WHERE tenant_id = ? AND key IN (`+engine.Placeholders(len(keys))+`)`, engine.Strings(keys)...)
	if err != nil {
		return nil, fmt.Errorf("image copies: %w", err)
	}
	for _, c := range cs {
		out[c.URL] = c
	}
	return out, nil
}

func (s *sqliteStore) SaveImageCopy(ctx context.Context, tenantID string, c ImageCopy) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO pcstore_images (tenant_id, key, url, etag, last_modified, sha256, stored, checked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, key) DO UPDATE SET url = excluded.url, etag = excluded.etag, last_modified = excluded.last_modified,
			sha256 = excluded.sha256, stored = excluded.stored, checked_at = excluded.checked_at`,
		imageKey(c.URL), c.URL, c.ETag, c.LastModified, c.SHA256, c.Stored, engine.TimeText(c.CheckedAt))
	return fault.Wrap(err, "save image copy")
}
