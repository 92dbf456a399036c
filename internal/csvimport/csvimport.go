// Package csvimport reads contact files exported as CSV by Brazilian users, often from Excel, and turns them
// into typed rows, one at a time, so memory stays flat whatever the file size. It sniffs the encoding and the
// delimiter and maps the header to the columns atende knows; it does not validate values (phones, CNPJs) nor
// touch the database.
package csvimport

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Column is a field atende knows how to import.
type Column string

// The columns atende imports.
const (
	Name      Column = "name"
	Phone     Column = "phone"
	Email     Column = "email"
	Company   Column = "company"
	CNPJ      Column = "cnpj"
	Portfolio Column = "portfolio"
	Notes     Column = "notes"
)

// Charsets reported by Reader.Charset.
const (
	UTF8        = "utf-8"
	Windows1252 = "windows-1252"
)

const (
	// DefaultMaxRowBytes bounds a row when Options.MaxRowBytes is not set.
	DefaultMaxRowBytes = 64 << 10
	// MaxValueChars is the longest value, in characters, a field may hold.
	MaxValueChars = 1000
	// sniffBytes is how much of the file is peeked, not consumed, to choose the encoding and delimiter.
	sniffBytes = 64 << 10
)

// Errors for a file that cannot be imported at all; NewReader wraps them with details for the user.
var (
	ErrEmpty           = errors.New("the file is empty")
	ErrNoHeader        = errors.New("the first line is not a readable header")
	ErrNoKnownColumns  = errors.New("the header names no known column")
	ErrDuplicateColumn = errors.New("two header columns name the same field")
	ErrEncoding        = errors.New("the file is not text in a supported encoding")
)

// Row is one data row of the file.
type Row struct {
	// Line is the 1-based line number in the file where the row starts (the header is line 1).
	Line int
	// Fields holds the trimmed values of the known columns present in the file ("" when empty).
	Fields map[Column]string
}

// RowError is a row that could not be read (broken quoting, invalid encoding, too many fields...).
type RowError struct {
	// Line is the 1-based line number in the file where the row starts.
	Line int
	// Message says what is wrong, for the user who sent the file.
	Message string
}

// Error implements error.
func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Options tune the reader.
type Options struct {
	// Charset is "" to detect, or "utf-8", "iso-8859-1"/"latin1" or "windows-1252" (read as Windows-1252,
	// a superset of Latin-1 for printable text).
	Charset string
	// MaxRowBytes bounds a row, quoted line breaks included; 0 means DefaultMaxRowBytes. A longer row is a
	// RowError and reading goes on after it.
	MaxRowBytes int
}

// Reader reads rows.
type Reader struct {
	csv        *csv.Reader
	guard      *guard
	delim      rune
	charset    string
	lineOffset int // lines consumed before the CSV stream (an Excel "sep=" line)

	header  []string // header labels as written, for messages
	columns []Column // per header position; "" for an ignored column
	known   []Column
	ignored []string
}

// NewReader sniffs the input (UTF-8 BOM, encoding, delimiter) from its first bytes and reads the header.
// It fails (ErrEmpty, ErrNoHeader, ErrNoKnownColumns, ErrDuplicateColumn, ErrEncoding) when the file is
// unusable as a whole, or with the read error of r.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	charset, err := charsetOption(opts.Charset)
	if err != nil {
		return nil, err
	}
	maxRow := opts.MaxRowBytes
	if maxRow <= 0 {
		maxRow = DefaultMaxRowBytes
	}

	br := bufio.NewReaderSize(r, sniffBytes)
	s, err := sniff(br, charset)
	if err != nil {
		return nil, err
	}
	rd := &Reader{
		guard:      newGuard(br, byte(s.delim), maxRow, s.crLines),
		delim:      s.delim,
		charset:    s.charset,
		lineOffset: s.lineOffset,
	}
	rd.csv = csv.NewReader(rd.guard)
	rd.csv.Comma = s.delim
	rd.csv.FieldsPerRecord = -1
	rd.csv.ReuseRecord = true
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Columns returns the known columns found in the header, in file order.
func (r *Reader) Columns() []Column { return slices.Clone(r.known) }

// Ignored returns the header names that are not recognised, as written, so the user can be told.
func (r *Reader) Ignored() []string { return slices.Clone(r.ignored) }

// Delimiter returns the field delimiter in use: ';' or ',', or '\t' for a tab-separated file, or the one an
// Excel "sep=" line names.
func (r *Reader) Delimiter() rune { return r.delim }

// Charset returns the encoding the file is read with: "utf-8" or "windows-1252".
func (r *Reader) Charset() string { return r.charset }

// Next returns the next row, a *RowError for a row that is unreadable (the caller records it and calls Next
// again), or io.EOF.
func (r *Reader) Next() (Row, error) {
	for {
		rec, start, err := r.read()
		if err != nil {
			return Row{}, err
		}
		if blank(rec) {
			continue
		}
		row := Row{Line: start + r.lineOffset, Fields: make(map[Column]string, len(r.known))}
		if len(rec) > len(r.columns) && !blank(rec[len(r.columns):]) {
			return Row{}, r.rowError(start, "the row has %d fields but the header has %d", len(rec), len(r.columns))
		}
		for i, col := range r.columns {
			if col == "" {
				continue
			}
			var v string
			if i < len(rec) {
				v = rec[i]
			}
			v, msg := r.value(v)
			if msg != "" {
				return Row{}, r.rowError(start, "column %q: %s", r.header[i], msg)
			}
			row.Fields[col] = v
		}
		return row, nil
	}
}

// read returns the next record from the CSV stream and the line, counted from the stream's start, where it
// begins. Broken records come back as a *RowError, with the record's start line.
func (r *Reader) read() ([]string, int, error) {
	rec, err := r.csv.Read()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	var start int
	var pe *csv.ParseError
	switch {
	case err == nil:
		start, _ = r.csv.FieldPos(0)
	case errors.As(err, &pe):
		start = pe.StartLine
	default:
		return nil, 0, fmt.Errorf("read csv: %w", err)
	}
	// A row the guard cut short reaches encoding/csv already truncated; what it parsed of it does not count.
	if t, ok := r.guard.truncated(start); ok {
		return nil, start, r.rowError(start, "%s", t.message(r.guard.limit, r.lineOffset))
	}
	if pe != nil {
		return nil, start, r.rowError(start, "%s", r.parseMessage(pe))
	}
	return rec, start, nil
}

func (r *Reader) rowError(start int, format string, args ...any) *RowError {
	return &RowError{Line: start + r.lineOffset, Message: fmt.Sprintf(format, args...)}
}

// value decodes and trims a raw field, or says why it cannot be used.
func (r *Reader) value(raw string) (string, string) {
	if r.charset == Windows1252 {
		raw = decodeWindows1252(raw)
	} else if !utf8.ValidString(raw) {
		return "", "not valid UTF-8; export the file as UTF-8 or send charset=windows-1252"
	}
	v := strings.TrimSpace(raw)
	if utf8.RuneCountInString(v) > MaxValueChars {
		return "", fmt.Sprintf("the value is longer than %d characters", MaxValueChars)
	}
	return v, ""
}

// parseMessage explains an encoding/csv parse error in the user's terms. encoding/csv drops the rest of the
// physical line where it detects the error and goes on with the next line, so the message says which lines
// were lost.
func (r *Reader) parseMessage(pe *csv.ParseError) string {
	start, at := pe.StartLine+r.lineOffset, pe.Line+r.lineOffset
	lost := ""
	switch {
	case errors.Is(pe.Err, csv.ErrQuote) && r.guard.openAtEOF == pe.StartLine:
		return unclosedMessage(lineRange(start, r.guard.lastLine+r.lineOffset))
	case at > start:
		lost = fmt.Sprintf("; %s could not be read", lineRange(start, at))
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("quote (\") inside a field that is not quoted (line %d, column %d): enclose the field in quotes "+
			"and double the quotes inside it (\"\")%s", at, pe.Column, lost)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("a closing quote (\") is followed by other characters (line %d, column %d); "+
			"is a closing quote missing or a quote not doubled (\"\")?%s", at, pe.Column, lost)
	default:
		return pe.Err.Error() + lost
	}
}

// readHeader reads the first non-blank record and maps it to columns.
func (r *Reader) readHeader() error {
	var rec []string
	for {
		var err error
		rec, _, err = r.read()
		var re *RowError
		switch {
		case err == io.EOF:
			return ErrEmpty
		case errors.As(err, &re):
			return fmt.Errorf("%w: %s", ErrNoHeader, re.Error())
		case err != nil:
			return err
		}
		if !blank(rec) {
			break
		}
	}
	r.header = make([]string, len(rec))
	r.columns = make([]Column, len(rec))
	seen := make(map[Column]int, len(rec))
	for i, raw := range rec {
		label := raw
		if r.charset == Windows1252 {
			label = decodeWindows1252(label)
		} else if !utf8.ValidString(label) {
			return fmt.Errorf("%w: the header is not valid UTF-8; export the file as UTF-8 or send charset=windows-1252",
				ErrEncoding)
		}
		label = strings.TrimSpace(strings.ReplaceAll(label, "\ufeff", ""))
		r.header[i] = label
		col, ok := lookupColumn(label)
		if !ok {
			if label != "" { // Excel pads rows with empty trailing columns.
				r.ignored = append(r.ignored, label)
			}
			continue
		}
		if j, dup := seen[col]; dup {
			return fmt.Errorf("%w: %q and %q are both %s; keep one or rename the other", ErrDuplicateColumn,
				r.header[j], label, col)
		}
		seen[col] = i
		r.columns[i] = col
		r.known = append(r.known, col)
	}
	if len(r.known) == 0 {
		return fmt.Errorf("%w: the first line must name the columns, e.g. nome;telefone;email (found %s)",
			ErrNoKnownColumns, quoteList(r.ignored))
	}
	return nil
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "no names"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// blank reports whether every field is empty or spaces, as in the ";;;" lines Excel writes for empty rows.
func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
