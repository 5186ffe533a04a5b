// Package vote owns a shop's "I want a group deal" (我想团) votes: rounds in
// which the merchant puts candidate products up, shoppers who have really
// bought spending limited ballots on what they want, and the results the
// merchant reads before stocking.
//
// The rules, as the seed (Taobao Juhuasuan) has them:
//
//   - Ballots come from spending: one per ¥100 of the fan's paid, not
//     refunded orders in the shop (Spending, computed from what shop/order
//     keeps). Each vote spends one; a refund never deletes a vote cast, it
//     only earns no new ballots, and the ballots left never go below zero.
//   - At most DailyVotes votes per fan per China day, one vote per product
//     per round.
//   - Rounds open at 08:00 China time and run 24 hours; Friday's round runs
//     to Monday 08:00. A shop may start one at once, and may extend one
//     (up to MaxRound).
//   - Every page load shows the round's products in a new random order.
//
// Exactly once without multi-record transactions: a vote is one store
// method. On SQLite it is one transaction (the vote's unique key (round,
// product, fan), then one conditional update of the fan's ballot record:
// used < earned and the day's count < DailyVotes). On MongoDB it is one
// conditional update of the fan's ballot document, which carries the keys
// of the fan's votes (voted $nin, used $lt, day_count $lt), and then the
// vote record and the product's counters are written (idempotently by the
// vote's key).
package vote

import (
	"net/http"
	"time"

	"microshop/tenants/fault"
)

// Rules of the vote.
const (
	// BallotSpend is the spending (fen) that earns one ballot: ¥100.
	BallotSpend = 100_00
	// DailyVotes is how many votes a fan may cast per China day.
	DailyVotes = 5
	// MaxItems is how many products a round may hold.
	MaxItems = 50
	// MaxRound is the longest a round may run (a holiday's extension).
	MaxRound = 7 * 24 * time.Hour
	// MinRound is the shortest.
	MinRound = time.Hour
	// SetupGrace is how long after starting at once a round still takes
	// products; a round that starts at its window takes them only before.
	SetupGrace = 15 * time.Minute
	// OpenHour is when rounds open, China time.
	OpenHour = 8
)

// China is the zone rounds and the daily limit are counted in.
var China = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// Errors a voter may get.
var (
	errVoted     = fault.New(http.StatusConflict, "already_voted", "you have voted for this product in this round")
	errDaily     = fault.New(http.StatusTooManyRequests, "daily_limit", "at most %d votes a day; come back tomorrow", DailyVotes)
	errNoBallots = fault.New(http.StatusForbidden, "no_ballots", "no ballots left: every ¥100 spent in the shop earns one")
	errClosed    = fault.New(http.StatusConflict, "round_closed", "there is no vote open now")
	errRemoved   = fault.New(http.StatusConflict, "product_removed", "the product was removed from this round: its votes were found brushed")
	// errNoMarketBallots is errNoBallots in the market's rounds.
	errNoMarketBallots = fault.New(http.StatusForbidden, "no_ballots", "no ballots left: every ¥100 spent across the market earns one")
)

// Round is one vote of the shop: a time window and the products in it.
type Round struct {
	ID       string    `json:"id"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	// AtOnce marks a round the merchant started at once (it takes products
	// for SetupGrace after starting).
	AtOnce    bool      `json:"started_at_once"`
	CreatedAt time.Time `json:"created_at"`
}

// Round states.
const (
	Scheduled = "scheduled"
	Open      = "open"
	Ended     = "ended"
)

// State is the round's state at now.
func (r Round) State(now time.Time) string {
	switch {
	case now.Before(r.StartsAt):
		return Scheduled
	case now.Before(r.EndsAt):
		return Open
	}
	return Ended
}

// takesProducts says whether products may still be added at now.
func (r Round) takesProducts(now time.Time) bool {
	if now.Before(r.StartsAt) {
		return true
	}
	return r.AtOnce && now.Before(r.StartsAt.Add(SetupGrace)) && now.Before(r.EndsAt)
}

// Item is one product in a round, its title, picture and price as they
// were when it was added, what the merchant expects to sell it for as a
// group deal, the votes it aims for and the votes it has.
type Item struct {
	RoundID       string    `json:"round_id"`
	ProductID     string    `json:"product_id"`
	Title         string    `json:"title"`
	Image         string    `json:"image"`
	Price         int64     `json:"price"`
	ExpectedPrice int64     `json:"expected_price"`
	TargetVotes   int64     `json:"target_votes"`
	Votes         int64     `json:"votes"`
	AddedAt       time.Time `json:"added_at"`
	// State is listed (voted on), pending or rejected (a market
	// registration before or after the operator's decision) or removed
	// (found brushed: its votes no longer count); Note the reason.
	State string `json:"state"`
	Note  string `json:"note,omitempty"`
	// ShopID is the product's shop (market rounds; "" in a shop's).
	ShopID string `json:"shop_id,omitempty"`
}

// Item states.
const (
	ItemListed   = "listed"
	ItemPending  = "pending"
	ItemRejected = "rejected"
	ItemRemoved  = "removed"
)

// state is the item's state ("" from before states were kept: listed).
func (it Item) state() string {
	if it.State == "" {
		return ItemListed
	}
	return it.State
}

// Listed says whether the item is voted on (and its votes count).
func (it Item) Listed() bool { return it.state() == ItemListed }

// Vote is one fan's vote for one product of a round.
type Vote struct {
	RoundID   string
	ProductID string
	FanID     string
	Day       string // the China day it was cast (2006-01-02)
	At        time.Time
	// Addr is a hash of the voter's latest order address ("" for none),
	// Fresh whether the voter's first paid order was less than
	// FreshAccount before the vote: what the brushing checks read.
	Addr  string
	Fresh bool
}

// key is the vote's unique key.
func (v Vote) key() string { return v.RoundID + ":" + v.ProductID }

// hour is the hour (UTC, truncated) the vote counts in.
func (v Vote) hour() time.Time { return v.At.UTC().Truncate(time.Hour) }

// Account is a fan's ballot record: the ballots used ever, the China day
// of the latest vote and how many votes were cast that day, and the
// products the fan voted for in one round.
type Account struct {
	Used     int64
	Day      string
	DayCount int
	Voted    []string // product ids, in the round asked about
}

// Ballots is what a fan holds at a moment: the ballots left and the votes
// still allowed today.
type Ballots struct {
	Earned    int64 `json:"earned"`
	Used      int64 `json:"used"`
	Remaining int64 `json:"ballots"`
	LeftToday int   `json:"votes_left_today"`
}

// ballots is what the fan holds with earned ballots, on day.
func (a Account) ballots(earned int64, day string) Ballots {
	b := Ballots{Earned: earned, Used: a.Used, Remaining: max(0, earned-a.Used), LeftToday: DailyVotes}
	if a.Day == day {
		b.LeftToday = max(0, DailyVotes-a.DayCount)
	}
	return b
}

// Point is one hour's votes of a product.
type Point struct {
	At    time.Time `json:"at"`
	Votes int64     `json:"votes"`
}

// nextOpen is the first 08:00 China time strictly after t that is not a
// Saturday or a Sunday (Friday's round covers the weekend).
func nextOpen(t time.Time) time.Time {
	c := t.In(China)
	d := time.Date(c.Year(), c.Month(), c.Day(), OpenHour, 0, 0, 0, China)
	if !d.After(c) {
		d = d.AddDate(0, 0, 1)
	}
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d.UTC()
}

// Window is the default round after now: from the next 08:00 China time
// (Monday's after a Friday) to the following one, so a Friday round runs
// 72 hours, to Monday 08:00.
func Window(now time.Time) (start, end time.Time) {
	start = nextOpen(now)
	return start, nextOpen(start)
}

// ChinaDay is t's China calendar day (2006-01-02).
func ChinaDay(t time.Time) string { return t.In(China).Format(time.DateOnly) }
