package pcstore

import (
	"bytes"
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
