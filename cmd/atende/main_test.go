package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/apitest"
)

// TestServeFromScratch runs `atende serve` as a user would on a fresh machine: an empty SQLite database,
// no key configured. It must print a usable admin key once, answer the probes, and stop on its signal.
func TestServeFromScratch(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATENDE_DATABASE_URL", "sqlite://"+filepath.Join(dir, "var", "atende.db"))
	t.Setenv("ATENDE_ADDR", "127.0.0.1:0")
	t.Setenv("ATENDE_BOOTSTRAP_ADMIN_KEY", "")
	t.Setenv("ATENDE_OPERATOR_KEY", "")

	ctx, cancel := context.WithCancel(context.Background())
	stderr := &apitest.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, stderr) }()

	addrRe := regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)"`)
	var base string
	require.Eventually(t, func() bool {
		m := addrRe.FindStringSubmatch(stderr.String())
		if m == nil {
			return false
		}
		base = "http://" + m[1]
		return true
	}, 20*time.Second, 20*time.Millisecond, "serve never logged its address: %s", stderr)

	key := regexp.MustCompile(`atd_[0-9a-f]{48}`).FindString(stderr.String())
	require.NotEmpty(t, key, "the generated admin key is printed once")
	require.Equal(t, 1, strings.Count(stderr.String(), key), "and only once")

	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml", "/docs"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	resp, err := http.Get(base + "/v1/me")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))

	req, _ := http.NewRequest(http.MethodGet, base+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var me struct {
		Tenant struct{ Name string } `json:"tenant"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&me))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "default", me.Tenant.Name)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "serve stops cleanly")
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}

	// A second start finds the tenant and creates nothing.
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"migrate", "version"}, &out, io.Discard))
	require.NotEqual(t, "0", strings.TrimSpace(out.String()))
}

func TestUsageAndVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version"}, &out, &errOut))
	require.Equal(t, "dev\n", out.String())
	require.ErrorIs(t, run(context.Background(), nil, &out, &errOut), errUsage)
	require.Contains(t, errOut.String(), "usage: atende")
}
