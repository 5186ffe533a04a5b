package message

import (
	"context"
	"fmt"
	"slices"
)

// recover resolves deliveries a dead dispatcher left being sent (see the
// package documentation, "Exactly once, and crashes").
func (s *Service) recover(ctx context.Context, p *pass) error {
	now := s.clock()
	stale, err := s.store.Stale(ctx, p.t.ID, now.Add(-s.claimTTL), 500)
	if err != nil {
		return fmt.Errorf("list stale deliveries: %w", err)
	}
	batches := map[string]bool{}
	for _, d := range stale {
		switch {
		case d.Channel == ChannelMass && d.Batch != "":
			if batches[d.Batch] {
				continue
			}
			batches[d.Batch] = true
			if err := s.recoverBatch(ctx, p, d.CampaignID, d.Batch); err != nil {
				return err
			}
			continue
		case d.Channel == ChannelMass:
			// Waiting for a batch when its dispatcher died: nothing sent.
			month := d.ClaimedAt.In(p.loc).Format("2006-01")
			if err := s.putBack(ctx, p, massItem{d: d, month: month}, "interrupted; tried again", now); err != nil {
				return err
			}
		case d.Channel == ChannelCustom || d.Channel == ChannelTemplate:
			reason := "interrupted while sending: WeChat may or may not have delivered it, and it is not sent again to avoid a duplicate"
			if err := s.store.Finish(ctx, p.t.ID, d.ID, Failed, d.Channel, reason, now); err != nil {
				return fmt.Errorf("finish delivery %s: %w", d.ID, err)
			}
			p.report.Failed++
		default:
			// Claimed, nothing sent yet (or only the inbox copy, a keyed
			// insert): try again.
			if err := s.requeue(ctx, p, d.ID, "interrupted; tried again", now); err != nil {
				return err
			}
		}
		p.report.Recovered++
	}
	return nil
}

// recoverBatch resolves a broadcast batch whose dispatcher died. Members
// are finished only after WeChat accepted the batch: one sent means the
// request went out, and the rest are recorded. None sent: the batch is
// sent again with the same clientmsgid, which WeChat sends only if the
// first request never reached it.
func (s *Service) recoverBatch(ctx context.Context, p *pass, campaignID, batch string) error {
	c, err := s.store.Campaign(ctx, p.t.ID, campaignID)
	if err != nil {
		return fmt.Errorf("load campaign %s: %w", campaignID, err)
	}
	members, err := s.store.Batch(ctx, p.t.ID, campaignID, batch)
	if err != nil {
		return fmt.Errorf("load broadcast batch %s: %w", batch, err)
	}
	delivered := slices.ContainsFunc(members, func(m Delivery) bool { return m.Status == Sent })
	_, item := c.content(p.t.Name)
	var items []massItem
	for _, m := range members {
		if m.Status != Sending {
			continue
		}
		if delivered {
			if err := s.finish(ctx, p, m, Sent, ChannelMass, "", &item); err != nil {
				return err
			}
			p.report.Recovered++
			continue
		}
		f, err := s.fans.Get(ctx, p.t.ID, m.FanID)
		if err != nil {
			return fmt.Errorf("load fan %s: %w", m.FanID, err)
		}
		items = append(items, massItem{d: m, openID: f.OpenID})
	}
	if len(items) > 0 {
		if err := s.sendMass(ctx, p, c, items, batch); err != nil {
			return err
		}
		p.report.Recovered += len(items)
	}
	return nil
}
