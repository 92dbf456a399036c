package csvimport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// sniffed is what the first bytes of a file say about how to read it.
type sniffed struct {
	charset    string
	delim      rune
	crLines    bool // lines end with a lone '\r' (old Mac Excel)
	lineOffset int
}

// charsetOption maps Options.Charset to the charset used, "" meaning detect.
func charsetOption(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		return "", nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "windows-1252", "cp1252", "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return Windows1252, nil
	default:
		return "", fmt.Errorf("%w: charset %q is not supported; use utf-8 or windows-1252", ErrEncoding, name)
	}
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	magicZip   = []byte("PK\x03\x04")                       // .xlsx, .ods
	magicOLE   = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1} // .xls
)

// sniff peeks at the first bytes of br, consumes a UTF-8 BOM and an Excel "sep=" line, and decides the
// charset (charset, when not "") and the delimiter.
func sniff(br *bufio.Reader, charset string) (sniffed, error) {
	win, err := br.Peek(sniffBytes)
	atEOF := false
	switch {
	case err == io.EOF:
		atEOF = true
	case err != nil && !errors.Is(err, bufio.ErrBufferFull):
		return sniffed{}, fmt.Errorf("read csv: %w", err)
	}
	s := sniffed{charset: charset}

	hasBOM := bytes.HasPrefix(win, bomUTF8)
	if hasBOM {
		if _, err := br.Discard(len(bomUTF8)); err != nil {
			return sniffed{}, fmt.Errorf("read csv: %w", err)
		}
		win = win[len(bomUTF8):]
	}
	if err := checkText(win); err != nil {
		return sniffed{}, err
	}
	if len(bytes.TrimSpace(win)) == 0 && atEOF {
		return sniffed{}, ErrEmpty
	}

	if s.charset == "" {
		s.charset = Windows1252
		if hasBOM || looksUTF8(win, atEOF) {
			s.charset = UTF8
		}
	}
	s.crLines = bytes.IndexByte(win, '\r') >= 0 && bytes.IndexByte(win, '\n') < 0
	nl := byte('\n')
	if s.crLines {
		nl = '\r'
	}

	// Excel honours a first line "sep=;" naming the delimiter, and writes it when asked to.
	if d, n, ok := sepLine(win, nl); ok {
		if _, err := br.Discard(n); err != nil {
			return sniffed{}, fmt.Errorf("read csv: %w", err)
		}
		s.delim, s.lineOffset = d, 1
		return s, nil
	}
	s.delim = sniffDelimiter(win, nl)
	return s, nil
}

// checkText rejects what is clearly not a text file, with a hint for the usual mistakes.
func checkText(win []byte) error {
	switch {
	case bytes.HasPrefix(win, magicZip), bytes.HasPrefix(win, magicOLE):
		return fmt.Errorf("%w: this is an Excel workbook, not CSV; in Excel use \"Save as\" > \"CSV UTF-8\"", ErrEncoding)
	case bytes.HasPrefix(win, bomUTF16LE), bytes.HasPrefix(win, bomUTF16BE):
		return fmt.Errorf("%w: the file is UTF-16 (Excel \"Unicode text\"); in Excel use \"Save as\" > \"CSV UTF-8\"", ErrEncoding)
	case bytes.IndexByte(win, 0) >= 0:
		return fmt.Errorf("%w: the file holds binary data (NUL bytes); export it as CSV UTF-8", ErrEncoding)
	}
	return nil
}

// looksUTF8 reports whether win is UTF-8. A multi-byte sequence cut by the end of the window does not count
// against it unless the file ends there. A window with a few invalid bytes among many well-formed multi-byte
// sequences is still UTF-8 (damaged rows become row errors): reading it as Windows-1252 would silently turn
// every accented letter into mojibake ("JoÃ£o"), while real Windows-1252 Portuguese text practically never
// forms valid multi-byte sequences.
func looksUTF8(win []byte, atEOF bool) bool {
	if !atEOF {
		for i := len(win) - 1; i >= 0 && i >= len(win)-utf8.UTFMax; i-- {
			if utf8.RuneStart(win[i]) {
				if !utf8.FullRune(win[i:]) {
					win = win[:i]
				}
				break
			}
		}
	}
	if utf8.Valid(win) {
		return true
	}
	multi, invalid := 0, 0
	for len(win) > 0 {
		r, n := utf8.DecodeRune(win)
		switch {
		case r == utf8.RuneError && n == 1:
			invalid++
		case n > 1:
			multi++
		}
		win = win[n:]
	}
	return multi > 4*invalid
}

// sepLine recognises an Excel "sep=X" first line and returns X and the line's length with its line end.
func sepLine(win []byte, nl byte) (rune, int, bool) {
	const prefix = "sep="
	if len(win) < len(prefix)+1 || !strings.EqualFold(string(win[:len(prefix)]), prefix) {
		return 0, 0, false
	}
	line := win
	if i := bytes.IndexByte(win, nl); i >= 0 {
		line = win[:i+1]
	}
	d, size := utf8.DecodeRune(line[len(prefix):])
	rest := string(line[len(prefix)+size:])
	if !validDelimiter(d) || (rest != "" && rest != "\n" && rest != "\r\n" && rest != "\r") {
		return 0, 0, false
	}
	return d, len(line), true
}

// validDelimiter reports whether d can separate fields: encoding/csv must accept it and the byte-level row
// guard needs a single byte.
func validDelimiter(d rune) bool {
	switch {
	case d == '\t':
		return true
	case d <= ' ' || d >= 0x7f, d == '"':
		return false
	case '0' <= d && d <= '9', 'a' <= d && d <= 'z', 'A' <= d && d <= 'Z':
		return false
	}
	return true
}

// sniffDelimiter counts ';', ',' and tabs outside quotes on the first non-blank line of win. The majority
// wins; a tie goes to ';', Brazilian Excel's default, when there is one; tabs count only when there is
// neither ';' nor ','; a single-column header is read as ','.
func sniffDelimiter(win []byte, nl byte) rune {
	line := firstLine(win, nl)
	semis, commas, tabs := 0, 0, 0
	quoted := false
	for _, b := range line {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == ';':
			semis++
		case b == ',':
			commas++
		case b == '\t':
			tabs++
		}
	}
	switch {
	case semis > commas:
		return ';'
	case commas > semis:
		return ','
	case semis > 0:
		return ';'
	case tabs > 0:
		return '\t'
	default:
		return ','
	}
}

// firstLine returns the first line of win that is not blank, ending at a line end outside quotes.
func firstLine(win []byte, nl byte) []byte {
	for len(win) > 0 {
		end := len(win)
		quoted := false
		for i, b := range win {
			if b == '"' {
				quoted = !quoted
			} else if b == nl && !quoted {
				end = i
				break
			}
		}
		line := win[:end]
		if len(bytes.TrimSpace(line)) > 0 {
			return line
		}
		if end == len(win) {
			break
		}
		win = win[end+1:]
	}
	return nil
}

var windows1252 = func() (t [256]rune) {
	for i := range t {
		t[i] = charmap.Windows1252.DecodeByte(byte(i))
	}
	return t
}()

// decodeWindows1252 converts a Windows-1252 string to UTF-8. Each byte maps to one rune, so encoding/csv can
// split the raw bytes first: the delimiter, quotes and line ends are ASCII in both encodings.
func decodeWindows1252(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(windows1252[c])
		}
	}
	return b.String()
}
