package plinx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	// DefaultTimeout bounds one call, retries included.
	DefaultTimeout = 2 * time.Second
	// DefaultRetries is how many times an idempotent GET is retried.
	DefaultRetries = 2
	// DefaultRetryBackoff is the first wait before a retry.
	DefaultRetryBackoff = 50 * time.Millisecond
	// DefaultFailureThreshold is how many consecutive failures open the breaker.
	DefaultFailureThreshold = 5
	// DefaultCoolDown is how long the breaker stays open before a trial call.
	DefaultCoolDown = 10 * time.Second
)

// Config says where Plinx is and how patiently to call it. The zero value of each field takes its default.
type Config struct {
	// BaseURL is Plinx's API root, e.g. https://api.plinx.example (paths start with /v1).
	BaseURL string
	// Token is the bearer token sent on every call. It is never logged nor shown in errors.
	Token string
	// Timeout bounds one method call, retries included (default 2s): a dial check must not wait longer.
	Timeout time.Duration
	// Retries is how many times a failed idempotent GET is tried again while Timeout allows (default 2;
	// negative: none). SendTemplate is never retried.
	Retries int
	// RetryBackoff is the first wait before a retry (default 50ms); it doubles each time, with jitter.
	RetryBackoff time.Duration
	// Breaker configures the circuit breaker in front of this Plinx.
	Breaker BreakerConfig
	// HTTPClient sends the requests; nil uses a client of this package's own. Config.Timeout bounds each
	// call whatever the client's own Timeout.
	HTTPClient *http.Client
	// Logger receives the breaker's state changes; nil discards them.
	Logger *slog.Logger
}

// BreakerConfig configures the circuit breaker that stops calling a failing Plinx for a while.
type BreakerConfig struct {
	// FailureThreshold is how many consecutive failures (timeouts, connection errors, 5xx) open the breaker
	// (default 5).
	FailureThreshold uint32
	// CoolDown is how long the breaker stays open before it lets a trial call through (default 10s).
	CoolDown time.Duration
	// HalfOpenCalls is how many trial calls may run at once while half-open; that many successes in a row
	// close it again (default 1).
	HalfOpenCalls uint32
}

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.Breaker.FailureThreshold == 0 {
		c.Breaker.FailureThreshold = DefaultFailureThreshold
	}
	if c.Breaker.CoolDown <= 0 {
		c.Breaker.CoolDown = DefaultCoolDown
	}
	if c.Breaker.HalfOpenCalls == 0 {
		c.Breaker.HalfOpenCalls = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// Validate reports what makes the configuration unusable, without showing the token.
func (c Config) Validate() error {
	var errs []error
	if _, err := target(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.Token == "" {
		errs = append(errs, errors.New("plinx: the API token is empty"))
	}
	return errors.Join(errs...)
}

// String shows the configuration with the token redacted.
func (c Config) String() string {
	return fmt.Sprintf("plinx.Config{BaseURL: %q, Token: %s, Timeout: %s, Retries: %d}",
		c.BaseURL, redacted(c.Token), c.Timeout, c.Retries)
}

// GoString is String, so %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration with the token redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("token", redacted(c.Token)),
		slog.Duration("timeout", c.Timeout),
		slog.Int("retries", c.Retries),
	)
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// target is the base URL as it names the breaker and labels metrics: scheme, host and path, without any
// user info, query or trailing slash. It fails when the URL is not absolute http(s).
func target(baseURL string) (string, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("plinx: the base URL must be an absolute http:// or https:// URL")
	}
	return u.Scheme + "://" + u.Host + u.Path, nil
}
