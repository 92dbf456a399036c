package plinx

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Plinx client's Prometheus series; every client made by one Clients shares them.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	breakers *breakerCollector
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_plinx_requests_total",
			Help: "Calls to Plinx, one per attempt, by operation (active_conversation, whatsapp_number, " +
				"send_template) and outcome (ok, client_error, unauthorized, rate_limited, server_error, timeout, " +
				"network_error, bad_answer, breaker_open, canceled, not_configured).",
		}, []string{"operation", "outcome"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atende_plinx_request_duration_seconds",
			Help:    "How long Plinx took to answer one attempt, by operation (calls the breaker refused are not observed).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
		}, []string{"operation"})),
		breakers: register(reg, &breakerCollector{
			desc: prometheus.NewDesc("atende_plinx_breaker_state",
				"The Plinx circuit breaker's state per Plinx base URL: 1 for the current state (closed, half_open, open), 0 for the others.",
				[]string{"target", "state"}, nil),
			breakers: map[string]*breaker{},
		}),
	}
}

// register registers c, or returns the collector registered before under the same name, so several
// clients on one registry share their series. Other registration errors are programming errors.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func (m *metrics) observe(op, outcome string, d time.Duration) {
	m.requests.WithLabelValues(op, outcome).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}

// breakerCollector reads each breaker's state at scrape time: an open breaker turns half-open by itself
// once its cool-down passes, without an event to update a gauge.
type breakerCollector struct {
	desc     *prometheus.Desc
	mu       sync.Mutex
	breakers map[string]*breaker // by target
}

func (bc *breakerCollector) add(b *breaker) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	bc.breakers[b.target] = b
}

// Describe implements prometheus.Collector.
func (bc *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- bc.desc }

// Collect implements prometheus.Collector.
func (bc *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	for target, b := range bc.breakers {
		current := b.State()
		for _, s := range breakerStates {
			v := 0.0
			if s == current {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(bc.desc, prometheus.GaugeValue, v, target, s.String())
		}
	}
}
