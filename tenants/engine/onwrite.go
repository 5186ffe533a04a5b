package engine

import "sync/atomic"

// OnWrite sets what hears every successful write to a shop's database (a
// committed SQLScope.Tx or Exec, a Mongo scope's insert, update or
// delete), with the shop's id: the due index (tenants.Due) records from
// it which shops were active lately, so scheduled jobs can pass over
// those and leave idle shops alone. fn runs in the writer's goroutine
// after the write: it must be quick and must not write to the shop.
func (e *Engine) OnWrite(fn func(tenantID string)) {
	if fn == nil {
		e.onWrite.Store(nil)
		return
	}
	e.onWrite.Store(&fn)
}

func (e *Engine) wrote(tenantID string) {
	if fn := e.onWrite.Load(); fn != nil {
		(*fn)(tenantID)
	}
}

// onWriteHook is the Engine field OnWrite sets.
type onWriteHook = atomic.Pointer[func(string)]
