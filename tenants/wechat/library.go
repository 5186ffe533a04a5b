package wechat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The template library the platform picks from: for each notice kind the
// shops send as a template message, the template's title in WeChat's
// library, its short id (template_id_short: "OPENTM…"/"TM…" in the
// industry library, a number in the category library) and the keywords
// chosen from it, in the order the shop fills keyword1, keyword2, …
// (keyword_name_list, which WeChat asks for when adding a category
// template). The server gives the defaults (SetLibraryDefaults); the
// operator may change them at /ops/wechat, and the changes are kept in the
// platform database (wx_template_library), so a live platform
// follows WeChat's library without a code change.

// NoticeTemplate is the library's template for one notice kind.
type NoticeTemplate struct {
	Kind string `json:"kind" bson:"kind"`
	// Title is the template's title in WeChat's library: an account
	// template with this title is reused instead of adding another.
	Title   string `json:"title" bson:"title"`
	ShortID string `json:"short_id" bson:"short_id"`
	// Keywords are keyword_name_list: the library template's keywords the
	// shop fills, in order.
	Keywords []string `json:"keywords" bson:"keywords"`
}

// KeywordList is the keywords as the ops page's form shows them.
func (t NoticeTemplate) KeywordList() string { return strings.Join(t.Keywords, "，") }

// Library limits.
const (
	maxTemplateTitle = 32
	maxKeywords      = 10
	maxKeyword       = 20
)

var shortIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// normalize trims t and checks it: an empty short id is allowed (the kind
// is only reused by title, never added).
func (t NoticeTemplate) normalize() (NoticeTemplate, error) {
	t.Title, t.ShortID = strings.TrimSpace(t.Title), strings.TrimSpace(t.ShortID)
	if t.Title == "" || utf8.RuneCountInString(t.Title) > maxTemplateTitle {
		return t, fault.Invalid("library", "%s: the title is required, at most %d characters, as WeChat's library names the template", t.Kind, maxTemplateTitle)
	}
	if t.ShortID != "" && !shortIDPattern.MatchString(t.ShortID) {
		return t, fault.Invalid("library", "%s: the short id must be the library's template number (letters, digits and _), e.g. OPENTM200565259 or 47123", t.Kind)
	}
	kw := make([]string, 0, len(t.Keywords))
	for _, k := range t.Keywords {
		if k = strings.TrimSpace(k); k != "" {
			kw = append(kw, k)
		}
	}
	if len(kw) > maxKeywords {
		return t, fault.Invalid("library", "%s: at most %d keywords", t.Kind, maxKeywords)
	}
	for _, k := range kw {
		if utf8.RuneCountInString(k) > maxKeyword || strings.ContainsAny(k, "{}") {
			return t, fault.Invalid("library", "%s: each keyword at most %d characters, as the library names it", t.Kind, maxKeyword)
		}
	}
	t.Keywords = kw
	return t, nil
}

// SetLibraryDefaults sets the library the platform starts with: one entry
// per notice kind the shops send, in the order the ops page lists them.
func (c *Component) SetLibraryDefaults(defs []NoticeTemplate) {
	c.mu.Lock()
	c.libDefaults = slices.Clone(defs)
	c.mu.Unlock()
}

// Library is the platform's template library: the defaults, each replaced
// by the operator's entry for its kind when there is one.
func (c *Component) Library(ctx context.Context) ([]NoticeTemplate, error) {
	c.mu.Lock()
	defs := slices.Clone(c.libDefaults)
	c.mu.Unlock()
	saved, err := c.store.Library(ctx)
	if err != nil {
		return nil, err
	}
	byKind := map[string]NoticeTemplate{}
	for _, t := range saved {
		byKind[t.Kind] = t
	}
	for i, d := range defs {
		if t, ok := byKind[d.Kind]; ok {
			defs[i] = t
		}
	}
	return defs, nil
}

// SaveLibrary checks the operator's entries (one per kind of the
// defaults; others are refused) and keeps those that differ from their
// default, replacing what was kept before.
func (c *Component) SaveLibrary(ctx context.Context, in []NoticeTemplate) ([]NoticeTemplate, error) {
	c.mu.Lock()
	defs := slices.Clone(c.libDefaults)
	c.mu.Unlock()
	known := map[string]NoticeTemplate{}
	for _, d := range defs {
		known[d.Kind] = d
	}
	out := make([]NoticeTemplate, 0, len(in))
	seen := map[string]bool{}
	for _, t := range in {
		def, ok := known[t.Kind]
		if !ok || seen[t.Kind] {
			return nil, fault.Invalid("library", "unknown or repeated notice kind %q", fault.Clip(t.Kind, 40))
		}
		seen[t.Kind] = true
		t, err := t.normalize()
		if err != nil {
			return nil, err
		}
		if t.Title == def.Title && t.ShortID == def.ShortID && slices.Equal(t.Keywords, def.Keywords) {
			continue // the default: kept as one, so a later default applies
		}
		out = append(out, t)
	}
	if err := c.store.SaveLibrary(ctx, out, c.accounts.now().UTC().Truncate(time.Millisecond)); err != nil {
		return nil, err
	}
	return c.Library(ctx)
}

// libraryID is the library's row in wx_component.
const libraryID = "library"

// libraryPlatform is the library's table: one row, its entries as JSON.
var libraryPlatform = engine.Platform{
	SQLite: []string{`CREATE TABLE IF NOT EXISTS wx_template_library (
		id TEXT PRIMARY KEY,
		entries TEXT NOT NULL,
		updated_at TEXT NOT NULL)`},
	Mongo: []engine.MongoCollection{engine.Coll("wx_template_library")},
}

func (s *componentSQLite) Library(ctx context.Context) ([]NoticeTemplate, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT entries FROM wx_template_library WHERE id = ?`, libraryID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the template library: %w", err)
	}
	var out []NoticeTemplate
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("read the template library: %w", err)
	}
	return out, nil
}

func (s *componentSQLite) SaveLibrary(ctx context.Context, entries []NoticeTemplate, at time.Time) error {
	raw, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO wx_template_library (id, entries, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET entries = excluded.entries, updated_at = excluded.updated_at`, libraryID, string(raw), engine.TimeText(at))
	return fault.Wrap(err, "save the template library")
}

type libraryDoc struct {
	ID        string           `bson:"_id"`
	Entries   []NoticeTemplate `bson:"entries"`
	UpdatedAt time.Time        `bson:"updated_at"`
}

func (s *componentMongo) Library(ctx context.Context) ([]NoticeTemplate, error) {
	var d libraryDoc
	err := s.db.Collection("wx_template_library").FindOne(ctx, bson.D{{Key: "_id", Value: libraryID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the template library: %w", err)
	}
	return d.Entries, nil
}

func (s *componentMongo) SaveLibrary(ctx context.Context, entries []NoticeTemplate, at time.Time) error {
	if entries == nil {
		entries = []NoticeTemplate{}
	}
	_, err := s.db.Collection("wx_template_library").ReplaceOne(ctx, bson.D{{Key: "_id", Value: libraryID}},
		libraryDoc{ID: libraryID, Entries: entries, UpdatedAt: at}, options.Replace().SetUpsert(true))
	return fault.Wrap(err, "save the template library")
}
