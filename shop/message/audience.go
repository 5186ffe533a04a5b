package message

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Profile is what segments know about a fan, kept at write time by the
// events that change it (orders, points, check-ins, WeChat state). The
// Mongo store keeps it as it is (the bson names), the SQLite store in the
// audience table.
type Profile struct {
	FanID         string    `json:"fan_id" bson:"_id"`
	OpenID        string    `json:"openid,omitempty" bson:"openid"`
	Subscribed    bool      `json:"subscribed" bson:"subscribed"`
	Tags          []string  `json:"tags" bson:"tags"`
	GuideID       string    `json:"guide_id,omitempty" bson:"guide_id"`
	StoreID       string    `json:"store_id,omitempty" bson:"store_id"`
	DistributorID string    `json:"distributor_id,omitempty" bson:"distributor_id"`
	Orders        int64     `json:"orders" bson:"orders"`
	LastActive    time.Time `json:"last_active_at,omitzero" bson:"last_active_at"`
	Points        int64     `json:"points" bson:"points"`
	Streak        int       `json:"streak" bson:"streak"`
	LastCheckin   string    `json:"last_checkin_day,omitempty" bson:"last_checkin_day"`
	OptedOut      bool      `json:"opted_out" bson:"opted_out"`
	MassMonth     string    `json:"-" bson:"mass_month"`
	MassCount     int       `json:"broadcasts_this_month" bson:"mass_count"`
	CreatedAt     time.Time `json:"created_at" bson:"created_at"`
}

// Touch records that a fan did something (a storefront visit, a check-in).
func (s *Service) Touch(ctx context.Context, tenantID, fanID string, at time.Time) error {
	return wrapf(s.store.Touch(ctx, tenantID, fanID, at.UTC().Truncate(time.Millisecond)), "touch fan %s", fanID)
}

// PointsChanged records a fan's points figures, and the fan's activity
// when active is set (shop/points calls it).
func (s *Service) PointsChanged(ctx context.Context, tenantID, fanID string, balance int64, streak int, lastDay string, active time.Time) error {
	err := s.store.SetPoints(ctx, tenantID, fanID, balance, streak, lastDay, active.UTC().Truncate(time.Millisecond))
	return wrapf(err, "record points of fan %s", fanID)
}

// SetBinding records who a fan is bound to: the distribution package
// calls it when a binding changes, so segments by guide, store and
// distributor stay current. Paid orders also record their attribution.
func (s *Service) SetBinding(ctx context.Context, tenantID, fanID, guideID, storeID, distributorID string) error {
	return wrapf(s.store.SetBinding(ctx, tenantID, fanID, guideID, storeID, distributorID), "record binding of fan %s", fanID)
}

// Interaction counts the fans active in the last 7 and 30 days, and all
// fans (shop/points' console shows the rate).
func (s *Service) Interaction(ctx context.Context, tenantID string, now time.Time) (active7, active30, fans int64, err error) {
	if active7, err = s.store.CountActive(ctx, tenantID, now.AddDate(0, 0, -7)); err != nil {
		return 0, 0, 0, fmt.Errorf("count active fans: %w", err)
	}
	if active30, err = s.store.CountActive(ctx, tenantID, now.AddDate(0, 0, -30)); err != nil {
		return 0, 0, 0, fmt.Errorf("count active fans: %w", err)
	}
	fans, err = s.fans.Count(ctx, tenantID) // a counter: no count over the fans
	return active7, active30, fans, wrapf(err, "count fans")
}

// Fan returns the shop's fan id: a malformed id or another shop's fan is
// not found, before anything else is read.
func (s *Service) Fan(ctx context.Context, tenantID, id string) (fan.Fan, error) {
	if !engine.ValidID(id) {
		return fan.Fan{}, fault.NotFound("fan")
	}
	f, err := s.fans.Get(ctx, tenantID, id)
	return f, wrapf(err, "load fan %s", id)
}

// Profile returns the fan's audience record (an empty one if none yet).
func (s *Service) Profile(ctx context.Context, tenantID, fanID string) (Profile, error) {
	p, err := s.store.Profile(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		return Profile{FanID: fanID, Tags: []string{}}, nil
	}
	return p, wrapf(err, "load audience record of fan %s", fanID)
}

var tagPattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} _\-.]{0,31}$`)

// normTags checks and de-duplicates tags.
func normTags(field string, tags []string) ([]string, error) {
	if len(tags) > 20 {
		return nil, fault.Invalid(field, "at most 20 tags")
	}
	seen := map[string]bool{}
	out := []string{}
	for i, t := range tags {
		at := fmt.Sprintf("%s[%d]", field, i)
		t, err := fault.Text(at, t, 32)
		if err != nil {
			return nil, err
		}
		if !tagPattern.MatchString(t) {
			return nil, fault.Invalid(at, "%q: a tag is 1 to 32 letters, digits, spaces, - _ or .", fault.Clip(t, 40))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// SetTags replaces a fan's tags.
func (s *Service) SetTags(ctx context.Context, tenantID, fanID string, tags []string) ([]string, error) {
	tags, err := normTags("tags", tags)
	if err != nil {
		return nil, err
	}
	return tags, wrapf(s.store.SetTags(ctx, tenantID, fanID, tags), "save tags of fan %s", fanID)
}

// SetOptOut records the fan's choice about marketing messages.
func (s *Service) SetOptOut(ctx context.Context, tenantID, fanID string, out bool) error {
	if _, err := s.fans.Ensure(ctx, tenantID, fanID, "direct", s.clock()); err != nil {
		return fmt.Errorf("ensure fan %s: %w", fanID, err)
	}
	return wrapf(s.store.SetOptOut(ctx, tenantID, fanID, out), "save opt-out of fan %s", fanID)
}

// syncEvery is how often the audience is refreshed from the fan records.
const syncEvery = time.Hour

// SyncFans refreshes every fan's audience record from shop/fan (openid,
// following, last message or event), at most hourly unless force. shop/fan
// tells no one about pushes it records (see the package's report: a hook
// there would make this pass unnecessary), so a fan who only ever talks to
// the WeChat account reaches segments through it.
func (s *Service) SyncFans(ctx context.Context, tenantID string, force bool) error {
	now := s.clock()
	if !force {
		last, err := s.store.SyncedAt(ctx, tenantID)
		if err != nil {
			return fmt.Errorf("load when fans were synced: %w", err)
		}
		if now.Sub(last) < syncEvery {
			return nil
		}
	}
	// Pages by key (fan.Store.Walk): each page one index range, so the
	// pass reads each fan once however many the shop has.
	if err := s.fans.Walk(ctx, tenantID, func(fans []fan.Fan) error { return s.syncPage(ctx, tenantID, fans) }); err != nil {
		return err
	}
	return wrapf(s.store.SetSyncedAt(ctx, tenantID, now), "save when fans were synced")
}

// syncPage refreshes the audience records of a page of fans.
func (s *Service) syncPage(ctx context.Context, tenantID string, fans []fan.Fan) error {
	ids := make([]string, len(fans))
	for i, f := range fans {
		ids[i] = f.ID
	}
	profiles, err := s.store.Profiles(ctx, tenantID, ids)
	if err != nil {
		return fmt.Errorf("load audience records: %w", err)
	}
	for _, f := range fans {
		p, ok := profiles[f.ID]
		if !ok || p.OpenID != f.OpenID || p.Subscribed != f.Subscribed {
			if err := s.store.SetWeChat(ctx, tenantID, f.ID, f.OpenID, f.Subscribed); err != nil {
				return fmt.Errorf("record WeChat state of fan %s: %w", f.ID, err)
			}
		}
		active := f.CreatedAt
		for _, t := range []time.Time{f.LastMessageAt, f.LastEventAt} {
			if t.After(active) {
				active = t
			}
		}
		if !ok || active.After(p.LastActive) {
			if err := s.Touch(ctx, tenantID, f.ID, active); err != nil {
				return err
			}
		}
	}
	return nil
}
