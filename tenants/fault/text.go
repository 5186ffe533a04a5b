package fault

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text checks one line of text a person typed (a name, a title, a tag):
// it trims the surrounding white space, refuses invalid UTF-8, control
// characters (C0 including tab and newline, DEL, C1), bidirectional
// controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) and line or
// paragraph separators, and refuses more than max characters. Each refusal
// is a 400 naming field. It returns the trimmed text; whether an empty one
// is allowed is for the caller to say.
func Text(field, s string, max int) (string, error) {
	return checkText(field, strings.TrimSpace(s), max, false)
}

// MultilineText is Text for text that may span lines (a description, a
// message): tab and newline are allowed, and a CRLF line break (as browsers
// send a textarea) becomes LF. A lone CR and U+2028/U+2029 are still refused.
func MultilineText(field, s string, max int) (string, error) {
	return checkText(field, strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")), max, true)
}

func checkText(field, s string, max int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", Invalid(field, "is not valid UTF-8 text")
	}
	n := 0
	for _, r := range s {
		n++
		if forbidden(r, multiline) {
			return "", Invalid(field, "must not contain the %s character U+%04X (character %d)", kind(r), r, n)
		}
	}
	if n > max {
		return "", Invalid(field, "must be at most %d characters, got %d", max, n)
	}
	return s, nil
}

// forbidden: characters that hide or rearrange what a reader sees, break
// lines where none belongs, or cut strings short in other programs.
func forbidden(r rune, multiline bool) bool {
	switch {
	case multiline && (r == '\n' || r == '\t'):
		return false
	case unicode.IsControl(r): // U+0000-U+001F, U+007F-U+009F
		return true
	case unicode.Is(unicode.Bidi_Control, r):
		return true
	case r == '\u2028' || r == '\u2029': // line and paragraph separators: lines break at \n only
		return true
	}
	return false
}

func kind(r rune) Word {
	switch {
	case unicode.IsControl(r):
		return "control"
	case unicode.Is(unicode.Bidi_Control, r):
		return "bidirectional control"
	}
	return "line separator"
}
