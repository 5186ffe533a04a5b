package aftersale

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// CreateRequest is what a shopper sends to open a request.
type CreateRequest struct {
	Type   string        `json:"type"`
	Reason string        `json:"reason"`
	Amount int64         `json:"amount"`
	Lines  []LineRequest `json:"lines"`
	Images []string      `json:"images"`
}

// LineRequest names an order line, by its place in the order (0, 1 …) or
// by its SKU id (or product id when it has no SKU), and how many of its
// units the request is about (0: all of them).
type LineRequest struct {
	Line     json.RawMessage `json:"line"`
	Quantity int64           `json:"quantity"`
}

// maxImages bounds the photos of a request or a message.
const maxImages = 9

func checkID(id string) error { return engine.CheckID("id", "after-sale request", id) }

// checkImages checks that ids are at most maxImages of the shop's photos.
func (s *Service) checkImages(ctx context.Context, tenantID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return []string{}, nil
	}
	if len(ids) > maxImages {
		return nil, fault.Invalid("images", "at most %d photos in one request or message", maxImages)
	}
	for i, id := range ids {
		if !engine.ValidID(id) {
			return nil, fault.Invalid("images", "photo %d: not the id of an image", i+1)
		}
	}
	if s.images == nil {
		return nil, fault.Invalid("images", "photos are not available in this shop")
	}
	if err := s.images.Exists(ctx, tenantID, ids...); err != nil {
		if _, ok := fault.Client(err); ok {
			return nil, fault.Invalid("images", "a photo was not found: upload it first")
		}
		return nil, err
	}
	return ids, nil
}

// lines resolves the lines asked for against order o: each line once, a
// quantity from 1 to what was bought (0: all of it); none asked is every
// line, whole.
func lines(o order.Order, in []LineRequest) ([]Line, error) {
	if len(in) == 0 {
		out := make([]Line, len(o.Lines))
		for i, l := range o.Lines {
			out[i] = Line{Index: i, ProductID: l.ProductID, SKUID: l.SKUID, Title: l.Title, Quantity: l.Qty}
		}
		return out, nil
	}
	if len(in) > len(o.Lines) {
		return nil, fault.Invalid("lines", "the order has %d lines", len(o.Lines))
	}
	seen := map[int]bool{}
	out := make([]Line, 0, len(in))
	for n, lr := range in {
		field := "lines[" + strconv.Itoa(n) + "]"
		i, err := lineIndex(o, lr.Line, field+".line")
		if err != nil {
			return nil, err
		}
		if seen[i] {
			return nil, fault.Invalid(field+".line", "names an order line already named")
		}
		seen[i] = true
		l := o.Lines[i]
		q := lr.Quantity
		if q == 0 {
			q = l.Qty
		}
		if q < 0 || q > l.Qty {
			return nil, fault.Invalid(field+".quantity", "must be from 1 to %d units", l.Qty)
		}
		out = append(out, Line{Index: i, ProductID: l.ProductID, SKUID: l.SKUID, Title: l.Title, Quantity: q})
	}
	return out, nil
}

// lineIndex reads a line reference (field names it): a number (its place)
// or a SKU or product id.
func lineIndex(o order.Order, raw json.RawMessage, field string) (int, error) {
	text := strings.TrimSpace(string(raw))
	if i, err := strconv.Atoi(text); err == nil {
		if i < 0 || i >= len(o.Lines) {
			return 0, fault.Invalid(field, "the order has no such line")
		}
		return i, nil
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil || id == "" {
		return 0, fault.Invalid(field, "give the line's number or its SKU id")
	}
	for i, l := range o.Lines {
		if (l.SKUID != "" && l.SKUID == id) || (l.SKUID == "" && l.ProductID == id) {
			return i, nil
		}
	}
	return 0, fault.Invalid(field, "the order has no such line")
}

// Create opens a request on the fan's own order: paid, shipped, or
// completed within the shop's window; its lines not held by an open
// request (atomically: two racing requests on a line get one 201 and one
// 409); its amount not above what the order can still refund, less what
// other open requests ask.
func (s *Service) Create(ctx context.Context, tenantID, fanID, orderID string, in CreateRequest) (Request, error) {
	if err := engine.CheckID("id", "order", orderID); err != nil {
		return Request{}, err
	}
	o, err := s.orders.Get(ctx, tenantID, orderID)
	if err != nil {
		return Request{}, err
	}
	if o.FanID != fanID || o.Status == order.Placing || o.Status == order.Rejected {
		return Request{}, fault.NotFound("order")
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	now := s.clock()
	switch o.Status {
	case order.Paid, order.Shipped:
	case order.Completed:
		if o.CompletedAt != nil && now.After(o.CompletedAt.Add(days(st.WindowDays))) {
			return Request{}, fault.Conflict("the after-sale window of this order closed %d days after it was completed", st.WindowDays)
		}
	default:
		return Request{}, fault.Conflict("an after-sale request needs a paid, shipped or completed order; this one is %s",
			fault.Word(words(o.Status)))
	}
	if !slices.Contains(types, in.Type) {
		return Request{}, fault.Invalid("type", "must be one of refund_only, return_refund, exchange")
	}
	if in.Type != RefundOnly && o.Status == order.Paid {
		return Request{}, fault.Invalid("type", "an order not shipped yet can only be refunded (refund_only)")
	}
	reason, err := fault.Text("reason", in.Reason, 200)
	if err != nil {
		return Request{}, err
	}
	if reason == "" {
		return Request{}, fault.Invalid("reason", "is required, at most 200 characters")
	}
	ls, err := lines(o, in.Lines)
	if err != nil {
		return Request{}, err
	}
	if in.Type == Exchange {
		if in.Amount != 0 {
			return Request{}, fault.Invalid("amount", "an exchange refunds nothing: leave it 0")
		}
	} else {
		others, err := s.store.ByOrder(ctx, tenantID, orderID)
		if err != nil {
			return Request{}, err
		}
		left := o.Refundable
		for _, r := range others {
			if IsOpen(r.Status) {
				left -= r.Amount
			}
		}
		if in.Amount <= 0 {
			return Request{}, fault.Invalid("amount", "must be a positive number of fen")
		}
		if in.Amount > left {
			return Request{}, fault.Invalid("amount", "at most %d fen can still be refunded", max(left, 0))
		}
	}
	images, err := s.checkImages(ctx, tenantID, in.Images)
	if err != nil {
		return Request{}, err
	}
	r := Request{ID: engine.NewID(), OrderID: orderID, FanID: fanID, Type: in.Type, Reason: reason, Amount: in.Amount,
		Lines: ls, Images: images, Status: Pending, CreatedAt: now, UpdatedAt: now}
	due, kind := now.Add(hours(st.AnswerHours)), DueAnswer
	if in.Type == RefundOnly && o.Status == order.Paid {
		due, kind = now.Add(hours(st.UnshippedHours)), DueUnshipped
	}
	r.DueAt, r.DueKind = &due, kind
	ok, err := s.store.Insert(ctx, tenantID, r)
	if err != nil {
		return Request{}, err
	}
	if !ok {
		return Request{}, fault.Conflict("an open after-sale request already covers one of these order lines")
	}
	return r, nil
}

func newID() string { return engine.NewID() }
