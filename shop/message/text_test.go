package message

import (
	"context"
	"errors"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// TestTextRefusesHiddenCharacters: a NUL or a right-to-left override in a
// name, title or text a merchant types is a 400 naming the field, on every
// path that takes one.
func TestTextRefusesHiddenCharacters(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		fanID := f.browserFan()
		campaign := func(edit func(req *CampaignRequest, bad string)) func(string) error {
			return func(bad string) error {
				req := CampaignRequest{Name: "Spring tea", Kind: KindText, Text: "New tea is in.", Rule: &Rule{}}
				edit(&req, bad)
				_, err := f.svc.CreateCampaign(ctx, f.shop, req, "test")
				return err
			}
		}
		article := func(edit func(a *Article, bad string)) func(string) error {
			return campaign(func(req *CampaignRequest, bad string) {
				req.Kind, req.Article = KindArticle, &Article{Title: "New tea", Description: "Picked in April.", URL: "https://example.com/tea"}
				edit(req.Article, bad)
			})
		}
		cases := []struct {
			name, field string
			call        func(bad string) error
		}{
			{"segment name", "name", func(bad string) error {
				_, err := f.svc.CreateSegment(ctx, f.shop, SegmentRequest{Name: bad})
				return err
			}},
			{"segment rule tag", "rule.tags[1]", func(bad string) error {
				_, err := f.svc.CreateSegment(ctx, f.shop, SegmentRequest{Name: "VIP", Rule: Rule{Tags: []string{"vip", bad}}})
				return err
			}},
			{"campaign name", "name", campaign(func(req *CampaignRequest, bad string) { req.Name = bad })},
			{"campaign text", "text", campaign(func(req *CampaignRequest, bad string) { req.Text = bad })},
			{"article title", "article.title", article(func(a *Article, bad string) { a.Title = bad })},
			{"article description", "article.description", article(func(a *Article, bad string) { a.Description = bad })},
			{"template field", "template.fields.first", campaign(func(req *CampaignRequest, bad string) {
				req.Kind, req.ServiceNotice = KindTemplate, true
				req.Template = &TemplateMessage{ID: "sandbox_order_paid", Fields: map[string]string{"first": bad}}
			})},
			{"fan tag", "tags[0]", func(bad string) error {
				_, err := f.svc.SetTags(ctx, f.shop.ID, fanID, []string{bad})
				return err
			}},
		}
		for _, tc := range cases {
			for _, bad := range []struct{ name, text string }{{"NUL", "tea\x00time"}, {"RLO", "tea\u202Etxt.exe"}} {
				t.Run(tc.name+"/"+bad.name, func(t *testing.T) {
					err := tc.call(bad.text)
					var fe *fault.Error
					if !errors.As(err, &fe) || fe.Status != 400 || fe.Field != tc.field {
						t.Fatalf("got %v (%+v), want a 400 naming %s", err, fe, tc.field)
					}
				})
			}
		}
	})
}

// TestTextLines: text that may span lines keeps its line breaks (CRLF as
// sent by a textarea becomes LF); a one-line name refuses one.
func TestTextLines(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		c := f.campaign(CampaignRequest{Name: "  Spring tea ", Kind: KindText, Text: "New tea is in.\r\n\r\nCome and taste it.", Rule: &Rule{}})
		if c.Name != "Spring tea" || c.Text != "New tea is in.\n\nCome and taste it." {
			t.Fatalf("stored name %q, text %q", c.Name, c.Text)
		}
		_, err := f.svc.CreateCampaign(context.Background(), f.shop, CampaignRequest{Name: "Spring\ntea", Kind: KindText, Text: "hi", Rule: &Rule{}}, "test")
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Field != "name" {
			t.Fatalf("a name with a line break: %v, want a 400 naming name", err)
		}
	})
}

// TestNoticeTextFromRecords: a notice is made from stored records (a
// carrier typed when the order shipped); whatever characters they hold, it
// is queued, since a refusal would hold up the order's events.
func TestNoticeTextFromRecords(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		n := Notice{Key: engine.NewID(), FanID: f.browserFan(), Kind: NoticeOrderShipped, Title: "Your order has shipped",
			Body: "Order 1 left the shop with SF\x00 \u202EExpress, tracking number 42."}
		if err := f.svc.Notify(context.Background(), f.shop.ID, n); err != nil {
			t.Fatalf("notice refused: %v", err)
		}
	})
}
