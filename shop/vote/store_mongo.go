package vote

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps rounds, items (_id round:product), the fans' ballot
// documents (_id the fan, carrying the keys round:product of their votes),
// the votes (_id round:product:fan) and the hourly counters (_id
// round:product:hour). A vote is decided by one conditional update of the
// fan's document, which also keeps the vote as pending; the vote record
// and the counters follow it, and the pending entry is dropped. A crash in
// between leaves the pending entry, which RepairVotes records (the vote
// record's unique id makes the original and the repair count it once).
type mongoStore struct {
	coll func(tenantID, name string) coll
}

func (s *mongoStore) c(tenantID, name string) coll { return s.coll(tenantID, name) }

type roundDoc struct {
	ID        string    `bson:"_id"`
	StartsAt  time.Time `bson:"starts_at"`
	EndsAt    time.Time `bson:"ends_at"`
	AtOnce    bool      `bson:"at_once"`
	CreatedAt time.Time `bson:"created_at"`
}

func (d roundDoc) round() Round {
	return Round{ID: d.ID, StartsAt: d.StartsAt.UTC(), EndsAt: d.EndsAt.UTC(), AtOnce: d.AtOnce, CreatedAt: d.CreatedAt.UTC()}
}

func (s *mongoStore) InsertRound(ctx context.Context, tenantID string, r Round) error {
	err := s.c(tenantID, "vote_rounds").InsertOne(ctx, roundDoc{ID: r.ID, StartsAt: r.StartsAt, EndsAt: r.EndsAt, AtOnce: r.AtOnce,
		CreatedAt: r.CreatedAt})
	return fault.Wrap(err, "insert vote round")
}

func (s *mongoStore) Round(ctx context.Context, tenantID, id string) (Round, error) {
	var d roundDoc
	err := s.c(tenantID, "vote_rounds").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Round{}, fault.NotFound("vote round")
	}
	return d.round(), fault.Wrap(err, "get vote round %s", id)
}

func (s *mongoStore) Rounds(ctx context.Context, tenantID string, limit int) ([]Round, error) {
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_rounds"), bson.D{}, roundDoc.round,
		options.Find().SetSort(bson.D{{Key: "starts_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	return list, fault.Wrap(err, "list vote rounds")
}

func (s *mongoStore) ExtendRound(ctx context.Context, tenantID, id string, old, end time.Time) (bool, error) {
	res, err := s.c(tenantID, "vote_rounds").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "ends_at", Value: old}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "ends_at", Value: end}}}})
	if err != nil {
		return false, fmt.Errorf("extend vote round %s: %w", id, err)
	}
	return res.MatchedCount == 1, nil
}

type itemDoc struct {
	ID            string    `bson:"_id"`
	RoundID       string    `bson:"round_id"`
	ProductID     string    `bson:"product_id"`
	Title         string    `bson:"title"`
	Image         string    `bson:"image"`
	Price         int64     `bson:"price"`
	ExpectedPrice int64     `bson:"expected_price"`
	TargetVotes   int64     `bson:"target_votes"`
	Votes         int64     `bson:"votes"`
	AddedAt       time.Time `bson:"added_at"`
	State         string    `bson:"state"`
	ShopID        string    `bson:"shop_id"`
	Note          string    `bson:"note"`
}

func (d itemDoc) item() Item {
	return Item{RoundID: d.RoundID, ProductID: d.ProductID, Title: d.Title, Image: d.Image, Price: d.Price,
		ExpectedPrice: d.ExpectedPrice, TargetVotes: d.TargetVotes, Votes: d.Votes, AddedAt: d.AddedAt.UTC(),
		State: Item{State: d.State}.state(), ShopID: d.ShopID, Note: d.Note}
}

func (s *mongoStore) AddItem(ctx context.Context, tenantID string, it Item) error {
	err := s.c(tenantID, "vote_items").InsertOne(ctx, itemDoc{ID: it.RoundID + ":" + it.ProductID, RoundID: it.RoundID,
		ProductID: it.ProductID, Title: it.Title, Image: it.Image, Price: it.Price, ExpectedPrice: it.ExpectedPrice,
		TargetVotes: it.TargetVotes, AddedAt: it.AddedAt, State: it.state(), ShopID: it.ShopID, Note: it.Note})
	if engine.IsUniqueViolation(err) {
		return errListed
	}
	return fault.Wrap(err, "add product %s to vote round %s", it.ProductID, it.RoundID)
}

func (s *mongoStore) Item(ctx context.Context, tenantID, roundID, productID string) (Item, error) {
	var d itemDoc
	err := s.c(tenantID, "vote_items").FindOne(ctx, bson.D{{Key: "_id", Value: roundID + ":" + productID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Item{}, fault.NotFound("product")
	}
	return d.item(), fault.Wrap(err, "get product %s of vote round %s", productID, roundID)
}

func (s *mongoStore) Items(ctx context.Context, tenantID, roundID string) ([]Item, error) {
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_items"), bson.D{{Key: "round_id", Value: roundID}}, itemDoc.item,
		options.Find().SetSort(bson.D{{Key: "added_at", Value: 1}}))
	return list, fault.Wrap(err, "list products of vote round %s", roundID)
}

func (s *mongoStore) SetItemState(ctx context.Context, tenantID, roundID, productID, from, to, note string) (bool, error) {
	state := bson.D{{Key: "state", Value: from}}
	if from == ItemListed { // an item added before states were kept has none
		state = bson.D{{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{ItemListed, nil}}}}}
	}
	res, err := s.c(tenantID, "vote_items").UpdateOne(ctx, append(bson.D{{Key: "_id", Value: roundID + ":" + productID}}, state...),
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: to}, {Key: "note", Value: note}}}})
	if err != nil {
		return false, fmt.Errorf("set the state of product %s in vote round %s: %w", productID, roundID, err)
	}
	return res.MatchedCount == 1, nil
}

type fanDoc struct {
	ID       string   `bson:"_id"`
	Used     int64    `bson:"used"`
	Day      string   `bson:"day"`
	DayCount int      `bson:"day_count"`
	Voted    []string `bson:"voted"`
	// Pending are the votes whose ballot was taken and whose record may
	// not be written yet.
	Pending []pendingDoc `bson:"pending,omitempty"`
}

// pendingDoc is a vote kept with its ballot until it is recorded.
type pendingDoc struct {
	RoundID   string    `bson:"round_id"`
	ProductID string    `bson:"product_id"`
	Day       string    `bson:"day"`
	At        time.Time `bson:"at"`
	Addr      string    `bson:"addr"`
	Fresh     bool      `bson:"fresh"`
}

func pendingOf(v Vote) pendingDoc {
	return pendingDoc{RoundID: v.RoundID, ProductID: v.ProductID, Day: v.Day, At: v.At, Addr: v.Addr, Fresh: v.Fresh}
}

func (p pendingDoc) vote(fanID string) Vote {
	return Vote{RoundID: p.RoundID, ProductID: p.ProductID, FanID: fanID, Day: p.Day, At: p.At, Addr: p.Addr, Fresh: p.Fresh}
}

// account is the fan's record, with the products voted for in roundID.
func (d fanDoc) account(roundID string) Account {
	a := Account{Used: d.Used, Day: d.Day, DayCount: d.DayCount, Voted: []string{}}
	for _, k := range d.Voted {
		if p, ok := strings.CutPrefix(k, roundID+":"); ok && roundID != "" {
			a.Voted = append(a.Voted, p)
		}
	}
	return a
}

func (s *mongoStore) Cast(ctx context.Context, tenantID string, v Vote, earned int64) (Account, error) {
	d, err := s.takeBallot(ctx, tenantID, v, earned)
	if err != nil {
		return d.account(v.RoundID), err
	}
	if err := s.record(ctx, tenantID, v); err != nil {
		return Account{}, err
	}
	s.recorded(ctx, tenantID, v)
	return d.account(v.RoundID), nil
}

// takeBallot takes a ballot of the fan's for v in one conditional update
// that also keeps v pending (see mongoStore); the fan's document after it.
func (s *mongoStore) takeBallot(ctx context.Context, tenantID string, v Vote, earned int64) (fanDoc, error) {
	fans := s.c(tenantID, "vote_fans")
	id := bson.D{{Key: "_id", Value: v.FanID}}
	if _, err := fans.UpdateOne(ctx, id, bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "used", Value: 0}, {Key: "day", Value: ""},
		{Key: "day_count", Value: 0}, {Key: "voted", Value: bson.A{}}}}}, options.UpdateOne().SetUpsert(true)); err != nil {
		return fanDoc{}, fmt.Errorf("open ballots of fan %s: %w", v.FanID, err)
	}
	key := v.key()
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	var d fanDoc
	for range 10 { // the day turned between the read and the write: again
		// A vote on the day of the fan's latest: the day's count grows.
		err := fans.FindOneAndUpdate(ctx, append(id[:1:1], bson.E{Key: "voted", Value: bson.D{{Key: "$nin", Value: bson.A{key}}}},
			bson.E{Key: "used", Value: bson.D{{Key: "$lt", Value: earned}}}, bson.E{Key: "day", Value: v.Day},
			bson.E{Key: "day_count", Value: bson.D{{Key: "$lt", Value: DailyVotes}}}),
			bson.D{{Key: "$inc", Value: bson.D{{Key: "used", Value: 1}, {Key: "day_count", Value: 1}}},
				{Key: "$push", Value: bson.D{{Key: "voted", Value: key}, {Key: "pending", Value: pendingOf(v)}}}}, after).Decode(&d)
		if engine.IsNoDocuments(err) {
			// The first vote of a new day: the count starts again.
			err = fans.FindOneAndUpdate(ctx, append(id[:1:1], bson.E{Key: "voted", Value: bson.D{{Key: "$nin", Value: bson.A{key}}}},
				bson.E{Key: "used", Value: bson.D{{Key: "$lt", Value: earned}}}, bson.E{Key: "day", Value: bson.D{{Key: "$ne", Value: v.Day}}}),
				bson.D{{Key: "$inc", Value: bson.D{{Key: "used", Value: 1}}},
					{Key: "$set", Value: bson.D{{Key: "day", Value: v.Day}, {Key: "day_count", Value: 1}}},
					{Key: "$push", Value: bson.D{{Key: "voted", Value: key}, {Key: "pending", Value: pendingOf(v)}}}}, after).Decode(&d)
		}
		if err == nil {
			return d, nil
		}
		if !engine.IsNoDocuments(err) {
			return fanDoc{}, fmt.Errorf("cast vote of fan %s: %w", v.FanID, err)
		}
		if err := fans.FindOne(ctx, id).Decode(&d); err != nil {
			return fanDoc{}, fmt.Errorf("read ballots of fan %s: %w", v.FanID, err)
		}
		switch {
		case slices.Contains(d.Voted, key):
			return d, errVoted
		case d.Used >= earned:
			return d, errNoBallots
		case d.Day == v.Day && d.DayCount >= DailyVotes:
			return d, errDaily
		}
	}
	return fanDoc{}, fault.Conflict("the vote is being counted elsewhere; try again")
}

// record writes what a vote the fan's document took is counted in: the
// vote (its key makes a replay a no-op), the product's votes and the
// hour's. A crash before it leaves the vote pending (RepairVotes); one
// after the vote record and before its counters leaves them one short.
func (s *mongoStore) record(ctx context.Context, tenantID string, v Vote) error {
	err := s.c(tenantID, "vote_votes").InsertOne(ctx, bson.D{{Key: "_id", Value: v.key() + ":" + v.FanID},
		{Key: "round_id", Value: v.RoundID}, {Key: "product_id", Value: v.ProductID}, {Key: "fan_id", Value: v.FanID},
		{Key: "day", Value: v.Day}, {Key: "at", Value: v.At}, {Key: "addr", Value: v.Addr}, {Key: "fresh", Value: v.Fresh}})
	if engine.IsUniqueViolation(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record vote of fan %s: %w", v.FanID, err)
	}
	if _, err := s.c(tenantID, "vote_items").UpdateOne(ctx, bson.D{{Key: "_id", Value: v.key()}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "votes", Value: 1}}}}); err != nil {
		return fmt.Errorf("count vote for product %s: %w", v.ProductID, err)
	}
	h := v.hour()
	_, err = s.c(tenantID, "vote_hours").UpdateOne(ctx, bson.D{{Key: "_id", Value: v.key() + ":" + engine.TimeText(h)}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "votes", Value: 1}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "round_id", Value: v.RoundID}, {Key: "product_id", Value: v.ProductID},
				{Key: "hour", Value: h}}}}, options.UpdateOne().SetUpsert(true))
	return fault.Wrap(err, "count vote for product %s per hour", v.ProductID)
}

// recorded drops v from the fan's pending votes. Best effort: a pending
// vote already recorded is only recorded again as a no-op by the repair.
func (s *mongoStore) recorded(ctx context.Context, tenantID string, v Vote) {
	_, _ = s.c(tenantID, "vote_fans").UpdateOne(ctx, bson.D{{Key: "_id", Value: v.FanID}},
		bson.D{{Key: "$pull", Value: bson.D{{Key: "pending", Value: pendingOf(v)}}}}) // the whole element: FerretDB pulls by equality only
}

func (s *mongoStore) RepairVotes(ctx context.Context, tenantID string, before time.Time) (int, error) {
	fans, err := engine.FindAll(ctx, s.c(tenantID, "vote_fans"), bson.D{{Key: "pending.at", Value: bson.D{{Key: "$lt", Value: before}}}},
		func(d fanDoc) fanDoc { return d }, options.Find().SetLimit(repairBatch))
	if err != nil {
		return 0, fmt.Errorf("pending votes: %w", err)
	}
	n := 0
	for _, f := range fans {
		for _, p := range f.Pending {
			if !p.At.Before(before) {
				continue // its own request may still be recording it
			}
			v := p.vote(f.ID)
			if err := s.record(ctx, tenantID, v); err != nil {
				return n, err
			}
			s.recorded(ctx, tenantID, v)
			n++
		}
	}
	return n, nil
}

func (s *mongoStore) Account(ctx context.Context, tenantID, fanID, roundID string) (Account, error) {
	var d fanDoc
	err := s.c(tenantID, "vote_fans").FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Account{Voted: []string{}}, nil
	}
	if err != nil {
		return Account{}, fmt.Errorf("ballots of fan %s: %w", fanID, err)
	}
	return d.account(roundID), nil
}

func (s *mongoStore) Hours(ctx context.Context, tenantID, roundID string) (map[string][]Point, error) {
	type hourDoc struct {
		ProductID string    `bson:"product_id"`
		Hour      time.Time `bson:"hour"`
		Votes     int64     `bson:"votes"`
	}
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_hours"), bson.D{{Key: "round_id", Value: roundID}},
		func(d hourDoc) hourDoc { return d })
	if err != nil {
		return nil, fmt.Errorf("votes per hour of vote round %s: %w", roundID, err)
	}
	out := map[string][]Point{}
	for _, d := range list {
		out[d.ProductID] = append(out[d.ProductID], Point{At: d.Hour.UTC(), Votes: d.Votes})
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b Point) int { return a.At.Compare(b.At) })
	}
	return out, nil
}

func (s *mongoStore) Voters(ctx context.Context, tenantID, roundID, productID, after string, limit int) ([]string, error) {
	type voteDoc struct {
		FanID string `bson:"fan_id"`
	}
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_votes"), bson.D{{Key: "round_id", Value: roundID},
		{Key: "product_id", Value: productID}, {Key: "fan_id", Value: bson.D{{Key: "$gt", Value: after}}}},
		func(d voteDoc) string { return d.FanID },
		options.Find().SetSort(bson.D{{Key: "fan_id", Value: 1}}).SetLimit(int64(limit)))
	return list, fault.Wrap(err, "voters of product %s", productID)
}

func (s *mongoStore) RoundVotes(ctx context.Context, tenantID, roundID string, limit int) ([]Vote, error) {
	type voteDoc struct {
		RoundID   string    `bson:"round_id"`
		ProductID string    `bson:"product_id"`
		FanID     string    `bson:"fan_id"`
		Day       string    `bson:"day"`
		At        time.Time `bson:"at"`
		Addr      string    `bson:"addr"`
		Fresh     bool      `bson:"fresh"`
	}
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_votes"), bson.D{{Key: "round_id", Value: roundID}},
		func(d voteDoc) Vote {
			return Vote{RoundID: d.RoundID, ProductID: d.ProductID, FanID: d.FanID, Day: d.Day, At: d.At.UTC(), Addr: d.Addr, Fresh: d.Fresh}
		}, options.Find().SetLimit(int64(limit)))
	return list, fault.Wrap(err, "votes of vote round %s", roundID)
}
