package message

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// runNotices sends the queued notices that are due.
func (s *Service) runNotices(ctx context.Context, p *pass) error {
	for !p.over(ctx) {
		list, err := s.store.Queued(ctx, p.t.ID, "", s.clock(), sendPage)
		if err != nil || len(list) == 0 {
			return wrapf(err, "list queued notices")
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

// deliverNotice sends a notice as a template message when the shop set one
// for its kind and the fan follows; otherwise, or when WeChat refuses, it
// reaches the inbox only, with the reason. A notice that cannot go to
// WeChat is put in the inbox in one write (Store.DeliverToInbox), without
// being claimed first: there is nothing to send twice.
func (s *Service) deliverNotice(ctx context.Context, p *pass, d Delivery) error {
	n := d.Notice
	if n == nil {
		if ok, err := s.claim(ctx, p, &d); err != nil || !ok {
			return err
		}
		return s.finish(ctx, p, d, Failed, "", p.say("notice.reason.no_content"), nil)
	}
	item := InboxItem{Kind: n.Kind, Title: n.Title, Body: n.Body, URL: n.URL}
	f, err := s.fans.Get(ctx, p.t.ID, d.FanID)
	if errors.Is(err, fault.ErrNotFound) {
		if ok, err := s.claim(ctx, p, &d); err != nil || !ok {
			return err
		}
		_, _, err = s.recipient(ctx, p, d) // ends it, skipped
		return err
	}
	if err != nil {
		return wrapf(err, "load fan %s", d.FanID)
	}
	tmpl := p.settings.Templates[n.Kind]
	var reason string
	switch {
	case tmpl == "":
		reason = p.say("notice.reason.no_template", "Kind", p.say("notice.kind."+n.Kind))
	case !p.ready:
		reason = p.say("notice.reason.no_account")
	case f.OpenID == "" || !f.Subscribed:
		reason = p.say("notice.reason.not_following")
	default:
		if ok, err := s.claim(ctx, p, &d); err != nil || !ok {
			return err
		}
		data := map[string]string{"first": n.Title, "remark": n.Body}
		maps.Copy(data, n.Fields)
		if reason, err = s.sendTemplate(ctx, p, d, f.OpenID, TemplateMessage{ID: tmpl, URL: n.URL, Fields: data}, item); reason == "" {
			return err
		}
		return s.finish(ctx, p, d, Sent, ChannelInbox, reason, &item)
	}
	item.ID, item.FanID, item.Channel, item.CreatedAt = d.ID, d.FanID, ChannelInbox, s.clock()
	ok, err := s.store.DeliverToInbox(ctx, p.t.ID, item, reason)
	if ok {
		p.report.Inbox++
	}
	return wrapf(err, "put notice %s in the inbox", d.ID)
}

// sendTemplate sends d as a template message and ends the delivery when
// it left (sent) or may leave later (retried); otherwise it returns why
// WeChat refused it, for the caller to fall back.
func (s *Service) sendTemplate(ctx context.Context, p *pass, d Delivery, openID string, tm TemplateMessage, item InboxItem) (refused string, err error) {
	err = s.store.SetChannel(ctx, p.t.ID, d.ID, ChannelTemplate, "")
	if err != nil {
		return "", fmt.Errorf("mark delivery %s: %w", d.ID, err)
	}
	if err = p.lim.wait(ctx); err != nil {
		err = errStopped
	} else {
		sctx, cancel := detached(ctx)
		err = s.sender.SendTemplate(sctx, p.t.ID, openID, tm.ID, s.link(tm.URL), tm.Fields)
		cancel()
		if err == nil && s.afterSend != nil {
			s.afterSend(d)
		}
	}
	switch {
	case err == nil:
		return "", s.finish(ctx, p, d, Sent, ChannelTemplate, "", &item)
	case transient(err):
		return "", s.retry(ctx, p, d, err)
	}
	return p.say("notice.reason.refused", "Error", plainError(err)), nil
}

// say is the catalog's message id in the shop's language: the reasons a
// notice's delivery records are stored as written, for the merchant of
// this shop to read.
func (p *pass) say(id string, pairs ...any) string {
	return i18n.T(i18n.WithLang(context.Background(), p.t.Language()), id, pairs...)
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
