package httpapi

import (
	"context"

	"github.com/google/uuid"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
)

// routingHandlers serve waiting lists, taking and assigning conversations, and their routing decisions.
type routingHandlers struct {
	router *routing.Router
}

// AssignConversation gives a conversation to an agent: an agent takes it from its waiting list, admins and
// supervisors assign it to anyone.
func (h routingHandlers) AssignConversation(ctx context.Context, req gen.AssignConversationRequestObject) (gen.AssignConversationResponseObject, error) {
	var agentID *uuid.UUID
	if req.Body != nil {
		agentID = req.Body.AgentId
	}
	c, err := h.router.Assign(ctx, principalFrom(ctx).Actor(), req.Id, agentID)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	tag := etag(c.Version)
	return gen.AssignConversation200JSONResponse{Body: apiConversation(c), Headers: gen.AssignConversation200ResponseHeaders{ETag: &tag}}, nil
}

// ListAgentWaiting pages through an agent's waiting list.
func (h routingHandlers) ListAgentWaiting(ctx context.Context, req gen.ListAgentWaitingRequestObject) (gen.ListAgentWaitingResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.router.Waiting(ctx, principalFrom(ctx).Actor(), req.Id, page)
	if err != nil {
		return nil, failure(ctx, err, "Agent")
	}
	return gen.ListAgentWaiting200JSONResponse{Data: mapSlice(out, apiConversation), NextCursor: nextCursor(next)}, nil
}

// ListConversationRouting lists a conversation's routing decisions.
func (h routingHandlers) ListConversationRouting(ctx context.Context, req gen.ListConversationRoutingRequestObject) (gen.ListConversationRoutingResponseObject, error) {
	out, err := h.router.Decisions(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Conversation")
	}
	return gen.ListConversationRouting200JSONResponse{Data: mapSlice(out, apiDecision)}, nil
}

func apiDecision(d routing.Decision) gen.RoutingDecision {
	return gen.RoutingDecision{Id: d.ID, Kind: gen.RoutingDecisionKind(d.Kind), Reason: gen.RoutingDecisionReason(d.Reason),
		Detail: d.Detail, AgentId: nullOf(d.AgentID), TeamId: nullOf(d.TeamID), PortfolioId: nullOf(d.PortfolioID),
		ActorId: nullOf(d.ActorID), CreatedAt: d.CreatedAt}
}
