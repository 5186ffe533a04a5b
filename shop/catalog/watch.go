package catalog

// Watch has fn called with the shop's id after every catalog change this
// replica makes (a product created, edited or deleted, stock taken or put
// back): the market's feed follows shops this way. fn must return quickly
// (it runs on the writer's goroutine): queue the work, don't do it.
func (s *Shelf) Watch(fn func(tenantID string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(s.watchers, fn)
}
