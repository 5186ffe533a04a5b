package tenants_test

import (
	"context"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// The audit store on both engines: entries read back newest first, paged
// by key, each shop's its own.
func TestAuditStore(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{tenants.AuditSchema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewAuditStore(e)
		a, b := enginetest.Tenant(t, e), enginetest.Tenant(t, e)
		amount := int64(1250)
		var ids []string
		for i := range 5 {
			en := tenants.AuditEntry{ID: engine.NewID(), At: now().Add(time.Duration(i) * time.Second), Actor: "li@example.com",
				Role: tenants.RoleFinance, Method: "POST", Route: "/api/v1/orders/:id/refund", Path: "/api/v1/orders/x/refund",
				Target: "x", Status: 200}
			if i == 4 {
				en.Amount = &amount
			}
			if err := s.AppendAudit(ctx, a, en); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, en.ID)
			time.Sleep(2 * time.Millisecond) // ids grow with time
		}
		if err := s.AppendAudit(ctx, b, tenants.AuditEntry{ID: engine.NewID(), At: now(), Actor: "b", Role: tenants.RoleOwner,
			Method: "PUT", Route: "/api/v1/shop", Path: "/api/v1/shop", Status: 200}); err != nil {
			t.Fatal(err)
		}
		page, err := s.AuditLog(ctx, a, "", 3)
		if err != nil || len(page) != 3 || page[0].ID != ids[4] || page[2].ID != ids[2] {
			t.Fatalf("first page = %+v %v", page, err)
		}
		if page[0].Amount == nil || *page[0].Amount != 1250 || page[1].Amount != nil || page[0].Actor != "li@example.com" ||
			page[0].Role != tenants.RoleFinance || page[0].Route != "/api/v1/orders/:id/refund" || page[0].At.IsZero() {
			t.Fatalf("entry = %+v", page[0])
		}
		rest, err := s.AuditLog(ctx, a, page[2].ID, 3)
		if err != nil || len(rest) != 2 || rest[0].ID != ids[1] || rest[1].ID != ids[0] {
			t.Fatalf("second page = %+v %v", rest, err)
		}
		other, err := s.AuditLog(ctx, b, "", 10)
		if err != nil || len(other) != 1 || other[0].Actor != "b" {
			t.Fatalf("B's log = %+v %v", other, err)
		}
	})
}
