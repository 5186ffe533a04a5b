package market

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxGram is the longest key, in characters (see keys).
const maxGram = 3

// Top returns the best k hits of q by the formula, best first (score, then
// id), and how many hits there are in all; keep decides each shop once.
// It answers exactly as scoring every hit of Find and sorting them would,
// but a candidate costs a few loads from the compact arrays and a compare
// with the page's worst so far, not a walk through its doc:
//
//   - a query of one word of one to three characters (most Chinese
//     queries: "绿茶", "礼盒", "铁观音") takes the word's own postings, which are
//     exactly the items holding it, and each posting's title bit gives
//     the relevance (1 in the title, else 0.5);
//   - an empty query takes every live slot, relevance 0;
//   - any other query intersects its words' postings (intersect), and
//     only a word of four characters or more is checked in the text;
//   - letters found nothing: they may be pinyin initials (pinyinTop).
//
// The total is part of the answer, so every hit is counted whatever the
// page; only the few that may enter the page are looked at further.
//
// shown is keep's answer by shop number, as far as it goes (ShopFilter);
// keep is asked of the shops after it.

func (ix *Index) Top(q string, k int, shown []bool, keep func(tenantID string) bool) (top []scoredHit, total int) {
	words := strings.FieldsFunc(normalize(q), separator)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	kept := func(sn int32) bool {
		if int(sn) < len(shown) {
			return shown[sn]
		}
		return keep(ix.shopIDs[sn])
	}
	top, total = ix.topLiteral(words, &pageHeap{ix: ix, k: k}, kept)
	if total == 0 && pinyinQuery(words) {
		// Letters that are in no text may be a title's pinyin initials.
		return ix.pinyinTop(words, &pageHeap{ix: ix, k: k}, kept)
	}
	return top, total
}

// topLiteral is Top by the words themselves.
func (ix *Index) topLiteral(words []string, h *pageHeap, kept func(int32) bool) (top []scoredHit, total int) {
	if len(words) == 0 {
		for slot, sn := range ix.shopOf {
			if sn >= 0 && kept(sn) {
				total++
				h.offer(score(0, ix.qual[slot]), uint32(slot), 0)
			}
		}
		return h.hits(), total
	}
	if len(words) == 1 && utf8.ValidString(words[0]) && utf8.RuneCountInString(words[0]) <= maxGram {
		// A word without separators of at most three characters is a key
		// itself: its postings are exactly the items whose text holds it
		// (valid UTF-8 matches only at character boundaries), and the
		// title bit says whether the title does. relevance() would give 1
		// (capped, in the title) or 0.5.
		for _, p := range ix.grams[words[0]] {
			slot := p >> 1
			sn := ix.shopOf[slot]
			if sn < 0 {
				continue
			}
			rel := 0.5
			if !ix.exact[slot] {
				r, ok := relevance(&ix.docs[slot], words)
				if !ok {
					continue
				}
				rel = r
			} else if p&1 != 0 {
				rel = 1
			}
			if !kept(sn) {
				continue
			}
			total++
			h.offer(score(rel, ix.qual[slot]), slot, rel)
		}
		return h.hits(), total
	}
	return ix.intersect(words, h, kept)
}

// intersect answers a query of several words, or of a word longer than
// three characters. Each word of one to three characters has its own
// postings (exactly the items holding it, with the title bit); a longer
// word is narrowed by its triples' postings (every item holding it is in
// each) and checked by text. The shortest list drives; the others are searched
// forward from where they were (all are ascending), so the candidates are
// the items in every list, and only those are looked at.
func (ix *Index) intersect(words []string, h *pageHeap, kept func(int32) bool) ([]scoredHit, int) {
	type list struct {
		posts []uint32
		at    int
		word  int // the word whose own postings these are, or -1
	}
	var lists []list
	byText := false // some word must be checked in the text
	for w, word := range words {
		if utf8.ValidString(word) && utf8.RuneCountInString(word) <= maxGram {
			l, ok := ix.grams[word]
			if !ok {
				return nil, 0
			}
			lists = append(lists, list{posts: l, word: w})
			continue
		}
		byText = true
		// Its triples' postings are the narrowest (an item holding a
		// triple holds its pairs and characters).
		r := []rune(word)
		var triples []string
		for i := 0; i+maxGram <= len(r); i++ {
			triples = append(triples, string(r[i:i+maxGram]))
		}
		for _, key := range triples {
			l, ok := ix.grams[key]
			if !ok {
				return nil, 0
			}
			lists = append(lists, list{posts: l, word: -1})
		}
	}
	driver := 0
	for i := range lists {
		if len(lists[i].posts) < len(lists[driver].posts) {
			driver = i
		}
	}
	inTitle := make([]bool, len(words))
	bwords := make([][]byte, len(words))
	for i, w := range words {
		bwords[i] = []byte(w)
	}
	total := 0
next:
	for _, p := range lists[driver].posts {
		slot := p >> 1
		sn := ix.shopOf[slot]
		if sn < 0 {
			continue
		}
		for i := range lists {
			l := &lists[i]
			q := p
			if i != driver {
				// Gallop to the first posting at or after slot: every
				// posting before lo is before it, hi is at or after it.
				lo, hi, step := l.at, l.at, 1
				for hi < len(l.posts) && l.posts[hi]>>1 < slot {
					lo, hi, step = hi+1, hi+step, step*2
				}
				hi = min(hi, len(l.posts))
				for lo < hi {
					if mid := int(uint(lo+hi) >> 1); l.posts[mid]>>1 < slot {
						lo = mid + 1
					} else {
						hi = mid
					}
				}
				at := lo
				l.at = at
				if at == len(l.posts) {
					break next // no later slot holds this key
				}
				if q = l.posts[at]; q>>1 != slot {
					continue next
				}
			}
			if l.word >= 0 {
				inTitle[l.word] = q&1 != 0
			}
		}
		if !kept(sn) {
			continue
		}
		var rel float64
		if byText || !ix.exact[slot] {
			r, ok := ix.relevanceAt(slot, words, bwords)
			if !ok {
				continue
			}
			rel = r
		} else {
			// relevance() from the title bits, in its own arithmetic.
			all := true
			for _, t := range inTitle {
				if t {
					rel += 1
				} else {
					rel += 0.5
					all = false
				}
			}
			rel /= float64(len(words))
			if !all && inTitle[0] && strings.HasPrefix(ix.docs[slot].title, words[0]) {
				rel += 0.1
			}
			rel = min(rel, 1)
			if all {
				rel = 1
			}
		}
		total++
		h.offer(score(rel, ix.qual[slot]), slot, rel)
	}
	return h.hits(), total
}

// relevanceAt is relevance() of slot's text in the texts arena: the same
// checks in the same arithmetic.
func (ix *Index) relevanceAt(slot uint32, words []string, bwords [][]byte) (float64, bool) {
	at := ix.at[slot]
	text := ix.texts[at : at+ix.textLen[slot]]
	title := text[:ix.titleLen[slot]]
	score := 0.0
	for _, w := range bwords {
		switch {
		case bytes.Contains(title, w):
			score += 1
		case bytes.Contains(text, w):
			score += 0.5
		default:
			return 0, false
		}
	}
	score /= float64(len(words))
	if bytes.HasPrefix(title, bwords[0]) {
		score += 0.1
	}
	return min(score, 1), true
}

// ShopFilter is keep's answer for every shop the index numbers now, by
// number, for Top.
func (ix *Index) ShopFilter(keep func(tenantID string) bool) []bool {
	ix.mu.RLock()
	ids := ix.shopIDs[:len(ix.shopIDs):len(ix.shopIDs)]
	ix.mu.RUnlock()
	out := make([]bool, len(ids))
	for i, id := range ids {
		out[i] = keep(id)
	}
	return out
}

// pageHeap keeps the best k hits offered, as a min-heap by the ranking
// order: its root is the worst of the best so far, and most offers end at
// one compare with it.
type pageHeap struct {
	ix *Index
	k  int
	h  []pageEntry
}

type pageEntry struct {
	score float64
	rel   float64
	slot  uint32
}

// worse is the ranking order reversed: lower score, then higher id.
func (p *pageHeap) worse(a, b *pageEntry) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return p.ix.idAfter(a.slot, b.slot)
}

func (p *pageHeap) offer(score float64, slot uint32, rel float64) {
	if p.k <= 0 {
		return
	}
	e := pageEntry{score: score, rel: rel, slot: slot}
	h := p.h
	if len(h) < p.k {
		h = append(h, e)
		for j := len(h) - 1; j > 0; {
			parent := (j - 1) / 2
			if !p.worse(&h[j], &h[parent]) {
				break
			}
			h[parent], h[j] = h[j], h[parent]
			j = parent
		}
		p.h = h
		return
	}
	if score < h[0].score || !p.worse(&h[0], &e) {
		return
	}
	h[0] = e
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && p.worse(&h[l], &h[m]) {
			m = l
		}
		if r < len(h) && p.worse(&h[r], &h[m]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// hits are the kept entries as hits, best first.
func (p *pageHeap) hits() []scoredHit {
	slices.SortFunc(p.h, func(a, b pageEntry) int {
		switch {
		case p.worse(&b, &a):
			return -1
		case p.worse(&a, &b):
			return 1
		}
		return 0
	})
	out := make([]scoredHit, len(p.h))
	for i, e := range p.h {
		d := &p.ix.docs[e.slot]
		out[i] = scoredHit{Hit: Hit{Item: &d.item, Relevance: e.rel, Quality: p.ix.qual[e.slot]}, score: e.score}
	}
	return out
}
