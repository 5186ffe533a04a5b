package engine

import (
	"sync"
	"time"
)

// Stamps hands out creation times at millisecond precision (what MongoDB
// keeps), strictly increasing within this process, so records written in
// one burst (an import, replies sent together) keep their order in "newest
// first" lists. The zero Stamps is ready to use.
type Stamps struct {
	mu   sync.Mutex
	last time.Time
}

// Next returns now as a stamp: now in UTC at millisecond precision, or one
// millisecond after the previous stamp if now is not later than it.
func (s *Stamps) Next(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(s.last) {
		t = s.last.Add(time.Millisecond)
	}
	s.last = t
	return t
}
