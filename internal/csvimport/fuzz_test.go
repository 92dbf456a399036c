package csvimport_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/atende/atende/internal/csvimport"
)

// outcome is what Next returned for the row starting at a line: a row or a row error message.
type outcome struct {
	fields map[csvimport.Column]string
	err    string
}

// FuzzReader reads arbitrary input with a large and a small MaxRowBytes (see compareLimits).
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, maxRow uint16) {
		// Most random bytes are not a header; let the fuzzer also spend its time on the rows.
		if maxRow&0x8000 != 0 {
			data = append([]byte(fuzzHeaders[int(maxRow>>13)&3]), data...)
		}
		compareLimits(t, data, 8+int(maxRow%512))
	})
}

var fuzzHeaders = [4]string{"nome;telefone;notas\n", "nome,telefone,notas\r\n", "nome\ttelefone\tnotas\n", "sep=;\nnome;x\n"}

// TestRowLimitOnlyCutsLongRows is FuzzReader's check on many small random files made of the bytes that
// matter to quoting, where a drift between the row guard and encoding/csv would show first.
func TestRowLimitOnlyCutsLongRows(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\"\";;,\n\n\rab ")
	for range 20_000 {
		data := []byte(fuzzHeaders[rng.IntN(len(fuzzHeaders))])
		for range rng.IntN(80) {
			data = append(data, alphabet[rng.IntN(len(alphabet))])
		}
		compareLimits(t, data, 1+rng.IntN(12))
	}
}

// compareLimits reads data with a large and a small MaxRowBytes. Besides never panicking and always reaching
// io.EOF with increasing lines, the small limit may only turn rows into "too long" errors: if the row guard's
// idea of where rows end drifted from encoding/csv's, other rows would change or move.
func compareLimits(t *testing.T, data []byte, limit int) {
	t.Helper()
	big, bigErr := readFuzz(t, data, 1<<20)
	small, smallErr := readFuzz(t, data, limit)
	if bigErr != nil || smallErr != nil {
		if bigErr != nil && smallErr == nil {
			t.Fatalf("%q: only the large limit failed: %v", data, bigErr)
		}
		return
	}
	tooLong := func(o outcome) bool {
		return strings.Contains(o.err, fmt.Sprintf("longer than %d bytes", limit)) ||
			strings.Contains(o.err, "never closed")
	}
	for line, want := range big {
		got, ok := small[line]
		switch {
		case !ok:
			t.Fatalf("%q, limit %d, line %d: read with the large limit (%+v) but not with the small one",
				data, limit, line, want)
		case tooLong(got):
		case got.err != want.err || !maps.Equal(got.fields, want.fields):
			t.Fatalf("%q, limit %d, line %d: %+v with the large limit, %+v with the small one",
				data, limit, line, want, got)
		}
	}
	for line, got := range small {
		if _, ok := big[line]; !ok && !tooLong(got) {
			t.Fatalf("%q, limit %d, line %d: %+v only with the small limit", data, limit, line, got)
		}
	}
}

func readFuzz(t *testing.T, data []byte, maxRow int) (map[int]outcome, error) {
	r, err := csvimport.NewReader(bytes.NewReader(data), csvimport.Options{MaxRowBytes: maxRow})
	if err != nil {
		for _, known := range []error{csvimport.ErrEmpty, csvimport.ErrNoHeader, csvimport.ErrNoKnownColumns,
			csvimport.ErrDuplicateColumn, csvimport.ErrEncoding} {
			if errors.Is(err, known) {
				return nil, err
			}
		}
		t.Fatalf("unexpected error: %v", err)
	}
	columns := r.Columns()
	got := make(map[int]outcome)
	last := 0
	// Every call consumes at least one line end or reaches the end, so this bounds a reader that loops.
	for calls := 0; ; calls++ {
		if calls > bytes.Count(data, []byte("\n"))+bytes.Count(data, []byte("\r"))+2 {
			t.Fatalf("Next did not reach io.EOF after %d calls", calls)
		}
		row, err := r.Next()
		if err == io.EOF {
			return got, nil
		}
		var re *csvimport.RowError
		var o outcome
		line := row.Line
		switch {
		case errors.As(err, &re):
			line, o.err = re.Line, re.Message
		case err != nil:
			t.Fatalf("unexpected error: %v", err)
		default:
			o.fields = row.Fields
			if len(row.Fields) != len(columns) {
				t.Fatalf("line %d: fields %v for columns %v", line, row.Fields, columns)
			}
			for _, c := range columns {
				v, ok := row.Fields[c]
				if !ok || !utf8.ValidString(v) || strings.TrimSpace(v) != v || utf8.RuneCountInString(v) > 1000 {
					t.Fatalf("line %d: bad value %q for %s", line, v, c)
				}
			}
		}
		if line <= last {
			t.Fatalf("line %d after line %d", line, last)
		}
		last = line
		got[line] = o
	}
}
