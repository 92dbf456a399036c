// Package config loads atende's configuration from the environment, with defaults, and validates it before
// anything starts.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/atende/atende/internal/telephony"
)

// Secret is a configuration value that must never be printed: it formats and logs as "[redacted]".
type Secret string

// String hides the value from fmt.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Config is everything atende reads from its environment.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string `env:"ATENDE_ADDR" envDefault:"127.0.0.1:8080"`
	// DatabaseURL selects the store: postgres://... or sqlite://path.
	DatabaseURL string `env:"ATENDE_DATABASE_URL" envDefault:"sqlite://./var/atende.db"`
	// DatabaseMaxConns caps the PostgreSQL connection pool (SQLite always uses one writer connection).
	DatabaseMaxConns int `env:"ATENDE_DATABASE_MAX_CONNS" envDefault:"20"`

	// OperatorKey authorises tenant provisioning (POST /v1/tenants). Empty disables that endpoint.
	OperatorKey     Secret `env:"ATENDE_OPERATOR_KEY"`
	OperatorKeyFile Secret `env:"ATENDE_OPERATOR_KEY_FILE,file"`
	// BootstrapAdminKey becomes the API key of the "default" tenant's admin when serve starts on an empty
	// database. Empty: a key is generated and printed once.
	BootstrapAdminKey     Secret `env:"ATENDE_BOOTSTRAP_ADMIN_KEY"`
	BootstrapAdminKeyFile Secret `env:"ATENDE_BOOTSTRAP_ADMIN_KEY_FILE,file"`

	// PlinxURL is the Plinx API tenants use when they have not configured their own; empty starts the
	// Plinx simulator in-process (for development) and uses it.
	PlinxURL string `env:"ATENDE_PLINX_URL"`
	// PlinxToken is the token used with PlinxURL for tenants without their own.
	PlinxToken     Secret `env:"ATENDE_PLINX_TOKEN"`
	PlinxTokenFile Secret `env:"ATENDE_PLINX_TOKEN_FILE,file"`
	// PlinxTimeout bounds each call to Plinx.
	PlinxTimeout time.Duration `env:"ATENDE_PLINX_TIMEOUT" envDefault:"2s"`

	// Workers is how many dial queue workers serve runs, with the message sender and the routing sweep (0: none;
	// run `atende worker` processes instead).
	Workers int `env:"ATENDE_WORKERS" envDefault:"1"`
	// TelephonySimulator is how the simulated telephony behaves: auto reports call outcomes by itself
	// (development), manual waits for POST /v1/calls/{id}/events.
	TelephonySimulator string `env:"ATENDE_TELEPHONY_SIMULATOR" envDefault:"auto"`
	// TelephonyScript is what every call reports in auto mode, in order: a comma-separated list of
	// answered, no_answer, busy, failed and ended.
	TelephonyScript []string `env:"ATENDE_TELEPHONY_SCRIPT" envDefault:"answered"`
	// WorkerLease is how long a worker's claim on dial entries holds without a heartbeat before another
	// worker rescues them.
	WorkerLease time.Duration `env:"ATENDE_WORKER_LEASE" envDefault:"30s"`
	// WorkerBatch is how many due entries a worker claims at a time.
	WorkerBatch int `env:"ATENDE_WORKER_BATCH" envDefault:"50"`
	// PublicURL is atende's address as customers reach it; tickets' tracking links point at its public page
	// unless the tenant sets a tracking URL template.
	PublicURL string `env:"ATENDE_PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	// PlinxSendRate caps WhatsApp template sends per second per tenant in each process.
	PlinxSendRate float64 `env:"ATENDE_PLINX_SEND_RATE" envDefault:"80"`
	// WebhookTimeout bounds each outbound webhook POST, answer included; a delivery's lease outlasts it (0: 15 s).
	WebhookTimeout time.Duration `env:"ATENDE_WEBHOOK_TIMEOUT" envDefault:"15s"`

	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"ATENDE_LOG_LEVEL" envDefault:"info"`
	// LogFormat is json or text.
	LogFormat string `env:"ATENDE_LOG_FORMAT" envDefault:"json"`

	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64 `env:"ATENDE_BODY_LIMIT" envDefault:"1048576"`
	// UploadLimit is the largest streamed upload (a contact import file), in bytes.
	UploadLimit int64 `env:"ATENDE_UPLOAD_LIMIT" envDefault:"104857600"`
	// RateLimit is the sustained number of requests per second allowed per API key; RateBurst the burst.
	RateLimit float64 `env:"ATENDE_RATE_LIMIT" envDefault:"50"`
	RateBurst int     `env:"ATENDE_RATE_BURST" envDefault:"100"`
	// RequestTimeout bounds how long a request may take, waiting for a database connection included; past it
	// the request answers 503. Uploads and event streams are not bounded.
	RequestTimeout time.Duration `env:"ATENDE_REQUEST_TIMEOUT" envDefault:"30s"`
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM.
	ShutdownTimeout time.Duration `env:"ATENDE_SHUTDOWN_TIMEOUT" envDefault:"15s"`
}

// Load reads the configuration from the environment and validates it.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", namedParseErrors(err))
	}
	var err error
	if c.OperatorKey, err = pickSecret("ATENDE_OPERATOR_KEY", c.OperatorKey, c.OperatorKeyFile); err != nil {
		return Config{}, err
	}
	if c.BootstrapAdminKey, err = pickSecret("ATENDE_BOOTSTRAP_ADMIN_KEY", c.BootstrapAdminKey, c.BootstrapAdminKeyFile); err != nil {
		return Config{}, err
	}
	if c.PlinxToken, err = pickSecret("ATENDE_PLINX_TOKEN", c.PlinxToken, c.PlinxTokenFile); err != nil {
		return Config{}, err
	}
	c.OperatorKeyFile, c.BootstrapAdminKeyFile, c.PlinxTokenFile = "", "", ""
	return c, c.Validate()
}

func pickSecret(name string, direct, fromFile Secret) (Secret, error) {
	fromFile = Secret(strings.TrimSpace(string(fromFile)))
	switch {
	case direct != "" && fromFile != "":
		return "", fmt.Errorf("configuration: set %s or %s_FILE, not both", name, name)
	case fromFile != "":
		return fromFile, nil
	default:
		return direct, nil
	}
}

// namedParseErrors words the parser's errors with the environment variable, not the Go field.
func namedParseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	out := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
				name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
				out = append(out, fmt.Errorf("%s must be a valid %s", name, pe.Type))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// MinKeyLength is the shortest operator or bootstrap key accepted.
const MinKeyLength = 20

// Validate reports every invalid setting at once.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("ATENDE_ADDR must not be empty"))
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		errs = append(errs, errors.New("ATENDE_DATABASE_URL must start with postgres://, postgresql:// or sqlite://"))
	}
	if c.DatabaseMaxConns < 1 {
		errs = append(errs, errors.New("ATENDE_DATABASE_MAX_CONNS must be at least 1"))
	}
	if c.OperatorKey != "" && len(c.OperatorKey) < MinKeyLength {
		errs = append(errs, fmt.Errorf("ATENDE_OPERATOR_KEY must be at least %d characters", MinKeyLength))
	}
	if c.BootstrapAdminKey != "" && len(c.BootstrapAdminKey) < MinKeyLength {
		errs = append(errs, fmt.Errorf("ATENDE_BOOTSTRAP_ADMIN_KEY must be at least %d characters", MinKeyLength))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("ATENDE_LOG_LEVEL must be debug, info, warn or error"))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, errors.New("ATENDE_LOG_FORMAT must be json or text"))
	}
	if c.BodyLimit < 1024 {
		errs = append(errs, errors.New("ATENDE_BODY_LIMIT must be at least 1024 bytes"))
	}
	if c.UploadLimit < c.BodyLimit {
		errs = append(errs, errors.New("ATENDE_UPLOAD_LIMIT must be at least ATENDE_BODY_LIMIT"))
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 {
		errs = append(errs, errors.New("ATENDE_RATE_LIMIT must be positive and ATENDE_RATE_BURST at least 1"))
	}
	if c.PlinxURL != "" && !strings.HasPrefix(c.PlinxURL, "http://") && !strings.HasPrefix(c.PlinxURL, "https://") {
		errs = append(errs, errors.New("ATENDE_PLINX_URL must be an http:// or https:// URL"))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("ATENDE_PUBLIC_URL must be an absolute http or https URL"))
	}
	if c.PlinxSendRate <= 0 {
		errs = append(errs, errors.New("ATENDE_PLINX_SEND_RATE must be positive"))
	}
	if c.PlinxTimeout <= 0 {
		errs = append(errs, errors.New("ATENDE_PLINX_TIMEOUT must be positive"))
	}
	if c.WebhookTimeout < 0 {
		errs = append(errs, errors.New("ATENDE_WEBHOOK_TIMEOUT must be positive"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("ATENDE_WORKERS must be 0 or more"))
	}
	if c.TelephonySimulator != "auto" && c.TelephonySimulator != "manual" {
		errs = append(errs, errors.New("ATENDE_TELEPHONY_SIMULATOR must be auto or manual"))
	}
	for _, k := range c.TelephonyScript {
		if !telephony.ValidKind(k) {
			errs = append(errs, fmt.Errorf("ATENDE_TELEPHONY_SCRIPT: %q is not one of answered, no_answer, busy, failed, ended", k))
		}
	}
	if c.WorkerLease < 3*time.Second {
		errs = append(errs, errors.New("ATENDE_WORKER_LEASE must be at least 3s"))
	}
	if c.WorkerBatch < 1 || c.WorkerBatch > 1000 {
		errs = append(errs, errors.New("ATENDE_WORKER_BATCH must be between 1 and 1000"))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("ATENDE_REQUEST_TIMEOUT must be positive"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("ATENDE_SHUTDOWN_TIMEOUT must be positive"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

// Logger builds the process logger the configuration asks for.
func (c Config) Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
