package httpapi

import (
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/tenant"
)

func apiLink(c conversation.Conversation) gen.ConversationLink {
	ref := func(r *crm.RecordRef) nullable.Nullable[gen.RecordRef] {
		if r == nil {
			return nullable.NewNullNullable[gen.RecordRef]()
		}
		return nullable.NewNullableWithValue(apiRecordRef(*r))
	}
	return gen.ConversationLink{Company: ref(c.Company), Contact: ref(c.Contact), Lead: ref(c.Lead)}
}

func apiConversation(c conversation.Conversation) gen.Conversation {
	return gen.Conversation{
		Id: c.ID, PlinxId: c.PlinxID, Phone: apiPhoneRefs([]crm.Phone{c.Phone})[0], Status: gen.ConversationStatus(c.Status),
		StartedAt: nullOf(c.StartedAt), ClosedAt: nullOf(c.ClosedAt), LastMessageAt: nullOf(c.LastMessageAt),
		PlinxAgent: nullOf(c.PlinxAgent), AssignedTo: nullOf(c.AssignedTo), AssignedAt: nullOf(c.AssignedAt),
		TeamId: nullOf(c.TeamID), Routing: nullEnum[gen.ConversationRouting](c.Routing), OverflowAt: nullOf(c.OverflowAt), Link: apiLink(c),
		Qualified: c.QualifiedAt != nil, QualifiedAt: nullOf(c.QualifiedAt), InteractionId: nullOf(c.InteractionID),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// nullEnum converts an optional string to a nullable API enum.
func nullEnum[E ~string](s *string) nullable.Nullable[E] {
	if s == nil {
		return nullable.NewNullNullable[E]()
	}
	return nullable.NewNullableWithValue(E(*s))
}

func apiMessage(m conversation.Message) gen.Message {
	out := gen.Message{
		Id: m.ID, PlinxId: m.PlinxID, Direction: gen.MessageDirection(m.Direction), Text: nullOf(m.Text),
		SentAt: nullOf(m.SentAt), StatusAt: nullOf(m.StatusAt), ErrorCode: nullOf(m.ErrorCode), CreatedAt: m.CreatedAt,
		Status: nullable.NewNullNullable[gen.MessageStatus](),
	}
	if m.Status != nil {
		out.Status = nullable.NewNullableWithValue(gen.MessageStatus(*m.Status))
	}
	return out
}

func apiLinkChange(l conversation.LinkChange) gen.LinkChange {
	ids := func(company, contact, lead, phone *uuid.UUID) gen.LinkIds {
		return gen.LinkIds{CompanyId: nullOf(company), ContactId: nullOf(contact), LeadId: nullOf(lead), PhoneId: nullOf(phone)}
	}
	from := ids(l.FromCompanyID, l.FromContactID, l.FromLeadID, l.FromPhoneID)
	return gen.LinkChange{
		Id: l.ID, Reason: gen.LinkChangeReason(l.Reason), ActorId: nullOf(l.ActorID), From: &from,
		To: ids(l.ToCompanyID, l.ToContactID, l.ToLeadID, l.ToPhoneID), CreatedAt: l.CreatedAt,
	}
}

func apiPlinxSettings(t tenant.Tenant) gen.PlinxSettings {
	return gen.PlinxSettings{
		BaseUrl: nullOf(t.PlinxBaseURL), TokenSet: t.PlinxToken != nil, WebhookSecretSet: t.PlinxWebhookSecret != nil,
		WebhookUrl: "/v1/webhooks/plinx/" + t.ID.String(), UpdatedAt: t.UpdatedAt,
	}
}
