package message

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Dispatcher sizes.
const (
	materializePage = 500
	sendPage        = 100
	maxAttempts     = 5
	// maxBatch caps one broadcast request: WeChat's own maximum, since it
	// allows only 60 broadcast requests a minute. A dispatcher holds at
	// most this many recipients in memory, whatever the audience.
	maxBatch = MaxBroadcast
)

// backoff is how long a delivery waits after its nth failed attempt.
func backoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 8)) * time.Second
	return min(d, 5*time.Minute)
}

// Report counts what a dispatch did.
type Report struct {
	Started, Materialized, Sent, Inbox, Skipped, Failed, Retried, Recovered, Done int
}

func (r *Report) add(o Report) {
	r.Started += o.Started
	r.Materialized += o.Materialized
	r.Sent += o.Sent
	r.Inbox += o.Inbox
	r.Skipped += o.Skipped
	r.Failed += o.Failed
	r.Retried += o.Retried
	r.Recovered += o.Recovered
	r.Done += o.Done
}

// limiter spaces sends at a rate.
type limiter struct {
	every time.Duration
	next  time.Time
}

func newLimiter(perSecond int) *limiter {
	if perSecond < 1 {
		perSecond = 1
	}
	return &limiter{every: time.Second / time.Duration(perSecond)}
}

func (l *limiter) wait(ctx context.Context) error {
	now := time.Now()
	if d := l.next.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		now = l.next
	}
	l.next = now.Add(l.every)
	return nil
}

// Kick runs the shop's dispatcher soon, in the background (after a
// campaign is created, a notice queued). Kicks while it runs make it run
// once more.
func (s *Service) Kick(tenantID string) {
	if s.manual {
		return
	}
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.budget+30*time.Second)
		defer cancel()
		if _, err := s.Dispatch(ctx, tenantID, s.budget); err != nil {
			s.log.Warn("dispatch messages", "tenant", tenantID, "err", err)
		}
	}()
}

// Wait blocks until kicked dispatches are done (tests, shutdown).
func (s *Service) Wait() { s.work.Wait() }

// Dispatch runs the shop's dispatcher until nothing is due or budget is
// spent: one per shop at a time (a lease across replicas, a flag in this
// process; a dispatch asked for while one runs makes that one go round
// again). It resolves deliveries a dead dispatcher left, starts scheduled
// campaigns, sends queued notices and campaign messages.
func (s *Service) Dispatch(ctx context.Context, tenantID string, budget time.Duration) (Report, error) {
	s.mu.Lock()
	if s.running[tenantID] {
		s.again[tenantID] = true
		s.mu.Unlock()
		return Report{}, nil
	}
	s.running[tenantID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, tenantID)
		delete(s.again, tenantID)
		s.mu.Unlock()
	}()
	var total Report
	deadline := time.Now().Add(budget)
	for {
		var r Report
		run := func(ctx context.Context) error {
			var err error
			r, err = s.dispatch(ctx, tenantID, deadline)
			return err
		}
		var err error
		if s.leaser != nil {
			_, err = s.leaser.Run(ctx, "messages:"+tenantID, s.claimTTL, run)
		} else {
			err = run(ctx)
		}
		total.add(r)
		if err != nil {
			return total, err
		}
		s.mu.Lock()
		again := s.again[tenantID]
		delete(s.again, tenantID)
		s.mu.Unlock()
		if !again || time.Now().After(deadline) || ctx.Err() != nil {
			return total, nil
		}
	}
}

// pass is one dispatch's state for a shop.
type pass struct {
	t        tenants.Tenant
	loc      *time.Location
	settings Settings
	ready    bool // the shop has a WeChat account
	lim      *limiter
	deadline time.Time
	report   Report
}

func (p *pass) over(ctx context.Context) bool {
	return ctx.Err() != nil || time.Now().After(p.deadline)
}

func (s *Service) dispatch(ctx context.Context, tenantID string, deadline time.Time) (Report, error) {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return Report{}, err
	}
	p := &pass{t: t, loc: zone(t), deadline: deadline}
	if p.settings, err = s.store.Settings(ctx, tenantID); err != nil {
		return p.report, err
	}
	p.lim = newLimiter(p.settings.Rate)
	if p.ready, err = s.sender.Ready(ctx, tenantID); err != nil {
		return p.report, err
	}
	if err := s.recover(ctx, p); err != nil {
		return p.report, err
	}
	now := s.clock()
	due, err := s.store.CampaignsIn(ctx, tenantID, CampaignScheduled, now, 100)
	if err != nil {
		return p.report, err
	}
	for _, c := range due {
		ok, err := s.store.SetCampaignStatus(ctx, tenantID, c.ID, []string{CampaignScheduled}, CampaignSending, now)
		if err != nil {
			return p.report, err
		}
		if ok {
			p.report.Started++
		}
	}
	if err := s.runNotices(ctx, p); err != nil {
		return p.report, err
	}
	sending, err := s.store.CampaignsIn(ctx, tenantID, CampaignSending, now.AddDate(1, 0, 0), 100)
	if err != nil {
		return p.report, err
	}
	for _, c := range sending {
		if p.over(ctx) {
			break
		}
		if err := s.runCampaign(ctx, p, c); err != nil {
			return p.report, err
		}
	}
	return p.report, nil
}

// detached is a context for recording what a send did: a dispatch being
// stopped must still record a message it sent.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// recover resolves deliveries a dead dispatcher left being sent.
func (s *Service) recover(ctx context.Context, p *pass) error {
	now := s.clock()
	stale, err := s.store.Stale(ctx, p.t.ID, now.Add(-s.claimTTL), 500)
	if err != nil {
		return err
	}
	batches := map[string]bool{}
	for _, d := range stale {
		switch {
		case d.Channel == ChannelMass && d.Batch != "":
			if batches[d.Batch] {
				continue
			}
			batches[d.Batch] = true
			c, err := s.store.Campaign(ctx, p.t.ID, d.CampaignID)
			if err != nil {
				return err
			}
			members, err := s.store.Batch(ctx, p.t.ID, d.CampaignID, d.Batch)
			if err != nil {
				return err
			}
			var items []massItem
			delivered := false
			for _, m := range members {
				delivered = delivered || m.Status == Sent
			}
			for _, m := range members {
				if m.Status != Sending {
					continue
				}
				if delivered {
					// Members are finished only after WeChat accepted the
					// batch: the request went out; record the rest.
					_, item := c.content(p.t.Name)
					if err := s.finish(ctx, p, m, Sent, ChannelMass, "", &item); err != nil {
						return err
					}
					p.report.Recovered++
					continue
				}
				f, err := s.fans.Get(ctx, p.t.ID, m.FanID)
				if err != nil {
					return err
				}
				items = append(items, massItem{d: m, openID: f.OpenID})
			}
			// The same clientmsgid: WeChat sends it only if the first
			// request never reached it.
			if len(items) > 0 {
				if err := s.sendMass(ctx, p, c, items, d.Batch); err != nil {
					return err
				}
				p.report.Recovered += len(items)
			}
		case d.Channel == ChannelMass:
			// Waiting for a batch when its dispatcher died: nothing sent.
			month := d.ClaimedAt.In(p.loc).Format("2006-01")
			if err := s.store.ReturnBroadcast(ctx, p.t.ID, d.FanID, month); err != nil {
				return err
			}
			if err := s.store.Requeue(ctx, p.t.ID, d.ID, "interrupted; tried again", now); err != nil {
				return err
			}
			p.report.Recovered++
		case d.Channel == ChannelCustom || d.Channel == ChannelTemplate:
			reason := "interrupted while sending: WeChat may or may not have delivered it, and it is not sent again to avoid a duplicate"
			if err := s.store.Finish(ctx, p.t.ID, d.ID, Failed, d.Channel, reason, now); err != nil {
				return err
			}
			p.report.Failed++
			p.report.Recovered++
		default:
			// Claimed, nothing sent yet (or only the inbox copy, a keyed
			// insert): try again.
			if err := s.store.Requeue(ctx, p.t.ID, d.ID, "interrupted; tried again", now); err != nil {
				return err
			}
			p.report.Recovered++
		}
	}
	return nil
}

func (s *Service) runNotices(ctx context.Context, p *pass) error {
	for !p.over(ctx) {
		list, err := s.store.Queued(ctx, p.t.ID, "", s.clock(), sendPage)
		if err != nil || len(list) == 0 {
			return err
		}
		for _, d := range list {
			if p.over(ctx) {
				return nil
			}
			if err := s.deliverNotice(ctx, p, d); err != nil {
				return err
			}
		}
		if len(list) < sendPage {
			return nil
		}
	}
	return nil
}

// claim takes a queued delivery; false if another dispatcher did.
func (s *Service) claim(ctx context.Context, p *pass, d *Delivery) (bool, error) {
	ok, err := s.store.Claim(ctx, p.t.ID, d.ID, s.clock())
	if ok {
		d.Attempts++
		d.Status = Sending
	}
	return ok, err
}

// finish records a delivery's outcome (and its inbox copy first, when it
// reached the fan).
func (s *Service) finish(ctx context.Context, p *pass, d Delivery, status, channel, reason string, item *InboxItem) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	now := s.clock()
	if item != nil {
		item.ID, item.FanID, item.Channel, item.CreatedAt = d.ID, d.FanID, channel, now
		if err := s.store.AddToInbox(ctx, p.t.ID, *item); err != nil {
			return err
		}
	}
	switch {
	case status == Sent && channel == ChannelInbox:
		p.report.Inbox++
	case status == Sent:
		p.report.Sent++
	case status == Skipped:
		p.report.Skipped++
	case status == Failed:
		p.report.Failed++
	}
	return s.store.Finish(ctx, p.t.ID, d.ID, status, channel, reason, now)
}

// errStopped says the dispatch was stopped before a message left.
var errStopped = errors.New("dispatch stopped")

// retry puts a delivery back in the queue after a transient failure, or
// fails it after maxAttempts. A delivery whose dispatch was stopped before
// it left goes back as it was, at once.
func (s *Service) retry(ctx context.Context, p *pass, d Delivery, err error) error {
	if errors.Is(err, errStopped) {
		dctx, cancel := detached(ctx)
		defer cancel()
		return s.store.Requeue(dctx, p.t.ID, d.ID, "", s.clock())
	}
	reason := "WeChat: " + plainError(err)
	if d.Attempts >= maxAttempts {
		return s.finish(ctx, p, d, Failed, d.Channel, fmt.Sprintf("%s (gave up after %d attempts)", reason, d.Attempts), nil)
	}
	dctx, cancel := detached(ctx)
	defer cancel()
	p.report.Retried++
	return s.store.Requeue(dctx, p.t.ID, d.ID, reason+"; will try again", s.clock().Add(backoff(d.Attempts)))
}

func plainError(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

func (s *Service) deliverNotice(ctx context.Context, p *pass, d Delivery) error {
	if ok, err := s.claim(ctx, p, &d); err != nil || !ok {
		return err
	}
	n := d.Notice
	if n == nil {
		return s.finish(ctx, p, d, Failed, "", "a notice without content", nil)
	}
	item := &InboxItem{Kind: n.Kind, Title: n.Title, Body: n.Body, URL: n.URL}
	f, err := s.fans.Get(ctx, p.t.ID, d.FanID)
	if errors.Is(err, fault.ErrNotFound) {
		return s.finish(ctx, p, d, Skipped, "", "the fan no longer exists", nil)
	}
	if err != nil {
		return err
	}
	tmpl := p.settings.Templates[n.Kind]
	reason := ""
	switch {
	case tmpl == "":
		reason = "no template message is set for " + NoticeText(n.Kind)
	case !p.ready:
		reason = "the shop has no WeChat official account"
	case f.OpenID == "" || !f.Subscribed:
		reason = "the fan does not follow the shop's WeChat account"
	default:
		data := map[string]string{"first": n.Title, "remark": n.Body}
		for k, v := range n.Fields {
			data[k] = v
		}
		if err := s.sendTemplate(ctx, p, d, f.OpenID, tmpl, s.link(n.URL), data); err != nil {
			if transient(err) {
				return s.retry(ctx, p, d, err)
			}
			reason = "WeChat refused the template message: " + plainError(err)
		} else {
			return s.finish(ctx, p, d, Sent, ChannelTemplate, "", item)
		}
	}
	return s.finish(ctx, p, d, Sent, ChannelInbox, reason, item)
}

// link is a page WeChat can open from a template message: a shop path made
// absolute with the server's public address, or none without one (the
// inbox copy keeps the path).
func (s *Service) link(path string) string {
	if !strings.HasPrefix(path, "/") {
		return path
	}
	if s.baseURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.baseURL, "/") + path
}

func (s *Service) sendTemplate(ctx context.Context, p *pass, d Delivery, openID, tmpl, link string, data map[string]string) error {
	if err := s.store.SetChannel(ctx, p.t.ID, d.ID, ChannelTemplate, ""); err != nil {
		return err
	}
	if err := p.lim.wait(ctx); err != nil {
		return errStopped
	}
	sctx, cancel := detached(ctx)
	defer cancel()
	err := s.sender.SendTemplate(sctx, p.t.ID, openID, tmpl, link, data)
	if err == nil && s.afterSend != nil {
		s.afterSend(d)
	}
	return err
}

// massItem is a recipient waiting for a broadcast batch.
type massItem struct {
	d      Delivery
	openID string
	month  string
}

func (s *Service) runCampaign(ctx context.Context, p *pass, c Campaign) error {
	var carry []massItem
	release := func() error {
		dctx, cancel := detached(ctx)
		defer cancel()
		for _, it := range carry {
			if err := s.store.ReturnBroadcast(dctx, p.t.ID, it.d.FanID, it.month); err != nil {
				return err
			}
			if err := s.store.Requeue(dctx, p.t.ID, it.d.ID, "", s.clock()); err != nil {
				return err
			}
		}
		carry = nil
		return nil
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
			return err
		}
		if len(list) == 0 && !c.Materialized {
			continue
		}
		// A campaign cancelled meanwhile stops between pages.
		if cur, err := s.store.Campaign(ctx, p.t.ID, c.ID); err != nil {
			return err
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
			counts, err := s.store.CountDeliveries(ctx, p.t.ID, c.ID)
			if err != nil {
				return err
			}
			if counts[Queued] == 0 && counts[Sending] == 0 {
				ok, err := s.store.SetCampaignStatus(ctx, p.t.ID, c.ID, []string{CampaignSending}, CampaignDone, s.clock())
				if err != nil {
					return err
				}
				if ok {
					p.report.Done++
				}
			}
			return nil // retries wait for a later pass
		}
	}
}

// materialize inserts the next page of the campaign's recipients.
func (s *Service) materialize(ctx context.Context, p *pass, c *Campaign) error {
	now := s.clock()
	page, err := s.store.Select(ctx, p.t.ID, c.Rule, now.In(p.loc).Format(time.DateOnly), now, c.Cursor, materializePage)
	if err != nil {
		return err
	}
	ds := make([]Delivery, len(page))
	for i, pr := range page {
		ds[i] = Delivery{ID: c.ID + ":" + pr.FanID, CampaignID: c.ID, FanID: pr.FanID, Status: Queued, NextAt: now, CreatedAt: now}
	}
	added, err := s.store.InsertDeliveries(ctx, p.t.ID, ds)
	if err != nil {
		return err
	}
	to := c.Cursor
	if len(page) > 0 {
		to = page[len(page)-1].FanID
	}
	done := len(page) < materializePage
	ok, err := s.store.Advance(ctx, p.t.ID, c.ID, c.Cursor, to, added, done)
	if err != nil {
		return err
	}
	if !ok { // another dispatcher moved it: read where it is
		cur, err := s.store.Campaign(ctx, p.t.ID, c.ID)
		if err != nil {
			return err
		}
		*c = cur
		return nil
	}
	c.Cursor, c.Materialized, c.Recipients = to, done, c.Recipients+added
	p.report.Materialized += int(added)
	return nil
}

// content is the campaign as text (customer-service and broadcast
// messages) and as an inbox item.
func (c Campaign) content(shop string) (string, InboxItem) {
	switch c.Kind {
	case KindArticle:
		a := c.Article
		text := a.Title
		if a.Description != "" {
			text += "\n" + a.Description
		}
		return text + "\n" + a.URL, InboxItem{Kind: "marketing", Title: a.Title, Body: a.Description, URL: a.URL, Image: a.Image}
	case KindTemplate:
		t := c.Template
		var parts []string
		for _, k := range []string{"keyword1", "keyword2", "keyword3", "keyword4", "keyword5", "remark"} {
			if v := t.Fields[k]; v != "" {
				parts = append(parts, v)
			}
		}
		title := t.Fields["first"]
		if title == "" {
			title = c.Name
		}
		return title, InboxItem{Kind: "notice", Title: title, Body: strings.Join(parts, "\n"), URL: t.URL}
	}
	return c.Text, InboxItem{Kind: "marketing", Title: shop, Body: c.Text}
}

// deliverCampaign claims one recipient and sends by the first channel the
// rules allow; a recipient for a broadcast is returned to be batched.
func (s *Service) deliverCampaign(ctx context.Context, p *pass, c Campaign, d Delivery) (*massItem, error) {
	if ok, err := s.claim(ctx, p, &d); err != nil || !ok {
		return nil, err
	}
	text, item := c.content(p.t.Name)
	f, err := s.fans.Get(ctx, p.t.ID, d.FanID)
	if errors.Is(err, fault.ErrNotFound) {
		return nil, s.finish(ctx, p, d, Skipped, "", "the fan no longer exists", nil)
	}
	if err != nil {
		return nil, err
	}
	prof, err := s.store.Profile(ctx, p.t.ID, d.FanID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, err
	}
	if err == nil && (prof.OpenID != f.OpenID || prof.Subscribed != f.Subscribed) {
		if err := s.store.SetWeChat(ctx, p.t.ID, f.ID, f.OpenID, f.Subscribed); err != nil {
			return nil, err
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
	}
	if reason == "" && c.Kind == KindTemplate {
		err := s.sendTemplate(ctx, p, d, f.OpenID, c.Template.ID, s.link(c.Template.URL), c.Template.Fields)
		switch {
		case err == nil:
			return nil, s.finish(ctx, p, d, Sent, ChannelTemplate, "", &item)
		case transient(err):
			return nil, s.retry(ctx, p, d, err)
		}
		reason = "WeChat refused the template message: " + plainError(err)
	} else if reason == "" {
		now := s.clock()
		if f.ReplyWindow(now, p.loc).Open {
			sent, err := s.sendCustom(ctx, p, d, f, text)
			switch {
			case err == nil && sent:
				return nil, s.finish(ctx, p, d, Sent, ChannelCustom, "", &item)
			case err != nil && transient(err):
				return nil, s.retry(ctx, p, d, err)
			case err != nil && !windowClosed(err):
				return nil, s.finish(ctx, p, d, Failed, ChannelCustom, "WeChat refused the message: "+plainError(err), nil)
			}
			// The window closed meanwhile: try a broadcast.
		}
		month := now.In(p.loc).Format("2006-01")
		ok, err := s.store.ReserveBroadcast(ctx, p.t.ID, f.ID, month)
		if err != nil {
			return nil, err
		}
		if ok {
			// Marked now, so a crash before the batch is sent gives the
			// broadcast back (recover).
			if err := s.store.SetChannel(ctx, p.t.ID, d.ID, ChannelMass, ""); err != nil {
				return nil, err
			}
			return &massItem{d: d, openID: f.OpenID, month: month}, nil
		}
		reason = fmt.Sprintf("outside WeChat's 48-hour reply window, and the %d broadcasts a fan may receive in %s are used",
			BroadcastsPerMonth, month)
	}
	if c.Fallback {
		return nil, s.finish(ctx, p, d, Sent, ChannelInbox, reason, &item)
	}
	return nil, s.finish(ctx, p, d, Skipped, "", reason, nil)
}

// sendCustom takes one message from the fan's customer-service allowance
// and sends; sent false means the allowance was used up meanwhile.
func (s *Service) sendCustom(ctx context.Context, p *pass, d Delivery, f fan.Fan, text string) (bool, error) {
	now := s.clock()
	ok, err := s.fans.ReserveReply(ctx, p.t.ID, f.ID, now)
	if err != nil || !ok {
		return false, err
	}
	if err := s.store.SetChannel(ctx, p.t.ID, d.ID, ChannelCustom, ""); err != nil {
		return false, err
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
		if it.month != "" {
			if err := s.store.ReturnBroadcast(dctx, p.t.ID, it.d.FanID, it.month); err != nil {
				return err
			}
		}
		reason := "outside WeChat's 48-hour reply window, and a broadcast must go to at least two fans at once"
		if c.Fallback {
			return s.finish(ctx, p, it.d, Sent, ChannelInbox, reason, &item)
		}
		return s.finish(ctx, p, it.d, Skipped, "", reason, nil)
	}
	if batch == "" {
		batch = engine.NewID()
		for _, it := range items {
			if err := s.store.SetChannel(dctx, p.t.ID, it.d.ID, ChannelMass, batch); err != nil {
				return err
			}
		}
	}
	if err := p.lim.wait(ctx); err != nil {
		// Stopped before sending: back to the queue, broadcasts returned.
		for _, it := range items {
			if it.month != "" {
				if err := s.store.ReturnBroadcast(dctx, p.t.ID, it.d.FanID, it.month); err != nil {
					return err
				}
			}
			if err := s.store.Requeue(dctx, p.t.ID, it.d.ID, "", s.clock()); err != nil {
				return err
			}
		}
		return nil
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
			if it.month != "" {
				if rerr := s.store.ReturnBroadcast(dctx, p.t.ID, it.d.FanID, it.month); rerr != nil {
					return rerr
				}
			}
			ferr = s.retry(ctx, p, it.d, err)
		default:
			reason := "WeChat refused the broadcast: " + plainError(err)
			if c.Fallback {
				ferr = s.finish(ctx, p, it.d, Sent, ChannelInbox, reason, &item)
			} else {
				ferr = s.finish(ctx, p, it.d, Failed, ChannelMass, reason, nil)
			}
		}
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// RunJobs is the periodic pass over one shop: refresh the audience from
// the fan records at most hourly, then dispatch what is due.
func (s *Service) RunJobs(ctx context.Context, tenantID string, budget time.Duration) (Report, error) {
	if err := s.SyncFans(ctx, tenantID, false); err != nil {
		return Report{}, err
	}
	return s.Dispatch(ctx, tenantID, budget)
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
			return err
		}
		if now.Sub(last) < syncEvery {
			return nil
		}
	}
	const page = 500
	for off := 0; off < 1_000_000; off += page {
		fans, _, err := s.fans.List(ctx, tenantID, fan.Filter{Limit: page, Offset: off})
		if err != nil {
			return err
		}
		ids := make([]string, len(fans))
		for i, f := range fans {
			ids[i] = f.ID
		}
		profiles, err := s.store.Profiles(ctx, tenantID, ids)
		if err != nil {
			return err
		}
		for _, f := range fans {
			p, ok := profiles[f.ID]
			if !ok || p.OpenID != f.OpenID || p.Subscribed != f.Subscribed {
				if err := s.store.SetWeChat(ctx, tenantID, f.ID, f.OpenID, f.Subscribed); err != nil {
					return err
				}
			}
			active := f.CreatedAt
			for _, t := range []time.Time{f.LastMessageAt, f.LastEventAt} {
				if t.After(active) {
					active = t
				}
			}
			if !ok || active.After(p.LastActive) {
				if err := s.store.Touch(ctx, tenantID, f.ID, active.UTC().Truncate(time.Millisecond)); err != nil {
					return err
				}
			}
		}
		if len(fans) < page {
			break
		}
	}
	return s.store.SetSyncedAt(ctx, tenantID, now)
}
