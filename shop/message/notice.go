package message

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"microshop/shop/catalog"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Notice kinds.
const (
	NoticeOrderPaid          = "order_paid"
	NoticeOrderShipped       = "order_shipped"
	NoticeOrderRefunded      = "order_refunded" // a refund WeChat Pay (or the sandbox) said succeeded
	NoticeCommissionCredited = "commission_credited"
	NoticeCommissionReversed = "commission_reversed"
	NoticePointsExpiring     = "points_expiring"
	NoticeCheckinReminder    = "checkin_reminder"
	NoticeGroupDeal          = "group_deal" // a group deal the fan voted for opened (shop/vote)
)

// NoticeKinds lists the notice kinds in the order the console shows them.
var NoticeKinds = []string{NoticeOrderPaid, NoticeOrderShipped, NoticeOrderRefunded, NoticeCommissionCredited, NoticeCommissionReversed,
	NoticePointsExpiring, NoticeCheckinReminder, NoticeGroupDeal}

// noticeText names notice kinds in plain words (English; a page in
// another language shows the catalog's notice.kind.<kind>).
var noticeText = map[string]string{
	NoticeOrderPaid: "Order paid", NoticeOrderShipped: "Order shipped", NoticeOrderRefunded: "Order refunded",
	NoticeCommissionCredited: "Commission credited",
	NoticeCommissionReversed: "Commission reversed", NoticePointsExpiring: "Points about to expire",
	NoticeCheckinReminder: "Daily check-in reminder", NoticeGroupDeal: "Group deal open",
}

// NoticeText names a notice kind.
func NoticeText(kind string) string {
	if s, ok := noticeText[kind]; ok {
		return s
	}
	return kind
}

// Notice is a transactional message to one fan.
type Notice struct {
	// Key names the notice's cause, unique in the shop: a notice with a
	// key seen before is not sent again.
	Key   string `json:"key" bson:"key"`
	FanID string `json:"fan_id" bson:"fan_id"`
	Kind  string `json:"kind" bson:"kind"`
	Title string `json:"title" bson:"title"`
	Body  string `json:"body" bson:"body"`
	// URL is the storefront page the notice opens (absolute path).
	URL string `json:"url,omitempty" bson:"url,omitempty"`
	// Fields fill a template message: keyword1, keyword2, keyword3.
	Fields map[string]string `json:"fields,omitempty" bson:"fields,omitempty"`
}

// Notify queues a transactional notice to a fan, once per key, and kicks
// the dispatcher: a template message when the shop set one for the kind
// and the fan follows, else the inbox. It returns quickly; WeChat is
// called after.
func (s *Service) Notify(ctx context.Context, tenantID string, n Notice) error {
	n.Key = strings.TrimSpace(n.Key)
	if n.Key == "" || len(n.Key) > 200 {
		return fault.Invalid("key", "is required, at most 200 characters")
	}
	if err := engine.CheckID("fan_id", "fan", n.FanID); err != nil {
		return err
	}
	if noticeText[n.Kind] == "" {
		return fault.Invalid("kind", "must be one of %s", strings.Join(NoticeKinds, ", "))
	}
	// The title and body are the platform's own text, made from stored
	// records (an order's carrier): their characters were checked where
	// they were typed. A refusal here would hold up the order's events
	// (order.Service.Dispatch), so only a caller's mistake is refused.
	if n.Title == "" || utf8.RuneCountInString(n.Title) > 64 {
		return fault.Invalid("title", "is required, at most 64 characters")
	}
	if utf8.RuneCountInString(n.Body) > 600 {
		return fault.Invalid("body", "must be at most 600 characters")
	}
	now := s.clock()
	added, err := s.store.InsertDeliveries(ctx, tenantID, []Delivery{{ID: "n:" + n.Key, FanID: n.FanID, Status: Queued,
		NextAt: now, Notice: &n, CreatedAt: now}})
	if err != nil {
		return fmt.Errorf("queue notice %s: %w", n.Key, err)
	}
	if added > 0 {
		s.Kick(tenantID)
	}
	return nil
}

// yuan is fen as a notice shows it: ¥12.50, -¥1.05.
func yuan(fen int64) string {
	if fen < 0 {
		return "-¥" + catalog.FormatYuan(-fen)
	}
	return "¥" + catalog.FormatYuan(fen)
}

// shopNotice is what a notice's text depends on: the shop's slug for
// links, its zone for dates and its language (tenants.Tenant.Language):
// a notice reaches the fan without a request to take a language from, and
// is stored as written, so it speaks the shop's language.
type shopNotice struct {
	slug string
	loc  *time.Location
	lang string
}

// t is the catalog's message id in the shop's language.
func (sh shopNotice) t(id string, pairs ...any) string {
	return i18n.T(i18n.WithLang(context.Background(), sh.lang), id, pairs...)
}

// dateTime is t in the shop's zone, the way its language writes it.
func (sh shopNotice) dateTime(t time.Time) string { return i18n.FormatDateTime(sh.lang, t, sh.loc) }

func shopNoticeOf(t tenants.Tenant) shopNotice {
	return shopNotice{slug: t.Slug, loc: zone(t), lang: t.Language()}
}

// notifyShop queues the notice the shop's own build makes (its slug for
// links, its zone for dates, its language for the text).
func (s *Service) notifyShop(ctx context.Context, tenantID string, build func(sh shopNotice) Notice) error {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("load shop %s: %w", tenantID, err)
	}
	return s.Notify(ctx, tenantID, build(shopNoticeOf(t)))
}

// Commission tells a fan (a distributor) that commission was credited or,
// reversed, taken back. key names the commission ledger entry (it is the
// notice's de-duplication key, so the distribution package may call this
// from an at-least-once handler); amount is fen.
func (s *Service) Commission(ctx context.Context, tenantID, fanID, key string, amount int64, orderID string, reversed bool) error {
	return s.notifyShop(ctx, tenantID, func(sh shopNotice) Notice {
		n := Notice{Key: "commission:" + key, FanID: fanID, Kind: NoticeCommissionCredited,
			Title: sh.t("notice.commission_credited.title"),
			Body:  sh.t("notice.commission_credited.body", "Amount", yuan(amount), "Order", orderID), URL: "/s/" + sh.slug + "/",
			Fields: map[string]string{"keyword1": yuan(amount), "keyword2": orderID}}
		if reversed {
			n.Kind, n.Title = NoticeCommissionReversed, sh.t("notice.commission_reversed.title")
			n.Body = sh.t("notice.commission_reversed.body", "Amount", yuan(amount), "Order", orderID)
		}
		return n
	})
}

// PointsExpiring tells a fan points expire soon (shop/points calls it).
func (s *Service) PointsExpiring(ctx context.Context, tenantID, fanID string, points int64, expiresAt time.Time) error {
	return s.notifyShop(ctx, tenantID, func(sh shopNotice) Notice {
		last := i18n.FormatDate(sh.lang, expiresAt.Add(-time.Second), sh.loc)
		return Notice{Key: fmt.Sprintf("points-expiring:%s:%d", fanID, expiresAt.Unix()), FanID: fanID,
			Kind: NoticePointsExpiring, Title: sh.t("notice.points_expiring.title"),
			Body: sh.t("notice.points_expiring.body", "Points", points, "Date", last),
			URL:  "/s/" + sh.slug + "/me", Fields: map[string]string{"keyword1": sh.t("notice.points_expiring.change", "Points", points, "Date", last),
				"keyword2": sh.t("notice.points_expiring.points", "Points", points)}}
	})
}

// CheckinReminder reminds a fan who opted in to check in today (shop/points
// calls it).
func (s *Service) CheckinReminder(ctx context.Context, tenantID, fanID, day string) error {
	return s.notifyShop(ctx, tenantID, func(sh shopNotice) Notice {
		date := day
		if d, err := time.Parse(time.DateOnly, day); err == nil {
			date = i18n.FormatDate(sh.lang, d, time.UTC)
		}
		return Notice{Key: "checkin-reminder:" + fanID + ":" + day, FanID: fanID, Kind: NoticeCheckinReminder,
			Title: sh.t("notice.checkin_reminder.title"), Body: sh.t("notice.checkin_reminder.body"), URL: "/s/" + sh.slug + "/me",
			Fields: map[string]string{"keyword1": sh.t("notice.checkin_reminder.what"), "keyword2": date}}
	})
}

// OrderEvent implements order.Subscriber: a paid order counts as a purchase
// (once per order) and records the fan's attribution, and paid and shipped
// orders send their notices (once per order: the notice key), and each
// succeeded refund its own (once per refund: the event's id). Every event
// counts as activity.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if o.FanID == "" {
		return nil
	}
	at := ev.At.UTC().Truncate(time.Millisecond)
	switch ev.Type {
	case order.EventPaid:
		a := o.Attribution
		if err := s.store.AddPurchase(ctx, tenantID, o.FanID, o.ID, at, a.GuideID, a.StoreID, a.DistributorID); err != nil {
			return fmt.Errorf("count purchase %s of fan %s: %w", o.ID, o.FanID, err)
		}
		return s.notifyShop(ctx, tenantID, func(sh shopNotice) Notice {
			return Notice{Key: "order-paid:" + o.ID, FanID: o.FanID, Kind: NoticeOrderPaid, Title: sh.t("notice.order_paid.title"),
				Body: sh.t("notice.order_paid.body", "Amount", yuan(o.Paid), "Order", o.ID),
				URL:  orderLink(sh.slug, o.ID), Fields: map[string]string{"keyword1": o.ID, "keyword2": yuan(o.Paid),
					"keyword3": sh.dateTime(at)}}
		})
	case order.EventShipped:
		carrier, tracking := cmp.Or(o.Carrier, "-"), cmp.Or(o.TrackingNo, "-")
		return s.notifyShop(ctx, tenantID, func(sh shopNotice) Notice {
			carrier := carrier
			if code := o.CarrierCode(); code != "" { // a known courier, named in the shop's language
				carrier = sh.t("courier." + code)
			}
			return Notice{Key: "order-shipped:" + o.ID, FanID: o.FanID, Kind: NoticeOrderShipped, Title: sh.t("notice.order_shipped.title"),
				Body: sh.t("notice.order_shipped.body", "Order", o.ID, "Carrier", carrier, "TrackingNo", tracking),
				URL:  orderLink(sh.slug, o.ID), Fields: map[string]string{"keyword1": o.ID, "keyword2": carrier, "keyword3": tracking}}
		})
	case order.EventRefunded:
		return s.notifyShop(ctx, tenantID, func(sh shopNotice) Notice {
			return Notice{Key: "order-refunded:" + o.ID + ":" + ev.ID, FanID: o.FanID, Kind: NoticeOrderRefunded,
				Title: sh.t("notice.order_refunded.title"), Body: sh.t("notice.order_refunded.body", "Order", o.ID, "Amount", yuan(ev.Amount)),
				URL: orderLink(sh.slug, o.ID), Fields: map[string]string{"keyword1": sh.t("notice.order_refunded.reason", "Order", o.ID),
					"keyword2": yuan(ev.Amount)}}
		})
	}
	return s.Touch(ctx, tenantID, o.FanID, at)
}

func orderLink(slug, orderID string) string { return "/s/" + slug + "/orders/" + orderID }
