package events_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func TestWriteSSEFormat(t *testing.T) {
	t.Parallel()
	id1, id2 := uuid.MustParse("01956a3c-0000-7000-8000-000000000001"), uuid.MustParse("01956a3c-0000-7000-8000-000000000002")
	ch := make(chan events.Event, 2)
	ch <- events.Event{ID: id1, Kind: "call.offered", Payload: json.RawMessage("{\n  \"phone\": \"+55 47 9\",\n  \"n\": 1\n}")}
	ch <- events.Event{ID: id2, Kind: "prompt", Payload: json.RawMessage(`{"text":"line1\nline2"}`)}
	close(ch)
	rec := httptest.NewRecorder()

	require.NoError(t, events.WriteSSE(t.Context(), rec, ch, time.Minute))

	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	require.Equal(t, "no", rec.Header().Get("X-Accel-Buffering"))
	require.True(t, rec.Flushed)
	require.Equal(t, "id: 01956a3c-0000-7000-8000-000000000001\n"+
		"event: call.offered\n"+
		`data: {"phone":"+55 47 9","n":1}`+"\n\n"+
		"id: 01956a3c-0000-7000-8000-000000000002\n"+
		"event: prompt\n"+
		`data: {"text":"line1\nline2"}`+"\n\n", rec.Body.String())
}

// sseClient reads an event stream line by line.
type sseClient struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

func getSSE(t *testing.T, url, lastEventID string) *sseClient {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	return &sseClient{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// block reads up to the next blank line; the read is bounded by the caller's wait on the result.
func (c *sseClient) block() []string {
	c.t.Helper()
	type result struct {
		lines []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var lines []string
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				done <- result{lines, err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				done <- result{lines, nil}
				return
			}
			lines = append(lines, line)
		}
	}()
	select {
	case res := <-done:
		require.NoError(c.t, res.err)
		return res.lines
	case <-time.After(wait):
		_ = c.resp.Body.Close() // ends the reading goroutine
		c.t.Fatalf("no SSE block within %s", wait)
		return nil
	}
}

func TestWriteSSEKeepAliveAndEnd(t *testing.T) {
	t.Parallel()
	ch := make(chan events.Event)
	returned := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		returned <- events.WriteSSE(r.Context(), w, ch, 20*time.Millisecond)
	}))
	t.Cleanup(srv.Close)

	c := getSSE(t, srv.URL, "")
	require.Equal(t, []string{": keep-alive"}, c.block())
	require.Equal(t, []string{": keep-alive"}, c.block())
	id := uuid.Must(uuid.NewV7())
	ch <- events.Event{ID: id, Kind: "call.ended", Payload: json.RawMessage(`{"reason":"hangup"}`)}
	got := c.block()
	for got[0] == ": keep-alive" { // a keep-alive may come first; the event then follows
		got = c.block()
	}
	require.Equal(t, []string{"id: " + id.String(), "event: call.ended", `data: {"reason":"hangup"}`}, got)
	// Silence again after the event: keep-alives resume.
	require.Equal(t, []string{": keep-alive"}, c.block())

	// The client leaves: WriteSSE returns when the request's context ends.
	require.NoError(t, c.resp.Body.Close())
	select {
	case err := <-returned:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("WriteSSE did not return after the client left")
	}
}

// The whole path: an SSE endpoint serving a hub subscription, and a client that reconnects with
// Last-Event-ID and gets exactly what it missed.
func TestSSEResumeWithLastEventID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			after := uuid.Nil
			if id := r.Header.Get("Last-Event-ID"); id != "" {
				var err error
				if after, err = uuid.Parse(id); err != nil {
					http.Error(w, "bad Last-Event-ID", http.StatusBadRequest)
					return
				}
			}
			ch, err := b.hub.Subscribe(r.Context(), b.tenant, b.sess, after)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_ = events.WriteSSE(r.Context(), w, ch, time.Minute)
		}))
		t.Cleanup(srv.Close)

		first := getSSE(t, srv.URL, "")
		seen := b.publish(t, b.tenant, b.sess, "prompt", 1)
		require.Equal(t, "id: "+seen.ID.String(), first.block()[0])
		require.NoError(t, first.resp.Body.Close())

		missed := b.publish(t, b.tenant, b.sess, "prompt", 2)
		second := getSSE(t, srv.URL, seen.ID.String())
		require.Equal(t, []string{"id: " + missed.ID.String(), "event: prompt", `data: {"n":2}`}, second.block())
		live := b.publish(t, b.tenant, b.sess, "call", 3)
		require.Equal(t, []string{"id: " + live.ID.String(), "event: call", `data: {"n":3}`}, second.block())
	})
}
