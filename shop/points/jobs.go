package points

import (
	"context"
	"fmt"
	"time"
)

// jobBatch bounds one pass's work per shop and kind.
const jobBatch = 200

// repairAfter is how long a check-in may stay unapplied before the pass
// applies it (its own request is normally done in milliseconds).
const repairAfter = time.Minute

// JobReport counts what one pass over a shop did.
type JobReport struct {
	Flushed, Repaired, Expired, ExpiryReminders, CheckinReminders int
}

// RunJobs is the periodic pass over one shop: copy ledger outboxes left by
// a crash (MongoDB), apply check-in awards a crash interrupted, expire due
// lots, remind fans whose points expire soon, and send the opt-in daily
// check-in reminders. Each step is idempotent: expiry removes the lot in
// the same atomic step that writes its entry, reminders are keyed by what
// they remind of. A pass may crash or run twice without harm.
func (s *Service) RunJobs(ctx context.Context, tenantID string) (JobReport, error) {
	var r JobReport
	t, err := s.shop(ctx, tenantID)
	if err != nil {
		return r, err
	}
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return r, err
	}
	now := s.clock()
	loc := Zone(t)

	dirty, err := s.store.Dirty(ctx, tenantID, jobBatch)
	if err != nil {
		return r, err
	}
	for _, id := range dirty {
		if err := s.store.Flush(ctx, tenantID, id); err != nil {
			return r, err
		}
		r.Flushed++
	}

	stuck, err := s.store.Unapplied(ctx, tenantID, now.Add(-repairAfter), jobBatch)
	if err != nil {
		return r, err
	}
	for _, c := range stuck {
		if err := s.award(ctx, tenantID, rules, loc, c); err != nil {
			return r, err
		}
		r.Repaired++
	}

	due, err := s.store.Due(ctx, tenantID, now, jobBatch)
	if err != nil {
		return r, err
	}
	for _, a := range due {
		res, err := s.apply(ctx, tenantID, a.FanID, Batch{At: now, Ops: []Op{{Kind: KindExpiry, ExpireDue: now}}})
		if err != nil {
			return r, fmt.Errorf("expire points of fan %s: %w", a.FanID, err)
		}
		r.Expired += len(res.Entries)
	}

	if rules.RemindDays > 0 && s.notifier != nil {
		soon, err := s.store.Expiring(ctx, tenantID, now.AddDate(0, 0, rules.RemindDays), jobBatch)
		if err != nil {
			return r, err
		}
		for _, a := range soon {
			var pts int64
			for _, l := range a.Lots {
				if l.ExpiresAt.Equal(a.NextExpiry) {
					pts += l.Points
				}
			}
			if pts > 0 {
				if err := s.notifier.PointsExpiring(ctx, tenantID, a.FanID, pts, a.NextExpiry); err != nil {
					s.log.Warn("points expiry reminder", "tenant", tenantID, "fan", a.FanID, "err", err)
					continue
				}
				r.ExpiryReminders++
			}
			if err := s.store.MarkReminded(ctx, tenantID, a.FanID, a.NextExpiry); err != nil {
				return r, err
			}
		}
	}

	local := now.In(loc)
	if rules.Enabled && s.notifier != nil && local.Hour() >= rules.ReminderHour {
		today := local.Format(time.DateOnly)
		list, err := s.store.ToRemind(ctx, tenantID, today, jobBatch)
		if err != nil {
			return r, err
		}
		for _, a := range list {
			if err := s.notifier.CheckinReminder(ctx, tenantID, a.FanID, today); err != nil {
				s.log.Warn("check-in reminder", "tenant", tenantID, "fan", a.FanID, "err", err)
				continue
			}
			if err := s.store.MarkDayReminded(ctx, tenantID, a.FanID, today); err != nil {
				return r, err
			}
			r.CheckinReminders++
		}
	}
	return r, nil
}
