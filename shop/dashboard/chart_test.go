package dashboard

import (
	"regexp"
	"strings"
	"testing"
)

func TestAxisTicks(t *testing.T) {
	for _, tc := range []struct {
		given          int64
		top, intervals int64
	}{
		{0, 1, 1}, {1, 1, 1}, {2, 2, 2}, {3, 5, 5}, {5, 5, 5}, {7, 10, 2}, {10, 10, 2},
		{11, 20, 2}, {40, 50, 5}, {99, 100, 2}, {101, 200, 2},
	} {
		top, n := axisTicks(tc.given)
		if top != tc.top || n != tc.intervals {
			t.Errorf("axisTicks(%d) = %d, %d; want %d, %d", tc.given, top, n, tc.top, tc.intervals)
		}
		if top%n != 0 {
			t.Errorf("axisTicks(%d): %d / %d is not whole", tc.given, top, n)
		}
	}
}

// TestBarChartTicks: a count chart whose largest value is 1 reads 0 and 1
// on its axis, never a middle tick rounded to 0.
func TestBarChartTicks(t *testing.T) {
	svg := string(barChart("zh-CN", "订单数", []string{"2026-12-01", "2026-12-02"}, []Series{{Label: "订单", Color: colorBrand, Values: []int64{1, 0}}}, false))
	ticks := regexp.MustCompile(`text-anchor="end" fill="#6b6b70">([^<]*)<`).FindAllStringSubmatch(svg, -1)
	var got []string
	for _, m := range ticks {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != "0 1" {
		t.Errorf("ticks %v, want 0 1", got)
	}
	svg = string(barChart("zh-CN", "成交额", []string{"2026-12-01"}, []Series{{Label: "成交额", Color: colorBrand, Values: []int64{450}}}, true))
	if !strings.Contains(svg, "¥5.00<") || !strings.Contains(svg, "¥1.00<") {
		t.Errorf("money ticks: %s", svg)
	}
}

func TestGaugeFillsAtFull(t *testing.T) {
	for _, tc := range []struct{ rate, healthy, scale float64 }{
		{100, 10, 100}, {3, 10, 20}, {15, 10, 20}, {30, 10, 50}, {60, 10, 100}, {5, 40, 50},
	} {
		if got := gaugeScale(tc.rate, tc.healthy); got != tc.scale {
			t.Errorf("gaugeScale(%v, %v) = %v, want %v", tc.rate, tc.healthy, got, tc.scale)
		}
	}
	svg := string(gauge("粉丝互动率", 100, 10, "100.0%", "健康线 10.0%"))
	track := regexp.MustCompile(`<rect x="16.0" y="22" width="([0-9.]+)" height="18" fill="#e6e6ea"/>`).FindStringSubmatch(svg)
	bar := regexp.MustCompile(`<rect x="16.0" y="22" width="([0-9.]+)" height="18" fill="#2e7d32">`).FindStringSubmatch(svg)
	if track == nil || bar == nil || track[1] != bar[1] {
		t.Errorf("a 100%% rate does not fill its track: %s", svg)
	}
}
