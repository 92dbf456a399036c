package csvimport_test

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/csvimport"
)

// contactFile generates a contact CSV on the fly, so a large file never exists in memory.
type contactFile struct {
	rows, next int
	pending    []byte
	buf        []byte
	size       int64
}

const generatedHeader = "Nome;Telefone;E-mail;Empresa;Observações\r\n"

func (f *contactFile) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(f.pending) == 0 {
			if f.next > f.rows {
				break
			}
			f.pending = f.appendLine(f.buf[:0], f.next)
			f.buf = f.pending
			f.next++
		}
		c := copy(p[n:], f.pending)
		f.pending, n = f.pending[c:], n+c
	}
	f.size += int64(n)
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (f *contactFile) appendLine(b []byte, i int) []byte {
	if i == 0 {
		return append(b, generatedHeader...)
	}
	b = append(b, "\"Contato Número "...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "\";(11) 9"...)
	b = strconv.AppendInt(b, int64(10000000+i), 10)
	b = append(b, ";contato"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "@example.com.br;Comércio e Representações Ltda;\"Cliente desde 2019; prefere contato "+
		"por WhatsApp à tarde.\nSegunda linha da observação, com vírgula, ponto e vírgula; e \"\"aspas\"\".\"\r\n"...)
	return b
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStreamingKeepsMemoryFlat is not parallel: it measures the process heap.
func TestStreamingKeepsMemoryFlat(t *testing.T) {
	const rows = 200_000
	const limit = 16 << 20
	f := &contactFile{rows: rows}
	base := heapInUse()

	r, err := csvimport.NewReader(f, csvimport.Options{})
	require.NoError(t, err)
	require.Equal(t, "utf-8", r.Charset())
	peak := heapInUse()
	read, line := 0, 1
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		read++
		require.Equal(t, line+1, row.Line, "a row spans two lines")
		line += 2
		if read%50_000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	require.Equal(t, rows, read)
	require.Greater(t, f.size, int64(2*limit), "the file must be much larger than the heap limit")
	t.Logf("file %d MiB, heap %d KiB before, peak %d KiB", f.size>>20, base>>10, peak>>10)
	require.Less(t, peak, uint64(limit))
	require.Less(t, peak-min(base, peak), uint64(4<<20), "heap grew with the file")
}

func BenchmarkReader(b *testing.B) {
	for _, tc := range []struct {
		name    string
		charset string
	}{{"utf-8", ""}, {"windows-1252", "windows-1252"}} {
		b.Run(tc.name, func(b *testing.B) {
			const rows = 10_000
			data, err := io.ReadAll(&contactFile{rows: rows})
			require.NoError(b, err)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := csvimport.NewReader(bytes.NewReader(data), csvimport.Options{Charset: tc.charset})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != rows {
					b.Fatalf("read %d rows, want %d", n, rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
