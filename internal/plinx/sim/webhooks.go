package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	plinxapi "github.com/atende/atende/gen/plinx"
	"github.com/atende/atende/internal/webhook"
)

// Shortcut asks the simulator to send an event built from its own state (see the package doc).
type Shortcut struct {
	// Type is the event type: conversation.started, conversation.closed, message.created or message.status.
	Type string `json:"type"`
	// Phone is the customer's number (conversation and message.created events).
	Phone string `json:"phone,omitempty"`
	// ConversationID names the conversation conversation.started starts (default: the current or a new one).
	ConversationID string `json:"conversation_id,omitempty"`
	// Agent is the Plinx agent (conversation.started).
	Agent string `json:"agent,omitempty"`
	// Team is the atende team the flow directed the conversation to (conversation.started).
	Team string `json:"team,omitempty"`
	// Text is the message text (message.created).
	Text string `json:"text,omitempty"`
	// Direction is inbound (the default) or outbound (message.created).
	Direction string `json:"direction,omitempty"`
	// MessageID is the message whose status changes (message.status).
	MessageID string `json:"message_id,omitempty"`
	// Status is sent, delivered, read or failed (message.status).
	Status string `json:"status,omitempty"`
	// ErrorCode explains a failed status (message.status).
	ErrorCode string `json:"error_code,omitempty"`
	// ErrorMessage explains a failed status (message.status).
	ErrorMessage string `json:"error_message,omitempty"`
}

// FireWebhook sends ev, signed, to the configured target and returns the target's status code.
func (s *Server) FireWebhook(ctx context.Context, ev plinxapi.PlinxEvent) (int, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	d, err := s.deliver(ctx, webhook.NewID(), string(ev.Type), body)
	return d.StatusCode, err
}

// FireWebhookBody sends body as it is (an event, or anything to test a receiver's validation), signed.
func (s *Server) FireWebhookBody(ctx context.Context, body []byte) (Delivery, error) {
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &head)
	return s.deliver(ctx, webhook.NewID(), head.Type, body)
}

// Fire builds the event a shortcut describes, updates the simulator's state to match, and sends it.
func (s *Server) Fire(ctx context.Context, sc Shortcut) (Delivery, error) {
	if s.Webhook().URL == "" {
		return Delivery{}, ErrNoWebhookTarget
	}
	if sc.Type == string(plinxapi.PlinxEventTypeMessageStatus) {
		return s.pushStatus(ctx, sc.MessageID, sc.Status, sc.ErrorCode, sc.ErrorMessage)
	}
	ev, err := s.shortcutEvent(sc)
	if err != nil {
		return Delivery{}, err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, fmt.Errorf("encode event: %w", err)
	}
	return s.deliver(ctx, webhook.NewID(), sc.Type, body)
}

// shortcutEvent applies a conversation or message.created shortcut to the state and returns its event.
func (s *Server) shortcutEvent(sc Shortcut) (plinxapi.PlinxEvent, error) {
	if !validPhone(sc.Phone) {
		return plinxapi.PlinxEvent{}, fmt.Errorf("%w: phone must be E.164", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ev := plinxapi.PlinxEvent{Type: plinxapi.PlinxEventType(sc.Type), OccurredAt: now}
	c, active := s.st.conversations[sc.Phone]
	switch ev.Type {
	case plinxapi.PlinxEventTypeConversationStarted:
		if !active || (sc.ConversationID != "" && sc.ConversationID != c.ID) {
			c = Conversation{ID: sc.ConversationID, Phone: sc.Phone, StartedAt: now, LastMessageAt: now}
			if c.ID == "" {
				c.ID = newID("conv_", 8)
			}
		}
		if sc.Agent != "" {
			c.Agent = sc.Agent
		}
		s.st.conversations[sc.Phone] = c
		ev.Conversation = &plinxapi.PlinxEventConversation{Id: c.ID, Phone: c.Phone, StartedAt: &c.StartedAt, Agent: optional(c.Agent),
			Team: optional(sc.Team)}
	case plinxapi.PlinxEventTypeConversationClosed:
		if !active {
			return plinxapi.PlinxEvent{}, ErrNoConversation
		}
		delete(s.st.conversations, sc.Phone)
		ev.Conversation = &plinxapi.PlinxEventConversation{Id: c.ID, Phone: c.Phone, StartedAt: &c.StartedAt,
			ClosedAt: &now, Agent: optional(c.Agent)}
	case plinxapi.PlinxEventTypeMessageCreated:
		if !active {
			return plinxapi.PlinxEvent{}, ErrNoConversation
		}
		dir := plinxapi.PlinxEventMessageDirection(sc.Direction)
		if dir == "" {
			dir = plinxapi.PlinxEventMessageDirectionInbound
		}
		if !dir.Valid() {
			return plinxapi.PlinxEvent{}, fmt.Errorf("%w: direction must be inbound or outbound", ErrInvalid)
		}
		c.LastMessageAt = now
		s.st.conversations[sc.Phone] = c
		text := sc.Text
		ev.Conversation = &plinxapi.PlinxEventConversation{Id: c.ID, Phone: c.Phone}
		ev.Message = &plinxapi.PlinxEventMessage{Id: newID("wamid.", 12), Direction: &dir, Text: &text, SentAt: &now}
	default:
		return plinxapi.PlinxEvent{}, fmt.Errorf("%w: unknown event type %q", ErrInvalid, sc.Type)
	}
	return ev, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// PushStatus records a status of a sent message (any message id may be given, to test unknown ones) and
// sends its message.status webhook; it returns the target's status code.
func (s *Server) PushStatus(ctx context.Context, messageID, status, errorCode, errorMessage string) (int, error) {
	d, err := s.pushStatus(ctx, messageID, status, errorCode, errorMessage)
	return d.StatusCode, err
}

func (s *Server) pushStatus(ctx context.Context, messageID, status, errorCode, errorMessage string) (Delivery, error) {
	st := plinxapi.PlinxEventMessageStatus(status)
	if messageID == "" || !st.Valid() {
		return Delivery{}, fmt.Errorf("%w: a message id and a status (sent, delivered, read, failed) are needed", ErrInvalid)
	}
	if s.Webhook().URL == "" {
		return Delivery{}, ErrNoWebhookTarget
	}
	now := s.now()
	s.mu.Lock()
	for i := range s.st.sent {
		if s.st.sent[i].ID == messageID {
			s.st.sent[i].Status = status
			s.st.sent[i].Statuses = append(s.st.sent[i].Statuses,
				StatusChange{Status: status, At: now, ErrorCode: errorCode, ErrorMessage: errorMessage})
		}
	}
	s.mu.Unlock()
	ev := plinxapi.PlinxEvent{Type: plinxapi.PlinxEventTypeMessageStatus, OccurredAt: now,
		Message: &plinxapi.PlinxEventMessage{Id: messageID, Status: &st, ErrorCode: optional(errorCode), ErrorMessage: optional(errorMessage)}}
	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, fmt.Errorf("encode event: %w", err)
	}
	return s.deliver(ctx, webhook.NewID(), string(ev.Type), body)
}

// Redeliver sends a past delivery again, with its webhook-id and body and a fresh timestamp, as Plinx
// does when a delivery failed; it returns the target's status code.
func (s *Server) Redeliver(ctx context.Context, webhookID string) (int, error) {
	var found *Delivery
	s.mu.Lock()
	for i := range s.st.deliveries {
		if s.st.deliveries[i].WebhookID == webhookID {
			d := s.st.deliveries[i]
			found = &d
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		return 0, ErrUnknownDelivery
	}
	d, err := s.deliver(ctx, found.WebhookID, found.Type, found.Body)
	return d.StatusCode, err
}

// deliver signs body and POSTs it to the target, once, and records the delivery.
func (s *Server) deliver(ctx context.Context, id, typ string, body []byte) (Delivery, error) {
	cfg := s.Webhook()
	if cfg.URL == "" {
		return Delivery{}, ErrNoWebhookTarget
	}
	at := s.now()
	h, err := webhook.Headers(cfg.Secret, id, at, body)
	if err != nil {
		return Delivery{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.baseCtx, cancel) // Close stops deliveries in flight
	defer stop()

	d := Delivery{WebhookID: id, Type: typ, At: at, Body: body}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: webhook url: %v", ErrInvalid, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "plinx-sim")
	resp, err := s.httpc.Do(req)
	if err != nil {
		d.Error = err.Error()
		s.record(d)
		s.opts.Logger.Warn("plinx-sim webhook not delivered", "webhook_id", id, "type", typ, "error", err)
		return d, fmt.Errorf("deliver webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	d.StatusCode = resp.StatusCode
	s.record(d)
	s.opts.Logger.Info("plinx-sim webhook delivered", "webhook_id", id, "type", typ, "status", resp.StatusCode)
	return d, nil
}

func (s *Server) record(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.deliveries = append(s.st.deliveries, d)
}

// enqueueLocked queues an automatic status; one goroutine sends the queue in order and exits when it is
// empty, so an idle simulator runs no goroutine.
func (s *Server) enqueueLocked(q queuedStatus) {
	if s.closed {
		return
	}
	s.queue = append(s.queue, q)
	if !s.draining {
		s.draining = true
		s.wg.Add(1)
		go s.drain()
	}
}

func (s *Server) drain() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.closed {
			s.draining = false
			s.mu.Unlock()
			return
		}
		q := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		if q.delay > 0 && !s.wait(s.baseCtx, q.delay) {
			continue // closing: the loop ends above
		}
		var errCode, errMsg string
		if q.status == string(plinxapi.PlinxEventMessageStatusFailed) {
			errCode, errMsg = "simulated_failure", "the simulator failed this message"
		}
		if _, err := s.pushStatus(s.baseCtx, q.messageID, q.status, errCode, errMsg); err != nil &&
			!errors.Is(err, context.Canceled) {
			s.opts.Logger.Warn("plinx-sim automatic status not delivered", "message_id", q.messageID, "status", q.status, "error", err)
		}
	}
}

// millis turns the admin API's milliseconds into a duration.
func millis(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
