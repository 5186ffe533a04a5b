package market

import (
	"sync"
	"time"
)

// answerCache keeps recent search answers: shoppers ask the same few
// queries over and over, and an answer stays right until the index, the
// listings or the shops' factors change (its stamp), or answerTTL passes
// (freshness is by the day, scores move slowly otherwise).
type answerCache struct {
	mu sync.Mutex
	m  map[answerKey]answer
}

type answerKey struct {
	text, category string
	offset, limit  int
}

// answerStamp dates an answer: the index it came from and that index's
// version, and the service's generation.
type answerStamp struct {
	index   *Index
	version uint64
	gen     uint64
}

type answer struct {
	res   Results
	stamp answerStamp
	at    time.Time
}

const (
	answerTTL  = 2 * time.Second
	maxAnswers = 10_000 // beyond it the cache starts again (simple; rare)
)

func (c *answerCache) get(k answerKey, st answerStamp, now time.Time) (Results, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[k]
	if !ok || a.stamp != st || now.Sub(a.at) > answerTTL {
		return Results{}, false
	}
	return a.res, true
}

func (c *answerCache) put(k answerKey, st answerStamp, res Results, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxAnswers {
		c.m = map[answerKey]answer{}
	}
	c.m[k] = answer{res: res, stamp: st, at: now}
}
