package image

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

const imageColumns = `id, sha256, source_sha256, content_type, width, height, size, thumb_id, thumb_size, thumb_width, thumb_height, created_at`

func scanImage(scan func(...any) error) (Image, error) {
	var img Image
	var created string
	err := scan(&img.ID, &img.SHA256, &img.SourceSHA256, &img.ContentType, &img.Width, &img.Height, &img.Size,
		&img.ThumbID, &img.ThumbSize, &img.ThumbWidth, &img.ThumbHeight, &created)
	img.CreatedAt = engine.ParseTimeText(created)
	return img, err
}

func (s *sqliteStore) one(ctx context.Context, tenantID, where string, arg any) (Image, error) {
	img, err := scanImage(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+imageColumns+` FROM images WHERE tenant_id = ? AND `+where+` = ? LIMIT 1`, arg).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Image{}, fault.NotFound("image")
	}
	if err != nil {
		return Image{}, fmt.Errorf("read image: %w", err)
	}
	return img, nil
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Image, error) {
	return s.one(ctx, tenantID, "id", id)
}

func (s *sqliteStore) BySHA256(ctx context.Context, tenantID, sum string) (Image, error) {
	return s.one(ctx, tenantID, "sha256", sum)
}

func (s *sqliteStore) BySource(ctx context.Context, tenantID, sum string) (Image, error) {
	return s.one(ctx, tenantID, "source_sha256", sum)
}

// Insert writes the record and its bytes in one transaction; the unique
// (tenant_id, sha256) decides which of two same uploads is kept.
func (s *sqliteStore) Insert(ctx context.Context, tenantID string, img Image, data, thumb []byte) (Image, bool, error) {
	inserted := false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		res, err := tx.Exec(ctx, `INSERT INTO images (tenant_id, `+imageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, sha256) DO NOTHING`,
			img.ID, img.SHA256, img.SourceSHA256, img.ContentType, img.Width, img.Height, img.Size,
			img.ThumbID, img.ThumbSize, img.ThumbWidth, img.ThumbHeight, engine.TimeText(img.CreatedAt))
		if inserted, err = engine.Changed(res, err); err != nil || !inserted {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO image_data (tenant_id, id, data) VALUES (?, ?, ?)`, img.ID, data); err != nil {
			return err
		}
		if img.ThumbID != img.ID {
			_, err = tx.Exec(ctx, `INSERT INTO image_data (tenant_id, id, data) VALUES (?, ?, ?)`, img.ThumbID, thumb)
		}
		return err
	})
	if err != nil {
		return Image{}, false, fmt.Errorf("insert image: %w", err)
	}
	if !inserted {
		img, err = s.BySHA256(ctx, tenantID, img.SHA256)
	}
	return img, inserted, err
}

func (s *sqliteStore) Bytes(ctx context.Context, tenantID, blobID string) ([]byte, error) {
	var data []byte
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT data FROM image_data WHERE tenant_id = ? AND id = ?`, blobID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.NotFound("image")
	}
	if err != nil {
		return nil, fmt.Errorf("read image bytes: %w", err)
	}
	return data, nil
}

func (s *sqliteStore) Existing(ctx context.Context, tenantID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	found, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (string, error) {
		var id string
		return id, scan(&id)
	}, `SELECT id FROM images WHERE tenant_id = ? AND id IN (`+engine.Placeholders(len(ids))+`)`, engine.Strings(ids)...)
	if err != nil {
		return nil, fmt.Errorf("find images: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

func (s *sqliteStore) Delete(ctx context.Context, tenantID, id string) error {
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var thumbID string
		err := tx.QueryRow(ctx, `SELECT thumb_id FROM images WHERE tenant_id = ? AND id = ?`, id).Scan(&thumbID)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.NotFound("image")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM images WHERE tenant_id = ? AND id = ?`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM image_data WHERE tenant_id = ? AND id IN (?, ?)`, id, thumbID)
		return err
	})
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return fmt.Errorf("delete image %s: %w", id, err)
	}
	return err
}
