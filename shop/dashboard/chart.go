package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants/i18n"
)

// Charts are drawn here as SVG, on the server: no script, no CDN, the
// numbers in <title> elements and in the CSV beside each chart.

// Series is one coloured set of bars of a chart.
type Series struct {
	Label  string
	Color  string
	Values []int64
}

// Chart is one chart of the console home: its id (the CSV's chart=), its
// title and the SVG.
type Chart struct {
	ID, Title string
	SVG       template.HTML
}

const (
	chartW, chartH                = 640, 220
	padL, padR, padT, padB        = 64, 8, 28, 28
	colorBrand, colorMuted, colOK = "#e4393c", "#9a9aa0", "#2e7d32"
	colorBlue                     = "#3d6fd6"
)

// shortDate is a day as an axis shows it: 12月5日 in Chinese, 12-05 in
// English (the language's date without its year).
func shortDate(lang, day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	if lang == i18n.En {
		return t.Format("01-02")
	}
	return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
}

// fullDate is a day as the language writes it (2026年12月5日, 2026-12-05).
func fullDate(lang, day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return i18n.FormatDate(lang, t, time.UTC)
}

// niceMax rounds m up to 1, 2 or 5 times a power of ten (at least 1).
func niceMax(m int64) int64 {
	if m <= 0 {
		return 1
	}
	p := int64(1)
	for p*10 <= m {
		p *= 10
	}
	for _, k := range []int64{1, 2, 5, 10} {
		if k*p >= m {
			return k * p
		}
	}
	return 10 * p
}

// axisTicks is a value axis for values up to m: its top (niceMax(m)) and
// the number of intervals between 0 and it, chosen so every tick is a
// whole number (0, 1 for a top of 1; 0, 1, 2 for 2; 0 … 5 for 5; 0, 5, 10
// for 10).
func axisTicks(m int64) (top int64, intervals int64) {
	top = niceMax(m)
	p := int64(1)
	for p*10 <= top {
		p *= 10
	}
	switch top / p {
	case 5:
		return top, 5
	case 1:
		if top == 1 {
			return 1, 1
		}
	}
	return top, 2
}

func money(fen int64) string { return "¥" + catalog.FormatYuan(fen) }

// barChart draws days × series as grouped bars, a value axis (yuan when
// isMoney) and dates below.
func barChart(lang, title string, days []string, ss []Series, isMoney bool) template.HTML {
	var m int64
	for _, s := range ss {
		for _, v := range s.Values {
			m = max(m, v)
		}
	}
	unit := int64(1) // a tick's unit: a yuan on a money axis
	if isMoney {
		unit, m = 100, (m+99)/100
	}
	m, intervals := axisTicks(m)
	m *= unit
	label := func(v int64) string {
		if isMoney {
			return money(v)
		}
		return strconv.FormatInt(v, 10)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">`,
		chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	// Grid and value axis: whole ticks from 0 to max.
	for i := int64(0); i <= intervals; i++ {
		v := m / intervals * i
		y := float64(padT) + plotH - plotH*float64(i)/float64(intervals)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e6e6ea"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#6b6b70">%s</text>`, padL-6, y+4, html.EscapeString(label(v)))
	}
	// Legend.
	x := padL
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect x="%d" y="8" width="10" height="10" fill="%s"/><text x="%d" y="17" fill="#1d1d1f">%s</text>`,
			x, s.Color, x+14, html.EscapeString(s.Label))
		x += 24 + 12*len([]rune(s.Label))
	}
	n := len(days)
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := plotW / float64(n)
	bw := slot * 0.8 / float64(max(1, len(ss)))
	for i, day := range days {
		for j, s := range ss {
			v := int64(0)
			if i < len(s.Values) {
				v = max(0, s.Values[i])
			}
			h := plotH * float64(v) / float64(m)
			bx := float64(padL) + slot*float64(i) + slot*0.1 + bw*float64(j)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				bx, float64(padT)+plotH-h, max(bw, 0.5), h, s.Color, html.EscapeString(fullDate(lang, day)),
				html.EscapeString(s.Label), html.EscapeString(label(v)))
		}
	}
	// Dates: the first, the last and a few between.
	step := max(1, (n+5)/6)
	for i := 0; i < n; i += step {
		if n-1-i < step/2 && i != n-1 && i != 0 {
			continue
		}
		dateLabel(&b, lang, days[i], float64(padL)+slot*(float64(i)+0.5))
	}
	if (n-1)%step != 0 {
		dateLabel(&b, lang, days[n-1], float64(padL)+slot*(float64(n-1)+0.5))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func dateLabel(b *strings.Builder, lang, day string, x float64) {
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#6b6b70">%s</text>`, x, chartH-8, html.EscapeString(shortDate(lang, day)))
}

// hbarChart draws one horizontal bar per label, with its value written
// after it (shares in percent of the largest when isMoney).
func hbarChart(title string, labels []string, values []int64, notes []string, color string) template.HTML {
	rowH := 26
	h := padT + rowH*len(labels) + 8
	var m int64
	for _, v := range values {
		m = max(m, v)
	}
	m = max(m, 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">`,
		chartW, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	left, right := 120, 180
	plotW := float64(chartW - left - right)
	for i, l := range labels {
		y := padT + rowH*i
		w := plotW * float64(max(0, values[i])) / float64(m)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#1d1d1f">%s</text>`, left-8, y+15, html.EscapeString(l))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="18" fill="%s"><title>%s: %s</title></rect>`,
			left, y+2, max(w, 0.5), color, html.EscapeString(l), html.EscapeString(notes[i]))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#6b6b70">%s</text>`, float64(left)+w+6, y+15, html.EscapeString(notes[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// gaugeScale is the percent a gauge's full track stands for: 20, 50 or
// 100, the smallest that holds the rate and the healthy line with room
// beside them (a rate of 100% fills the track).
func gaugeScale(rate, healthy float64) float64 {
	need := max(rate, healthy*1.1)
	for _, s := range []float64{20, 50} {
		if need <= s*0.9 {
			return s
		}
	}
	return 100
}

// gauge draws a rate (percent) on a 0–scale bar (gaugeScale, written at
// the track's end), with the healthy line.
func gauge(title string, rate, healthy float64, rateLabel, healthyLabel string) template.HTML {
	scale := gaugeScale(rate, healthy)
	rate = min(max(rate, 0), scale)
	h := 70
	left, plotW := 16.0, float64(chartW-32)
	color := colOK
	if rate < healthy {
		color = colorBrand
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">`,
		chartW, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%.1f" y="22" width="%.1f" height="18" fill="#e6e6ea"/>`, left, plotW)
	fmt.Fprintf(&b, `<rect x="%.1f" y="22" width="%.1f" height="18" fill="%s"><title>%s</title></rect>`, left, plotW*rate/scale, color,
		html.EscapeString(rateLabel))
	hx := left + plotW*healthy/scale
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="14" y2="48" stroke="#1d1d1f" stroke-dasharray="4 3"/>`, hx, hx)
	fmt.Fprintf(&b, `<text x="%.1f" y="62" text-anchor="middle" fill="#1d1d1f">%s</text>`, hx, html.EscapeString(healthyLabel))
	fmt.Fprintf(&b, `<text x="%.1f" y="14" fill="#1d1d1f">%s</text>`, left, html.EscapeString(rateLabel))
	fmt.Fprintf(&b, `<text x="%.1f" y="62" text-anchor="end" fill="#6b6b70">%g%%</text>`, left+plotW, scale)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
