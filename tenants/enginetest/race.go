package enginetest

import (
	"sync"
	"sync/atomic"
	"testing"

	"microshop/tenants/fault"
)

// RacingSaves runs save(0) … save(n-1) at once, saves of one document read
// at one revision, and counts those that landed and those refused as
// stale (fault.CodeSettingsChanged); any other error fails the test.
func RacingSaves(t *testing.T, n int, save func(i int) error) (saved, refused int) {
	t.Helper()
	var landed, stale atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch err := save(i); {
			case err == nil:
				landed.Add(1)
			case fault.HasCode(err, fault.CodeSettingsChanged):
				stale.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	return int(landed.Load()), int(stale.Load())
}
