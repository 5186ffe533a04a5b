package distribution

import (
	"context"
	"fmt"

	"microshop/distribution/tree"
)

// JobReport counts what one pass over a shop did.
type JobReport struct {
	Settled, Closed, Rolled int
}

// jobBatch bounds one pass's work per shop and kind.
const jobBatch = 500

// RunJobs is the periodic pass over one shop: settle commission whose
// after-sale window has passed, close withdrawals decided but not closed
// (a crash between the decision and its ledger entry), and roll own sales
// up the team tree. Every step is idempotent, so a pass may crash or run
// twice without harm.
func (s *Service) RunJobs(ctx context.Context, tenantID string) (JobReport, error) {
	var r JobReport
	var err error
	if r.Settled, err = s.ledger.SettleDue(ctx, tenantID, jobBatch); err != nil {
		return r, fmt.Errorf("settle: %w", err)
	}
	if r.Closed, err = s.ledger.CloseDecided(ctx, tenantID, jobBatch); err != nil {
		return r, fmt.Errorf("close withdrawals: %w", err)
	}
	if r.Rolled, err = s.tree.Rollup(ctx, tenantID, jobBatch); err != nil {
		return r, fmt.Errorf("roll up team sales: %w", err)
	}
	return r, nil
}

// Rebuild recomputes the team tree's paths and counters from the records:
// own sales from the sales (less refunds), team size by counting. The
// guide funnel's days are not rebuilt: their inputs (visits, follows) are
// not kept one by one.
func (s *Service) Rebuild(ctx context.Context, tenantID string) (tree.RebuildReport, error) {
	own := map[string]int64{}
	for after := ""; ; {
		page, err := s.store.AllSales(ctx, tenantID, after, 1000)
		if err != nil {
			return tree.RebuildReport{}, err
		}
		for _, sl := range page {
			if sl.DistributorID != "" {
				own[sl.DistributorID] += sl.Base - sl.RefundedBase
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].OrderID
	}
	return s.tree.Rebuild(ctx, tenantID, own)
}
