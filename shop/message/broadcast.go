package message

import (
	"context"
	"time"

	"microshop/tenants/engine"
)

// sendMass broadcasts to a batch of recipients (batch "" mints one; a
// recovered batch keeps its id, WeChat's clientmsgid). A lone recipient
// cannot be broadcast to: it goes to the inbox (or is skipped).
func (s *Service) sendMass(ctx context.Context, p *pass, c Campaign, items []massItem, batch string) error {
	if len(items) == 0 {
		return nil
	}
	text, item := c.content(p.t.Name)
	dctx, cancel := detached(ctx)
	defer cancel()
	if len(items) < MinBroadcast && batch == "" {
		it := items[0]
		if err := s.giveBack(dctx, p, it); err != nil {
			return err
		}
		reason := "outside WeChat's 48-hour reply window, and a broadcast must go to at least two fans at once"
		return s.unreached(ctx, p, c, it.d, item, reason, Skipped, "")
	}
	if batch == "" {
		batch = engine.NewID()
		for _, it := range items {
			if err := s.store.SetChannel(dctx, p.t.ID, it.d.ID, ChannelMass, batch); err != nil {
				return wrapf(err, "mark delivery %s", it.d.ID)
			}
		}
	}
	if err := p.lim.wait(ctx); err != nil {
		// Stopped before sending: back to the queue, broadcasts returned.
		return s.putBackAll(dctx, p, items)
	}
	openIDs := make([]string, len(items))
	for i, it := range items {
		openIDs[i] = it.openID
	}
	err := s.sender.SendMass(dctx, p.t.ID, openIDs, text, batch)
	if err == nil && s.afterSend != nil {
		s.afterSend(items[0].d)
	}
	for _, it := range items {
		it.d.Channel, it.d.Batch = ChannelMass, batch
		var ferr error
		switch {
		case err == nil:
			ferr = s.finish(ctx, p, it.d, Sent, ChannelMass, "", &item)
		case transient(err):
			if ferr = s.giveBack(dctx, p, it); ferr == nil {
				ferr = s.retry(ctx, p, it.d, err)
			}
		default:
			ferr = s.unreached(ctx, p, c, it.d, item, "WeChat refused the broadcast: "+plainError(err), Failed, ChannelMass)
		}
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// giveBack returns the broadcast a recipient reserved, if any.
func (s *Service) giveBack(ctx context.Context, p *pass, it massItem) error {
	if it.month == "" {
		return nil
	}
	return wrapf(s.store.ReturnBroadcast(ctx, p.t.ID, it.d.FanID, it.month), "return a broadcast of fan %s", it.d.FanID)
}

// putBack returns a recipient's broadcast and puts its delivery back in
// the queue until next.
func (s *Service) putBack(ctx context.Context, p *pass, it massItem, reason string, next time.Time) error {
	if err := s.giveBack(ctx, p, it); err != nil {
		return err
	}
	return s.requeue(ctx, p, it.d.ID, reason, next)
}

// putBackAll puts back recipients whose batch was not sent, due at once.
func (s *Service) putBackAll(ctx context.Context, p *pass, items []massItem) error {
	for _, it := range items {
		if err := s.putBack(ctx, p, it, "", s.clock()); err != nil {
			return err
		}
	}
	return nil
}
