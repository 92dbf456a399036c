package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/idempotency"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/tenant"
)

// A handler that panics or fails unexpectedly must answer a 500 problem that reveals nothing, while the
// log keeps the cause under the request id.
func TestUnexpectedFailuresAreOpaque500s(t *testing.T) {
	t.Parallel()
	db := storetest.New(t, store.SQLite)
	var logs bytes.Buffer
	clk := clock.NewFake(clock.System{}.Now())
	e, err := New(Config{BodyLimit: 1 << 20, UploadLimit: 1 << 20, RateLimit: 100, RateBurst: 100}, Deps{
		DB: db, Tenants: tenant.NewService(db.DB, clk), Idempotency: idempotency.NewStore(db.DB, clk),
		Clock: clk, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	e.GET("/test/panic", func(echoCtx echo.Context) error { panic("pq: secret internals at db.go:42") })
	e.GET("/test/error", func(echoCtx echo.Context) error { return io.ErrUnexpectedEOF })
	srv := httptest.NewServer(e)
	defer srv.Close()

	for _, path := range []string{"/test/panic", "/test/error"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		var p gen.Problem
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, "urn:atende:problem:internal", p.Type)
		require.NotNil(t, p.RequestId)
		for _, leak := range []string{"secret internals", "db.go", "goroutine", "unexpected EOF"} {
			require.NotContains(t, string(body), leak)
		}
		require.True(t, strings.Contains(logs.String(), *p.RequestId), "the log has the request id")
	}
	require.Contains(t, logs.String(), "secret internals", "the log keeps the cause")
}
