package main

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestSettingsRevision: a console form or an API client that read a shop's
// settings before another save cannot undo it: 409, with the reason in
// the merchant's words; one that read them since saves; an API save
// without a revision applies to the settings as they are. A stale form
// comes back with what the merchant typed, at the stored revision, so
// saving it again applies it knowingly. For each settings page people
// edit.
func TestSettingsRevision(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "rev-shop")
	api := s.apiClient(t, srv.URL)
	console := s.consoleClient(t, srv.URL)
	for _, tc := range []struct {
		name, page, form, api string
		change                map[string]any // an API save's change
		typed, value          string         // a field the stale form changes ("": its values are not kept)
	}{
		{"order settings", "/admin/order-settings", "/admin/order-settings", "/api/v1/order-settings", map[string]any{"shipping_fee": 700}, "shipping_fee", "7.50"},
		{"distribution settings", "/admin/distribution", "/admin/distribution/settings", "/api/v1/distribution/settings", map[string]any{"after_sale_days": 9}, "binding_days", "45"},
		{"points rules", "/admin/points", "/admin/points/rules", "/api/v1/points/rules", nil, "base_points", "9"},
		{"after-sale settings", "/admin/after-sales", "/admin/after-sales/settings", "/api/v1/after-sale-settings", map[string]any{"answer_hours": 24}, "", ""},
		{"message settings", "/admin/message-settings", "/admin/message-settings", "/api/v1/message-settings", nil, "rate", "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Two tabs drew the form at one revision; the first saves.
			doc := console.page(tc.page, http.StatusOK)
			v := formValues(doc.Find(`form[action="` + tc.form + `"]`))
			if v.Get("rev") == "" {
				t.Fatalf("the form of %s carries no revision", tc.page)
			}
			console.submit(tc.form, v, http.StatusSeeOther)
			typedValue := func(doc *goquery.Document) string {
				return doc.Find(`form[action="`+tc.form+`"] [name="`+tc.typed+`"]`).AttrOr("value", "")
			}
			if tc.typed != "" {
				v.Set(tc.typed, tc.value)
			}
			doc = console.submit(tc.form, v, http.StatusConflict)
			if tc.typed == "" {
				wantIn(t, "stale form", text(doc.Find(".error")), "changed meanwhile")
			} else {
				wantIn(t, "stale form", text(doc.Find(".error")), "What you typed is kept below")
				if got := typedValue(doc); got != tc.value {
					t.Errorf("the stale form shows %s = %q, want the typed %q", tc.typed, got, tc.value)
				}
			}
			// Sent again as shown, it saves (at the stored revision).
			console.submit(tc.form, formValues(doc.Find(`form[action="`+tc.form+`"]`)), http.StatusSeeOther)
			if tc.typed != "" {
				doc = console.page(tc.page, http.StatusOK)
				if got := typedValue(doc); got != tc.value {
					t.Errorf("after the second save %s = %q, want %q", tc.typed, got, tc.value)
				}
			}

			// An API client with the revision it read, before and after a save.
			var cur map[string]any
			if code := api.json(http.MethodGet, tc.api, nil, &cur); code != http.StatusOK {
				t.Fatalf("read: %d", code)
			}
			rev := cur["rev"]
			body := cur
			if tc.change != nil {
				body = map[string]any{"rev": rev}
				for k, x := range tc.change {
					body[k] = x
				}
			}
			var saved map[string]any
			if code := api.json(http.MethodPut, tc.api, body, &saved); code != http.StatusOK || saved["rev"] != rev.(float64)+1 {
				t.Fatalf("save at the revision read: %d, rev %v (read %v)", code, saved["rev"], rev)
			}
			if code := api.json(http.MethodPut, tc.api, body, nil); code != http.StatusConflict {
				t.Fatalf("save at a stale revision: %d, want 409", code)
			}
			delete(body, "rev")
			if code := api.json(http.MethodPut, tc.api, body, &saved); code != http.StatusOK || saved["rev"] != rev.(float64)+2 {
				t.Fatalf("save without a revision: %d, rev %v", code, saved["rev"])
			}
		})
	}
}

// formValues is what a browser would submit from form as drawn: its
// inputs, the checked boxes, the selected options, the text areas.
func formValues(form *goquery.Selection) url.Values {
	v := url.Values{}
	form.Find("input[name], select[name], textarea[name]").Each(func(_ int, el *goquery.Selection) {
		name := el.AttrOr("name", "")
		switch {
		case goquery.NodeName(el) == "select":
			opt := el.Find("option[selected]").First()
			if opt.Length() == 0 {
				opt = el.Find("option").First()
			}
			v.Add(name, opt.AttrOr("value", opt.Text()))
		case goquery.NodeName(el) == "textarea":
			v.Add(name, el.Text())
		case el.AttrOr("type", "") == "checkbox" || el.AttrOr("type", "") == "radio":
			if _, on := el.Attr("checked"); on {
				v.Add(name, el.AttrOr("value", "on"))
			}
		case name != "_csrf":
			v.Add(name, el.AttrOr("value", ""))
		}
	})
	return v
}

// TestSettingsAPISendsFieldsWhole: a settings API save replaces each field
// it sends whole and keeps the fields it leaves out. A list sent is not
// merged into the old list (a product's commission rule sent without fixed
// amounts keeps none of the rule that stood before it), a map sent is not
// merged into the old map.
func TestSettingsAPISendsFieldsWhole(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "whole-shop")
	api := s.apiClient(t, srv.URL)
	a := api.createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	b := api.createProduct(map[string]any{"title": "Cup", "price": 2000, "stock": 5})
	for _, tc := range []struct {
		name, path    string
		first, second map[string]any
		want          map[string]any // fields after the second save, as JSON
	}{
		{"distribution: a product rule replaced, not merged", "/api/v1/distribution/settings",
			map[string]any{"products": []any{map[string]any{"product_id": a.ID, "fixed": []int{100, 50}}}, "min_withdrawal": 500},
			map[string]any{"products": []any{map[string]any{"product_id": b.ID, "levels": []int{300, 100}}}},
			map[string]any{"products": []any{map[string]any{"product_id": b.ID, "levels": []any{300.0, 100.0}}}, "min_withdrawal": 500.0}},
		{"points: a field left out stays", "/api/v1/points/rules",
			map[string]any{"streak_rewards": []any{map[string]any{"day": 4, "points": 8}}, "base_points": 9},
			map[string]any{"base_points": 7},
			map[string]any{"streak_rewards": []any{map[string]any{"day": 4.0, "points": 8.0}}, "base_points": 7.0}},
		{"messages: templates replaced, not merged", "/api/v1/message-settings",
			map[string]any{"templates": map[string]any{"order_paid": "T1", "order_shipped": "T2"}, "rate": 5},
			map[string]any{"templates": map[string]any{"order_paid": "T3"}},
			map[string]any{"templates": map[string]any{"order_paid": "T3"}, "rate": 5.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, body := range []map[string]any{tc.first, tc.second} {
				var answer map[string]any
				if code := api.json(http.MethodPut, tc.path, body, &answer); code != http.StatusOK {
					t.Fatalf("save %d: %d %v", i+1, code, answer)
				}
			}
			var got map[string]any
			if code := api.json(http.MethodGet, tc.path, nil, &got); code != http.StatusOK {
				t.Fatalf("read: %d", code)
			}
			for k, want := range tc.want {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}
