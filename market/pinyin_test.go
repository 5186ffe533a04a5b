package market

import (
	"slices"
	"testing"
)

func TestPinyinInitials(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"西湖龙井绿茶 250克", "xhljlc 250k"},
		{"云南普洱熟茶饼", "ynpescb"},
		{"led护眼台灯", "ledhytd"},
		{"啊座", "az"}, // the first and the last level-1 characters
		{"丶", " "},   // not level 1: no initial
	} {
		if got := initials(c.in); got != c.want {
			t.Errorf("initials(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPinyinInitialsFindTitles(t *testing.T) {
	ix := NewIndex()
	ix.Put(
		Item{ID: "t/a", TenantID: "t", Title: "西湖龙井绿茶 250克"},
		Item{ID: "t/b", TenantID: "t", Title: "云南普洱熟茶饼"},
		Item{ID: "t/c", TenantID: "t", Title: "ＬＥＤ 护眼台灯"},
		Item{ID: "t/d", TenantID: "t", Title: "新会陈皮"},
	)
	all := func(string) bool { return true }
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"xhlj", []string{"t/a"}},
		{"XHLJ", []string{"t/a"}}, // case folds
		{"lc", []string{"t/a"}},
		{"xhljlc", []string{"t/a"}},
		{"xh lc", []string{"t/a"}},
		{"pe", []string{"t/b"}},
		{"hytd", []string{"t/c"}},
		{"led", []string{"t/c"}}, // the letters themselves first: no initials asked
		{"xj", nil},
		{"xhljx", nil},
		{"xhlj 普洱", nil}, // not letters only
	} {
		top, total := ix.Top(c.q, 10, nil, all)
		var got []string
		for _, h := range top {
			got = append(got, h.Item.ID)
			if c.q != "led" && h.Relevance != pinyinRelevance {
				t.Errorf("%q: relevance %v, want %v", c.q, h.Relevance, pinyinRelevance)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || total != len(c.want) {
			t.Errorf("Top(%q) = %v (total %d), want %v", c.q, got, total, c.want)
		}
	}
}
