package outbound

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts deliveries' outcomes and times their POSTs.
type Metrics struct {
	outcomes *prometheus.CounterVec
	seconds  prometheus.Histogram
}

// NewMetrics registers the webhook delivery series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_webhook_deliveries_total",
			Help: "Outbound webhook attempts by outcome: succeeded, retried, failed (last attempt), gone (410).",
		}, []string{"outcome"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "atende_webhook_delivery_seconds",
			Help:    "Time from sending an outbound webhook to its answer (or the error).",
			Buckets: prometheus.DefBuckets,
		}),
	}
	reg.MustRegister(m.outcomes, m.seconds)
	return m
}

func (m *Metrics) outcome(kind string) {
	if m != nil {
		m.outcomes.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) observe(a answer) {
	if m != nil {
		m.seconds.Observe(a.duration.Seconds())
	}
}
