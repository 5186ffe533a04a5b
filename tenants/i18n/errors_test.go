package i18n

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestErrorCatalog: every translated error format takes the same arguments
// as its English original, and is Chinese.
func TestErrorCatalog(t *testing.T) {
	c := mustCatalog(t)
	for en, zh := range c.ErrorFormats(ZhCN) {
		ve := Verbs(en)
		if strings.HasPrefix(en, "field ") { // a field in a list: each [] is its place, a %d
			for range strings.Count(en, "[]") {
				ve = append(ve, "d")
			}
		}
		if vz := Verbs(zh); !slices.Equal(ve, vz) {
			t.Errorf("%q: verbs %v, its translation %q has %v", en, ve, zh, vz)
		}
		if !hasHan(zh) {
			t.Errorf("%q: translation %q has no Chinese", en, zh)
		}
	}
	t.Logf("error formats translated: zh-CN %d", len(c.ErrorFormats(ZhCN)))
}

func TestVerbs(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"must be at most %d characters, got %d", []string{"d", "d"}},
		{"%q is not a %s id (100%%)", []string{"q", "s"}},
		{"第 %[2]d 行：%[1]s", []string{"s", "d"}},
		{"plain", nil},
	} {
		if got := Verbs(tc.format); !slices.Equal(got, tc.want) {
			t.Errorf("Verbs(%q) = %v, want %v", tc.format, got, tc.want)
		}
	}
}

func TestSprintf(t *testing.T) {
	c := mustCatalog(t)
	if got := c.Sprintf(ZhCN, "must be at most %d characters, got %d", 5, 7); got != "最多 5 个字，现在是 7 个" {
		t.Errorf("zh-CN: %q", got)
	}
	if got := c.Sprintf(En, "must be at most %d characters, got %d", 5, 7); got != "must be at most 5 characters, got 7" {
		t.Errorf("en: %q", got)
	}
	if got := c.Sprintf(ZhCN, "an error nobody translated %d", 1); got != "an error nobody translated 1" {
		t.Errorf("unknown format: %q", got)
	}
	if got := Phrase(ZhCN, "100% sure"); got != "100% sure" {
		t.Errorf("Phrase: %q", got)
	}
}

// TestLoadSplitCatalogs: a language's messages may be split across area
// files; an id in two of them is refused.
func TestLoadSplitCatalogs(t *testing.T) {
	fsys := fstest.MapFS{
		"zh-CN.toml": {Data: []byte(`a = "甲"`)}, "console.zh-CN.toml": {Data: []byte(`b = "乙"`)},
		"en.toml": {Data: []byte(`a = "A"`)}, "console.en.toml": {Data: []byte(`b = "B"`)},
		"errors/zh-CN.toml": {Data: []byte(`"is wrong" = "不对"`)},
	}
	c, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if c.T(ZhCN, "b") != "乙" || c.T(En, "a") != "A" || c.Sprintf(ZhCN, "is wrong") != "不对" {
		t.Errorf("split catalogs: %q %q %q", c.T(ZhCN, "b"), c.T(En, "a"), c.Sprintf(ZhCN, "is wrong"))
	}
	fsys["more.en.toml"] = &fstest.MapFile{Data: []byte(`a = "again"`)}
	if _, err := Load(fsys); err == nil {
		t.Error("an id defined twice loaded")
	}
}
