package plinx

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sony/gobreaker/v2"
)

// BreakerState is a circuit breaker's state.
type BreakerState int

// The breaker's states.
const (
	// BreakerClosed lets every call through: Plinx is answering.
	BreakerClosed BreakerState = iota
	// BreakerHalfOpen lets a few trial calls through after the cool-down; a success closes it, a failure
	// opens it again.
	BreakerHalfOpen
	// BreakerOpen fails calls at once with ErrBreakerOpen until the cool-down passes.
	BreakerOpen
)

// String is the state's name as logs and metrics show it: closed, half_open or open.
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half_open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

var breakerStates = []BreakerState{BreakerClosed, BreakerHalfOpen, BreakerOpen}

func fromGobreaker(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	case gobreaker.StateOpen:
		return BreakerOpen
	}
	return BreakerClosed
}

// breaker guards one Plinx (one base URL); every client of that base URL shares it.
type breaker struct {
	target string
	cb     *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func newBreaker(target string, cfg BreakerConfig, logger *slog.Logger) *breaker {
	threshold := cfg.FailureThreshold
	return &breaker{target: target, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        target,
		MaxRequests: cfg.HalfOpenCalls,
		Timeout:     cfg.CoolDown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			level := slog.LevelInfo
			if to == gobreaker.StateOpen {
				level = slog.LevelWarn
			}
			logger.Log(context.Background(), level, "plinx circuit breaker changed state",
				"plinx", target, "from", fromGobreaker(from).String(), "to", fromGobreaker(to).String())
		},
		IsSuccessful: countsAsSuccess,
		IsExcluded:   callerGaveUp,
	})}
}

// State is the breaker's current state (an open breaker past its cool-down reads half-open).
func (b *breaker) State() BreakerState { return fromGobreaker(b.cb.State()) }

// countsAsSuccess: any answer from Plinx that is not a 5xx shows Plinx is up, a 4xx included (429 too: it
// is answering, just asking us to slow down). Timeouts, connection errors, 5xx and bad answers are failures.
func countsAsSuccess(err error) bool {
	if err == nil {
		return true
	}
	var api *APIError
	if errors.As(err, &api) {
		return true
	}
	return !errors.Is(err, ErrUnavailable)
}

// callerGaveUp: a call its caller cancelled says nothing about Plinx.
func callerGaveUp(err error) bool {
	return errors.Is(err, context.Canceled) && !errors.Is(err, ErrUnavailable)
}
