package aftersale

import (
	"context"
	"time"
)

// Facts are what a shop's after-sale requests made in a period say about
// the merchant (shop/credit's after-sale factors read them).
type Facts struct {
	// Requests made; Escalated to the platform; Lost: decided by an
	// operator for the shopper (a refund).
	Requests, Escalated, Lost int64
	// Answered: requests the merchant answered (approved or rejected,
	// not the deadline); AnswerHours: the hours those answers took, summed.
	Answered    int64
	AnswerHours float64
}

// factsPage is how many requests Facts reads at a time.
const factsPage = 500

// Facts counts the shop's requests made from from to to.
func (s *Service) Facts(ctx context.Context, tenantID string, from, to time.Time) (Facts, error) {
	var f Facts
	for offset := 0; ; offset += factsPage {
		page, err := s.store.Between(ctx, tenantID, from, to, factsPage, offset)
		if err != nil {
			return f, err
		}
		for _, r := range page {
			f.Requests++
			if r.EscalatedAt != nil {
				f.Escalated++
			}
			if r.Decision != nil && r.Decision.Outcome == OutcomeRefund {
				f.Lost++
			}
			if r.AnsweredAt != nil {
				f.Answered++
				f.AnswerHours += r.AnsweredAt.Sub(r.CreatedAt).Hours()
			}
		}
		if len(page) < factsPage {
			return f, nil
		}
	}
}
