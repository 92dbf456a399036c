package httpapi

import (
	"context"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// conversationHandlers serve conversations, their links and qualification, and the Plinx webhooks that feed
// them.
type conversationHandlers struct {
	conversations *conversation.Service
	tenants       *tenant.Service
}

// ReceivePlinxWebhook applies a verified Plinx delivery.
func (h conversationHandlers) ReceivePlinxWebhook(ctx context.Context, req gen.ReceivePlinxWebhookRequestObject) (gen.ReceivePlinxWebhookResponseObject, error) {
	delivery := webhookFrom(ctx)
	b := req.Body
	ev := conversation.Event{Type: string(b.Type), OccurredAt: b.OccurredAt}
	if c := b.Conversation; c != nil {
		ev.Conversation = &conversation.EventConversation{ID: c.Id, Phone: c.Phone, StartedAt: c.StartedAt, ClosedAt: c.ClosedAt}
		if c.Agent.IsSpecified() && !c.Agent.IsNull() {
			agent := c.Agent.MustGet()
			ev.Conversation.Agent = &agent
		}
		if c.Team.IsSpecified() && !c.Team.IsNull() {
			team := c.Team.MustGet()
			ev.Conversation.Team = &team
		}
	}
	if m := b.Message; m != nil {
		ev.Message = &conversation.EventMessage{ID: m.Id, Direction: str(strPtr(m.Direction)), Text: m.Text, SentAt: m.SentAt,
			Status: str(strPtr(m.Status)), ErrorCode: m.ErrorCode, ErrorMessage: m.ErrorMessage}
	}
	duplicate, err := h.conversations.Apply(ctx, delivery.tenant.ID, delivery.tenant.DefaultCountryCode, delivery.id, ev)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	return gen.ReceivePlinxWebhook200JSONResponse{Id: delivery.id, Duplicate: duplicate}, nil
}

// ListConversations pages through conversations.
func (h conversationHandlers) ListConversations(ctx context.Context, req gen.ListConversationsRequestObject) (gen.ListConversationsResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.conversations.Conversations(ctx, principalFrom(ctx).Actor(), conversation.Filter{
		Status: strPtr(p.Status), Phone: p.Phone, CompanyID: p.CompanyId, ContactID: p.ContactId, LeadID: p.LeadId,
		Qualified: p.Qualified, AssignedTo: p.AssignedTo, TeamID: p.TeamId, Routing: strPtr(p.Routing),
	}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListConversations200JSONResponse{Data: mapSlice(out, apiConversation), NextCursor: nextCursor(next)}, nil
}

// GetConversation returns a conversation.
func (h conversationHandlers) GetConversation(ctx context.Context, req gen.GetConversationRequestObject) (gen.GetConversationResponseObject, error) {
	c, err := h.conversations.Conversation(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	tag := etag(c.Version)
	return gen.GetConversation200JSONResponse{Body: apiConversation(c), Headers: gen.GetConversation200ResponseHeaders{ETag: &tag}}, nil
}

// ListConversationMessages pages through a conversation's messages.
func (h conversationHandlers) ListConversationMessages(ctx context.Context, req gen.ListConversationMessagesRequestObject) (gen.ListConversationMessagesResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.conversations.Messages(ctx, principalFrom(ctx).Tenant.ID, req.Id, page)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	return gen.ListConversationMessages200JSONResponse{Data: mapSlice(out, apiMessage), NextCursor: nextCursor(next)}, nil
}

// GetConversationRelated lists the records on the conversation's phone and its link.
func (h conversationHandlers) GetConversationRelated(ctx context.Context, req gen.GetConversationRelatedRequestObject) (gen.GetConversationRelatedResponseObject, error) {
	r, err := h.conversations.Related(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	out := gen.ConversationRelated{
		Phone: apiPhoneRefs([]crm.Phone{r.Conversation.Phone})[0], Link: apiLink(r.Conversation),
		Companies: []gen.RecordRef{}, Contacts: []gen.RecordRef{}, Leads: []gen.RecordRef{},
	}
	for _, rec := range r.Records {
		ref := apiRecordRef(rec)
		switch rec.Type {
		case crm.RecordCompany:
			out.Companies = append(out.Companies, ref)
		case crm.RecordContact:
			out.Contacts = append(out.Contacts, ref)
		default:
			out.Leads = append(out.Leads, ref)
		}
	}
	return gen.GetConversationRelated200JSONResponse(out), nil
}

// LinkConversation re-links a conversation, creating new records inline when asked.
func (h conversationHandlers) LinkConversation(ctx context.Context, req gen.LinkConversationRequestObject) (gen.LinkConversationResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := conversation.Relink{}
	if t, ok := present(b.Company); ok {
		in.Company = &conversation.Target[crm.NewCompany]{ID: t.Id}
		if t.New != nil {
			nc := newCompany(*t.New)
			in.Company.New = &nc
		}
	}
	if t, ok := present(b.Contact); ok {
		in.Contact = &conversation.Target[crm.NewContact]{ID: t.Id}
		if t.New != nil {
			nc := newContact(*t.New)
			in.Contact.New = &nc
		}
	}
	if t, ok := present(b.Lead); ok {
		in.Lead = &conversation.Target[crm.NewLead]{ID: t.Id}
		if t.New != nil {
			nl := newLead(*t.New)
			in.Lead.New = &nl
		}
	}
	if t := b.Phone; t != nil {
		in.Phone = &conversation.Target[string]{ID: t.Id, New: t.New}
	}
	c, err := h.conversations.Relink(ctx, principalFrom(ctx).Actor(), req.Id, in, v)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	tag := etag(c.Version)
	return gen.LinkConversation200JSONResponse{Body: apiConversation(c), Headers: gen.LinkConversation200ResponseHeaders{ETag: &tag}}, nil
}

// ListConversationLinkHistory lists the conversation's link changes.
func (h conversationHandlers) ListConversationLinkHistory(ctx context.Context, req gen.ListConversationLinkHistoryRequestObject) (gen.ListConversationLinkHistoryResponseObject, error) {
	out, err := h.conversations.History(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	return gen.ListConversationLinkHistory200JSONResponse{Data: mapSlice(out, apiLinkChange)}, nil
}

// QualifyConversation records the attendance's result and freezes the link.
func (h conversationHandlers) QualifyConversation(ctx context.Context, req gen.QualifyConversationRequestObject) (gen.QualifyConversationResponseObject, error) {
	c, it, err := h.conversations.Qualify(ctx, principalFrom(ctx).Actor(), req.Id, conversation.Qualification{
		ResultID: req.Body.ResultId, Notes: req.Body.Notes, FollowUpAt: req.Body.FollowUpAt,
	})
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	return gen.QualifyConversation201JSONResponse{Conversation: apiConversation(c), Interaction: apiInteraction(it)}, nil
}

func (h conversationHandlers) recordConversations(ctx context.Context, rt crm.RecordType, id uuid.UUID, limit *int, cursor *string) (gen.ConversationList, error) {
	page, err := store.ParsePage(limit, cursor)
	if err != nil {
		return gen.ConversationList{}, failure(ctx, err, "")
	}
	out, next, err := h.conversations.RecordConversations(ctx, principalFrom(ctx).Actor(), rt, id, page)
	if err != nil {
		return gen.ConversationList{}, failure(ctx, err, recordNames[rt])
	}
	return gen.ConversationList{Data: mapSlice(out, apiConversation), NextCursor: nextCursor(next)}, nil
}

// ListCompanyConversations lists the conversations linked to a company.
func (h conversationHandlers) ListCompanyConversations(ctx context.Context, req gen.ListCompanyConversationsRequestObject) (gen.ListCompanyConversationsResponseObject, error) {
	l, err := h.recordConversations(ctx, crm.RecordCompany, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListCompanyConversations200JSONResponse(l), err
}

// ListContactConversations lists the conversations linked to a contact.
func (h conversationHandlers) ListContactConversations(ctx context.Context, req gen.ListContactConversationsRequestObject) (gen.ListContactConversationsResponseObject, error) {
	l, err := h.recordConversations(ctx, crm.RecordContact, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListContactConversations200JSONResponse(l), err
}

// ListLeadConversations lists the conversations linked to a lead.
func (h conversationHandlers) ListLeadConversations(ctx context.Context, req gen.ListLeadConversationsRequestObject) (gen.ListLeadConversationsResponseObject, error) {
	l, err := h.recordConversations(ctx, crm.RecordLead, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListLeadConversations200JSONResponse(l), err
}

// GetPlinxSettings returns the tenant's Plinx connection, secrets withheld.
func (h conversationHandlers) GetPlinxSettings(ctx context.Context, _ gen.GetPlinxSettingsRequestObject) (gen.GetPlinxSettingsResponseObject, error) {
	t, err := h.tenants.Tenant(ctx, principalFrom(ctx).Tenant.ID)
	if err != nil {
		return nil, err
	}
	tag := etag(t.Version)
	return gen.GetPlinxSettings200JSONResponse{Body: apiPlinxSettings(t), Headers: gen.GetPlinxSettings200ResponseHeaders{ETag: &tag}}, nil
}

// UpdatePlinxSettings changes the tenant's Plinx connection.
func (h conversationHandlers) UpdatePlinxSettings(ctx context.Context, req gen.UpdatePlinxSettingsRequestObject) (gen.UpdatePlinxSettingsResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	t, err := h.tenants.UpdatePlinxSettings(ctx, principalFrom(ctx).Tenant.ID, tenant.PlinxPatch{
		BaseURL: tenantOptional(b.BaseUrl), Token: tenantOptional(b.Token), WebhookSecret: tenantOptional(b.WebhookSecret),
	}, v)
	if err != nil {
		return nil, failure(ctx, err, "Tenant")
	}
	tag := etag(t.Version)
	return gen.UpdatePlinxSettings200JSONResponse{Body: apiPlinxSettings(t), Headers: gen.UpdatePlinxSettings200ResponseHeaders{ETag: &tag}}, nil
}

func tenantOptional(n nullable.Nullable[string]) tenant.Optional[string] {
	o := optional(n, same[string])
	return tenant.Optional[string]{Set: o.Set, Value: o.Value}
}

// present reads a nullable link target: set to a value, or absent/null (no record).
func present[T any](n nullable.Nullable[T]) (T, bool) {
	if !n.IsSpecified() || n.IsNull() {
		var zero T
		return zero, false
	}
	return n.MustGet(), true
}
