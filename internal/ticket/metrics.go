package ticket

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the tickets' Prometheus series.
type Metrics struct {
	messages *prometheus.CounterVec
	events   *prometheus.CounterVec
}

// NewMetrics registers the series on reg; a nil reg keeps them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atende", Subsystem: "tickets", Name: "messages_total",
			Help: "WhatsApp template messages of tickets by status reached: queued, accepted, retried, sent, delivered, read, failed.",
		}, []string{"status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atende", Subsystem: "tickets", Name: "events_total",
			Help: "Events from external systems by outcome: created, updated, unchanged, stale, duplicate.",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.events)
	}
	return m
}

func (m *Metrics) outcome(status string) { m.messages.WithLabelValues(status).Inc() }

func (m *Metrics) event(outcome string) { m.events.WithLabelValues(outcome).Inc() }
