-- The SQLite tables and indexes of the image store in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up.

-- One record per stored image; sha256 is the hash of the stored
-- (re-encoded) bytes, unique per shop: the same picture is kept once.
CREATE TABLE IF NOT EXISTS images (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    source_sha256 TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size INTEGER NOT NULL,
    thumb_id TEXT NOT NULL,
    thumb_size INTEGER NOT NULL,
    thumb_width INTEGER NOT NULL,
    thumb_height INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE UNIQUE INDEX IF NOT EXISTS images_sha256 ON images (tenant_id, sha256);

CREATE INDEX IF NOT EXISTS images_source ON images (tenant_id, source_sha256);

-- The bytes of images and thumbnails, by their id, in the shop's own file:
-- written in the same transaction as the record that names them.
CREATE TABLE IF NOT EXISTS image_data (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (tenant_id, id));
