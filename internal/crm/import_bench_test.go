package crm_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/tenant"
)

// csvRows generates a contact CSV of n rows on the fly, as a user's export would look: Portuguese headers,
// ';', formatted phones, a company per 20 contacts.
type csvRows struct {
	n, i int
	buf  []byte
}

func (r *csvRows) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i <= r.n {
		if r.i == 0 {
			r.buf = append(r.buf, "nome;telefone;email;empresa;notas\n"...)
		} else {
			r.buf = fmt.Appendf(r.buf, "Cliente %d da Silva;(47) 9%04d-%04d;cliente%d@example.com;Empresa %d Ltda;importado do ERP\n",
				r.i, r.i/10000, r.i%10000, r.i, r.i/20)
		}
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// peakHeap samples the live heap (after a collection) every 250 ms until stop is closed, and returns the
// largest sample: what the import holds, not the garbage it has yet to free.
func peakHeap(stop <-chan struct{}) func() uint64 {
	var peak atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { wg.Wait(); return peak.Load() }
}

// BenchmarkImportContacts imports generated CSV files into a fresh tenant per iteration and reports rows/s
// and the peak heap in use while importing, for two file sizes: the heap must not grow with the file.
func BenchmarkImportContacts(b *testing.B) {
	for _, dialect := range storetest.Dialects(b) {
		for _, rows := range importSizes() {
			b.Run(fmt.Sprintf("%s/rows=%d", dialect, rows), func(b *testing.B) {
				ctx := context.Background()
				db := storetest.New(b, dialect)
				clk := clock.System{}
				tenants := tenant.NewService(db.DB, clk)
				svc := crm.NewService(db, clk)
				var peak uint64
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					p, err := tenants.CreateTenant(ctx, tenant.NewTenant{Name: fmt.Sprintf("bench %d", i), AdminName: "A", AdminEmail: "a@b.example"})
					if err != nil {
						b.Fatal(err)
					}
					runtime.GC()
					stop := make(chan struct{})
					wait := peakHeap(stop)
					b.StartTimer()
					im, err := svc.ImportContacts(ctx, p.Principal().Actor(), &csvRows{n: rows}, crm.ImportOptions{})
					b.StopTimer()
					close(stop)
					if h := wait(); h > peak {
						peak = h
					}
					if err != nil {
						b.Fatal(err)
					}
					if im.Created != rows || im.Failed != 0 {
						b.Fatalf("created %d, failed %d, want %d created: %+v", im.Created, im.Failed, rows, im.Errors[:min(3, len(im.Errors))])
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-live-heap-MiB")
			})
		}
	}
}

// importSizes are the file sizes benchmarked; ATENDE_BENCH_IMPORT_ROWS=n adds one.
func importSizes() []int {
	sizes := []int{10_000, 100_000}
	if n, err := strconv.Atoi(os.Getenv("ATENDE_BENCH_IMPORT_ROWS")); err == nil && n > 0 {
		sizes = append(sizes, n)
	}
	return sizes
}
