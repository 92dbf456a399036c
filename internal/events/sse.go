package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// keepAliveComment is an SSE comment: clients ignore it, but it keeps proxies and load balancers from
// closing an idle stream and lets the server notice a client that went away.
const keepAliveComment = ": keep-alive\n\n"

// WriteSSE streams events to w as Server-Sent Events: for each event an "id:" line (the event id, which a
// reconnecting browser sends back as Last-Event-ID), an "event:" line (the kind) and one "data:" line (the
// payload as one-line JSON), flushing after each. While idle it sends a keep-alive comment every keepAlive
// (none when keepAlive <= 0).
//
// It sets Content-Type: text/event-stream, Cache-Control: no-cache and X-Accel-Buffering: no (so nginx
// does not buffer the stream), sends the 200 status at once, and returns nil when ctx ends or events
// closes. It returns an error when a write or flush fails, including when w cannot flush.
func WriteSSE(ctx context.Context, w http.ResponseWriter, events <-chan Event, keepAlive time.Duration) error {
	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Send the headers now: the client learns the stream is open before the first event.
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("flush event stream: %w", err)
	}

	var keepAliveC <-chan time.Time
	var ticker *time.Ticker
	if keepAlive > 0 {
		ticker = time.NewTicker(keepAlive)
		defer ticker.Stop()
		keepAliveC = ticker.C
	}
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			buf.Reset()
			appendSSE(&buf, ev)
			if err := writeFlush(w, rc, buf.Bytes()); err != nil {
				return err
			}
			if ticker != nil {
				// Keep-alives are for silence: the event just sent is as good as one.
				ticker.Reset(keepAlive)
			}
		case <-keepAliveC:
			if err := writeFlush(w, rc, []byte(keepAliveComment)); err != nil {
				return err
			}
		}
	}
}

func writeFlush(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write event stream: %w", err)
	}
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("flush event stream: %w", err)
	}
	return nil
}

// appendSSE formats one event. Every field must stay on its line: a line break would end the field early,
// so the payload is compacted to one line and the kind loses any line break.
func appendSSE(buf *bytes.Buffer, ev Event) {
	buf.WriteString("id: ")
	buf.WriteString(ev.ID.String())
	buf.WriteString("\nevent: ")
	buf.WriteString(strings.NewReplacer("\r", " ", "\n", " ").Replace(ev.Kind))
	buf.WriteByte('\n')
	payload := bytes.TrimSpace(ev.Payload)
	if len(payload) == 0 {
		payload = []byte(`{}`)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, payload); err == nil {
		payload = compact.Bytes()
	}
	// A payload that is not JSON (Publish refuses those) may still hold line breaks: one data line per
	// line, which a client joins back with "\n".
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(payload))
	for line := range strings.SplitSeq(text, "\n") {
		buf.WriteString("data: ")
		buf.WriteString(line)
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
}
