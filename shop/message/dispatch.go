package message

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// The dispatcher sends what is due for a shop: this file runs it and
// records outcomes; recover.go resolves what a dead dispatcher left,
// dispatch_notice.go sends notices, dispatch_campaign.go campaigns and
// broadcast.go their broadcasts.

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

// RunJobs is the periodic pass over one shop: refresh the audience from
// the fan records at most hourly, then dispatch what is due.
func (s *Service) RunJobs(ctx context.Context, tenantID string, budget time.Duration) (Report, error) {
	if err := s.SyncFans(ctx, tenantID, false); err != nil {
		return Report{}, fmt.Errorf("sync fans: %w", err)
	}
	return s.Dispatch(ctx, tenantID, budget)
}

// Kick runs the shop's dispatcher soon, in the background (after a
// campaign is created, a notice queued): after s.gather, so that kicks
// meanwhile share its pass. Kicks while it runs make it run once more.
func (s *Service) Kick(tenantID string) {
	if s.manual {
		return
	}
	s.mu.Lock()
	if s.kicked[tenantID] {
		s.mu.Unlock()
		return // the dispatch due to start will see this kick's work
	}
	s.kicked[tenantID] = true
	s.mu.Unlock()
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		time.Sleep(s.gather)
		s.mu.Lock()
		delete(s.kicked, tenantID)
		s.mu.Unlock()
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
	released := false // the flag given up, under the lock that read "again"
	defer func() {
		s.mu.Lock()
		if !released {
			delete(s.running, tenantID)
			delete(s.again, tenantID)
		}
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
		// Whether to go round again, and giving up the flag when not, in
		// one hold of the lock: a Dispatch asked for in between would
		// otherwise see this one running, leave it its work and return,
		// and the work would wait for the next scheduled pass.
		s.mu.Lock()
		again := s.again[tenantID]
		delete(s.again, tenantID)
		stop := !again || time.Now().After(deadline) || ctx.Err() != nil
		if stop {
			delete(s.running, tenantID)
			released = true
		}
		s.mu.Unlock()
		if stop {
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
		return Report{}, fmt.Errorf("load shop %s: %w", tenantID, err)
	}
	p := &pass{t: t, loc: zone(t), deadline: deadline}
	if p.settings, err = s.store.Settings(ctx, tenantID); err != nil {
		return p.report, fmt.Errorf("load message settings: %w", err)
	}
	p.lim = newLimiter(p.settings.Rate)
	if p.ready, err = s.sender.Ready(ctx, tenantID); err != nil {
		return p.report, fmt.Errorf("look up the WeChat account: %w", err)
	}
	if err := s.recover(ctx, p); err != nil {
		return p.report, fmt.Errorf("recover interrupted deliveries: %w", err)
	}
	now := s.clock()
	due, err := s.store.CampaignsIn(ctx, tenantID, CampaignScheduled, now, 100)
	if err != nil {
		return p.report, fmt.Errorf("list scheduled campaigns: %w", err)
	}
	for _, c := range due {
		ok, err := s.store.SetCampaignStatus(ctx, tenantID, c.ID, []string{CampaignScheduled}, CampaignSending, now)
		if err != nil {
			return p.report, fmt.Errorf("start campaign %s: %w", c.ID, err)
		}
		if ok {
			p.report.Started++
		}
	}
	if err := s.runNotices(ctx, p); err != nil {
		return p.report, fmt.Errorf("send notices: %w", err)
	}
	sending, err := s.store.CampaignsIn(ctx, tenantID, CampaignSending, now.AddDate(1, 0, 0), 100)
	if err != nil {
		return p.report, fmt.Errorf("list sending campaigns: %w", err)
	}
	for _, c := range sending {
		if p.over(ctx) {
			break
		}
		if err := s.runCampaign(ctx, p, c); err != nil {
			return p.report, fmt.Errorf("send campaign %s: %w", c.ID, err)
		}
	}
	return p.report, nil
}

// detached is a context for recording what a send did: a dispatch being
// stopped must still record a message it sent.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// claim takes a queued delivery; false if another dispatcher did.
func (s *Service) claim(ctx context.Context, p *pass, d *Delivery) (bool, error) {
	ok, err := s.store.Claim(ctx, p.t.ID, d.ID, s.clock())
	if ok {
		d.Attempts++
		d.Status = Sending
	}
	return ok, wrapf(err, "claim delivery %s", d.ID)
}

// recipient is the delivery's fan; a fan that no longer exists ends the
// delivery, skipped (ok false).
func (s *Service) recipient(ctx context.Context, p *pass, d Delivery) (f fan.Fan, ok bool, err error) {
	f, err = s.fans.Get(ctx, p.t.ID, d.FanID)
	if errors.Is(err, fault.ErrNotFound) {
		return f, false, s.finish(ctx, p, d, Skipped, "", "the fan no longer exists", nil)
	}
	return f, err == nil, wrapf(err, "load fan %s", d.FanID)
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
			return fmt.Errorf("put delivery %s in the inbox: %w", d.ID, err)
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
	return wrapf(s.store.Finish(ctx, p.t.ID, d.ID, status, channel, reason, now), "finish delivery %s", d.ID)
}

// unreached ends a campaign's delivery WeChat could not take: in the inbox
// when the campaign falls back to it, else with status and channel; the
// reason is recorded either way.
func (s *Service) unreached(ctx context.Context, p *pass, c Campaign, d Delivery, item InboxItem, reason, status, channel string) error {
	if c.Fallback {
		return s.finish(ctx, p, d, Sent, ChannelInbox, reason, &item)
	}
	return s.finish(ctx, p, d, status, channel, reason, nil)
}

// errStopped says the dispatch was stopped before a message left.
var errStopped = errors.New("dispatch stopped")

// requeue puts a delivery being sent back in the queue until next.
func (s *Service) requeue(ctx context.Context, p *pass, id, reason string, next time.Time) error {
	return wrapf(s.store.Requeue(ctx, p.t.ID, id, reason, next), "requeue delivery %s", id)
}

// retry puts a delivery back in the queue after a transient failure, or
// fails it after maxAttempts. A delivery whose dispatch was stopped before
// it left goes back as it was, at once.
func (s *Service) retry(ctx context.Context, p *pass, d Delivery, err error) error {
	if errors.Is(err, errStopped) {
		dctx, cancel := detached(ctx)
		defer cancel()
		return s.requeue(dctx, p, d.ID, "", s.clock())
	}
	reason := "WeChat: " + plainError(err)
	if d.Attempts >= maxAttempts {
		return s.finish(ctx, p, d, Failed, d.Channel, fmt.Sprintf("%s (gave up after %d attempts)", reason, d.Attempts), nil)
	}
	dctx, cancel := detached(ctx)
	defer cancel()
	p.report.Retried++
	return s.requeue(dctx, p, d.ID, reason+"; will try again", s.clock().Add(backoff(d.Attempts)))
}

func plainError(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// backoff is how long a delivery waits after its nth failed attempt.
func backoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 8)) * time.Second
	return min(d, 5*time.Minute)
}

// limiter spaces sends at a rate (the shop's Settings.Rate).
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
