package httpapi_test

import (
	"bytes"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/webhook"
)

// sendSigned posts n Standard-Webhooks-signed deliveries to url from senders concurrent goroutines over
// loopback HTTP, the i-th body (i from 1) built by payload, and returns every request's latency and the wall
// time of the whole run. Any answer other than 200 fails b.
func sendSigned(b *testing.B, url, secret string, n, senders int, payload func(i int64) []byte) ([]time.Duration, time.Duration) {
	b.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * senders}}
	var (
		seq       atomic.Int64
		failures  atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range senders {
		wg.Go(func() {
			var local []time.Duration
			for i := seq.Add(1); i <= int64(n); i = seq.Add(1) {
				body := payload(i)
				h, err := webhook.Headers(secret, webhook.NewID(), apitest.Epoch, body)
				if err != nil {
					failures.Add(1)
					continue
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header = h
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := hc.Do(req)
				local = append(local, time.Since(t0))
				if err != nil {
					failures.Add(1)
					continue
				}
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
				resp.Body.Close()
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d deliveries failed", f, n)
	}
	return latencies, elapsed
}

// percentile returns the p-th percentile of ds in milliseconds, sorting ds.
func percentile(ds []time.Duration, p float64) float64 {
	slices.Sort(ds)
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
}
