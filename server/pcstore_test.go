package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestPCStoreLink drives the PC store link through the real router: link a
// feed (a local server speaking Google's RSS), preview, sync and wait, read
// the runs, upload a TSV, get the widget; bad input is a 4xx saying what is
// wrong; the console pages work with a session.
func TestPCStoreLink(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	a.pcstore.Client().AllowPrivateNetworks(true) // the "PC store" is on loopback here
	rss, err := os.ReadFile("../shop/pcstore/testdata/feed_rss.xml")
	if err != nil {
		t.Fatal(err)
	}
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/feed.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(rss)
	}))
	defer feed.Close()
	s := signUp(t, srv.URL, "pc-shop")
	c := s.apiClient(t, srv.URL)

	var linked struct {
		Link struct {
			Type      string `json:"type"`
			URL       string `json:"url"`
			Scheduled bool   `json:"scheduled"`
		} `json:"link"`
		Preview struct {
			Count        int64 `json:"count"`
			Importable   int64 `json:"importable"`
			ProblemCount int64 `json:"problem_count"`
			Items        []struct {
				Title string `json:"title"`
				Price int64  `json:"price"`
			} `json:"items"`
		} `json:"preview"`
	}
	if status := c.json(http.MethodPost, "/api/v1/pcstore/link", map[string]string{"type": "feed", "url": feed.URL + "/feed.xml"}, &linked); status != http.StatusOK {
		t.Fatalf("link: %d", status)
	}
	if linked.Link.Type != "feed" || linked.Preview.Count != 7 || linked.Preview.Importable != 2 || linked.Preview.ProblemCount != 5 ||
		linked.Preview.Items[0].Price != 29800 {
		t.Fatalf("link answer = %+v", linked)
	}
	var list struct {
		Total int64 `json:"total"`
	}
	if c.json(http.MethodGet, "/api/v1/products", nil, &list); list.Total != 0 {
		t.Fatalf("the preview imported %d products", list.Total)
	}

	type runJSON struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Counts struct {
			Created, Updated, Unchanged, Failed int64
			OffSale                             int64 `json:"off_sale"`
		} `json:"counts"`
		Progress   *float64 `json:"progress"`
		DurationMS int64    `json:"duration_ms"`
		Errors     []struct {
			Ref, Message string
		} `json:"errors"`
	}
	var run runJSON
	if status := c.json(http.MethodPost, "/api/v1/pcstore/sync?wait=true", nil, &run); status != http.StatusOK {
		t.Fatalf("sync: %d %+v", status, run)
	}
	if run.Status != "succeeded" || run.Counts.Created != 2 || run.Counts.Failed != 5 || len(run.Errors) != 5 ||
		run.Progress == nil || *run.Progress != 1 {
		t.Fatalf("run = %+v", run)
	}
	if c.json(http.MethodGet, "/api/v1/products", nil, &list); list.Total != 2 {
		t.Errorf("%d products after the sync, want 2", list.Total)
	}
	var again runJSON
	if status := c.json(http.MethodPost, "/api/v1/pcstore/sync", nil, &again); status != http.StatusAccepted || again.ID == "" || again.ID == run.ID {
		t.Fatalf("sync without waiting: %d %+v", status, again)
	}
	var runs struct {
		Items []runJSON `json:"items"`
	}
	if status := c.json(http.MethodGet, "/api/v1/pcstore/runs?limit=5", nil, &runs); status != 200 || len(runs.Items) != 2 || runs.Items[1].ID != run.ID {
		t.Errorf("runs: %d %+v", status, runs)
	}
	var one runJSON
	if status := c.json(http.MethodGet, "/api/v1/pcstore/runs/"+run.ID, nil, &one); status != 200 || one.Counts.Created != 2 || len(one.Errors) != 5 {
		t.Errorf("run by id: %d %+v", status, one)
	}

	// An uploaded TSV replaces the feed address.
	tsv, _ := os.ReadFile("../shop/pcstore/testdata/feed.tsv")
	status, body := c.do(http.MethodPost, "/api/v1/pcstore/feed?name=catalog.tsv&assumed_stock=3", bytes.NewReader(tsv), "text/tab-separated-values")
	if status != http.StatusOK || !strings.Contains(string(body), `"upload_name":"catalog.tsv"`) || !strings.Contains(string(body), `"importable":3`) {
		t.Errorf("upload: %d %s", status, body)
	}

	var widget struct {
		Link   string `json:"link"`
		QR     string `json:"qr_url"`
		Script string `json:"script_url"`
		HTML   string `json:"html"`
	}
	if status := c.json(http.MethodGet, "/api/v1/pcstore/widget", nil, &widget); status != 200 ||
		widget.Link != srv.URL+"/s/pc-shop/?ch=pc_store" || !strings.Contains(widget.HTML, widget.Script) {
		t.Errorf("widget: %d %+v", status, widget)
	}
	anon := newClient(t, srv.URL)
	status, js := anon.do(http.MethodGet, "/s/pc-shop/pcstore/widget.js", nil, "")
	if status != 200 || !strings.Contains(string(js), "关注我们的微商城") /* the shop's language: zh-CN, unset */ || !strings.Contains(string(js), `\/s\/pc-shop\/?ch=pc_store`) &&
		!strings.Contains(string(js), `/s/pc-shop/?ch=pc_store`) {
		t.Errorf("widget.js: %d %.300s", status, js)
	}
	if status, png := anon.do(http.MethodGet, "/s/pc-shop/pcstore/qr.png?size=200", nil, ""); status != 200 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("qr.png: %d", status)
	}
	if status, _ := anon.do(http.MethodGet, "/s/pc-shop/pcstore/qr.png?size=big", nil, ""); status != 400 {
		t.Errorf("qr.png?size=big: %d", status)
	}
	if status, _ := anon.do(http.MethodGet, "/s/no-such-shop/pcstore/widget.js", nil, ""); status != 404 {
		t.Errorf("widget of a missing shop: %d", status)
	}

	t.Run("bad input is a 4xx that says what is wrong", func(t *testing.T) {
		cases := []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"unknown field", "POST", "/api/v1/pcstore/link", `{"type":"feed","url":"https://x.example/f.xml","title":"x"}`, 400, "title"},
			{"no type", "POST", "/api/v1/pcstore/link", `{"url":"https://x.example/f.xml"}`, 400, "type"},
			{"bad type", "POST", "/api/v1/pcstore/link", `{"type":"ebay","url":"https://x.example"}`, 400, "type"},
			{"javascript url", "POST", "/api/v1/pcstore/link", `{"type":"feed","url":"javascript:alert(1)"}`, 400, "url"},
			{"rate as a number", "POST", "/api/v1/pcstore/link", `{"type":"feed","url":"https://x.example/f","rates":{"USD":7.2}}`, 400, "rates"},
			{"unreachable store", "POST", "/api/v1/pcstore/link", `{"type":"feed","url":"` + feed.URL + `/missing.xml"}`, 422, "url"},
			{"malformed JSON", "POST", "/api/v1/pcstore/link", `{"type":`, 400, ""},
			{"wait not a bool", "POST", "/api/v1/pcstore/sync?wait=maybe", ``, 400, "wait"},
			{"limit zero", "GET", "/api/v1/pcstore/runs?limit=0", ``, 400, "limit"},
			{"bad before", "GET", "/api/v1/pcstore/runs?before=yesterday", ``, 400, "before"},
			{"bad errors offset", "GET", "/api/v1/pcstore/runs/" + run.ID + "?errors_offset=-1", ``, 400, "errors_offset"},
			{"malformed run id", "GET", "/api/v1/pcstore/runs/..%2F..%2Fetc", ``, 404, ""},
			{"unknown run", "GET", "/api/v1/pcstore/runs/aaaaaaaaaaaaaaaa", ``, 404, ""},
			{"empty upload", "POST", "/api/v1/pcstore/feed", ``, 400, "feed"},
			{"upload that is not a feed", "POST", "/api/v1/pcstore/feed", `{"not":"a feed"}`, 422, "url"},
			{"upload bad rates", "POST", "/api/v1/pcstore/feed?rates=USD", `id	title	price`, 400, "rates"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var e apiError
				status := c.json(tc.method, tc.path, tc.body, &e)
				if status != tc.status {
					t.Fatalf("status %d, want %d: %+v", status, tc.status, e)
				}
				if status != 404 && (e.Error.Message == "" || e.Error.Field != tc.field) {
					t.Errorf("error %+v, want a message about %q", e.Error, tc.field)
				}
			})
		}
		// None of that changed the link.
		var l struct {
			UploadName string `json:"upload_name"`
		}
		if c.json(http.MethodGet, "/api/v1/pcstore/link", nil, &l); l.UploadName != "catalog.tsv" {
			t.Errorf("link after bad input = %+v", l)
		}
	})

	t.Run("console", func(t *testing.T) {
		cc := s.consoleClient(t, srv.URL)
		status, page := cc.do(http.MethodGet, "/admin/pcstore", nil, "")
		if status != 200 || !strings.Contains(string(page), "Follow our micro-shop") || !strings.Contains(string(page), "Sync history") {
			t.Fatalf("console page: %d %.500s", status, page)
		}
		status, page = cc.form("/admin/pcstore/link", url.Values{"type": {"feed"}, "url": {feed.URL + "/feed.xml"}, "interval_minutes": {"30"}})
		if status != 200 || !strings.Contains(string(page), "Longjing Dragon Well 250 g") || !strings.Contains(string(page), `id="confirm"`) {
			t.Fatalf("preview page: %d %.500s", status, page)
		}
		// A file over the server's body limit is a 413 (the body-limit
		// middleware answers it, before the handler).
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		mw.WriteField("_csrf", cc.csrf)
		fw, _ := mw.CreateFormFile("feed", "big.tsv")
		fw.Write(bytes.Repeat([]byte("x"), 2<<20))
		mw.Close()
		status, page = cc.do(http.MethodPost, "/admin/pcstore/upload", &mp, mw.FormDataContentType())
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized upload: %d %.300s", status, page)
		}
		status, page = cc.form("/admin/pcstore/link", url.Values{"type": {"feed"}, "url": {"ftp://x"}})
		if status != 400 || !strings.Contains(string(page), "http:// or https://") {
			t.Errorf("bad address in the form: %d", status)
		}
		status, _ = cc.form("/admin/pcstore/sync", nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(cc.location, "/admin/pcstore/runs/") {
			t.Fatalf("sync now: %d → %q", status, cc.location)
		}
		runPath := cc.location
		id := strings.TrimPrefix(runPath, "/admin/pcstore/runs/")
		if _, err := a.pcstore.Wait(t.Context(), s.ID, id); err != nil {
			t.Fatal(err)
		}
		status, page = cc.do(http.MethodGet, runPath, nil, "")
		if status != 200 || !regexp.MustCompile(`id="c-unchanged">2<`).Match(page) || !strings.Contains(string(page), "Products that failed") {
			t.Errorf("run page: %d %.800s", status, page)
		}
		status, prog := cc.do(http.MethodGet, runPath+"/progress", nil, "")
		var pj runJSON
		if status != 200 || json.Unmarshal(prog, &pj) != nil || pj.Status != "succeeded" {
			t.Errorf("progress: %d %s", status, prog)
		}
		status, _ = cc.form("/admin/pcstore/unlink", nil)
		if status != http.StatusSeeOther || cc.location != "/admin/pcstore?done=unlinked" {
			t.Errorf("unlink: %d %q", status, cc.location)
		}
		if c.json(http.MethodGet, "/api/v1/products", nil, &list); list.Total != 2 {
			t.Errorf("%d products after unlinking, want them all kept (2)", list.Total)
		}
	})
}
