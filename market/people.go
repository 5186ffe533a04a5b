package market

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Person is a market shopper as the market knows them: by the market's
// own visitor cookie, never by a shop's fan id, so no shop can link what
// they do in the market (or in other shops) to its own fans. The record
// lives in the platform database and no merchant route reads it.
type Person struct {
	ID string `json:"-" bson:"_id"`
	// Share is the shopper's opt-in to "Friends bought": only then may
	// friends see their favourites.
	Share    bool   `json:"share"`
	Nickname string `json:"nickname"`
	// Views are the latest products opened from the market, newest first.
	Views []Seen `json:"views"`
	// Favs are the shopper's favourites, newest first.
	Favs []Seen `json:"favs"`
	// Friends are the people this one linked with. A link shows only while
	// both hold it, so withdrawing (dropping it from one's own list) ends it
	// at once whatever happens to the other's.
	Friends []string `json:"-"`
	Rev     int64    `json:"-"`
}

// Seen is a product a person viewed or favoured.
type Seen struct {
	Item string    `json:"item"` // an item id (shop id / product id)
	At   time.Time `json:"at"`
}

const (
	maxViews    = 20
	maxFavs     = 100
	maxFriends  = 50
	inviteLife  = 7 * 24 * time.Hour
	maxNickname = 20
)

// PeopleStore keeps market shoppers and their invitations.
type PeopleStore interface {
	// Person reads a person; a person never seen is the zero Person with
	// their id (Rev 0).
	Person(ctx context.Context, id string) (Person, error)
	// PutPerson writes p if its Rev is still the stored one (0: not
	// stored yet), and bumps it; false when someone wrote first.
	PutPerson(ctx context.Context, p Person) (bool, error)
	AddInvite(ctx context.Context, hash, from string, at time.Time) error
	// TakeInvite removes an invitation and returns who made it and when;
	// fault.ErrNotFound when there is none (used, or never made).
	TakeInvite(ctx context.Context, hash string) (from string, at time.Time, err error)
}

// update applies fn to id's record until it is written without a race.
func (s *Service) update(ctx context.Context, id string, fn func(p *Person) error) (Person, error) {
	for range 20 {
		p, err := s.people.Person(ctx, id)
		if err != nil {
			return Person{}, err
		}
		if err := fn(&p); err != nil {
			return Person{}, err
		}
		ok, err := s.people.PutPerson(ctx, p)
		if err != nil {
			return Person{}, err
		}
		if ok {
			p.Rev++
			return p, nil
		}
	}
	return Person{}, fault.Conflict("too many changes at once; try again")
}

// push puts item first in list, once, keeping at most max.
func push(list []Seen, item string, at time.Time, max int) []Seen {
	list = slices.DeleteFunc(list, func(s Seen) bool { return s.Item == item })
	list = append([]Seen{{Item: item, At: at}}, list...)
	return list[:min(len(list), max)]
}

// Viewed records that visitor opened a market product.
func (s *Service) Viewed(ctx context.Context, visitor, itemID string) error {
	_, err := s.update(ctx, visitor, func(p *Person) error {
		p.Views = push(p.Views, itemID, s.clock(), maxViews)
		return nil
	})
	return err
}

// SetFavourite adds or removes a product on the market from the
// visitor's favourites.
func (s *Service) SetFavourite(ctx context.Context, visitor, slug, productID string, on bool) error {
	it, _, ok := s.itemBySlug(slug, productID)
	if !ok {
		return fault.NotFound("product")
	}
	_, err := s.update(ctx, visitor, func(p *Person) error {
		p.Favs = slices.DeleteFunc(p.Favs, func(f Seen) bool { return f.Item == it.ID })
		if on {
			p.Favs = push(p.Favs, it.ID, s.clock(), maxFavs)
		}
		return nil
	})
	return err
}

// SetSharing opts the visitor in or out of "Friends bought", with the
// name friends see.
func (s *Service) SetSharing(ctx context.Context, visitor string, share bool, nickname string) (Person, error) {
	nick, err := fault.Text("nickname", nickname, maxNickname)
	if err != nil {
		return Person{}, err
	}
	return s.update(ctx, visitor, func(p *Person) error {
		p.Share, p.Nickname = share, nick
		return nil
	})
}

func inviteHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Invite makes a one-use invitation token for visitor's friends; the
// visitor must have opted in.
func (s *Service) Invite(ctx context.Context, visitor string) (string, error) {
	p, err := s.people.Person(ctx, visitor)
	if err != nil {
		return "", err
	}
	if !p.Share {
		return "", fault.Conflict("turn on sharing with friends first")
	}
	token := engine.NewSecret(26)
	return token, s.people.AddInvite(ctx, inviteHash(token), visitor, s.clock())
}

// Accept links visitor with the invitation's maker, both ways; accepting
// opts the visitor in (the page says so before they accept).
func (s *Service) Accept(ctx context.Context, visitor, token, nickname string) error {
	from, at, err := s.people.TakeInvite(ctx, inviteHash(token))
	if errors.Is(err, fault.ErrNotFound) {
		return fault.NotFound("invitation")
	}
	if err != nil {
		return err
	}
	if s.clock().Sub(at) > inviteLife {
		return fault.NotFound("invitation")
	}
	if from == visitor {
		return fault.Invalid("token", "is your own invitation")
	}
	link := func(who, other string, optIn bool) error {
		_, err := s.update(ctx, who, func(p *Person) error {
			if !slices.Contains(p.Friends, other) {
				if len(p.Friends) >= maxFriends {
					return fault.Conflict("at most %d friends", maxFriends)
				}
				p.Friends = append(p.Friends, other)
			}
			if optIn {
				p.Share = true
				if nickname != "" {
					p.Nickname = nickname
				}
			}
			return nil
		})
		return err
	}
	if _, err := fault.Text("nickname", nickname, maxNickname); err != nil {
		return err
	}
	if err := link(visitor, from, true); err != nil {
		return err
	}
	return link(from, visitor, false)
}

// Unfriend ends the link at once (from visitor's side, which is enough:
// a link shows only while both hold it), then drops it from the other's.
func (s *Service) Unfriend(ctx context.Context, visitor string, index int) error {
	var other string
	if _, err := s.update(ctx, visitor, func(p *Person) error {
		if index < 0 || index >= len(p.Friends) {
			return fault.NotFound("friend")
		}
		other = p.Friends[index]
		p.Friends = slices.Delete(p.Friends, index, index+1)
		return nil
	}); err != nil {
		return err
	}
	_, err := s.update(ctx, other, func(p *Person) error {
		p.Friends = slices.DeleteFunc(p.Friends, func(f string) bool { return f == visitor })
		return nil
	})
	return err
}

// Friend is a linked friend as a shopper sees them.
type Friend struct {
	Nickname string
	Sharing  bool
}

// Pick is a recommended product with why it is recommended.
type Pick struct {
	Result
	// Why is a message id ("market.why_viewed", "market.why_friend") and
	// Because what it names (a product's title, a friend's nickname).
	Why, Because string
}

// ForYou is the market home's personal part: products like those the
// visitor opened, and their friends' favourites (friends who share).
type ForYou struct {
	Person      Person
	Friends     []Friend
	Picks       []Pick // like what you viewed
	FromFriends []Pick
}

// Recommend builds visitor's recommendations: for each of their latest
// views, the best products of the same kind they have not opened; their
// mutual, sharing friends' favourites.
func (s *Service) Recommend(ctx context.Context, visitor string) (ForYou, error) {
	p, err := s.people.Person(ctx, visitor)
	if err != nil {
		return ForYou{}, err
	}
	out := ForYou{Person: p}
	s.mu.RLock()
	listed, factors := s.listed, s.factors
	s.mu.RUnlock()
	now := s.clock()
	seen := map[string]bool{}
	for _, v := range p.Views {
		seen[v.Item] = true
	}
	for _, v := range p.Views[:min(3, len(p.Views))] {
		it, ok := s.item(v.Item)
		if !ok || it.Category == "" {
			continue
		}
		top, _ := s.top(Query{Text: it.Category}, listed, factors, 8)
		for _, h := range top {
			if seen[h.Item.ID] {
				continue
			}
			seen[h.Item.ID] = true
			out.Picks = append(out.Picks, Pick{Result: s.result(h, listed, factors, now), Why: "market.why_viewed", Because: it.Title})
			if len(out.Picks)%4 == 0 {
				break
			}
		}
	}
	for _, id := range p.Friends {
		f, err := s.people.Person(ctx, id)
		if err != nil {
			return ForYou{}, err
		}
		mutual := slices.Contains(f.Friends, visitor)
		if !mutual {
			continue
		}
		out.Friends = append(out.Friends, Friend{Nickname: f.Nickname, Sharing: f.Share})
		if !f.Share || !p.Share {
			continue
		}
		for _, fav := range f.Favs[:min(4, len(f.Favs))] {
			if h, ok := s.hit(fav.Item, listed, factors); ok {
				out.FromFriends = append(out.FromFriends, Pick{Result: s.result(h, listed, factors, now), Why: "market.why_friend", Because: f.Nickname})
			}
		}
	}
	return out, nil
}

// item is an indexed item by id.
func (s *Service) item(id string) (Item, bool) {
	ix := s.idx()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	slot, ok := ix.byID[id]
	if !ok {
		return Item{}, false
	}
	return ix.docs[slot].item, true
}

// hit is an indexed, visible item as a scored hit of no query.
func (s *Service) hit(id string, listed map[string]Shop, factors map[string]ShopFactors) (scoredHit, bool) {
	ix := s.idx()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	slot, ok := ix.byID[id]
	if !ok {
		return scoredHit{}, false
	}
	d := &ix.docs[slot]
	if sh, ok := listed[d.item.TenantID]; !ok || !sh.Listed || factors[d.item.TenantID].OffMarket {
		return scoredHit{}, false
	}
	return scoredHit{Hit: Hit{Item: &d.item, Quality: d.quality}, score: score(0, d.quality)}, true
}
