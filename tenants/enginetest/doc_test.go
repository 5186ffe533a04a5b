package enginetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"microshop/tenants/engine"
)

// docSchema holds a settings document per shop and named documents.
var docSchema = engine.NewSchema("doc_test", `
CREATE TABLE IF NOT EXISTS doc_settings (tenant_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doc_named (tenant_id TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant_id, name));
`, engine.Coll("doc_settings"), engine.Coll("doc_named"))

type revDoc struct {
	N   int   `json:"n" bson:"n"`
	Rev int64 `json:"rev" bson:"rev"`
}

// TestSaveDocAt: a settings document saved at the revision it was read
// at: the first save of a new document, then of every revision, lands
// once however many race; a save at another revision changes nothing; a
// document saved before revisions existed counts as revision 0.
func TestSaveDocAt(t *testing.T) {
	Kinds(t, []engine.Schema{docSchema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		for _, d := range []engine.Doc{{Table: "doc_settings"}, {Table: "doc_named", Name: "rules"}} {
			tenant := Tenant(t, e)
			for rev := int64(0); rev < 3; rev++ {
				var landed atomic.Int32
				var wg sync.WaitGroup
				for i := range 10 {
					wg.Go(func() {
						ok, err := e.SaveDocAt(ctx, tenant, d, revDoc{N: i, Rev: rev + 1}, rev)
						if err != nil {
							t.Error(err)
						}
						if ok {
							landed.Add(1)
						}
					})
				}
				wg.Wait()
				var got revDoc
				if _, err := e.LoadDoc(ctx, tenant, d, &got); err != nil || landed.Load() != 1 || got.Rev != rev+1 {
					t.Fatalf("%s at rev %d: %d saves landed (want 1), stored %+v %v", d.Table, rev, landed.Load(), got, err)
				}
			}
			if ok, err := e.SaveDocAt(ctx, tenant, d, revDoc{N: 99, Rev: 2}, 1); ok || err != nil {
				t.Fatalf("%s: a save at a stale revision landed: %v %v", d.Table, ok, err)
			}
			// Saved whole before revisions existed: revision 0.
			old := Tenant(t, e)
			if err := e.SaveDoc(ctx, old, d, struct {
				N int `json:"n" bson:"n"`
			}{5}); err != nil {
				t.Fatal(err)
			}
			if ok, err := e.SaveDocAt(ctx, old, d, revDoc{N: 6, Rev: 1}, 0); !ok || err != nil {
				t.Fatalf("%s: a save over a document without a revision: %v %v", d.Table, ok, err)
			}
		}
	})
}
