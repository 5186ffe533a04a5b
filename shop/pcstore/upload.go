package pcstore

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"microshop/tenants/fault"
)

// An upload is kept as chunks of chunkSize bytes (SQLite rows, MongoDB
// documents) written before the one record that names it (see Upload).
// Both engines' stores write and read the chunks with the two pieces below.

// chunkSize is the size of one stored piece of an upload.
const chunkSize = 1 << 20

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

// holdUpload marks upload id of the shop as being stored or previewed on
// this replica until release is called: tidying the shop's uploads (when a
// run ends, when a link is saved) keeps it meanwhile, though no link names
// it yet.
func (s *Syncer) holdUpload(tenantID, id string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[tenantID] == nil {
		s.held[tenantID] = map[string]bool{}
	}
	s.held[tenantID][id] = true
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.held[tenantID], id)
		if len(s.held[tenantID]) == 0 {
			delete(s.held, tenantID)
		}
	}
}

// deleteUploads removes the shop's uploads but keep and those held on
// this replica (but drop, when given: an upload given up).
func (s *Syncer) deleteUploads(ctx context.Context, tenantID, drop string, keep ...string) error {
	s.mu.Lock()
	for id := range s.held[tenantID] {
		if id != drop {
			keep = append(keep, id)
		}
	}
	s.mu.Unlock()
	return s.store.DeleteUploads(ctx, tenantID, keep...)
}
