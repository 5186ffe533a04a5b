package message

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/shop/fan"
	"microshop/tenants/fault"
)

// massItem is a recipient waiting for a broadcast batch.
type massItem struct {
	d      Delivery
	openID string
	month  string
}

// runCampaign materialises the campaign's recipients page by page and
// sends to them, broadcasts in batches, until it is done or the pass is
// over.
func (s *Service) runCampaign(ctx context.Context, p *pass, c Campaign) error {
	var carry []massItem
	// release puts back the recipients waiting for a batch.
	release := func() error {
		dctx, cancel := detached(ctx)
		defer cancel()
		return s.putBackAll(dctx, p, carry)
	}
	for {
		if p.over(ctx) {
			return release()
		}
		if !c.Materialized {
			if err := s.materialize(ctx, p, &c); err != nil {
				return err
			}
		}
		list, err := s.store.Queued(ctx, p.t.ID, c.ID, s.clock(), sendPage)
		if err != nil {
			return fmt.Errorf("list queued deliveries: %w", err)
		}
		if len(list) == 0 && !c.Materialized {
			continue
		}
		// A campaign cancelled meanwhile stops between pages.
		if cur, err := s.store.Campaign(ctx, p.t.ID, c.ID); err != nil {
			return fmt.Errorf("load campaign: %w", err)
		} else if cur.Status != CampaignSending {
			return release()
		}
		for _, d := range list {
			if p.over(ctx) {
				break
			}
			it, err := s.deliverCampaign(ctx, p, c, d)
			if err != nil {
				return err
			}
			if it != nil {
				carry = append(carry, *it)
				if len(carry) >= maxBatch {
					if err := s.sendMass(ctx, p, c, carry, ""); err != nil {
						return err
					}
					carry = nil
				}
			}
		}
		if p.over(ctx) {
			return release()
		}
		// Broadcast recipients wait for a full batch, or the last page.
		last := len(list) < sendPage && c.Materialized
		if last && len(carry) > 0 {
			if err := s.sendMass(ctx, p, c, carry, ""); err != nil {
				return err
			}
			carry = nil
		}
		if len(list) == 0 {
			return s.finishCampaign(ctx, p, c)
		}
	}
}

// finishCampaign marks the campaign done when nothing is queued or being
// sent; retries wait for a later pass.
func (s *Service) finishCampaign(ctx context.Context, p *pass, c Campaign) error {
	counts, err := s.store.CountDeliveries(ctx, p.t.ID, c.ID)
	if err != nil {
		return fmt.Errorf("count deliveries: %w", err)
	}
	if counts[Queued] > 0 || counts[Sending] > 0 {
		return nil
	}
	ok, err := s.store.SetCampaignStatus(ctx, p.t.ID, c.ID, []string{CampaignSending}, CampaignDone, s.clock())
	if err != nil {
		return fmt.Errorf("mark campaign done: %w", err)
	}
	if ok {
		p.report.Done++
	}
	return nil
}

// materialize inserts the next page of the campaign's recipients.
func (s *Service) materialize(ctx context.Context, p *pass, c *Campaign) error {
	now := s.clock()
	page, err := s.store.Select(ctx, p.t.ID, c.Rule, now.In(p.loc).Format(time.DateOnly), now, c.Cursor, materializePage)
	if err != nil {
		return fmt.Errorf("select recipients after %q: %w", c.Cursor, err)
	}
	ds := make([]Delivery, len(page))
	for i, pr := range page {
		ds[i] = Delivery{ID: c.ID + ":" + pr.FanID, CampaignID: c.ID, FanID: pr.FanID, Status: Queued, NextAt: now, CreatedAt: now}
	}
	added, err := s.store.InsertDeliveries(ctx, p.t.ID, ds)
	if err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	to := c.Cursor
	if len(page) > 0 {
		to = page[len(page)-1].FanID
	}
	done := len(page) < materializePage
	ok, err := s.store.Advance(ctx, p.t.ID, c.ID, c.Cursor, to, added, done)
	if err != nil {
		return fmt.Errorf("advance the recipients cursor: %w", err)
	}
	if !ok { // another dispatcher moved it: read where it is
		cur, err := s.store.Campaign(ctx, p.t.ID, c.ID)
		if err != nil {
			return fmt.Errorf("load campaign: %w", err)
		}
		*c = cur
		return nil
	}
	c.Cursor, c.Materialized, c.Recipients = to, done, c.Recipients+added
	p.report.Materialized += int(added)
	return nil
}

// deliverCampaign claims one recipient and sends by the first channel the
// rules allow; a recipient for a broadcast is returned to be batched.
func (s *Service) deliverCampaign(ctx context.Context, p *pass, c Campaign, d Delivery) (*massItem, error) {
	if ok, err := s.claim(ctx, p, &d); err != nil || !ok {
		return nil, err
	}
	text, item := c.content(p.t.Name)
	f, ok, err := s.recipient(ctx, p, d)
	if !ok {
		return nil, err
	}
	prof, err := s.store.Profile(ctx, p.t.ID, d.FanID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, fmt.Errorf("load audience record of fan %s: %w", d.FanID, err)
	}
	if err == nil && (prof.OpenID != f.OpenID || prof.Subscribed != f.Subscribed) {
		if err := s.store.SetWeChat(ctx, p.t.ID, f.ID, f.OpenID, f.Subscribed); err != nil {
			return nil, fmt.Errorf("record WeChat state of fan %s: %w", f.ID, err)
		}
	}
	if c.Marketing() && prof.OptedOut {
		return nil, s.finish(ctx, p, d, Skipped, "", "opted out of marketing messages", nil)
	}
	reason := ""
	switch {
	case !p.ready:
		reason = "the shop has no WeChat official account"
	case f.OpenID == "":
		reason = "the fan has not followed the shop's WeChat account"
	case !f.Subscribed:
		reason = "the fan unfollowed the shop's WeChat account"
	case c.Kind == KindTemplate:
		if reason, err = s.sendTemplate(ctx, p, d, f.OpenID, *c.Template, item); reason == "" {
			return nil, err
		}
	default:
		var it *massItem
		if it, reason, err = s.customOrBroadcast(ctx, p, d, f, text, item); reason == "" {
			return it, err
		}
	}
	return nil, s.unreached(ctx, p, c, d, item, reason, Skipped, "")
}

// customOrBroadcast sends a text by customer-service message while the
// fan's window is open, else reserves one of the fan's broadcasts and
// returns the recipient to be batched. With neither, it returns why.
func (s *Service) customOrBroadcast(ctx context.Context, p *pass, d Delivery, f fan.Fan, text string, item InboxItem) (*massItem, string, error) {
	now := s.clock()
	if f.ReplyWindow(now, p.loc).Open {
		sent, err := s.sendCustom(ctx, p, d, f, text)
		switch {
		case err == nil && sent:
			return nil, "", s.finish(ctx, p, d, Sent, ChannelCustom, "", &item)
		case err != nil && transient(err):
			return nil, "", s.retry(ctx, p, d, err)
		case err != nil && !windowClosed(err):
			return nil, "", s.finish(ctx, p, d, Failed, ChannelCustom, "WeChat refused the message: "+plainError(err), nil)
		}
		// The window closed meanwhile: try a broadcast.
	}
	month := now.In(p.loc).Format("2006-01")
	ok, err := s.store.ReserveBroadcast(ctx, p.t.ID, f.ID, month)
	if err != nil {
		return nil, "", fmt.Errorf("reserve a broadcast of fan %s: %w", f.ID, err)
	}
	if !ok {
		return nil, fmt.Sprintf("outside WeChat's 48-hour reply window, and the %d broadcasts a fan may receive in %s are used",
			BroadcastsPerMonth, month), nil
	}
	// Marked now, so a crash before the batch is sent gives the broadcast
	// back (recover).
	if err := s.store.SetChannel(ctx, p.t.ID, d.ID, ChannelMass, ""); err != nil {
		return nil, "", fmt.Errorf("mark delivery %s: %w", d.ID, err)
	}
	return &massItem{d: d, openID: f.OpenID, month: month}, "", nil
}

// sendCustom takes one message from the fan's customer-service allowance
// and sends; sent false means the allowance was used up meanwhile.
func (s *Service) sendCustom(ctx context.Context, p *pass, d Delivery, f fan.Fan, text string) (bool, error) {
	now := s.clock()
	ok, err := s.fans.ReserveReply(ctx, p.t.ID, f.ID, now)
	if err != nil || !ok {
		return false, wrapf(err, "reserve a reply to fan %s", f.ID)
	}
	if err := s.store.SetChannel(ctx, p.t.ID, d.ID, ChannelCustom, ""); err != nil {
		return false, fmt.Errorf("mark delivery %s: %w", d.ID, err)
	}
	if err := p.lim.wait(ctx); err != nil {
		_ = s.fans.ReturnReply(context.WithoutCancel(ctx), p.t.ID, f.ID)
		return false, errStopped
	}
	sctx, cancel := detached(ctx)
	defer cancel()
	if err := s.sender.SendText(sctx, p.t.ID, f.OpenID, text); err != nil {
		if rerr := s.fans.ReturnReply(sctx, p.t.ID, f.ID); rerr != nil {
			s.log.Error("return unsent reply", "tenant", p.t.ID, "fan", f.ID, "err", rerr)
		}
		return false, err
	}
	if s.afterSend != nil {
		s.afterSend(d)
	}
	return true, nil
}
