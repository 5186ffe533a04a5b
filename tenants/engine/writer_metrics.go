package engine

import "sync/atomic"

// WriterMetrics hears what the SQLite files' writers do, for the server's
// metrics (SetWriterMetrics). It is called by the batch's leader, outside
// any lock, and must be quick.
type WriterMetrics interface {
	// WriteBatch is one commit about to run: the write transactions it
	// carries (1 to 128) and those still queued on the file behind it.
	WriteBatch(size, queued int)
}

// writerHook is the engine's WriterMetrics, shared with every file's
// writer, opened before or after it is set.
type writerHook struct{ m atomic.Pointer[WriterMetrics] }

// SetWriterMetrics makes every SQLite writer report its batches to m (nil:
// to nobody). The Mongo engine has no writer: it reports nothing.
func (e *Engine) SetWriterMetrics(m WriterMetrics) {
	if m == nil {
		e.writerHook.m.Store(nil)
		return
	}
	e.writerHook.m.Store(&m)
}

// batch reports a batch of size with queued behind it, if anyone listens.
func (h *writerHook) batch(size, queued int) {
	if h == nil {
		return
	}
	if m := h.m.Load(); m != nil {
		(*m).WriteBatch(size, queued)
	}
}
