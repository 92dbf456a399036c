package csvimport

import (
	"bufio"
	"fmt"
)

// guard sits between the file and encoding/csv and cuts rows longer than limit bytes. encoding/csv has no
// limit of its own: a file without line ends, or a quote that is never closed, would make it buffer the
// rest of the file as one record. The guard follows the same quoting rules as encoding/csv (LazyQuotes off,
// TrimLeadingSpace off) to know where each record ends. When a record grows past the limit it ends the record
// early (closing an open quote), drops the rest of it, and emits one '\n' per dropped line end so that
// encoding/csv keeps counting lines as in the file; Reader turns the cut record into a RowError.
type guard struct {
	src     *bufio.Reader
	delim   byte
	limit   int
	crLines bool // read a lone '\r' as a line end

	special [256]bool // bytes that can change the state: quote, delimiter, line ends

	st       quoteState
	line     int // line of the next byte, from 1
	lastLine int // line of the last byte read
	recLen   int // bytes of the current record so far, line ends inside it included
	recStart int // line where the current record starts

	skipping bool
	cut      cut
	inject   []byte // record end to hand to encoding/csv after a cut
	newlines int    // line ends still to hand to encoding/csv for the dropped lines

	cuts      []cut // cut records encoding/csv has not returned yet
	openAtEOF int   // start line of a record whose quoted field the file ends in, or 0
	err       error
}

// cut is a record the guard ended early.
type cut struct {
	start, end int  // lines of the record
	quoted     bool // cut inside a quoted field
	unclosed   bool // the file ends inside a quoted field of the record
}

type quoteState uint8

const (
	fieldStart quoteState = iota // at the start of a field or between records
	unquoted                     // in a field that does not start with a quote
	quoted                       // in a quoted field
	quote                        // after a quote in a quoted field: closing, or the first of ""
	toLineEnd                    // the record ends with this line: after `"\r`, or after a quoting error
)

func newGuard(src *bufio.Reader, delim byte, limit int, crLines bool) *guard {
	g := &guard{src: src, delim: delim, limit: limit, crLines: crLines, line: 1}
	for _, b := range []byte{'"', '\n', '\r', delim} {
		g.special[b] = true
	}
	return g
}

// step moves the quoting state over b and reports whether b ends the record. It mirrors encoding/csv's
// readRecord: a quote opens a quoted field only as its first byte, `""` is a quote, a closing quote must be
// followed by the delimiter or the line end, and after a parse error encoding/csv drops the rest of the
// line.
func (g *guard) step(b byte) bool {
	switch g.st {
	case fieldStart:
		switch b {
		case '\n':
			return true
		case '"':
			g.st = quoted
		case g.delim:
		default:
			g.st = unquoted
		}
	case unquoted:
		switch b {
		case '\n':
			g.st = fieldStart
			return true
		case '"':
			g.st = toLineEnd
		case g.delim:
			g.st = fieldStart
		}
	case quoted:
		if b == '"' {
			g.st = quote
		}
	case quote:
		switch b {
		case '"':
			g.st = quoted
		case '\n':
			g.st = fieldStart
			return true
		case g.delim:
			g.st = fieldStart
		default:
			// `"\r\n` is a closing quote at the line end; after `"\r` anything else is an error, where
			// encoding/csv drops the rest of the line. Either way the record ends at the next '\n'.
			g.st = toLineEnd
		}
	case toLineEnd:
		if b == '\n' {
			g.st = fieldStart
			return true
		}
	}
	return false
}

// Read implements io.Reader for encoding/csv.
func (g *guard) Read(p []byte) (int, error) {
	n := 0
	for {
		if !g.skipping {
			c := copy(p[n:], g.inject)
			g.inject, n = g.inject[c:], n+c
			for g.newlines > 0 && n < len(p) {
				p[n] = '\n'
				n, g.newlines = n+1, g.newlines-1
			}
			if n == len(p) {
				return n, nil
			}
		}
		if g.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, g.err
		}
		if g.src.Buffered() == 0 {
			// Hand over what is ready rather than wait for more input, unless in the middle of a cut: the
			// cut must be complete (its end known) by the time encoding/csv returns the cut record.
			if n > 0 && !g.skipping {
				return n, nil
			}
			if _, err := g.src.Peek(1); err != nil && g.src.Buffered() == 0 {
				g.err = err
				g.endOfInput()
			}
			continue
		}
		buf, _ := g.src.Peek(g.src.Buffered())
		i := 0
		for i < len(buf) && (g.skipping || n < len(p)) {
			if !g.skipping && (g.st == unquoted || g.st == quoted) {
				// Fast path: copy the run of bytes that cannot change the state.
				k, end := 0, min(len(buf)-i, len(p)-n, g.limit-g.recLen)
				for k < end && !g.special[buf[i+k]] {
					k++
				}
				if k > 0 {
					copy(p[n:], buf[i:i+k])
					i, n, g.recLen = i+k, n+k, g.recLen+k
					g.lastLine = g.line
					continue
				}
			}
			b := buf[i]
			i++
			if g.crLines && b == '\r' {
				b = '\n'
			}
			g.lastLine = g.line
			if g.skipping {
				if g.drop(b) {
					break // the cut is over: the record end and dropped line ends go out first
				}
				continue
			}
			if g.recLen == 0 && b != '\n' {
				g.recStart = g.line
			}
			prev := g.st
			if g.step(b) {
				g.recLen = 0
			} else if g.recLen++; g.recLen > g.limit {
				g.startCut(prev, b)
				continue
			}
			if b == '\n' {
				g.line++
			}
			p[n] = b
			n++
		}
		if _, err := g.src.Discard(i); err != nil {
			return n, err
		}
	}
}

// startCut ends the current record before b, which the record had no room for.
func (g *guard) startCut(prev quoteState, b byte) {
	g.skipping = true
	g.cut = cut{start: g.recStart, quoted: prev == quoted}
	if prev == quoted {
		g.inject = []byte("\"\n")
	} else {
		g.inject = []byte("\n")
	}
	// The injected '\n' stands for the first line end dropped; the others go out as blank lines.
	g.newlines = -1
	if b == '\n' {
		g.line++
		g.newlines++
	}
}

// drop consumes b inside a cut record and reports whether the record ended with it.
func (g *guard) drop(b byte) bool {
	ended := g.step(b)
	if b == '\n' {
		g.line++
		g.newlines++
	}
	if ended {
		g.endCut(false)
	}
	return ended
}

func (g *guard) endCut(atEOF bool) {
	g.skipping = false
	g.recLen = 0
	g.newlines = max(g.newlines, 0)
	g.cut.end, g.cut.unclosed = g.lastLine, atEOF && g.st == quoted
	g.cuts = append(g.cuts, g.cut)
}

func (g *guard) endOfInput() {
	if g.skipping {
		g.endCut(true)
		return
	}
	if g.recLen > 0 && g.st == quoted {
		g.openAtEOF = g.recStart
	}
}

// truncated returns the cut for the record encoding/csv read starting at line start, if the guard cut it.
func (g *guard) truncated(start int) (cut, bool) {
	for len(g.cuts) > 0 && g.cuts[0].start < start {
		g.cuts = g.cuts[1:]
	}
	if len(g.cuts) > 0 && g.cuts[0].start == start {
		c := g.cuts[0]
		g.cuts = g.cuts[1:]
		return c, true
	}
	return cut{}, false
}

// message explains the cut to the user; offset turns stream lines into file lines.
func (c cut) message(limit, offset int) string {
	lines := lineRange(c.start+offset, c.end+offset)
	switch {
	case c.unclosed:
		return unclosedMessage(lines)
	case c.quoted:
		return fmt.Sprintf("the row is longer than %d bytes, inside a quoted field (is a closing quote missing?); "+
			"%s could not be read", limit, lines)
	default:
		return fmt.Sprintf("the row is longer than %d bytes; %s could not be read", limit, lines)
	}
}

// lineRange names the lines from start to end for a message.
func lineRange(start, end int) string {
	if end > start {
		return fmt.Sprintf("lines %d–%d", start, end)
	}
	return fmt.Sprintf("line %d", start)
}

func unclosedMessage(lines string) string {
	return fmt.Sprintf("a quoted field is never closed, so the rest of the file (%s) could not be read; "+
		"check for a missing closing quote (\")", lines)
}
