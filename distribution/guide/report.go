package guide

import (
	"context"
	"fmt"
	"sort"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// ReportQuery is a funnel report request: rows per guide or per store
// (Group), per day, week, month or over the whole range (Period), of one
// guide or store or of every one.
type ReportQuery struct {
	Group, Period    string
	From, To         string // days, inclusive
	GuideID, StoreID string
}

// Resolve fills in q's defaults (rows per guide over the whole range, the
// 30 days up to today) and checks it.
func (q ReportQuery) Resolve(today string) (ReportQuery, error) {
	if q.Group == "" {
		q.Group = "guide"
	}
	if q.Period == "" {
		q.Period = "range"
	}
	if q.To == "" {
		q.To = today
	}
	to, err := time.Parse("2006-01-02", q.To)
	if err != nil {
		return q, fault.Invalid("to", "must be a date like 2026-11-24")
	}
	if q.From == "" {
		q.From = to.AddDate(0, 0, -29).Format("2006-01-02")
	}
	from, err := time.Parse("2006-01-02", q.From)
	if err != nil {
		return q, fault.Invalid("from", "must be a date like 2026-11-01")
	}
	if from.After(to) {
		return q, fault.Invalid("from", "must not be after to")
	}
	if to.Sub(from) > 3*366*24*time.Hour {
		return q, fault.Invalid("from", "a report spans at most three years")
	}
	for _, id := range []struct{ field, what, id string }{{"guide_id", "guide", q.GuideID}, {"store_id", "store", q.StoreID}} {
		if id.id != "" {
			if err := engine.CheckID(id.field, id.what, id.id); err != nil {
				return q, err
			}
		}
	}
	return q, nil
}

// Funnel is a funnel report: its rows and their total.
type Funnel struct {
	Group  string `json:"group"`
	Period string `json:"period"`
	From   string `json:"from"`
	To     string `json:"to"`
	Rows   []Row  `json:"rows"`
	Total  Row    `json:"total"`
}

// Funnel builds the report q (as Resolve returns it) asks for, with the
// guides' or stores' names.
func (g *Guides) Funnel(ctx context.Context, tenantID string, q ReportQuery) (Funnel, error) {
	days, err := g.store.Days(ctx, tenantID, DayFilter{GuideID: q.GuideID, StoreID: q.StoreID, From: q.From, To: q.To})
	if err != nil {
		return Funnel{}, err
	}
	names, err := g.Names(ctx, tenantID, q.Group)
	if err != nil {
		return Funnel{}, err
	}
	rows, err := Report(days, q.Group, q.Period, names)
	if err != nil {
		return Funnel{}, err
	}
	return Funnel{Group: q.Group, Period: q.Period, From: q.From, To: q.To, Rows: rows, Total: Total(days)}, nil
}

// Row is one line of a funnel report.
type Row struct {
	Key    string `json:"key"`    // the guide or store id ("" for the total)
	Name   string `json:"name"`   // its name
	Period string `json:"period"` // the day, week (2026-W48) or month (2026-11); "" for the whole range
	Counts
	// Conversion is orders per visit, in percent (one decimal).
	Conversion float64 `json:"conversion"`
}

// Report adds days up by group ("guide" or "store") and period ("day",
// "week", "month" or "" for the whole range), sorted by key then period.
func Report(days []Day, group, period string, names map[string]string) ([]Row, error) {
	if group != "guide" && group != "store" {
		return nil, fault.Invalid("group", "must be guide or store")
	}
	rows := map[[2]string]*Row{}
	for _, d := range days {
		key := d.GuideID
		if group == "store" {
			key = d.StoreID
		}
		p, err := periodOf(d.Day, period)
		if err != nil {
			return nil, err
		}
		k := [2]string{key, p}
		r := rows[k]
		if r == nil {
			r = &Row{Key: key, Name: names[key], Period: p}
			rows[k] = r
		}
		r.add(d.Counts)
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		r.Conversion = conversion(r.Counts)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PaidGMV != out[j].PaidGMV && period == "" {
			return out[i].PaidGMV > out[j].PaidGMV // a leaderboard over the range
		}
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Period < out[j].Period
	})
	return out, nil
}

// Total adds every day up.
func Total(days []Day) Row {
	var r Row
	for _, d := range days {
		r.add(d.Counts)
	}
	r.Conversion = conversion(r.Counts)
	return r
}

func conversion(c Counts) float64 {
	if c.Visits == 0 {
		return 0
	}
	return float64(c.Orders*1000/c.Visits) / 10
}

func periodOf(day, period string) (string, error) {
	switch period {
	case "", "range":
		return "", nil
	case "day":
		return day, nil
	case "week", "month":
		t, err := time.Parse("2006-01-02", day)
		if err != nil {
			return "", fmt.Errorf("funnel day %q: %w", day, err)
		}
		if period == "month" {
			return t.Format("2006-01"), nil
		}
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w), nil
	}
	return "", fault.Invalid("period", "must be day, week, month or range")
}
