package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"microshop/tenants/i18n"
)

// storefrontData is one language's shop contents: what a merchant writing
// in that language would enter. Pages show it as it is, so the checks of a
// page's language leave it out.
type storefrontData struct {
	tea, cup, set, category, sku string
	address                      map[string]string
	reason                       string // the merchant's refund reason
}

var storefrontDataOf = map[string]storefrontData{
	i18n.ZhCN: {tea: "西湖龙井", cup: "青瓷茶杯", set: "旅行茶具", category: "绿茶", sku: "天青色", reason: "少发一件",
		address: map[string]string{"name": "李雷", "phone": "13812345678", "province": "浙江省", "city": "杭州市",
			"district": "西湖区", "detail": "龙井路1号"}},
	i18n.En: {tea: "Longjing tea", cup: "Celadon cup", set: "Travel tea set", category: "Green tea", sku: "Sky blue", reason: "one missing",
		address: map[string]string{"name": "Li Lei", "phone": "13812345678", "province": "Zhejiang", "city": "Hangzhou",
			"district": "Xihu", "detail": "1 Longjing Road"}},
}

// TestStorefrontInBothLanguages renders every storefront page in Chinese
// and in English through the real router, a shop per language (pages are
// cached per shop: see TestStorefrontCachePerLanguage), each page in the
// states that show the most words: and checks that the page says its
// language, that no message id and no placeholder is left in it, and that
// a Chinese page has no English words (an English page no Chinese) but
// for what the merchant and the shopper typed.
func TestStorefrontInBothLanguages(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	for _, lang := range i18n.Langs {
		t.Run(lang, func(t *testing.T) {
			d := storefrontDataOf[lang]
			slug := "lang-" + strings.ToLower(lang)
			s := signUp(t, srv.URL, slug)
			api := s.apiClient(t, srv.URL)
			base := "/s/" + slug
			tea := api.createProduct(map[string]any{"title": d.tea, "price": 3900, "stock": 10, "category": d.category,
				"images": []string{"/static/demo/p01.svg"}})
			cup := api.createProduct(map[string]any{"title": d.cup, "price": 6800, "stock": 3})
			set := api.createProduct(map[string]any{"title": d.set, "skus": []map[string]any{{"name": d.sku, "price": 15800, "stock": 2}}})
			for path, body := range map[string]any{
				"/api/v1/shop":                  map[string]any{"lang": lang}, // what the shop sends (notices) speaks it
				"/api/v1/order-settings":        map[string]any{"shipping_fee": 800, "free_shipping_over": 50000},
				"/api/v1/distribution/settings": map[string]any{"enabled": true, "levels": []int{1000}, "min_withdrawal": 500, "withdrawal_fee_bps": 60},
			} {
				if st := api.json(http.MethodPut, path, body, nil); st != http.StatusOK {
					t.Fatalf("PUT %s: %d", path, st)
				}
			}
			var rules map[string]any
			api.json(http.MethodGet, "/api/v1/points/rules", nil, &rules)
			rules["streak_rewards"] = []map[string]any{{"day": 3, "points": 5}}
			rules["cycle"], rules["order_points_per_yuan"], rules["redeem_points_per_yuan"], rules["redeem_max_percent"] = "week", 1, 100, 50
			if st := api.json(http.MethodPut, "/api/v1/points/rules", rules, nil); st != http.StatusOK {
				t.Fatalf("points rules: %d", st)
			}

			pages := map[string]*goquery.Document{}
			see := func(c *client, name, path string) *goquery.Document {
				t.Helper()
				doc := c.page(path, http.StatusOK)
				pages[name] = doc
				return doc
			}

			// Alice picks the language with the footer's switch and becomes
			// a distributor; Bob comes through her link with the same choice.
			alice := newClient(t, srv.URL)
			switchTo(t, alice, base+"/p/"+tea.ID, lang)
			var joined struct{ Code string }
			if st := alice.json(http.MethodPost, base+"/api/distributor", nil, &joined); st != http.StatusCreated {
				t.Fatalf("join: %d", st)
			}
			bob := newClient(t, srv.URL)
			switchTo(t, bob, base+"/?d="+joined.Code, lang)

			see(bob, "home", base+"/")
			see(bob, "home, a category", base+"/?c="+url.QueryEscape(d.category))
			see(bob, "home, nothing found", base+"/?q=zzz")
			see(bob, "product", base+"/p/"+tea.ID)
			see(bob, "product with options", base+"/p/"+set.ID)
			see(bob, "cart, empty", base+"/cart")
			see(bob, "orders, none", base+"/orders")
			see(bob, "me, before checking in", base+"/me")
			see(bob, "inbox, empty", base+"/inbox")
			see(bob, "distributor centre, not one", base+"/distributor")

			for _, item := range []map[string]any{{"product_id": tea.ID, "qty": 2}, {"product_id": cup.ID, "qty": 1}} {
				if st := bob.json(http.MethodPost, base+"/api/cart/items", item, nil); st != http.StatusOK && st != http.StatusCreated {
					t.Fatalf("add to cart: %d", st)
				}
			}
			see(bob, "cart", base+"/cart")
			see(bob, "checkout", base+"/checkout")
			see(bob, "checkout, buy now", base+"/checkout?product="+set.ID+"&sku="+setSKU(t, api, set.ID)+"&qty=1")
			api.json(http.MethodPatch, "/api/v1/products/"+cup.ID, map[string]any{"stock": 0}, nil)
			see(bob, "cart, sold out line", base+"/cart")
			api.json(http.MethodPatch, "/api/v1/products/"+cup.ID, map[string]any{"stock": 3}, nil)

			if st := bob.json(http.MethodPost, base+"/api/checkin", nil, nil); st != http.StatusCreated {
				t.Fatalf("check in: %d", st)
			}
			paidID := placeFor(t, bob, base, tea.ID, d.address)
			see(bob, "pay", base+"/pay/"+paidID)
			if st := bob.json(http.MethodPost, base+"/api/orders/"+paidID+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusOK {
				t.Fatalf("pay: %d", st)
			}
			see(bob, "order, just paid", base+"/orders/"+paidID+"?paid=1")
			see(bob, "pay, already paid", base+"/pay/"+paidID)
			if st := api.json(http.MethodPost, "/api/v1/orders/"+paidID+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1234567890"}, nil); st != http.StatusOK {
				t.Fatalf("ship: %d", st)
			}
			if st := api.json(http.MethodPost, "/api/v1/orders/"+paidID+"/refund", map[string]any{"amount": 1000, "reason": d.reason}, nil); st != http.StatusOK {
				t.Fatalf("refund: %d", st)
			}
			see(bob, "order, shipped and partly refunded", base+"/orders/"+paidID)
			unpaidID := placeFor(t, bob, base, tea.ID, d.address)
			see(bob, "order, awaiting payment", base+"/orders/"+unpaidID)
			see(bob, "orders, to pay", base+"/orders?status=pending_payment")
			if st := bob.json(http.MethodPost, base+"/api/orders/"+unpaidID+"/cancel", nil, nil); st != http.StatusOK {
				t.Fatalf("cancel: %d", st)
			}
			see(bob, "order, cancelled by the buyer", base+"/orders/"+unpaidID)
			see(bob, "orders", base+"/orders")
			see(bob, "me, checked in", base+"/me")
			see(bob, "inbox", base+"/inbox")
			see(alice, "distributor centre", base+"/distributor")
			see(newClientIn(t, srv.URL, lang), "distributor centre, a visitor", base+"/distributor")

			// The words the checks leave out: what people typed, and ids.
			var paid struct {
				TransactionID string `json:"transaction_id"`
			}
			api.json(http.MethodGet, "/api/v1/orders/"+paidID, nil, &paid)
			bobID := fanIDOf(t, bob, srv.URL, slug)
			data := []string{s.Name, d.tea, d.cup, d.set, d.category, d.sku, d.reason, "SF", "zzz", joined.Code, paidID, unpaidID,
				paid.TransactionID, bobID, bobID[:6], srv.URL + base}
			for _, v := range d.address {
				data = append(data, v)
			}
			names := make([]string, 0, len(pages))
			for name := range pages {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				checkPageLanguage(t, name, pages[name], lang, data)
			}
		})
	}
}

// TestStorefrontCachePerLanguage: the home and product pages, rendered
// once and served to every visitor (shop/catalog's page cache), are kept
// per language: a visitor never gets a page cached in another language.
func TestStorefrontCachePerLanguage(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "cache-lang")
	p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "龙井", "price": 3900, "stock": 3})
	for _, path := range []string{"/s/cache-lang/", "/s/cache-lang/p/" + p.ID} {
		for _, lang := range []string{i18n.ZhCN, i18n.En, i18n.ZhCN} {
			doc := newClientIn(t, srv.URL, lang).page(path, http.StatusOK)
			if got := doc.Find("html").AttrOr("lang", ""); got != lang {
				t.Errorf("%s in %s: the page is in %q", path, lang, got)
			}
			if cart := doc.Find("a.cart-link").Text(); cart != i18n.T(withLang(lang), "shop.cart") {
				t.Errorf("%s in %s: cart link %q", path, lang, cart)
			}
		}
	}
}

// TestLanguageChoice: with no choice a shopper gets zh-CN, or the language
// of Accept-Language; the footer's switch remembers a choice that wins over
// the header, and ?lang=auto forgets it.
func TestLanguageChoice(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "choice-shop")
	home := "/s/" + s.Slug + "/cart" // a page of the shopper's own, never cached
	langOf := func(c *client, accept string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+home, nil)
		req.Header.Set("Accept-Language", accept)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return doc.Find("html").AttrOr("lang", "")
	}
	c := newClient(t, srv.URL)
	for _, tc := range []struct{ accept, want string }{
		{"*", i18n.ZhCN}, {"zh-CN,zh;q=0.9,en;q=0.8", i18n.ZhCN}, {"en-US,en;q=0.9", i18n.En}, {"fr, de", i18n.ZhCN},
	} {
		if got := langOf(c, tc.accept); got != tc.want {
			t.Errorf("Accept-Language %q: %q, want %q", tc.accept, got, tc.want)
		}
	}
	doc := c.page(home, http.StatusOK)
	links := doc.Find("footer .lang-switch a")
	if links.Length() != 2 || links.First().Text() != "中文" || links.Last().Text() != "English" ||
		links.First().AttrOr("href", "") != "?lang=zh-CN" || links.Last().AttrOr("aria-current", "") != "true" {
		t.Errorf("the switch: %q", text(links))
	}
	switchTo(t, c, home, i18n.En)
	if got := langOf(c, "zh-CN"); got != i18n.En {
		t.Errorf("chose en, Accept-Language zh-CN: %q", got)
	}
	switchTo(t, c, home, i18n.ZhCN)
	if got := langOf(c, "en"); got != i18n.ZhCN {
		t.Errorf("chose zh-CN, Accept-Language en: %q", got)
	}
	if st, _ := c.do(http.MethodGet, home+"?lang=auto", nil, ""); st != http.StatusSeeOther {
		t.Fatalf("?lang=auto: %d", st)
	}
	if got := langOf(c, "en"); got != i18n.En {
		t.Errorf("after ?lang=auto, Accept-Language en: %q", got)
	}
}

// messageID is what a message id left in a page looks like: one of the
// catalogs' sections (the part of an id before its first dot), a dot, a
// name.
var messageID = sync.OnceValue(func() *regexp.Regexp {
	cat, err := i18n.Embedded()
	if err != nil {
		panic(err)
	}
	roots := map[string]bool{}
	for _, id := range cat.IDs(i18n.ZhCN) {
		if root, _, ok := strings.Cut(id, "."); ok {
			roots[regexp.QuoteMeta(root)] = true
		}
	}
	names := make([]string, 0, len(roots))
	for r := range roots {
		names = append(names, r)
	}
	sort.Strings(names)
	return regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\.[A-Za-z_][A-Za-z0-9_.]*`)
})

// leftID is the first message id left in words, host names aside
// (pay.weixin.qq.com is a domain, not the id pay.weixin).
func leftID(words string) string {
	for _, m := range messageID().FindAllString(words, -1) {
		if !domainName.MatchString(m) {
			return m
		}
	}
	return ""
}

var domainName = regexp.MustCompile(`\.(com|cn|net|org|qq\.com)$`)

// englishWord is a word of two letters or more.
var englishWord = regexp.MustCompile(`[A-Za-z]{2,}`)

// sameInEveryLanguage are words a Chinese page may show: the product's
// name, the name of the language switch's other language, and what the
// noscript notes name.
var sameInEveryLanguage = map[string]bool{"microshop": true, "English": true, "JavaScript": true}

// checkPageLanguage checks one rendered page (see TestStorefrontInBothLanguages);
// data are the typed-in words it leaves out.
func checkPageLanguage(t *testing.T, name string, doc *goquery.Document, lang string, data []string) {
	t.Helper()
	if got := doc.Find("html").AttrOr("lang", ""); got != lang {
		t.Errorf("%s: <html lang=%q>, want %q", name, got, lang)
	}
	// The scripts' words are the page's language too.
	var js map[string]any
	if err := json.Unmarshal([]byte(doc.Find("script#shop-i18n").Text()), &js); err != nil || js["added"] != i18n.T(withLang(lang), "js.added") {
		t.Errorf("%s: the scripts' words: %v (added = %v)", name, err, js["added"])
	}
	checkWords(t, name, visibleText(doc), lang, data, storefrontWords)
}

// visibleText is what a page shows and says: its text but scripts, styles
// and what the page marks translate="no" (code to paste), noscript notes
// included (parsed), and the attributes people read or hear (alt, title,
// placeholder, aria-label), one string.
func visibleText(doc *goquery.Document) string {
	var b strings.Builder
	doc.Find("[alt], [title], [placeholder], [aria-label]").Each(func(_ int, s *goquery.Selection) {
		for _, a := range []string{"alt", "title", "placeholder", "aria-label"} {
			if v, ok := s.Attr(a); ok {
				b.WriteString(v + "\n")
			}
		}
	})
	doc.Find("noscript").Each(func(_ int, s *goquery.Selection) {
		if inner, err := goquery.NewDocumentFromReader(strings.NewReader(s.Text())); err == nil {
			b.WriteString(inner.Text() + "\n")
		}
	})
	body := doc.Find("html").Clone()
	body.Find(`script, style, noscript, [translate="no"]`).Remove()
	b.WriteString(body.Text())
	return strings.Join(strings.Fields(b.String()), " ")
}

// switchTo picks lang with the footer's switch (?lang=) on path: a 303
// back to path, with the choice in c's cookie jar.
func switchTo(t *testing.T, c *client, path, lang string) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	st, _ := c.do(http.MethodGet, path+sep+"lang="+lang, nil, "")
	if st != http.StatusSeeOther || c.location != path {
		t.Fatalf("switch to %s on %s: %d to %q", lang, path, st, c.location)
	}
	if st, b := c.do(http.MethodGet, path, nil, ""); st != http.StatusOK || !strings.Contains(string(b), `<html lang="`+lang+`"`) {
		t.Fatalf("after switching to %s, %s: %d %.200s", lang, path, st, b)
	}
}

// newClientIn is a new visitor whose browser asks for lang.
func newClientIn(t *testing.T, base, lang string) *client {
	t.Helper()
	c := newClient(t, base)
	u, _ := url.Parse(base)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: i18n.Cookie, Value: lang, Path: "/"}})
	return c
}

// placeFor places an order of one unit of product as c, shipped to address.
func placeFor(t *testing.T, c *client, base, productID string, address map[string]string) string {
	t.Helper()
	var o struct{ ID string }
	if st := c.json(http.MethodPost, base+"/api/orders", map[string]any{
		"items": []map[string]any{{"product_id": productID, "qty": 1}}, "address": address}, &o); st != http.StatusCreated {
		t.Fatalf("place an order: %d", st)
	}
	return o.ID
}

// setSKU is the id of product's first option.
func setSKU(t *testing.T, api *client, productID string) string {
	t.Helper()
	var p productJSON
	if st := api.json(http.MethodGet, "/api/v1/products/"+productID, nil, &p); st != http.StatusOK || len(p.SKUs) == 0 {
		t.Fatalf("product %s: %d %+v", productID, st, p)
	}
	return p.SKUs[0].ID
}

// withLang is a context speaking lang.
func withLang(lang string) context.Context { return i18n.WithLang(context.Background(), lang) }

// TestBrowserShopInChinese drives the storefront in Chromium in Chinese: the
// footer's switch (keeping the page's query), the scripts' messages in
// Chinese on the product page, the cart and checkout, the sandbox payment
// and the check-in. TestBrowserBuyPayShip drives the same in English.
func TestBrowserShopInChinese(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	b := newBrowser(t)
	requireCJKFont(t)
	s := signUp(t, srv.URL, "e2e-zh")
	p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "西湖龙井", "category": "绿茶",
		"images": []string{"/static/demo/p01.svg"},
		"skus":   []map[string]any{{"name": "250克", "price": 1250, "stock": 5}, {"name": "500克", "price": 2300, "stock": 3}}})
	shop := srv.URL + "/s/" + s.Slug

	// The browser asks for English; the footer's 中文 switches, keeping the
	// page's query. (My orders: the home page is cached per shop, see
	// TestStorefrontCachePerLanguage.)
	b.navigate(shop+"/orders?status=paid", http.StatusOK)
	if lang := b.eval(`document.documentElement.lang`); lang != "en" {
		b.fail("the browser's page is in %q, want en", lang)
	}
	b.submit(`footer a[data-lang="zh-CN"]`, http.StatusOK)
	if lang := b.eval(`document.documentElement.lang`); lang != "zh-CN" {
		b.fail("after the switch the page is in %q", lang)
	}
	b.wantPath("/s/" + s.Slug + "/orders?status=paid")
	b.wantText(".tabs a.on", "待发货")

	b.navigate(shop+"/p/"+p.ID, http.StatusOK)
	b.wantText("[data-add-to-cart]", "加入购物车")
	b.wantText("[data-buy-now]", "立即购买")
	screenshot(t, b, "zh-product.png")
	b.click("[data-add-to-cart]")
	b.waitText("form[data-buy] [data-msg]", "请先选择规格。")
	b.click(".skus label:nth-child(1)")
	b.click("[data-add-to-cart]")
	b.waitText("form[data-buy] [data-msg]", "已加入购物车。")

	b.submit(".cart-link", http.StatusOK)
	b.wantText("h1", "购物车")
	b.wantText("[data-checkout-link]", "去结算（1）")
	b.submit("a[data-checkout-link]", http.StatusOK)
	b.wantText("h1", "确认订单")
	b.click("[data-place]")
	b.waitText("form[data-checkout] [data-msg]", "请填写收货人。")
	for sel, v := range map[string]string{"#addr-name": "李雷", "#addr-phone": "13812345678", "#addr-province": "浙江省",
		"#addr-city": "杭州市", "#addr-district": "西湖区", "#addr-detail": "龙井路1号"} {
		b.fill(sel, v)
	}
	// The region picker suggests Zhejiang's cities and Hangzhou's districts.
	suggests := `String(!!document.querySelector('#regions-city option[value="杭州市"]') &&
		!!document.querySelector('#regions-district option[value="西湖区"]') &&
		document.getElementById("addr-city").getAttribute("list") === "regions-city")`
	for i := 0; b.eval(suggests) != "true"; i++ {
		if i == 50 {
			b.fail("the region picker suggests no cities of 浙江省 or districts of 杭州市")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.submit("[data-place]", http.StatusOK)
	b.wantText("h1", "订单支付")
	b.wantText(".sandbox", "沙箱支付")
	screenshot(t, b, "zh-pay.png")
	b.submit("[data-pay]", http.StatusOK)
	b.wantText(".notice", "付款成功")
	b.wantText("[data-status]", "待发货")

	b.navigate(shop+"/me", http.StatusOK)
	b.click("[data-checkin]")
	b.waitText("[data-msg]", "签到成功")
	b.wantText("[data-today]", "今日已签到")
	b.wantText("[data-checkin]", "已签到")
	b.noPageErrors()
}

// requireCJKFont fails the test when the machine has no font for Chinese:
// Chromium would draw the pages' Chinese as empty boxes in screenshots.
// .ci/run installs fonts-wqy-microhei.
func requireCJKFont(t *testing.T) {
	t.Helper()
	out, err := exec.Command("fc-list", ":lang=zh", "family").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("no font for Chinese on this machine (fc-list :lang=zh: %v): install fonts-wqy-microhei or fonts-noto-cjk, as .ci/run does", err)
	}
}
