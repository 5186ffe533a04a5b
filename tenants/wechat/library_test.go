package wechat_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// TestTemplateLibrary: the operator's library is kept in the platform
// database (another replica reads it), entry by entry over the defaults;
// bad entries are refused.
func TestTemplateLibrary(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		defs := []wechat.NoticeTemplate{
			{Kind: "order_paid", Title: "订单支付成功通知", ShortID: "OPENTM201752540", Keywords: []string{"订单编号", "支付金额"}},
			{Kind: "order_shipped", Title: "订单发货提醒", ShortID: "OPENTM200565259"},
		}
		c1, err := wechat.NewComponent(ctx, e, newAccounts(e, true), wechat.ComponentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c2, err := wechat.NewComponent(ctx, e, newAccounts(e, true), wechat.ComponentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c1.SetLibraryDefaults(defs)
		c2.SetLibraryDefaults(defs)
		if lib, err := c2.Library(ctx); err != nil || len(lib) != 2 || lib[0].ShortID != "OPENTM201752540" {
			t.Fatalf("defaults: %+v %v", lib, err)
		}
		in := []wechat.NoticeTemplate{{Kind: "order_shipped", Title: " 订单发货通知 ", ShortID: "1368", Keywords: []string{"订单编号", " ", "快递公司"}}}
		if _, err := c1.SaveLibrary(ctx, in); err != nil {
			t.Fatal(err)
		}
		lib, err := c2.Library(ctx)
		if err != nil || len(lib) != 2 || lib[0].ShortID != "OPENTM201752540" || lib[1].Title != "订单发货通知" || lib[1].ShortID != "1368" ||
			strings.Join(lib[1].Keywords, ",") != "订单编号,快递公司" {
			t.Errorf("the other replica's library: %+v %v", lib, err)
		}
		for name, bad := range map[string]wechat.NoticeTemplate{
			"unknown kind":  {Kind: "lottery", Title: "x", ShortID: "1"},
			"no title":      {Kind: "order_paid", ShortID: "1"},
			"bad short id":  {Kind: "order_paid", Title: "x", ShortID: "OPENTM 1"},
			"keyword":       {Kind: "order_paid", Title: "x", Keywords: []string{"{{first.DATA}}"}},
			"many keywords": {Kind: "order_paid", Title: "x", Keywords: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")},
		} {
			if _, err := c1.SaveLibrary(ctx, []wechat.NoticeTemplate{bad}); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if lib, _ := c1.Library(ctx); lib[1].ShortID != "1368" {
			t.Errorf("a refused save changed the library: %+v", lib)
		}
	})
}

// TestTemplateFieldsFitted: a category template (fields named by type,
// no first or remark) added with keyword_name_list takes the shop's
// keyword1, keyword2, … in order, values clipped to the field's length;
// a template added without its keywords is refused (40246).
func TestTemplateFieldsFitted(t *testing.T) {
	e, err := openSQLite(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tenant := newTenant(t, e)
	acct := mustAccount(t, newAccounts(e, true), tenant)
	if err := acct.SetIndustry(ctx, "1", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.AddTemplate(ctx, "47123", nil); wechat.ErrCode(err) != sandbox.CodeBadKeywords {
		t.Errorf("a category template without keywords: %v, want errcode %d", err, sandbox.CodeBadKeywords)
	}
	if _, err := acct.AddTemplate(ctx, "47123", []string{"订单编号", "颜色"}); wechat.ErrCode(err) != sandbox.CodeBadKeywords {
		t.Errorf("a keyword the template lacks: %v, want errcode %d", err, sandbox.CodeBadKeywords)
	}
	id, err := acct.AddTemplate(ctx, "47123", []string{"订单编号", "订单状态"})
	if err != nil {
		t.Fatal(err)
	}
	openID := sim.OpenID(acct.Settings.AppID, "fit-phone")
	sim.Follow(acct.Settings.AppID, openID)
	msg := &message.TemplateMessage{ToUser: openID, TemplateID: id, Data: map[string]*message.TemplateDataItem{
		"first": {Value: "订单已发货"}, "keyword1": {Value: "o-123"}, "keyword2": {Value: "已发货待签收"}, "remark": {Value: "点击查看"}}}
	if _, err := acct.SendTemplate(ctx, msg); err != nil {
		t.Fatalf("send to the category template: %v", err)
	}
	out := sim.Outbox(acct.Settings.AppID)
	if len(out) == 0 || out[0].Template != id || out[0].Data["character_string1"] != "o-123" || out[0].Data["phrase2"] != "已发货待…" ||
		len(out[0].Data) != 2 {
		t.Errorf("sent: %+v", out)
	}
	// An industry template's own fields go as they are.
	id2, err := acct.AddTemplate(ctx, "OPENTM200565259", []string{"订单编号", "物流公司"})
	if err != nil {
		t.Fatal(err)
	}
	msg = &message.TemplateMessage{ToUser: openID, TemplateID: id2, Data: map[string]*message.TemplateDataItem{
		"first": {Value: "已发货"}, "keyword1": {Value: "o-1"}, "keyword2": {Value: "顺丰"}, "remark": {Value: ""}}}
	if _, err := acct.SendTemplate(ctx, msg); err != nil {
		t.Fatalf("send to the industry template: %v", err)
	}
	if out := sim.Outbox(acct.Settings.AppID); out[0].Data["keyword2"] != "顺丰" || out[0].Data["first"] != "已发货" {
		t.Errorf("sent: %+v", out[0])
	}

	// Set-up on this account keeps its industry and reuses its template
	// by title.
	res, err := acct.SetUp(ctx, wechat.SetUp{Industry: [2]string{"2", "1"}, Templates: []wechat.NoticeTemplate{
		{Kind: "order_status", Title: "订单状态通知", ShortID: "47123", Keywords: []string{"订单编号"}}}})
	if err != nil || len(res.Outcomes) != 1 || res.Outcomes[0].Action != wechat.TemplateReused || res.Templates["order_status"] != id {
		t.Errorf("set-up: %+v %v", res, err)
	}
	if got := sim.Industry(acct.Settings.AppID); got != [2]string{"1", "2"} {
		t.Errorf("industry after set-up: %v, want the account's own 1, 2", got)
	}
}
