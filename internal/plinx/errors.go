package plinx

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Errors a Client returns; compare with errors.Is.
var (
	// ErrUnavailable means Plinx could not answer: a timeout, a connection error, a 5xx, a 429, an answer
	// that is not the contract's, or the breaker open. The caller must treat it as "Plinx cannot answer"
	// (the dialer does not dial). For SendTemplate it does not say whether the message went out.
	ErrUnavailable = errors.New("plinx unavailable")
	// ErrUnauthorized means Plinx refused the token (401 or 403); the tenant's Plinx settings need fixing.
	ErrUnauthorized = errors.New("plinx refused the token")
	// ErrBreakerOpen means the call was not made because the breaker is open; it also matches ErrUnavailable.
	ErrBreakerOpen = errors.New("plinx circuit breaker open")
	// ErrNotConfigured means the client has no usable base URL or token; it also matches ErrUnavailable.
	ErrNotConfigured = errors.New("plinx not configured")
)

// APIError is a 4xx answer from Plinx, with the stable code and message of its body.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is Plinx's stable error code (template_not_found, not_whatsapp, template_rejected, ...); may be empty.
	Code string
	// Message is Plinx's explanation, for logs.
	Message string
	// RetryAfter is the wait a 429 asked for; zero when none was given.
	RetryAfter time.Duration
}

// Error describes the answer.
func (e *APIError) Error() string {
	s := fmt.Sprintf("plinx answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Permanent tells whether repeating the same request cannot succeed (400, 404, 422): give up, do not retry.
func (e *APIError) Permanent() bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// Is makes a 401 or 403 match ErrUnauthorized and a 429 match ErrUnavailable.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrUnavailable:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// unavailableError is an ErrUnavailable with its reason and cause.
type unavailableError struct {
	outcome string // the metrics' outcome label
	reason  string // for the message: "timeout", "HTTP 503", ...
	cause   error  // may be nil
}

// Error says Plinx is unavailable, and why.
func (e *unavailableError) Error() string {
	if e.reason == "" {
		return fmt.Sprintf("%s: %v", ErrUnavailable, e.cause)
	}
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", ErrUnavailable, e.reason, e.cause)
	}
	return fmt.Sprintf("%s: %s", ErrUnavailable, e.reason)
}

// Unwrap makes the error match ErrUnavailable and its cause.
func (e *unavailableError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.cause}
}
