package main

import (
	"net/http"
	"testing"
)

// TestBrowserBroadcastFormShowsTheChosenKind: the broadcast form shows the
// fields of the kind of message chosen (an article's title and link, a
// template's id and fields), not every kind's at once.
func TestBrowserBroadcastFormShowsTheChosenKind(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "kinds-e2e")
	b := newBrowser(t)
	b.signIn(srv.URL, s)
	b.navigate(srv.URL+"/admin/messages", http.StatusOK)
	shown := func() string {
		return b.eval(`[...document.querySelectorAll("[data-kind-of]")].filter(f => !f.hidden).map(f => f.dataset.kindOf).join(",")`)
	}
	if got := shown(); got != "" { // a text message, the default
		t.Errorf("on load the form shows the fields of %q, want none of the other kinds'", got)
	}
	for _, kind := range []string{"article", "template", "text"} {
		b.eval(`(s => { s.value = "` + kind + `"; s.dispatchEvent(new Event("change", {bubbles: true})); return s.value })(document.querySelector("#kind"))`)
		want := kind
		if kind == "text" {
			want = ""
		}
		if got := shown(); got != want {
			t.Errorf("kind %s: the form shows the fields of %q, want %q", kind, got, want)
		}
	}
}
