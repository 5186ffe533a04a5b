package vote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Brushing checks: every vote keeps a hash of its voter's latest order
// address and whether the voter's account is fresh (first paid order
// within FreshAccount). A round's products are flagged, with the evidence,
// by two published rules:
//
//   - shared_address: SharedAddressVotes or more of a product's votes come
//     from different fans whose latest orders ship to one address;
//   - fresh_accounts: of a product's votes (FreshMinVotes or more), at
//     least FreshSharePercent come from fresh accounts.
//
// A product flagged is removed from its round at once (its state becomes
// removed, the rule its reason): it stays in the round's results with the
// evidence, its votes no longer count, it takes no new votes and opens no
// deal. Whether to bar the shop is the operator's call.

// The rules' thresholds.
const (
	FreshAccount       = 7 * 24 * time.Hour
	SharedAddressVotes = 5
	FreshMinVotes      = 10
	FreshSharePercent  = 80
	// maxEvidence is how many fans a flag names.
	maxEvidence = 20
	// maxRoundVotes bounds the votes a check reads.
	maxRoundVotes = 100_000
)

// Flag rules.
const (
	RuleSharedAddress = "shared_address"
	RuleFreshAccounts = "fresh_accounts"
)

// Flag is one product's suspected brushing: the rule, how many votes it
// counts of how many, and the fans (up to maxEvidence) as evidence.
type Flag struct {
	ProductID string   `json:"product_id"`
	Title     string   `json:"title"`
	Rule      string   `json:"rule"`
	Count     int      `json:"count"`
	Votes     int      `json:"votes"`
	Fans      []string `json:"fans"`
	// Address is the shared address's hash (shared_address only).
	Address string `json:"address,omitempty"`
}

// addressHash is a short hash of an address as typed, spaces and case
// aside ("" for none): votes keep no address itself.
func addressHash(addr string) string {
	norm := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsPunct(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, addr)
	if norm == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:8])
}

// Flags checks a round's votes by the brushing rules.
func (s *Service) Flags(ctx context.Context, tenantID, roundID string) ([]Flag, error) {
	if _, err := s.Round(ctx, tenantID, roundID); err != nil {
		return nil, err
	}
	items, err := s.store.Items(ctx, tenantID, roundID)
	if err != nil {
		return nil, err
	}
	votes, err := s.store.RoundVotes(ctx, tenantID, roundID, maxRoundVotes)
	if err != nil {
		return nil, err
	}
	flags := checkVotes(items, votes)
	return flags, s.remove(ctx, tenantID, roundID, items, flags)
}

// remove takes the flagged products still listed out of the round.
func (s *Service) remove(ctx context.Context, tenantID, roundID string, items []Item, flags []Flag) error {
	state := map[string]bool{}
	for _, it := range items {
		state[it.ProductID] = it.Listed()
	}
	for _, f := range flags {
		if !state[f.ProductID] {
			continue
		}
		state[f.ProductID] = false
		if _, err := s.store.SetItemState(ctx, tenantID, roundID, f.ProductID, ItemListed, ItemRemoved, f.Rule); err != nil {
			return err
		}
		s.log.Info("vote: a brushed product left its round", "tenant", tenantID, "round", roundID, "product", f.ProductID, "rule", f.Rule)
	}
	return nil
}

// checkEvery is how often CheckRounds reads a scope's votes again (the
// job runs every minute; a check reads every vote of the round).
const checkEvery = 10 * time.Minute

// checks is when CheckRounds last checked each scope.
type checks struct {
	mu sync.Mutex
	at map[string]time.Time
}

// due says whether key is due a check at now, and marks it checked.
func (c *checks) due(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.at[key]; ok && now.Sub(last) < checkEvery && !now.Before(last) {
		return false
	}
	if c.at == nil || len(c.at) >= maxProductDeals {
		c.at = map[string]time.Time{}
	}
	c.at[key] = now
	return true
}

// CheckRounds runs the brushing checks on the scope's open round and the
// latest ended one (the vote job; at most every checkEvery per scope on a
// replica), removing what they flag.
func (s *Service) CheckRounds(ctx context.Context, tenantID string) (int, error) {
	if !s.checked.due(tenantID, s.clock()) {
		return 0, nil
	}
	list, err := s.store.Rounds(ctx, tenantID, 3)
	if err != nil {
		return 0, err
	}
	now, n := s.clock(), 0
	for _, r := range list {
		if r.State(now) == Scheduled || now.Sub(r.EndsAt) > 24*time.Hour {
			continue
		}
		flags, err := s.Flags(ctx, tenantID, r.ID)
		if err != nil {
			return n, err
		}
		n += len(flags)
	}
	return n, nil
}

// checkVotes applies the rules to a round's votes.
func checkVotes(items []Item, votes []Vote) []Flag {
	byProduct := map[string][]Vote{}
	for _, v := range votes {
		byProduct[v.ProductID] = append(byProduct[v.ProductID], v)
	}
	flags := []Flag{}
	for _, it := range items {
		vs := byProduct[it.ProductID]
		byAddr := map[string][]string{}
		var fresh []string
		for _, v := range vs {
			if v.Addr != "" {
				byAddr[v.Addr] = append(byAddr[v.Addr], v.FanID)
			}
			if v.Fresh {
				fresh = append(fresh, v.FanID)
			}
		}
		addrs := make([]string, 0, len(byAddr))
		for a := range byAddr {
			addrs = append(addrs, a)
		}
		sort.Strings(addrs)
		for _, a := range addrs {
			if fans := byAddr[a]; len(fans) >= SharedAddressVotes {
				flags = append(flags, Flag{ProductID: it.ProductID, Title: it.Title, Rule: RuleSharedAddress, Count: len(fans),
					Votes: len(vs), Fans: evidence(fans), Address: a})
			}
		}
		if len(vs) >= FreshMinVotes && len(fresh)*100 >= FreshSharePercent*len(vs) {
			flags = append(flags, Flag{ProductID: it.ProductID, Title: it.Title, Rule: RuleFreshAccounts, Count: len(fresh),
				Votes: len(vs), Fans: evidence(fresh)})
		}
	}
	return flags
}

// evidence is up to maxEvidence fans, sorted.
func evidence(fans []string) []string {
	out := append([]string(nil), fans...)
	sort.Strings(out)
	if len(out) > maxEvidence {
		out = out[:maxEvidence]
	}
	return out
}
