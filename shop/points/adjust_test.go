package points

import (
	"context"
	"errors"
	"strings"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// TestAdjustReason: a manual adjustment's reason is one line of plain text
// the fan reads in their ledger. A missing one, one that hides or reorders
// what the fan sees (a bidirectional control such as U+202E, a line break)
// or one too long is a 400 on field reason and adjusts nothing; a good one
// is stored trimmed.
func TestAdjustReason(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		for _, tc := range []struct {
			name, reason, wantIn string
		}{
			{"missing", "  ", "is required"},
			{"a right-to-left override", "gift \u202Eroivan", "U+202E"},
			{"a line break", "gift\nfor you", "U+000A"},
			{"too long", strings.Repeat("好", 201), "at most 200 characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := f.fan()
				_, err := f.svc.Adjust(ctx, f.shop.ID, id, AdjustRequest{Points: 5, Reason: tc.reason}, "merchant")
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Status != 400 || fe.Field != "reason" || !strings.Contains(fe.Message, tc.wantIn) {
					t.Fatalf("got %v, want a 400 on reason saying %q", err, tc.wantIn)
				}
				if a := f.account(id); a.Balance != 0 {
					t.Fatalf("balance %d after a refused adjustment", a.Balance)
				}
				if l := f.ledger(id); len(l) != 0 {
					t.Fatalf("ledger %+v after a refused adjustment", l)
				}
			})
		}
		t.Run("a good reason is stored trimmed", func(t *testing.T) {
			id := f.fan()
			got, err := f.svc.Adjust(ctx, f.shop.ID, id, AdjustRequest{Points: 5, Reason: "  welcome gift \t"}, "merchant")
			if err != nil || got.Reason != "welcome gift" || got.Points != 5 {
				t.Fatalf("got %+v, %v", got, err)
			}
			if a := f.account(id); a.Balance != 5 {
				t.Fatalf("balance %d, want 5", a.Balance)
			}
		})
	})
}
