package message

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Segment is a saved rule.
type Segment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Rule      Rule      `json:"rule"`
	CreatedAt time.Time `json:"created_at"`
	// Count is the live count, filled when read.
	Count int64 `json:"count"`
}

// SegmentRequest is a segment to save.
type SegmentRequest struct {
	Name string `json:"name"`
	Rule Rule   `json:"rule"`
}

// Count is the live count of the fans r selects.
func (s *Service) Count(ctx context.Context, t tenants.Tenant, r Rule) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	now := s.clock()
	n, err := s.store.Count(ctx, t.ID, r, s.today(t, now), now)
	return n, wrapf(err, "count fans")
}

// CreateSegment saves a segment.
func (s *Service) CreateSegment(ctx context.Context, t tenants.Tenant, req SegmentRequest) (Segment, error) {
	var err error
	if req.Name, err = requiredText("name", req.Name, 64); err != nil {
		return Segment{}, err
	}
	if err := req.Rule.Validate(); err != nil {
		return Segment{}, err
	}
	sg := Segment{ID: engine.NewID(), Name: req.Name, Rule: req.Rule, CreatedAt: s.clock()}
	if err := s.store.InsertSegment(ctx, t.ID, sg); err != nil {
		return Segment{}, fmt.Errorf("insert segment: %w", err)
	}
	sg.Count, err = s.Count(ctx, t, sg.Rule)
	return sg, err
}

// Segment returns a segment with its live count.
func (s *Service) Segment(ctx context.Context, t tenants.Tenant, id string) (Segment, error) {
	if !engine.ValidID(id) {
		return Segment{}, fault.NotFound("segment")
	}
	sg, err := s.store.Segment(ctx, t.ID, id)
	if err != nil {
		return Segment{}, fmt.Errorf("load segment %s: %w", id, err)
	}
	sg.Count, err = s.Count(ctx, t, sg.Rule)
	return sg, err
}

// Segments lists the shop's segments with their live counts.
func (s *Service) Segments(ctx context.Context, t tenants.Tenant) ([]Segment, error) {
	list, err := s.SegmentChoices(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Count, err = s.Count(ctx, t, list[i].Rule); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// SegmentChoices lists the shop's segments without counting them (a
// campaign form picks one).
func (s *Service) SegmentChoices(ctx context.Context, tenantID string) ([]Segment, error) {
	list, err := s.store.Segments(ctx, tenantID, 100)
	return list, wrapf(err, "list segments")
}

// DeleteSegment deletes a segment (campaigns keep their copy of its rule).
func (s *Service) DeleteSegment(ctx context.Context, tenantID, id string) error {
	if !engine.ValidID(id) {
		return fault.NotFound("segment")
	}
	return wrapf(s.store.DeleteSegment(ctx, tenantID, id), "delete segment %s", id)
}
