package credit

import (
	"context"
	"net/http"
	"slices"

	"microshop/tenants/fault"
)

// A merchant appeals a penalty once; an operator decides the appeal once.

// MaxAppeal is the length of an appeal's text and of an operator's note.
const MaxAppeal = 1000

// Appeal records the merchant's appeal of one of the shop's penalties:
// once per penalty, while it is not revoked; the operator answers it.
func (s *Service) Appeal(ctx context.Context, tenantID, penaltyID, text string) (Penalty, error) {
	if t, ok := splitID(penaltyID); !ok || t != tenantID {
		return Penalty{}, fault.NotFound("penalty")
	}
	text, err := fault.MultilineText("text", text, MaxAppeal)
	if err != nil {
		return Penalty{}, err
	}
	if text == "" {
		return Penalty{}, fault.Invalid("text", "must not be empty")
	}
	return s.changePenalty(ctx, tenantID, penaltyID, func(p *Penalty) error {
		if p.Appeal != nil {
			return fault.New(http.StatusConflict, "already_appealed", "this penalty was appealed already")
		}
		if p.Status == Revoked {
			return fault.Conflict("this penalty was revoked")
		}
		p.Appeal = &Appeal{Text: text, At: s.clock()}
		return nil
	})
}

// changePenalty changes the shop's penalty id with fn (see change) and
// returns it as changed; a penalty the shop does not have is not found.
func (s *Service) changePenalty(ctx context.Context, tenantID, id string, fn func(p *Penalty) error) (Penalty, error) {
	var out Penalty
	_, err := s.change(ctx, tenantID, func(r *Record) error {
		i := slices.IndexFunc(r.Penalties, func(p Penalty) bool { return p.ID == id })
		if i < 0 {
			return fault.NotFound("penalty")
		}
		if err := fn(&r.Penalties[i]); err != nil {
			return err
		}
		out = r.Penalties[i]
		return nil
	})
	return out, err
}

// Decide is the operator's answer to an appeal: "uphold" keeps the
// penalty, "revoke" lifts it at once. An appeal is decided once.
func (s *Service) Decide(ctx context.Context, penaltyID, decision, note, operator string) (Penalty, error) {
	tenantID, ok := splitID(penaltyID)
	if !ok {
		return Penalty{}, fault.NotFound("penalty")
	}
	var outcome string
	switch decision {
	case "uphold":
		outcome = Upheld
	case "revoke":
		outcome = Revoked
	default:
		return Penalty{}, fault.Invalid("decision", "must be uphold or revoke")
	}
	note, err := fault.MultilineText("note", note, MaxAppeal)
	if err != nil {
		return Penalty{}, err
	}
	if _, found, err := s.store.load(ctx, tenantID); err != nil {
		return Penalty{}, err
	} else if !found {
		return Penalty{}, fault.NotFound("penalty")
	}
	return s.changePenalty(ctx, tenantID, penaltyID, func(p *Penalty) error {
		if p.Appeal == nil {
			return fault.Conflict("this penalty has no appeal to decide")
		}
		if p.Appeal.Decision != "" {
			return fault.New(http.StatusConflict, "already_decided", "this appeal was decided already")
		}
		now := s.clock()
		p.Appeal.Decision, p.Appeal.Note, p.Appeal.Operator, p.Appeal.DecidedAt = outcome, note, operator, &now
		if outcome == Revoked {
			p.Status = Revoked
		}
		return nil
	})
}
