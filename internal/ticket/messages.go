package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

// Message returns one message.
func (s *Service) Message(ctx context.Context, tenantID, id uuid.UUID) (Message, error) {
	var m Message
	if err := s.db.NewSelect().Model(&m).Where("om.tenant_id = ? AND om.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Message{}, notFound(err)
	}
	return m, nil
}

// MessageFilter narrows a list of messages; nil fields do not filter.
type MessageFilter struct {
	TicketID *uuid.UUID
	Status   *string
}

// Messages lists messages, newest first.
func (s *Service) Messages(ctx context.Context, tenantID uuid.UUID, f MessageFilter, p store.Page) ([]Message, string, error) {
	var out []Message
	q := s.db.NewSelect().Model(&out).Where("om.tenant_id = ?", tenantID)
	if f.TicketID != nil {
		q = q.Where("om.ticket_id = ?", *f.TicketID)
	}
	if f.Status != nil {
		q = q.Where("om.status = ?", *f.Status)
	}
	p.Desc = true
	if err := p.Apply(q, "om.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	out, next := store.Trim(p, out, func(m Message) uuid.UUID { return m.ID })
	return out, next, nil
}

// StatusUpdate is a message status Plinx reported.
type StatusUpdate struct {
	PlinxMessageID string
	Status         string // sent, delivered, read or failed
	OccurredAt     time.Time
	ErrorCode      *string
	ErrorMessage   *string
}

// ApplyMessageStatus applies a Plinx status to the template message it is about, inside the webhook's
// transaction. A status about a message whose send is not recorded yet (the webhook raced the sender's
// commit) is kept and applied when it is. It reports whether it took the status.
func (s *Service) ApplyMessageStatus(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, st StatusUpdate) (bool, error) {
	if err := s.lockPlinxMessage(ctx, tx, tenantID, st.PlinxMessageID); err != nil {
		return false, err
	}
	var m Message
	q := s.forUpdate(tx.NewSelect().Model(&m).Where("om.tenant_id = ? AND om.plinx_message_id = ?", tenantID, st.PlinxMessageID), "")
	if err := q.Scan(ctx); err != nil {
		if notFound(err) != ErrNotFound {
			return false, fmt.Errorf("find message: %w", err)
		}
		p := pendingStatus{TenantID: tenantID, PlinxMessageID: st.PlinxMessageID, Status: st.Status, OccurredAt: st.OccurredAt,
			ErrorCode: st.ErrorCode, ErrorMessage: st.ErrorMessage, ReceivedAt: s.clock.Now()}
		if _, err := tx.NewInsert().Model(&p).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return false, fmt.Errorf("keep early status: %w", err)
		}
		return true, nil
	}
	return true, s.applyStatus(ctx, tx, &m, st)
}

// statusTexts are the timeline's words for each status Plinx reports.
var statusTexts = map[string]struct{ kind, text string }{
	MessageSent:      {KindMessageSent, "Mensagem WhatsApp %q enviada."},
	MessageDelivered: {KindMessageDelivered, "Mensagem WhatsApp %q entregue."},
	MessageRead:      {KindMessageRead, "Mensagem WhatsApp %q lida."},
	MessageFailed:    {KindMessageFailed, "Mensagem WhatsApp %q não entregue."},
}

// applyStatus records a status on a locked message: its time, once, and a timeline entry, once; the
// message's status moves only forward, whatever order the statuses arrive in.
func (s *Service) applyStatus(ctx context.Context, tx bun.IDB, m *Message, st StatusUpdate) error {
	var at **time.Time
	switch st.Status {
	case MessageSent:
		at = &m.SentAt
	case MessageDelivered:
		at = &m.DeliveredAt
	case MessageRead:
		at = &m.ReadAt
	case MessageFailed:
		at = &m.FailedAt
	default:
		return nil
	}
	if *at != nil {
		return nil // this status was recorded before
	}
	occurred := st.OccurredAt.UTC()
	*at = &occurred
	if statusRank[st.Status] > statusRank[m.Status] {
		m.Status = st.Status
		if st.Status == MessageFailed {
			m.ErrorCode, m.ErrorMessage = st.ErrorCode, st.ErrorMessage
		}
	}
	m.UpdatedAt = s.clock.Now()
	if _, err := tx.NewUpdate().Model(m).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update message status: %w", err)
	}
	s.metrics.outcome(st.Status)
	words := statusTexts[st.Status]
	text := fmt.Sprintf(words.text, m.Template)
	data := map[string]any{"status": st.Status, "occurred_at": occurred}
	if st.Status == MessageFailed && st.ErrorCode != nil {
		data["error_code"] = *st.ErrorCode
		text += " Motivo: " + *st.ErrorCode + "."
	}
	w := &timeline{tk: &Ticket{TenantID: m.TenantID, ID: m.TicketID}, now: m.UpdatedAt}
	w.add(words.kind, text, &m.ID, &m.TaskID, data)
	if err := w.flush(ctx, tx); err != nil {
		return err
	}
	return s.emitMessageError(ctx, tx, m, st.Status, occurred, st.ErrorCode, st.ErrorMessage)
}

// applyPending applies the statuses that arrived before the message's send was recorded.
func (s *Service) applyPending(ctx context.Context, tx bun.IDB, m *Message) error {
	if m.PlinxMessageID == nil {
		return nil
	}
	var early []pendingStatus
	err := tx.NewDelete().Model(&early).Where("tenant_id = ? AND plinx_message_id = ?", m.TenantID, *m.PlinxMessageID).
		Returning("*").Scan(ctx)
	if err != nil {
		return fmt.Errorf("take early statuses: %w", err)
	}
	for _, p := range early {
		if err := s.applyStatus(ctx, tx, m, StatusUpdate{PlinxMessageID: p.PlinxMessageID, Status: p.Status,
			OccurredAt: p.OccurredAt, ErrorCode: p.ErrorCode, ErrorMessage: p.ErrorMessage}); err != nil {
			return err
		}
	}
	return nil
}

// SweepPendingStatuses forgets early statuses received before cutoff whose message never showed up.
func (s *Service) SweepPendingStatuses(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.NewDelete().Model((*pendingStatus)(nil)).Where("received_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep early statuses: %w", err)
	}
	return res.RowsAffected()
}
