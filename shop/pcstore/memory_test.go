package pcstore_test

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/pcstore/feedgen"
	"microshop/shop/pcstore/source"
)

// countingReader counts the bytes a parser reads.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// peakHeap samples the heap in use while fn runs and returns its peak
// above what was in use before.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// TestFeedMemoryIsBounded reads 50 MB feeds, generated as they are read
// (never held whole), and checks the heap grows by a small fixed amount,
// not with the feed: the readers stream.
func TestFeedMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB of generated feeds")
	}
	cases := []struct {
		name     string
		format   feedgen.Format
		products int
		min      int64
	}{
		{"rss", feedgen.RSS, 40_000, 50 << 20},
		{"tsv", feedgen.TSV, 20_000, 15 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			products := tc.products
			r := &countingReader{r: feedgen.Reader(tc.format, products, 0)}
			var items, failed int
			var err error
			peak := peakHeap(func() {
				err = source.ParseFeed(r, source.Options{AssumedStock: 5}, func(it source.Item) error {
					items++
					if it.Err != nil {
						failed++
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if items != products || failed != 0 {
				t.Fatalf("%d products (%d failed), want %d", items, failed, products)
			}
			if r.n < tc.min {
				t.Fatalf("feed was only %d MB", r.n>>20)
			}
			t.Logf("%s: %d MB read, %d products, heap peak +%.1f MB", tc.name, r.n>>20, items, float64(peak)/(1<<20))
			if peak > 16<<20 {
				t.Errorf("heap grew by %d MB reading a %d MB feed; the reader must stream", peak>>20, r.n>>20)
			}
		})
	}
}
