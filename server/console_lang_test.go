package main

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/PuerkitoBio/goquery"

	"microshop/shop/fan"
	"microshop/tenants/i18n"
)

// consoleDataOf is what a merchant writing in each language types into the
// console: pages show it as it is, so the checks leave it out.
var consoleDataOf = map[string][]string{
	i18n.ZhCN: {"西湖龙井", "青瓷茶杯", "绿茶", "西湖店", "王导购", "老客户", "双十二预告", "新茶上市，欢迎品尝"},
	i18n.En:   {"Longjing tea", "Celadon cup", "Green tea", "Lakeside store", "Guide Wang", "Regulars", "December sale", "New tea is in, come and taste it"},
}

// TestConsoleInBothLanguages walks every console page Echo has registered
// (GET /admin/…, with :id filled by a real object of the shop) and the
// platform's pages (home, sign-up, sign-in), in Chinese and in English, as
// a merchant whose browser asks for that language: each page says its
// language, leaves no message id or placeholder, and a Chinese page has no
// English words (an English page no Chinese) but for what the merchant
// typed, ids and the names that stay the same in every language.
func TestConsoleInBothLanguages(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	for _, lang := range i18n.Langs {
		t.Run(lang, func(t *testing.T) {
			words := consoleDataOf[lang]
			s := signUp(t, srv.URL, "console-"+strings.ToLower(lang))
			api := s.apiClient(t, srv.URL)
			// What the shop sends fans (notices) speaks the shop's language.
			if st := api.json(http.MethodPut, "/api/v1/shop", map[string]string{"lang": lang}, nil); st != http.StatusOK {
				t.Fatalf("shop language: %d", st)
			}
			tea := api.createProduct(map[string]any{"title": words[0], "price": 3900, "stock": 10, "category": words[2]})
			api.createProduct(map[string]any{"title": words[1], "price": 6800, "stock": 0})
			var store, guide, dist, segment, campaign struct{ ID, Code string }
			api.json(http.MethodPost, "/api/v1/stores", map[string]string{"name": words[3]}, &store)
			api.json(http.MethodPost, "/api/v1/guides", map[string]string{"name": words[4], "store_id": store.ID}, &guide)
			api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000}}, nil)
			base := "/s/" + s.Slug
			if st := newShopper(t, srv.URL, s.Slug, "").json(http.MethodPost, base+"/api/distributor", nil, &dist); st != http.StatusCreated {
				t.Fatalf("join as a distributor: %d", st)
			}
			buyer := newShopper(t, srv.URL, s.Slug, "?d="+dist.Code+"&g="+guide.Code)
			paid := buyer.buy(t, tea.ID, 1)
			if st := buyer.json(http.MethodPost, base+"/api/orders/"+paid+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusOK {
				t.Fatalf("pay: %d", st)
			}
			unpaid := buyer.buy(t, tea.ID, 1)
			buyer.json(http.MethodPost, base+"/api/checkin", nil, nil)
			var buyerID string
			u, _ := url.Parse(srv.URL + base + "/")
			for _, c := range buyer.http.Jar.Cookies(u) {
				if c.Name == fan.Cookie {
					buyerID, _, _ = strings.Cut(c.Value, ".")
				}
			}
			api.json(http.MethodPost, "/api/v1/segments", map[string]any{"name": words[5], "rule": map[string]any{"tags": []string{"vip"}}}, &segment)
			api.json(http.MethodPost, "/api/v1/campaigns", map[string]any{"name": words[6], "kind": "text", "text": words[7], "rule": map[string]any{}}, &campaign)
			if buyerID == "" || segment.ID == "" || campaign.ID == "" || store.ID == "" || guide.ID == "" {
				t.Fatalf("objects: fan %q segment %+v campaign %+v store %+v guide %+v", buyerID, segment, campaign, store, guide)
			}

			var request struct{ ID string }
			if st := buyer.json(http.MethodPost, base+"/api/orders/"+paid+"/after-sales", map[string]any{"type": "refund_only",
				"reason": words[0], "amount": 100, "lines": []map[string]any{{"line": 0, "quantity": 1}}}, &request); st != http.StatusCreated {
				t.Fatalf("after-sale request: %d", st)
			}
			params := map[string]string{"products": tea.ID, "orders": paid, "after-sales": request.ID, "distributors": dist.ID, "guides": guide.ID,
				"fans": buyerID, "audience": buyerID, "segments": segment.ID, "campaigns": campaign.ID, "messages": campaign.ID}
			data := append([]string{s.Name, s.Slug, s.Email, srv.URL + "/wx/" + s.Slug, "/wx/" + s.Slug, srv.URL, dist.Code, guide.Code, "vip"}, words...)
			for _, v := range params {
				data = append(data, v)
			}
			data = append(data, unpaid, "sbx_"+paid, // the sandbox's transaction id
				"签到", "checkin", "CHECKIN") // the default check-in keywords, the merchant's to edit
			for _, v := range testAddress {
				data = append(data, v)
			}

			console := s.consoleClient(t, srv.URL)
			u, _ = url.Parse(srv.URL)
			console.http.Jar.SetCookies(u, []*http.Cookie{{Name: i18n.Cookie, Value: lang, Path: "/"}})
			visitor := newClientIn(t, srv.URL, lang)

			// The platform's pages, and its error page (a 404).
			paths := map[string]*client{"/": visitor, "/login": visitor, "/signup": visitor, notFoundPage: visitor,
				"/admin/no-such-page": console, "/docs/api": visitor, "/api/v1/openapi.json": visitor}
			for _, r := range a.echo.Routes() {
				if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, "/admin") || strings.HasSuffix(r.Path, ".png") {
					continue
				}
				path, ok := fillConsoleParams(r.Path, params)
				if !ok {
					t.Logf("%s: no object to fill it with; not walked", r.Path)
					continue
				}
				paths[path] = console
			}
			walked := checkPages(t, paths, lang, data)
			if walked < 25 {
				t.Errorf("walked %d console pages; is the route list right?", walked)
			}
		})
	}
}

// notFoundPage is a path no route serves: the walk checks the error page.
const notFoundPage = "/no-such-page"

// fillConsoleParams fills a console path's :id with the object of the
// collection it follows; false when there is none.
func fillConsoleParams(path string, params map[string]string) (string, bool) {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, ":") {
			continue
		}
		collection := parts[i-1]
		if collection == "fans" && i >= 2 && parts[i-2] == "points" {
			collection = "fans"
		}
		v, ok := params[collection]
		if !ok {
			return "", false
		}
		parts[i] = v
	}
	return strings.Join(parts, "/"), true
}

// checkPages fetches each HTML page with its client and checks its language
// (checkWords); it returns how many it checked.
func checkPages(t *testing.T, paths map[string]*client, lang string, data []string) int {
	t.Helper()
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	n := 0
	for _, path := range sorted {
		c := paths[path]
		st, body := c.do(http.MethodGet, path, nil, "")
		want := http.StatusOK
		if path == notFoundPage || strings.HasSuffix(path, "/no-such-page") {
			want = http.StatusNotFound
		}
		if st != want {
			t.Errorf("GET %s: %d %.200s", path, st, body)
			continue
		}
		if !strings.Contains(c.contentType, "text/html") {
			continue // CSV, images, JSON progress
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		n++
		if got := doc.Find("html").AttrOr("lang", ""); got != lang {
			t.Errorf("%s: <html lang=%q>, want %q", path, got, lang)
		}
		checkWords(t, path, visibleText(doc), lang, data, consoleWords)
	}
	return n
}

// sameInAnyLanguage are the names a Chinese console page shows as they
// are: product and WeChat terms Chinese merchants use in English, and what
// the language switch and noscript notes name.
var sameInAnyLanguage = map[string]bool{
	"microshop": true, "English": true, "JavaScript": true, "WeChat": true, "AppID": true, "AppSecret": true,
	"Token": true, "EncodingAESKey": true, "OpenID": true, "openid": true, "API": true, "URL": true, "QR": true,
	"CSV": true, "SKU": true, "PC": true, "ID": true, "HTTPS": true, "JSON": true, "JSSDK": true, "JS": true,
	"SDK": true, "UnionID": true, "IP": true, "GMV": true, "VIP": true, "SF": true, "Shopify": true,
	"WooCommerce": true, "Google": true, "Merchant": true, "Center": true, "XML": true, "RSS": true, "Bearer": true,
	"Authorization": true, "curl": true, "UTC": true,
}

// idLike is a word holding a digit: ids, codes, amounts with units; anID
// is an id (engine.NewID) that happens to hold none, anOpenID a WeChat
// openid (the sandbox phone's are random: about one in a hundred has no digit).
var (
	idLike   = regexp.MustCompile(`^\S*[0-9]\S*$`)
	anID     = regexp.MustCompile(`^[2-7a-z]{16}$`)
	anOpenID = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)
)

// pageWords says which words in a Chinese page are not English sentences:
// those it allows as they are, and whether ids and codes (words holding a
// digit, engine ids) may stand in it.
type pageWords struct {
	allowed map[string]bool
	ids     bool
}

// The storefront allows only the words every page shows; the console the
// WeChat and product terms merchants use in English, and ids.
var (
	storefrontWords = pageWords{allowed: sameInEveryLanguage}
	consoleWords    = pageWords{allowed: sameInAnyLanguage, ids: true}
)

// checkWords checks the words of one page: no message id, no placeholder,
// and only the page's language but for data (what people typed) and what
// allow lets stand.
func checkWords(t *testing.T, name, words, lang string, data []string, allow pageWords) {
	t.Helper()
	if m := leftID(words); m != "" {
		t.Errorf("%s: message id %q left in the page", name, m)
	}
	if strings.Contains(words, "{{") || strings.Contains(words, "<no value>") || strings.Contains(words, "%!") {
		t.Errorf("%s: a placeholder left in the page: %q", name, words)
	}
	sort.Slice(data, func(i, j int) bool { return len(data[i]) > len(data[j]) })
	for _, v := range data {
		if v != "" {
			words = strings.ReplaceAll(words, v, " ")
		}
	}
	switch lang {
	case i18n.ZhCN:
		var english []string
		for _, f := range strings.Fields(words) {
			if allow.ids && (idLike.MatchString(f) || anID.MatchString(f) || anOpenID.MatchString(f)) {
				continue
			}
			for _, w := range englishWord.FindAllString(f, -1) {
				if !allow.allowed[w] && !sameInEveryLanguage[w] {
					english = append(english, w)
				}
			}
		}
		if len(english) > 0 {
			t.Errorf("%s: English in the Chinese page: %q\n%s", name, english, words)
		}
	case i18n.En:
		if strings.ContainsFunc(strings.ReplaceAll(words, "中文", ""), isHan) {
			t.Errorf("%s: Chinese in the English page: %q", name, words)
		}
	}
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }
