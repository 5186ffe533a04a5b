package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSandboxPhone: a merchant trying the product in a browser
// creates a QR code, scans it with the sandbox phone, writes as the fan,
// answers from the fan's page, and sees the answer arrive on the phone.
// With MICROSHOP_SCREENSHOTS=<dir> it saves the phone and the fan's page.
func TestBrowserSandboxPhone(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "phone-e2e")
	// An English-speaking shop: its generated welcome is English too.
	if st := s.apiClient(t, srv.URL).json(http.MethodPut, "/api/v1/shop", map[string]string{"lang": "en"}, nil); st != http.StatusOK {
		t.Fatalf("shop language: %d", st)
	}
	b := newBrowser(t)

	b.signIn(srv.URL, s)

	b.submit(`header a[href="/admin/wechat"]`, http.StatusOK)
	b.wantText("main h1", "WeChat official account")
	b.wantText("#sandbox", "sandbox phone")
	b.submit(`#sandbox a[href="/admin/wechat/phone"]`, http.StatusOK)
	b.wantText("main h1", "Sandbox phone")

	b.fill("#scene", "window-display")
	b.submit(`form[action="/admin/wechat/qrcodes"] button[type=submit]`, http.StatusOK)
	b.wantText(".notice", "QR code created")
	b.submit(`form[action="/admin/wechat/phone/scan"] button[type=submit]`, http.StatusOK)
	b.wantText("#result", "answered 200")
	b.wantText("#chat", "Thanks for following")
	b.fill(`form.send input[name=text]`, "Do you ship to Hangzhou? 包邮吗?")
	b.submit(`form.send button[type=submit]`, http.StatusOK)
	b.wantText("#chat", "包邮吗?")
	screenshot(t, b, "phone.png")

	b.navigate(srv.URL+"/admin/fans", http.StatusOK)
	b.wantText("main table", "window-display")
	b.submit(`main table a[href^="/admin/fans/"]`, http.StatusOK)
	b.wantText("main", "包邮吗?")
	b.wantText("#window", "5 more messages")
	b.fill("#text", "Yes, free shipping over ¥99.")
	b.submit(`form[action$="/reply"] button[type=submit]`, http.StatusOK)
	b.wantText(".notice", "Message sent.")
	b.wantText("#window", "4 more messages")
	screenshot(t, b, "fan.png")

	b.navigate(srv.URL+"/admin/wechat/phone", http.StatusOK)
	b.wantText("#chat", "free shipping over ¥99")
	b.navigate(srv.URL+"/admin/wechat/outbox", http.StatusOK)
	b.wantText("main table", "delivered")
	screenshot(t, b, "outbox.png")
	b.navigate(srv.URL+"/admin/wechat", http.StatusOK)
	screenshot(t, b, "settings.png")
	if row := b.text("#qrcodes table"); !strings.Contains(row, "window-display") {
		t.Errorf("QR codes on the WeChat page: %q", row)
	}
	b.noPageErrors()
}

// screenshot saves the page under $MICROSHOP_SCREENSHOTS, if set.
func screenshot(t *testing.T, b *browser, name string) {
	dir := os.Getenv("MICROSHOP_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
