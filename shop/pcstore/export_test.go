package pcstore

// SetPreviewBounds lowers what a preview of s remembers before it stops.
func SetPreviewBounds(s *Syncer, items int, bytes int64) {
	s.previewItems, s.previewBytes = items, bytes
}
