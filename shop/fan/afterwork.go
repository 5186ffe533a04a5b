package fan

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"
)

// afterWorkers run the slow work that follows a push's answer.
const afterWorkers = 16

// afterWork runs work after a push is answered: a fixed set of workers,
// each fan's work on one worker in order (a follow's attribution before the
// scan that follows it).
type afterWork struct {
	log     *slog.Logger
	queues  []chan func()
	pending sync.WaitGroup
}

func newAfterWork(n int, log *slog.Logger) *afterWork {
	a := &afterWork{log: log, queues: make([]chan func(), n)}
	for i := range a.queues {
		q := make(chan func(), 256)
		a.queues[i] = q
		go func() {
			for fn := range q {
				fn()
			}
		}()
	}
	return a
}

// do queues fn for key's worker; it waits when that worker is 256 jobs
// behind (backpressure rather than unbounded memory).
func (a *afterWork) do(key string, fn func(ctx context.Context)) {
	h := fnv.New32a()
	h.Write([]byte(key))
	a.pending.Add(1)
	a.queues[h.Sum32()%uint32(len(a.queues))] <- func() {
		defer a.pending.Done()
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("panic in work after a push", "value", fmt.Sprint(r))
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fn(ctx)
	}
}

func (a *afterWork) wait() { a.pending.Wait() }
