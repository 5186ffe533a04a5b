package market

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Index is one replica's in-memory copy of the market's items, searchable
// by any substring of a title, category or shop name: every character and
// every pair of adjacent characters is a key (Chinese has no spaces to
// split words at, so "绿茶" must find "西湖龙井绿茶" by its pairs). A query
// takes the items holding all of its pairs, then keeps those that hold the
// query's text itself.
//
// An item that changes takes a new slot; the old one is marked dead and
// the index is rebuilt without the dead once they are many.
type Index struct {
	mu   sync.RWMutex
	docs []doc
	byID map[string]int32
	// grams are each key's postings, ascending: a slot shifted left by
	// one, the low bit set when the key is also one of the title's (so a
	// one- or two-character word's relevance needs no look at the text).
	grams map[string][]uint32
	// pgrams are the keys of the titles' pinyin initials (pinyin.go).
	pgrams map[string][]uint32
	dead   int
	// What a search reads of every candidate, one compact array each by
	// slot (a candidate costs a few loads, not a walk through its doc):
	// the item's shop by number (-1: the slot is dead), its quality, and
	// whether its text is valid UTF-8 (else a search checks it by text).
	shopOf []int32
	qual   []float64
	exact  []bool
	// texts holds every slot's normalized text (title first) one after
	// another, in slot order, from texts[at[slot]], the title titleLen[slot]
	// bytes long: candidates come in slot order, so checking their texts
	// reads forward through memory.
	texts    []byte
	at       []uint32
	titleLen []uint32
	textLen  []uint32
	shopNo   map[string]int32 // tenant id → shop number (never reused)
	shopIDs  []string         // shop number → tenant id
	// Ties in score are broken by item id; comparing id strings of random
	// slots is most of a search when many items tie, so ids compare by
	// numbers where that is exact: an item whose id is its shop's id, "/"
	// and its product's (idKeyed) compares with another shop's by the
	// shops' order (shopRank, by tenant id + "/", exact while no tenant id
	// holds a "/": slashFree) and with its own shop's by the first eight
	// bytes of the product ids (prodKey); the strings decide the rest.
	shopRank  []uint32 // by shop number
	slashFree bool
	idKeyed   []bool
	prodKey   []uint64
	// quality scores an item's quality (nil: 0); Requality applies a new one.
	quality func(*Item) float64
	// shops are the shop names items are also found by, by shop id, and
	// held how many items each shop has in the index.
	shops map[string]string
	held  map[string]int

	// version changes with every change of what a search could find, so
	// answers kept for a query know when they are stale.
	version atomic.Uint64
}

// Version is the index's version (see Service's answer cache).
func (ix *Index) Version() uint64 { return ix.version.Load() }

type doc struct {
	item Item
	// quality is the item's quality by the formula (see Index.quality),
	// kept with it so a search computes only relevance.
	quality float64
	title   string // normalized title
	text    string // normalized title, category and shop name, "\x00" between
	// initials are the title's pinyin initials (pinyin.go).
	initials string
	alive    bool
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byID: map[string]int32{}, grams: map[string][]uint32{}, pgrams: map[string][]uint32{}, shops: map[string]string{},
		held: map[string]int{}, shopNo: map[string]int32{}, slashFree: true}
}

// normalize folds full-width letters and digits to ASCII and case to
// lower, so "ＬＥＤ" and "led" are one word.
func normalize(s string) string {
	return strings.ToLower(width.Fold.String(s))
}

// keys lists the distinct characters, adjacent pairs and triples of s's
// words (a word of up to three characters is then a key itself: see Top).
func keys(s string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, word := range strings.FieldsFunc(s, separator) {
		r := []rune(word)
		for i := range r {
			add(string(r[i]))
			if i+1 < len(r) {
				add(string(r[i : i+2]))
			}
			if i+2 < len(r) {
				add(string(r[i : i+3]))
			}
		}
	}
	return out
}

func separator(r rune) bool { return unicode.IsSpace(r) || r == 0 || unicode.IsPunct(r) }

// Put adds or replaces items; a deleted or delisted one leaves the index.
func (ix *Index) Put(items ...Item) {
	if len(items) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	defer ix.version.Add(1)
	for _, it := range items {
		ix.remove(it.ID)
		if it.Deleted || it.Delisted != "" {
			continue
		}
		ix.add(it)
	}
	if ix.dead > 1024 && ix.dead > len(ix.docs)/3 {
		ix.compact()
	}
}

// SetShopName changes the shop name every item of tenantID is found by.
func (ix *Index) SetShopName(tenantID, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.shops[tenantID]; ok && old == name {
		return
	}
	ix.shops[tenantID] = name
	ix.version.Add(1)
	if ix.held[tenantID] == 0 {
		return
	}
	var items []Item
	for _, slot := range ix.byID {
		if ix.docs[slot].item.TenantID == tenantID {
			items = append(items, ix.docs[slot].item)
		}
	}
	for _, it := range items {
		ix.remove(it.ID)
		ix.add(it)
	}
}

func (ix *Index) add(it Item) {
	title := normalize(it.Title)
	d := doc{item: it, quality: ix.qualityOf(&it), title: title, text: title + "\x00" + normalize(it.Category) + "\x00" + normalize(ix.shops[it.TenantID]),
		initials: initials(title), alive: true}
	ix.held[it.TenantID]++
	ix.place(d)
}

// place appends d as the next slot, with its postings and compact fields.
func (ix *Index) place(d doc) {
	slot := uint32(len(ix.docs))
	ix.docs = append(ix.docs, d)
	ix.byID[d.item.ID] = int32(slot)
	sn, ok := ix.shopNo[d.item.TenantID]
	if !ok {
		sn = int32(len(ix.shopIDs))
		ix.shopNo[d.item.TenantID] = sn
		ix.shopIDs = append(ix.shopIDs, d.item.TenantID)
		ix.rankShops()
	}
	ix.shopOf = append(ix.shopOf, sn)
	ix.idKeyed = append(ix.idKeyed, d.item.ID == d.item.TenantID+"/"+d.item.ProductID)
	var key [8]byte
	copy(key[:], d.item.ProductID)
	ix.prodKey = append(ix.prodKey, binary.BigEndian.Uint64(key[:]))
	ix.qual = append(ix.qual, d.quality)
	ix.exact = append(ix.exact, utf8.ValidString(d.text))
	ix.at = append(ix.at, uint32(len(ix.texts)))
	ix.titleLen = append(ix.titleLen, uint32(len(d.title)))
	ix.textLen = append(ix.textLen, uint32(len(d.text)))
	ix.texts = append(ix.texts, d.text...)
	inTitle := map[string]bool{}
	for _, k := range keys(d.title) {
		inTitle[k] = true
	}
	for _, k := range keys(d.text) {
		p := slot << 1
		if inTitle[k] {
			p |= 1
		}
		ix.grams[k] = append(ix.grams[k], p)
	}
	for _, k := range keys(d.initials) {
		ix.pgrams[k] = append(ix.pgrams[k], slot<<1)
	}
}

func (ix *Index) qualityOf(it *Item) float64 {
	if ix.quality == nil {
		return 0
	}
	return ix.quality(it)
}

// Requality scores every item's quality again with quality (the shops'
// factors changed, a day passed).
func (ix *Index) Requality(quality func(*Item) float64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	defer ix.version.Add(1)
	ix.quality = quality
	for _, slot := range ix.byID {
		q := quality(&ix.docs[slot].item)
		ix.docs[slot].quality, ix.qual[slot] = q, q
	}
}

func (ix *Index) remove(id string) {
	if slot, ok := ix.byID[id]; ok {
		ix.docs[slot].alive = false
		ix.shopOf[slot] = -1
		ix.dead++
		delete(ix.byID, id)
		ix.held[ix.docs[slot].item.TenantID]--
	}
}

// rankShops orders the shops by tenant id + "/" (a new shop was numbered).
func (ix *Index) rankShops() {
	order := make([]int32, len(ix.shopIDs))
	for i := range order {
		order[i] = int32(i)
		if strings.Contains(ix.shopIDs[i], "/") {
			ix.slashFree = false
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(ix.shopIDs[a]+"/", ix.shopIDs[b]+"/") })
	ix.shopRank = make([]uint32, len(order))
	for r, sn := range order {
		ix.shopRank[sn] = uint32(r)
	}
}

// idAfter reports whether slot a's item id sorts after slot b's (both
// alive), by numbers where they decide (see shopRank).
func (ix *Index) idAfter(a, b uint32) bool {
	if ix.idKeyed[a] && ix.idKeyed[b] {
		sa, sb := ix.shopOf[a], ix.shopOf[b]
		switch {
		case sa != sb && ix.slashFree:
			return ix.shopRank[sa] > ix.shopRank[sb]
		case sa == sb && ix.prodKey[a] != ix.prodKey[b]:
			return ix.prodKey[a] > ix.prodKey[b]
		}
	}
	return ix.docs[a].item.ID > ix.docs[b].item.ID
}

// compact rebuilds the slots without the dead ones.
func (ix *Index) compact() {
	old := ix.docs
	ix.docs, ix.byID, ix.grams, ix.pgrams, ix.dead = nil, map[string]int32{}, map[string][]uint32{}, map[string][]uint32{}, 0
	ix.shopOf, ix.qual, ix.exact, ix.idKeyed, ix.prodKey = nil, nil, nil, nil, nil
	ix.texts, ix.at, ix.titleLen, ix.textLen = nil, nil, nil, nil
	for _, d := range old {
		if d.alive {
			ix.place(d)
		}
	}
}

// Len is how many items the index holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Hit is an item a query found, with how well its text matched: 1 when
// every word of the query is in the title, less when some are only in the
// category or the shop's name, a little more when the title starts with
// the query.
type Hit struct {
	// Item points into the index: items are never changed in place (a
	// change takes a new slot), so it stays valid and must not be written.
	Item      *Item
	Relevance float64
	// Quality is the item's quality as last scored (Index.Requality).
	Quality float64
}

// Find returns the items holding every word of q, each with its relevance,
// those keep refuses left out. An empty q finds every item keep accepts.
func (ix *Index) Find(q string, keep func(*Item) bool) []Hit {
	words := strings.FieldsFunc(normalize(q), separator)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []Hit
	if len(words) == 0 {
		for _, slot := range ix.byID {
			d := &ix.docs[slot]
			if keep(&d.item) {
				out = append(out, Hit{Item: &d.item, Quality: d.quality})
			}
		}
		return out
	}
	// The candidates are the items holding the query's rarest key; each is
	// then checked for the words themselves, which is exact and cheaper
	// than intersecting the other keys' lists.
	var rarest []uint32
	for i, k := range keys(strings.Join(words, " ")) {
		l, ok := ix.grams[k]
		if !ok {
			return nil
		}
		if i == 0 || len(l) < len(rarest) {
			rarest = l
		}
	}
	for _, p := range rarest {
		d := &ix.docs[p>>1]
		if !d.alive {
			continue
		}
		rel, ok := relevance(d, words)
		if ok && keep(&d.item) {
			out = append(out, Hit{Item: &d.item, Relevance: rel, Quality: d.quality})
		}
	}
	return out
}

// relevance scores a candidate; false if a word is not in its text.
func relevance(d *doc, words []string) (float64, bool) {
	score := 0.0
	for _, w := range words {
		switch {
		case strings.Contains(d.title, w):
			score += 1
		case strings.Contains(d.text, w):
			score += 0.5
		default:
			return 0, false
		}
	}
	score /= float64(len(words))
	if strings.HasPrefix(d.title, words[0]) {
		score += 0.1
	}
	return min(score, 1), true
}
