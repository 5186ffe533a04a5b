// Package points owns a shop's loyalty points: the check-in rules, daily
// check-ins with streak and cumulative bonuses, the points ledger, the lots
// points are held in (each with its expiry, spent earliest-expiring first),
// points earned on paid orders and clawed back on refunds, redemption at
// checkout, expiry, and the reminders around them.
//
// # Exactly once
//
//   - One check-in per fan per local day: a check-in record keyed by (fan,
//     day in the shop's time zone) is inserted before anything is awarded;
//     of any number of concurrent check-ins only the one whose insert wins
//     applies the award. The award itself is a ledger batch keyed by the day
//     (below), so the repair of an interrupted award (the fan's next
//     check-in, or the cron pass, re-applies records not marked applied) is
//     a no-op when it had in fact been applied.
//   - The ledger is append-only. Every entry has a key naming its cause
//     (checkin:<day>, order:<order id>, clawback:<order>:<refund>,
//     redeem:<order>, expire:<lot>, adjust:<id>), unique per fan, and a
//     per-fan sequence number. Entries are written in batches; a batch is
//     applied whole or not at all and is recognised by its first key, so
//     a replayed batch changes nothing.
//   - A fan's balance and lots change atomically with the batch's entries,
//     inside one store method (Store.Apply):
//   - SQLite: one transaction over the ledger rows and the account row
//     (the unique (fan, key) is checked first, the account read, the
//     batch computed, both written).
//   - MongoDB: the fan's account is one document holding the balance,
//     the lots, a revision and an outbox of entries not yet copied to the
//     ledger collection ("pending"). Apply reads the account, refuses a
//     batch whose key is in the outbox or already in the ledger, computes
//     the new state and writes it with the new entries appended to the
//     outbox in one update conditional on the revision it read (a race
//     retries). It then copies the outbox to the ledger (unique keys make
//     a second copy a no-op) and empties the outbox, still conditional on
//     the revision. A crash between the account update and the copy
//     leaves the entries in the outbox, marked dirty: the next Apply or
//     read of that fan, or the cron pass over dirty accounts, copies them.
//     The order matters: the ledger copy happens before the outbox is
//     emptied, and Apply reads the account before it looks in the ledger,
//     so a key is always found in one of the two.
//   - Expiry is an entry per lot (expire:<lot id>) written in the same
//     atomic step that removes the lot, so a lot expires once however
//     often the cron pass runs or crashes.
//   - The balance never goes negative: a debit larger than the balance is
//     refused (redemption, a merchant's deduction) or capped at the balance
//     with the shortfall noted (a refund clawback); SQLite also checks it.
//   - A fan's account can be rebuilt from the ledger alone (Rebuild): the
//     entries record every lot they credited or debited.
//   - Counters (check-ins and points per day, points outstanding in 16
//     shards) move in the same transaction on SQLite and right after the
//     account update on MongoDB, where a crash in between leaves them
//     short until the rebuild (RebuildCounters).
package points

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"microshop/tenants/fault"
)

// Entry kinds.
const (
	KindCheckin      = "checkin"
	KindStreak       = "streak_bonus"
	KindCumulative   = "cumulative_bonus"
	KindOrder        = "order_reward"
	KindClawback     = "refund_clawback"
	KindRedeem       = "redemption"
	KindRedeemReturn = "redemption_return"
	KindExpiry       = "expiry"
	KindAdjust       = "adjustment"
)

// ErrInsufficient is a debit larger than the fan's balance.
var ErrInsufficient = fault.New(http.StatusConflict, "insufficient_points", "not enough points")

// Move is what one entry did to one lot: points added (credit) or taken
// (debit, negative). A credit names the lot's expiry, so the lot can be
// recreated from the ledger alone.
type Move struct {
	Lot       string    `json:"lot" bson:"lot"`
	Points    int64     `json:"points" bson:"points"`
	ExpiresAt time.Time `json:"expires_at,omitzero" bson:"expires_at,omitempty"`
}

// Entry is one line of a fan's ledger.
type Entry struct {
	FanID string `json:"fan_id" bson:"fan_id"`
	// Key names the entry's cause; unique per fan.
	Key string `json:"key" bson:"key"`
	// Seq numbers the fan's entries from 1, in the order they applied.
	Seq     int64  `json:"seq" bson:"seq"`
	Kind    string `json:"kind" bson:"kind"`
	Points  int64  `json:"points" bson:"points"`
	Balance int64  `json:"balance" bson:"balance"` // after the entry
	Moves   []Move `json:"moves" bson:"moves"`
	OrderID string `json:"order_id,omitempty" bson:"order_id,omitempty"`
	Reason  string `json:"reason,omitempty" bson:"reason,omitempty"`
	By      string `json:"by,omitempty" bson:"by,omitempty"`
	// Note says what the shop should know (a clawback capped at the balance).
	Note string    `json:"note,omitempty" bson:"note,omitempty"`
	At   time.Time `json:"at" bson:"at"`
}

// Lot is points held together with one expiry.
type Lot struct {
	ID        string    `json:"id" bson:"id"`
	Points    int64     `json:"points" bson:"points"`
	ExpiresAt time.Time `json:"expires_at,omitzero" bson:"expires_at,omitempty"` // zero: never
}

// Account is a fan's points: the balance, the lots it is held in, and the
// figures the console and reminders read.
type Account struct {
	FanID   string `json:"fan_id"`
	Balance int64  `json:"balance"`
	// Lots hold the balance, earliest expiry first, never-expiring last.
	Lots []Lot `json:"lots"`
	Seq  int64 `json:"-"`
	Rev  int64 `json:"-"`
	// Earned, Spent and Expired are running totals.
	Earned  int64 `json:"earned"`
	Spent   int64 `json:"spent"`
	Expired int64 `json:"expired"`
	// NextExpiry is the earliest lot expiry (zero: none).
	NextExpiry time.Time `json:"next_expiry,omitzero"`
	// Reminded says the fan was told about NextExpiry.
	Reminded bool `json:"-"`
	// LastDay is the fan's last check-in day, Streak the consecutive days
	// up to it, Days all check-in days.
	LastDay string `json:"last_checkin_day,omitempty"`
	Streak  int    `json:"streak"`
	Days    int    `json:"checkin_days"`
	// Reminder is the fan's opt-in to a daily check-in reminder;
	// RemindedDay the last day one was sent.
	Reminder    bool   `json:"checkin_reminder"`
	RemindedDay string `json:"-"`
	// Pending are entries not yet copied to the ledger (MongoDB only).
	Pending []Entry `json:"-"`
}

// CurrentStreak is the streak if it is still alive on day today (checked
// in today or yesterday), else 0.
func (a Account) CurrentStreak(today string) int {
	if a.LastDay == today || a.LastDay == addDays(today, -1) {
		return a.Streak
	}
	return 0
}

// Op is one change a batch makes to an account.
type Op struct {
	Key  string
	Kind string
	// Points credits (> 0) a new lot expiring at ExpiresAt, or debits
	// (< 0) lots earliest expiry first.
	Points    int64
	ExpiresAt time.Time
	// Lots, for a credit, are the lots to add instead (a redemption's
	// points coming back with their original expiries).
	Lots []Move
	// Cap takes at most the balance for a debit, noting the shortfall,
	// instead of refusing it.
	Cap bool
	// Prefer, for a debit, are lots to take from first (a clawback takes
	// from the lot the order's reward went to).
	Prefer []string
	// ExpireDue, for a KindExpiry op, expires every lot whose expiry is at
	// or before it, one entry per lot (keys expire:<lot>).
	ExpireDue time.Time
	// Checkin records the check-in day on the account (streak, days).
	Checkin *Checkin
	OrderID string
	Reason  string
	By      string
}

// Batch is ops applied together. It is identified by its first op's key
// (a batch of expiries has none: it expires what is due, which a replay
// finds already gone).
type Batch struct {
	Ops []Op
	At  time.Time
	// Day, when the batch is a check-in award, is the day its counters
	// go to.
	Day string
}

// Key is the batch's identity ("" for expiry batches).
func (b Batch) Key() string {
	if len(b.Ops) == 0 {
		return ""
	}
	return b.Ops[0].Key
}

// Result is what Apply did.
type Result struct {
	Applied bool
	Entries []Entry
	Account Account
}

// Net is the points the batch's entries added (negative: took).
func (r Result) Net() int64 {
	var n int64
	for _, e := range r.Entries {
		n += e.Points
	}
	return n
}

// apply computes what batch b does to the account: the account after it,
// at the next revision, and the entries it writes (Applied); or, when it
// writes nothing, the account as it is (not Applied). It is the one piece
// of arithmetic both stores run inside their atomic step.
func (a Account) apply(b Batch) (Result, error) {
	next := a
	next.Rev = a.Rev + 1
	next.Lots = append([]Lot(nil), a.Lots...)
	var out []Entry
	for _, op := range b.Ops {
		if op.Kind == KindExpiry {
			es := next.expire(op.ExpireDue, b.At)
			out = append(out, es...)
			continue
		}
		e := Entry{FanID: a.FanID, Key: op.Key, Kind: op.Kind, OrderID: op.OrderID, Reason: op.Reason, By: op.By, At: b.At}
		if e.Key == "" {
			return Result{}, fmt.Errorf("points: an op of kind %s has no key", op.Kind)
		}
		next.Seq++
		e.Seq = next.Seq
		switch {
		case len(op.Lots) > 0:
			for i, m := range op.Lots {
				if m.Points <= 0 {
					return Result{}, fmt.Errorf("points: lot credit of %d", m.Points)
				}
				e.Moves = append(e.Moves, next.credit(m.Points, m.ExpiresAt, next.Seq, i))
				e.Points += m.Points
			}
			next.Earned += e.Points
		case op.Points > 0:
			e.Moves = []Move{next.credit(op.Points, op.ExpiresAt, next.Seq, 0)}
			e.Points = op.Points
			next.Earned += e.Points
		case op.Points < 0:
			want := -op.Points
			if want > next.Balance {
				if !op.Cap {
					return Result{}, ErrInsufficient
				}
				e.Note = fmt.Sprintf("%d points were due but the balance was %d; %d could not be taken back", want, next.Balance, want-next.Balance)
				want = next.Balance
			}
			e.Moves = next.debit(want, op.Prefer)
			e.Points = -want
			next.Spent += want
		}
		next.Balance += e.Points
		e.Balance = next.Balance
		if c := op.Checkin; c != nil && c.Day > next.LastDay {
			next.LastDay, next.Streak, next.Days = c.Day, c.Streak, c.Days
		}
		if e.Moves == nil {
			e.Moves = []Move{}
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return Result{Account: a}, nil
	}
	next.settle()
	return Result{Applied: true, Entries: out, Account: next}, nil
}

// credit adds points to the lot expiring at exp (creating lot L<seq>[.i]).
func (a *Account) credit(points int64, exp time.Time, seq int64, i int) Move {
	exp = exp.UTC()
	for j := range a.Lots {
		if a.Lots[j].ExpiresAt.Equal(exp) {
			a.Lots[j].Points += points
			return Move{Lot: a.Lots[j].ID, Points: points, ExpiresAt: exp}
		}
	}
	id := "L" + strconv.FormatInt(seq, 10)
	if i > 0 {
		id += "." + strconv.Itoa(i)
	}
	a.Lots = append(a.Lots, Lot{ID: id, Points: points, ExpiresAt: exp})
	sortLots(a.Lots)
	return Move{Lot: id, Points: points, ExpiresAt: exp}
}

// debit takes points from the lots: the preferred ones first, then
// earliest expiry first.
func (a *Account) debit(points int64, prefer []string) []Move {
	var moves []Move
	take := func(j int) {
		n := min(points, a.Lots[j].Points)
		if n == 0 {
			return
		}
		a.Lots[j].Points -= n
		points -= n
		moves = append(moves, Move{Lot: a.Lots[j].ID, Points: -n, ExpiresAt: a.Lots[j].ExpiresAt})
	}
	for _, id := range prefer {
		for j := range a.Lots {
			if a.Lots[j].ID == id && points > 0 {
				take(j)
			}
		}
	}
	for j := 0; j < len(a.Lots) && points > 0; j++ {
		take(j)
	}
	return moves
}

// expire removes the lots due at due, one entry each.
func (a *Account) expire(due, at time.Time) []Entry {
	var out []Entry
	for _, l := range a.Lots {
		if l.ExpiresAt.IsZero() || l.ExpiresAt.After(due) || l.Points <= 0 {
			continue
		}
		a.Seq++
		a.Balance -= l.Points
		a.Expired += l.Points
		out = append(out, Entry{FanID: a.FanID, Key: "expire:" + l.ID, Seq: a.Seq, Kind: KindExpiry, Points: -l.Points,
			Balance: a.Balance, Moves: []Move{{Lot: l.ID, Points: -l.Points, ExpiresAt: l.ExpiresAt}}, At: at})
	}
	for i := range a.Lots {
		if !a.Lots[i].ExpiresAt.IsZero() && !a.Lots[i].ExpiresAt.After(due) {
			a.Lots[i].Points = 0
		}
	}
	return out
}

// settle drops empty lots and recomputes the next expiry; a new next
// expiry needs a new reminder.
func (a *Account) settle() {
	kept := a.Lots[:0]
	for _, l := range a.Lots {
		if l.Points > 0 {
			kept = append(kept, l)
		}
	}
	a.Lots = kept
	sortLots(a.Lots)
	var next time.Time
	for _, l := range a.Lots {
		if !l.ExpiresAt.IsZero() && (next.IsZero() || l.ExpiresAt.Before(next)) {
			next = l.ExpiresAt
		}
	}
	if !next.Equal(a.NextExpiry) {
		a.Reminded = false
	}
	a.NextExpiry = next
}

// sortLots orders lots earliest expiry first, never-expiring last, then
// by id (creation).
func sortLots(lots []Lot) {
	sort.SliceStable(lots, func(i, j int) bool {
		ei, ej := lots[i].ExpiresAt, lots[j].ExpiresAt
		switch {
		case ei.IsZero() != ej.IsZero():
			return ej.IsZero()
		case !ei.Equal(ej):
			return ei.Before(ej)
		}
		return lotNum(lots[i].ID) < lotNum(lots[j].ID)
	})
}

func lotNum(id string) float64 {
	f, _ := strconv.ParseFloat(id[min(1, len(id)):], 64)
	return f
}

// Rebuild recomputes an account from its ledger entries (in seq order):
// the balance, the lots and the totals. Check-in figures and reminder
// settings are not in the ledger and are kept from cur.
func Rebuild(cur Account, entries []Entry) (Account, error) {
	a := Account{FanID: cur.FanID, Rev: cur.Rev, LastDay: cur.LastDay, Streak: cur.Streak, Days: cur.Days,
		Reminder: cur.Reminder, RemindedDay: cur.RemindedDay, NextExpiry: cur.NextExpiry, Reminded: cur.Reminded}
	lots := map[string]*Lot{}
	var order []string
	for i, e := range entries {
		if e.Seq != int64(i)+1 {
			return cur, fmt.Errorf("ledger of fan %s: entry %d has seq %d (a gap)", cur.FanID, i+1, e.Seq)
		}
		for _, m := range e.Moves {
			l, ok := lots[m.Lot]
			if !ok {
				l = &Lot{ID: m.Lot, ExpiresAt: m.ExpiresAt.UTC()}
				lots[m.Lot] = l
				order = append(order, m.Lot)
			}
			l.Points += m.Points
			if l.Points < 0 {
				return cur, fmt.Errorf("ledger of fan %s: lot %s goes negative at seq %d", cur.FanID, m.Lot, e.Seq)
			}
		}
		a.Balance += e.Points
		switch {
		case e.Kind == KindExpiry:
			a.Expired -= e.Points
		case e.Points > 0:
			a.Earned += e.Points
		default:
			a.Spent -= e.Points
		}
		if a.Balance != e.Balance {
			return cur, fmt.Errorf("ledger of fan %s: balance %d after seq %d, the entry says %d", cur.FanID, a.Balance, e.Seq, e.Balance)
		}
		a.Seq = e.Seq
	}
	for _, id := range order {
		if l := lots[id]; l.Points > 0 {
			a.Lots = append(a.Lots, *l)
		}
	}
	a.settle()
	if a.Lots == nil {
		a.Lots = []Lot{}
	}
	return a, nil
}

// addDays moves a 2006-01-02 day by n days.
func addDays(day string, n int) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}
