package events

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Health checks of the listener's connection.
const (
	// defaultHealthInterval is how long the listener waits for a notification before it pings its
	// connection: a peer that vanished without closing the TCP connection would otherwise go unnoticed
	// until the kernel's keep-alive gives up, minutes later.
	defaultHealthInterval = 30 * time.Second
	pingTimeout           = 5 * time.Second
	closeTimeout          = 5 * time.Second
)

// listener holds one dedicated PostgreSQL connection (not from the pool: LISTEN belongs to a session)
// that listens on notifyChannel and wakes the hub's subscribers.
type listener struct {
	hub            *Hub
	connConfig     *pgx.ConnConfig
	healthInterval time.Duration
}

func newListener(h *Hub, url string) (*listener, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		// Names the connection in pg_stat_activity.
		cfg.RuntimeParams["application_name"] = "atende events listener"
	}
	return &listener{hub: h, connConfig: cfg, healthInterval: h.cfg.healthInterval}, nil
}

// run keeps a listening connection until ctx ends, reconnecting with exponential backoff (with jitter,
// so many processes do not reconnect in step after a database restart).
func (l *listener) run(ctx context.Context) {
	backoff := l.hub.cfg.backoffMin
	for {
		listened, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = l.hub.cfg.backoffMin
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		l.hub.logger.WarnContext(ctx, "events listener disconnected; reconnecting",
			slog.Duration("in", wait), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if !listened {
			backoff = min(2*backoff, l.hub.cfg.backoffMax)
		}
	}
}

// listen connects, listens, and wakes subscribers on each notification until the connection fails or ctx
// ends. listened tells whether LISTEN succeeded.
func (l *listener) listen(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, l.connConfig)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	l.hub.logger.InfoContext(ctx, "events listener listening", slog.Int("pid", int(conn.PgConn().PID())))
	// Events may have committed while nobody listened (before the first connection, or while this one was
	// down): every subscription reads again.
	l.hub.wakeAll()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, l.healthInterval)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return true, ctx.Err()
		case err != nil && pgconn.Timeout(err):
			pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		case err != nil:
			return true, fmt.Errorf("wait for notification: %w", err)
		default:
			keys, err := parseNotification(n.Payload)
			if err != nil {
				l.hub.logger.WarnContext(ctx, "ignore session event notification", slog.Any("error", err))
				continue
			}
			for _, key := range keys {
				l.hub.wake(key)
			}
		}
	}
}
