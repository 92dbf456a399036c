package httpapi

import (
	"context"

	"github.com/google/uuid"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store"
)

// interactionHandlers serve interactions and follow-ups.
type interactionHandlers struct {
	crm *crm.Service
}

// ListInteractions pages through interactions.
func (h interactionHandlers) ListInteractions(ctx context.Context, req gen.ListInteractionsRequestObject) (gen.ListInteractionsResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.Interactions(ctx, principalFrom(ctx).Tenant.ID, crm.InteractionFilter{
		Records: crm.Records{CompanyID: p.CompanyId, ContactID: p.ContactId, LeadID: p.LeadId},
		AgentID: p.AgentId, Origin: strPtr(p.Origin), Result: p.Result, From: p.From, To: p.To,
	}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListInteractions200JSONResponse{Data: mapSlice(out, apiInteraction), NextCursor: nextCursor(next)}, nil
}

// CreateInteraction records an interaction and the follow-up it schedules.
func (h interactionHandlers) CreateInteraction(ctx context.Context, req gen.CreateInteractionRequestObject) (gen.CreateInteractionResponseObject, error) {
	b := req.Body
	in := crm.NewInteraction{
		Channel: string(b.Channel), Result: b.Result, Notes: b.Notes, AgentID: b.AgentId,
		Records:        crm.Records{CompanyID: b.CompanyId, ContactID: b.ContactId, LeadID: b.LeadId},
		ConversationID: b.ConversationId, CallID: b.CallId, OccurredAt: b.OccurredAt,
	}
	if b.Origin != nil {
		in.Origin = string(*b.Origin)
	}
	if f := b.FollowUp; f != nil {
		in.FollowUp = &crm.FollowUpSpec{DueAt: f.DueAt, AgentID: f.AgentId, CampaignID: f.CampaignId, Notes: f.Notes}
	}
	it, err := h.crm.RecordInteraction(ctx, principalFrom(ctx).Actor(), in)
	if err != nil {
		return nil, failure(ctx, err, "Interaction")
	}
	loc := "/v1/interactions/" + it.ID.String()
	return gen.CreateInteraction201JSONResponse{Body: apiInteraction(it), Headers: gen.CreateInteraction201ResponseHeaders{Location: &loc}}, nil
}

// GetInteraction returns an interaction.
func (h interactionHandlers) GetInteraction(ctx context.Context, req gen.GetInteractionRequestObject) (gen.GetInteractionResponseObject, error) {
	it, err := h.crm.Interaction(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Interaction")
	}
	return gen.GetInteraction200JSONResponse(apiInteraction(it)), nil
}

// ListFollowUps pages through follow-ups.
func (h interactionHandlers) ListFollowUps(ctx context.Context, req gen.ListFollowUpsRequestObject) (gen.ListFollowUpsResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.FollowUps(ctx, principalFrom(ctx).Tenant.ID, crm.FollowUpFilter{
		Status: strPtr(p.Status), AgentID: p.AgentId, CampaignID: p.CampaignId, DueBefore: p.DueBefore,
	}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListFollowUps200JSONResponse{Data: mapSlice(out, apiFollowUp), NextCursor: nextCursor(next)}, nil
}

// CreateFollowUp schedules a follow-up.
func (h interactionHandlers) CreateFollowUp(ctx context.Context, req gen.CreateFollowUpRequestObject) (gen.CreateFollowUpResponseObject, error) {
	b := req.Body
	f, err := h.crm.ScheduleFollowUp(ctx, principalFrom(ctx).Actor(), crm.NewFollowUp{
		Records: crm.Records{CompanyID: b.CompanyId, ContactID: b.ContactId, LeadID: b.LeadId},
		PhoneID: b.PhoneId, DueAt: b.DueAt, AgentID: b.AgentId, CampaignID: b.CampaignId, Notes: b.Notes,
	})
	if err != nil {
		return nil, failure(ctx, err, "Follow-up")
	}
	tag, loc := etag(f.Version), "/v1/follow-ups/"+f.ID.String()
	return gen.CreateFollowUp201JSONResponse{Body: apiFollowUp(f), Headers: gen.CreateFollowUp201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetFollowUp returns a follow-up.
func (h interactionHandlers) GetFollowUp(ctx context.Context, req gen.GetFollowUpRequestObject) (gen.GetFollowUpResponseObject, error) {
	f, err := h.crm.FollowUp(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Follow-up")
	}
	tag := etag(f.Version)
	return gen.GetFollowUp200JSONResponse{Body: apiFollowUp(f), Headers: gen.GetFollowUp200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateFollowUp reschedules, reassigns, completes or cancels a follow-up.
func (h interactionHandlers) UpdateFollowUp(ctx context.Context, req gen.UpdateFollowUpRequestObject) (gen.UpdateFollowUpResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	f, err := h.crm.UpdateFollowUp(ctx, principalFrom(ctx).Tenant.ID, req.Id, crm.FollowUpPatch{
		DueAt: b.DueAt, AgentID: optional(b.AgentId, same[uuid.UUID]), CampaignID: optional(b.CampaignId, same[uuid.UUID]),
		Notes: optional(b.Notes, same[string]), Status: strPtr(b.Status),
	}, v)
	if err != nil {
		return nil, failure(ctx, err, "Follow-up")
	}
	tag := etag(f.Version)
	return gen.UpdateFollowUp200JSONResponse{Body: apiFollowUp(f), Headers: gen.UpdateFollowUp200ResponseHeaders{ETag: &tag}}, nil
}
