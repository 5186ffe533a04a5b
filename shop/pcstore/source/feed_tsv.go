package source

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseTSV reads tab-separated lines: a header naming the columns, then one
// product (or variant) per line. A field may be quoted ("...") to hold tabs
// or line breaks, with "" for a quote.
func parseTSV(r *bufio.Reader, g *grouper) error {
	t := &tsvReader{r: r}
	var header []string
	for {
		fields, err := t.record()
		if err == io.EOF {
			if header == nil {
				return errors.New("the feed is empty")
			}
			return nil
		}
		if errors.Is(err, errLineTooLong) {
			if header == nil {
				return fmt.Errorf("line %d (the header) is longer than %d MB", t.line, maxToken>>20)
			}
			if err := g.fail(fmt.Sprintf("line %d", t.startLine), fmt.Sprintf("line is longer than %d MB", maxToken>>20)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read feed line %d: %w", t.line, err)
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		if header == nil {
			header = make([]string, len(fields))
			hasID := false
			for i, f := range fields {
				header[i] = fieldName(f)
				hasID = hasID || header[i] == "id"
			}
			if !hasID {
				return fmt.Errorf("the first line must name the columns, tab-separated, including id (found %d columns, none named id): is this a TSV product feed?",
					len(fields))
			}
			continue
		}
		rec := &record{ref: fmt.Sprintf("line %d", t.startLine)}
		for i, v := range fields {
			if i >= len(header) || header[i] == "" {
				continue
			}
			if header[i] == "additional_image_link" {
				for _, u := range strings.Split(v, ",") {
					rec.add(header[i], u)
				}
				continue
			}
			rec.add(header[i], v)
		}
		if err := g.add(rec); err != nil {
			return err
		}
	}
}

var errLineTooLong = errors.New("line too long")

// tsvReader reads records from tab-separated text, one byte at a time
// through a buffer, so no line is held beyond maxToken.
type tsvReader struct {
	r         *bufio.Reader
	line      int // lines read so far
	startLine int // line where the last record started
}

func (t *tsvReader) record() ([]string, error) {
	var fields []string
	var cur []byte
	size := 0
	quoted, atStart, afterQuote := false, true, false
	t.line++
	t.startLine = t.line
	tooLong := false
	for {
		c, err := t.r.ReadByte()
		if err == io.EOF {
			if size == 0 && fields == nil && !quoted {
				return nil, io.EOF
			}
			if tooLong {
				return nil, errLineTooLong
			}
			return append(fields, string(cur)), nil
		}
		if err != nil {
			return nil, err
		}
		size++
		if size > maxToken {
			tooLong = true
			cur = cur[:0]
			if c != '\n' {
				continue
			}
			quoted = false // a runaway quote ends at the next line after the limit
		}
		switch {
		case quoted && c == '"':
			next, err := t.r.Peek(1)
			if err == nil && next[0] == '"' {
				_, _ = t.r.ReadByte()
				cur = append(cur, '"')
				continue
			}
			quoted, afterQuote = false, true
		case quoted:
			if c == '\n' {
				t.line++
			}
			cur = append(cur, c)
		case c == '"' && atStart:
			quoted = true
			atStart = false
		case c == '\t':
			fields = append(fields, string(cur))
			cur, atStart, afterQuote = cur[:0], true, false
		case c == '\n':
			if tooLong {
				return nil, errLineTooLong
			}
			s := string(cur)
			if !afterQuote {
				s = strings.TrimSuffix(s, "\r")
			}
			return append(fields, s), nil
		default:
			if afterQuote && c == '\r' {
				continue
			}
			cur = append(cur, c)
			atStart = false
		}
	}
}
