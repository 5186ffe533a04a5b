package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"microshop/tenants/engine"
)

// batchLog is a WriterMetrics that remembers what it heard.
type batchLog struct {
	mu                    sync.Mutex
	batches, writes, most int
}

func (b *batchLog) WriteBatch(size, queued int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches++
	b.writes += size
	b.most = max(b.most, size)
	if size < 1 || size > 128 || queued < 0 {
		panic(fmt.Sprintf("batch of %d with %d queued", size, queued))
	}
}

// The writer reports each commit's batch: every write is in exactly one,
// and with many writers at once some commits carry several.
func TestWriterMetrics(t *testing.T) {
	e, sc := writerScope(t)
	heard := &batchLog{}
	e.SetWriterMetrics(heard)
	ctx := context.Background()
	const writers = 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprint(i), "x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	heard.mu.Lock()
	writes, batches, most := heard.writes, heard.batches, heard.most
	heard.mu.Unlock()
	if writes != writers || batches > writers {
		t.Errorf("heard %d writes in %d batches, want %d writes", writes, batches, writers)
	}
	t.Logf("%d writes in %d batches, the largest %d", writes, batches, most)

	e.SetWriterMetrics(nil) // nobody listens: writes go on
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "after", "x"); err != nil {
		t.Fatal(err)
	}
	heard.mu.Lock()
	defer heard.mu.Unlock()
	if heard.writes != writers {
		t.Errorf("heard a write after SetWriterMetrics(nil)")
	}
}

var _ engine.WriterMetrics = (*batchLog)(nil)
