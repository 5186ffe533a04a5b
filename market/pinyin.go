package market

import (
	"strings"
	"sync"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Pinyin initials: "xhlj" finds 西湖龙井. GB2312 orders its 3,755 level-1
// characters (the common ones, rows 0xB0 to 0xD7) by pinyin, so the code
// ranges below give each its first letter without a pinyin table: the
// classic trick. A character of several readings gets the one GB2312
// filed it under; characters outside level 1 have no initial.
var initialStarts = []struct {
	code   uint16 // the first GB2312 code of the letter
	letter byte
}{
	{0xB0A1, 'a'}, {0xB0C5, 'b'}, {0xB2C1, 'c'}, {0xB4EE, 'd'}, {0xB6EA, 'e'}, {0xB7A2, 'f'},
	{0xB8C1, 'g'}, {0xB9FE, 'h'}, {0xBBF7, 'j'}, {0xBFA6, 'k'}, {0xC0AC, 'l'}, {0xC2E8, 'm'},
	{0xC4C3, 'n'}, {0xC5B6, 'o'}, {0xC5BE, 'p'}, {0xC6DA, 'q'}, {0xC8BB, 'r'}, {0xC8F6, 's'},
	{0xCBFA, 't'}, {0xCDDA, 'w'}, {0xCEF4, 'x'}, {0xD1B9, 'y'}, {0xD4D1, 'z'},
}

// lastLevel1 is the last level-1 character's code.
const lastLevel1 = 0xD7F9

var (
	initialsOnce sync.Once
	initialsOf   map[rune]byte
)

// initialOf is a character's pinyin initial, 0 for none.
func initialOf(r rune) byte {
	initialsOnce.Do(func() {
		initialsOf = make(map[rune]byte, 3755)
		dec := simplifiedchinese.GBK.NewDecoder()
		for i, st := range initialStarts {
			end := uint16(lastLevel1 + 1)
			if i+1 < len(initialStarts) {
				end = initialStarts[i+1].code
			}
			for code := st.code; code < end; code++ {
				if lo := code & 0xFF; lo < 0xA1 || lo > 0xFE {
					continue // not a character's code (between rows)
				}
				s, err := dec.String(string([]byte{byte(code >> 8), byte(code)}))
				if rs := []rune(s); err == nil && len(rs) == 1 && rs[0] != '\uFFFD' {
					initialsOf[rs[0]] = st.letter
				}
			}
		}
	})
	return initialsOf[r]
}

// initials is a normalized title's pinyin initials: each level-1
// character its initial, ASCII letters and digits kept, anything else a
// break between words ("西湖龙井绿茶 250克" is "xhljlc 250k").
func initials(title string) string {
	var b strings.Builder
	for _, r := range title {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
		case initialOf(r) != 0:
			b.WriteByte(initialOf(r))
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// pinyinQuery says whether a query may be pinyin initials: every word
// ASCII letters only.
func pinyinQuery(words []string) bool {
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if w[i] < 'a' || w[i] > 'z' {
				return false
			}
		}
	}
	return len(words) > 0
}

// pinyinRelevance is a match by initials: as a match outside the title.
const pinyinRelevance = 0.5

// pinyinTop answers a query of letters by the titles' initials (Top asks
// when the letters themselves found nothing): a word of up to three
// letters is a key of pgrams; a longer one is narrowed by its triples and
// checked in the initials.
func (ix *Index) pinyinTop(words []string, h *pageHeap, kept func(int32) bool) ([]scoredHit, int) {
	var lists [][]uint32
	long := false
	for _, w := range words {
		if len(w) <= maxGram {
			l, ok := ix.pgrams[w]
			if !ok {
				return nil, 0
			}
			lists = append(lists, l)
			continue
		}
		long = true
		for i := 0; i+maxGram <= len(w); i++ {
			l, ok := ix.pgrams[w[i:i+maxGram]]
			if !ok {
				return nil, 0
			}
			lists = append(lists, l)
		}
	}
	driver := 0
	for i := range lists {
		if len(lists[i]) < len(lists[driver]) {
			driver = i
		}
	}
	at := make([]int, len(lists))
	total := 0
next:
	for _, p := range lists[driver] {
		slot := p >> 1
		sn := ix.shopOf[slot]
		if sn < 0 {
			continue
		}
		for i, l := range lists {
			if i == driver {
				continue
			}
			j := at[i]
			for j < len(l) && l[j]>>1 < slot {
				j++
			}
			at[i] = j
			if j == len(l) {
				break next
			}
			if l[j]>>1 != slot {
				continue next
			}
		}
		if !kept(sn) {
			continue
		}
		if long {
			for _, w := range words {
				if !strings.Contains(ix.docs[slot].initials, w) {
					continue next
				}
			}
		}
		total++
		h.offer(score(pinyinRelevance, ix.qual[slot]), slot, pinyinRelevance)
	}
	return h.hits(), total
}
