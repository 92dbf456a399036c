package routing

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the routing's Prometheus series.
type Metrics struct {
	decisions *prometheus.CounterVec
}

// NewMetrics registers the series on reg; a nil reg keeps them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "atende", Subsystem: "routing", Name: "decisions_total",
		Help: "Routing decisions about conversations by kind (offered, assigned, queued, taken, manual, unrouted) and reason.",
	}, []string{"kind", "reason"})}
	if reg != nil {
		reg.MustRegister(m.decisions)
	}
	return m
}

func (m *Metrics) decided(kind, reason string) { m.decisions.WithLabelValues(kind, reason).Inc() }
