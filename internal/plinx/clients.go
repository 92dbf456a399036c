package plinx

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Clients hands out one Client per (base URL, token), made from shared defaults, so each tenant's Plinx
// settings get a client that is built once and reused. Clients of one base URL share its circuit breaker,
// since the breaker measures that Plinx's health, and all of them share the metrics and the connection pool.
// It is safe for concurrent use. Clients are kept for the life of the process (one per tenant setting).
type Clients struct {
	defaults     Config        // without its token, which is kept in a closure
	defaultToken func() string // so that printing Clients with %+v does not show it
	metrics      *metrics
	http         *http.Client
	ownHTTP      bool

	mu       sync.Mutex
	breakers map[string]*breaker   // by target
	clients  map[[2]string]*Client // by (normalised base URL, token hash)
}

// NewClients returns a cache of clients using defaults for every setting but the base URL and token, with
// its metrics registered on reg (nil: not registered).
func NewClients(defaults Config, reg prometheus.Registerer) *Clients {
	d := defaults.withDefaults()
	token := d.Token
	d.Token = ""
	httpc, own := d.HTTPClient, false
	if httpc == nil {
		httpc, own = newHTTPClient(), true
	}
	return &Clients{defaults: d, defaultToken: func() string { return token }, metrics: newMetrics(reg),
		http: httpc, ownHTTP: own, breakers: map[string]*breaker{}, clients: map[[2]string]*Client{}}
}

// For returns the client for this base URL and token, making it on first use. With an unusable base URL
// or an empty token every call of that client fails with ErrNotConfigured (which matches ErrUnavailable),
// so a tenant with broken settings fails closed instead of panicking. Empty values are not replaced by
// the defaults' (use Default): a tenant's token must never go to another Plinx.
func (cs *Clients) For(baseURL, token string) *Client {
	baseURL = strings.TrimRight(baseURL, "/")
	tokenHash := sha256.Sum256([]byte(token))
	key := [2]string{baseURL, string(tokenHash[:])}

	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.clients[key]; ok {
		return c
	}
	cfg := cs.defaults
	cfg.BaseURL, cfg.Token = baseURL, token
	var c *Client
	if err := cfg.Validate(); err != nil {
		cfg.Token = ""
		c = &Client{cfg: cfg, metrics: cs.metrics, cfgErr: notConfigured(err)}
	} else {
		t, _ := target(baseURL)
		b, ok := cs.breakers[t]
		if !ok {
			b = newBreaker(t, cfg.Breaker, cfg.Logger)
			cs.breakers[t] = b
			cs.metrics.breakers.add(b)
		}
		c = newClient(cfg, t, b, cs.metrics, cs.http, false)
	}
	cs.clients[key] = c
	return c
}

// Default returns the client for the defaults' own base URL and token (the server-wide Plinx).
func (cs *Clients) Default() *Client { return cs.For(cs.defaults.BaseURL, cs.defaultToken()) }

// Close releases idle connections of the shared pool when Clients made it; clients keep working.
func (cs *Clients) Close() {
	if cs.ownHTTP {
		cs.http.CloseIdleConnections()
	}
}
