package dialer

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atende/atende/internal/store"
)

// Metrics are the dialer's Prometheus series.
type Metrics struct {
	claims   prometheus.Counter
	outcomes *prometheus.CounterVec
	checks   *prometheus.HistogramVec
}

// NewMetrics registers the dialer's series on reg; the queue depth is read from db when scraped.
func NewMetrics(reg prometheus.Registerer, db *store.DB) *Metrics {
	m := &Metrics{
		claims: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "atende", Subsystem: "dialer", Name: "claims_total", Help: "Dial entries claimed by workers.",
		}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atende", Subsystem: "dialer", Name: "outcomes_total", Help: "Dial decisions and call outcomes, by kind.",
		}, []string{"kind"}),
		checks: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "atende", Subsystem: "dialer", Name: "plinx_check_seconds",
			Help:    "Latency of the Plinx active-conversation check before each call, by result.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
		}, []string{"result"}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "atende", Subsystem: "dialer", Name: "queue_depth", Help: "Dial entries queued (due or not).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := db.NewSelect().Table("dial_entries").Where("status = 'queued'").Count(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	reg.MustRegister(m.claims, m.outcomes, m.checks, depth)
	return m
}

func (m *Metrics) claimed(n int) {
	if m != nil {
		m.claims.Add(float64(n))
	}
}

func (m *Metrics) outcome(kind string) {
	if m != nil {
		m.outcomes.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) checked(d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "answered"
	if err != nil {
		result = "unavailable"
	}
	m.checks.WithLabelValues(result).Observe(d.Seconds())
}
