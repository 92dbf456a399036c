package httpapi

import (
	"context"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/portfolio"
	"github.com/atende/atende/internal/store"
)

// portfolioHandlers serve portfolios (carteiras) and their contacts, from either side.
type portfolioHandlers struct {
	portfolios *portfolio.Service
}

// ListPortfolios pages through portfolios.
func (h portfolioHandlers) ListPortfolios(ctx context.Context, req gen.ListPortfoliosRequestObject) (gen.ListPortfoliosResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.portfolios.List(ctx, principalFrom(ctx).Tenant.ID, req.Params.Q, page)
	if err != nil {
		return nil, err
	}
	return gen.ListPortfolios200JSONResponse{Data: mapSlice(out, apiPortfolio), NextCursor: nextCursor(next)}, nil
}

// CreatePortfolio creates a portfolio.
func (h portfolioHandlers) CreatePortfolio(ctx context.Context, req gen.CreatePortfolioRequestObject) (gen.CreatePortfolioResponseObject, error) {
	b := req.Body
	p, err := h.portfolios.Create(ctx, principalFrom(ctx).Tenant.ID, portfolio.Fields{Name: &b.Name, Type: strPtr(b.Type), OwnerIDs: b.OwnerIds})
	if err != nil {
		return nil, failure(ctx, err, "Portfolio")
	}
	tag, loc := etag(p.Version), "/v1/portfolios/"+p.ID.String()
	return gen.CreatePortfolio201JSONResponse{Body: apiPortfolio(p), Headers: gen.CreatePortfolio201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetPortfolio returns a portfolio.
func (h portfolioHandlers) GetPortfolio(ctx context.Context, req gen.GetPortfolioRequestObject) (gen.GetPortfolioResponseObject, error) {
	p, err := h.portfolios.Get(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Portfolio")
	}
	tag := etag(p.Version)
	return gen.GetPortfolio200JSONResponse{Body: apiPortfolio(p), Headers: gen.GetPortfolio200ResponseHeaders{ETag: &tag}}, nil
}

// UpdatePortfolio renames a portfolio or changes its type or owners.
func (h portfolioHandlers) UpdatePortfolio(ctx context.Context, req gen.UpdatePortfolioRequestObject) (gen.UpdatePortfolioResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p, err := h.portfolios.Update(ctx, principalFrom(ctx).Tenant.ID, req.Id,
		portfolio.Fields{Name: b.Name, Type: strPtr(b.Type), OwnerIDs: b.OwnerIds}, v)
	if err != nil {
		return nil, failure(ctx, err, "Portfolio")
	}
	tag := etag(p.Version)
	return gen.UpdatePortfolio200JSONResponse{Body: apiPortfolio(p), Headers: gen.UpdatePortfolio200ResponseHeaders{ETag: &tag}}, nil
}

// DeletePortfolio deletes a portfolio; its contacts stay.
func (h portfolioHandlers) DeletePortfolio(ctx context.Context, req gen.DeletePortfolioRequestObject) (gen.DeletePortfolioResponseObject, error) {
	if err := h.portfolios.Delete(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Portfolio")
	}
	return gen.DeletePortfolio204Response{}, nil
}

// BulkDeletePortfolios deletes the tenant's portfolios among the ids sent.
func (h portfolioHandlers) BulkDeletePortfolios(ctx context.Context, req gen.BulkDeletePortfoliosRequestObject) (gen.BulkDeletePortfoliosResponseObject, error) {
	n, err := h.portfolios.BulkDelete(ctx, principalFrom(ctx).Tenant.ID, req.Body.Ids)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.BulkDeletePortfolios200JSONResponse{Deleted: n}, nil
}

// ListPortfolioContacts pages through a portfolio's contacts.
func (h portfolioHandlers) ListPortfolioContacts(ctx context.Context, req gen.ListPortfolioContactsRequestObject) (gen.ListPortfolioContactsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.portfolios.Members(ctx, principalFrom(ctx).Tenant.ID, req.Id, page)
	if err != nil {
		return nil, failure(ctx, err, "Portfolio")
	}
	return gen.ListPortfolioContacts200JSONResponse{Data: mapSlice(out, apiPortfolioMember), NextCursor: nextCursor(next)}, nil
}

// AddPortfolioContacts puts contacts in a portfolio.
func (h portfolioHandlers) AddPortfolioContacts(ctx context.Context, req gen.AddPortfolioContactsRequestObject) (gen.AddPortfolioContactsResponseObject, error) {
	n, err := h.portfolios.Add(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.Body.ContactIds)
	if err != nil {
		return nil, failure(ctx, err, "Portfolio")
	}
	return gen.AddPortfolioContacts200JSONResponse{Added: n}, nil
}

// RemovePortfolioContact takes a contact out of a portfolio.
func (h portfolioHandlers) RemovePortfolioContact(ctx context.Context, req gen.RemovePortfolioContactRequestObject) (gen.RemovePortfolioContactResponseObject, error) {
	if err := h.portfolios.Remove(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.ContactId); err != nil {
		return nil, failure(ctx, err, "Portfolio member")
	}
	return gen.RemovePortfolioContact204Response{}, nil
}

// ListContactPortfolios lists the portfolios a contact is in.
func (h portfolioHandlers) ListContactPortfolios(ctx context.Context, req gen.ListContactPortfoliosRequestObject) (gen.ListContactPortfoliosResponseObject, error) {
	out, err := h.portfolios.OfContact(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Contact")
	}
	return gen.ListContactPortfolios200JSONResponse{Data: mapSlice(out, apiPortfolioRef)}, nil
}

// AddContactPortfolio puts a contact in a portfolio, from the contact's side.
func (h portfolioHandlers) AddContactPortfolio(ctx context.Context, req gen.AddContactPortfolioRequestObject) (gen.AddContactPortfolioResponseObject, error) {
	out, err := h.portfolios.AddToContact(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.Body.PortfolioId)
	if err != nil {
		return nil, failure(ctx, err, "Contact")
	}
	return gen.AddContactPortfolio200JSONResponse{Data: mapSlice(out, apiPortfolioRef)}, nil
}

// RemoveContactPortfolio takes a contact out of a portfolio, from the contact's side.
func (h portfolioHandlers) RemoveContactPortfolio(ctx context.Context, req gen.RemoveContactPortfolioRequestObject) (gen.RemoveContactPortfolioResponseObject, error) {
	if err := h.portfolios.RemoveFromContact(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.PortfolioId); err != nil {
		return nil, failure(ctx, err, "Portfolio membership")
	}
	return gen.RemoveContactPortfolio204Response{}, nil
}

func apiPortfolio(p portfolio.Portfolio) gen.Portfolio {
	return gen.Portfolio{Id: p.ID, Name: p.Name, Type: gen.PortfolioType(p.Type), OwnerIds: p.OwnerIDs, MemberCount: p.MemberCount,
		Members: mapSlice(p.Members, apiPortfolioMember), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func apiPortfolioMember(m portfolio.Member) gen.PortfolioMember {
	return gen.PortfolioMember{ContactId: m.ContactID, Name: m.Name, AddedAt: m.AddedAt}
}

func apiPortfolioRef(p portfolio.Portfolio) gen.PortfolioRef {
	return gen.PortfolioRef{Id: p.ID, Name: p.Name, Type: gen.PortfolioType(p.Type)}
}

// ListTeams pages through teams.
func (h portfolioHandlers) ListTeams(ctx context.Context, req gen.ListTeamsRequestObject) (gen.ListTeamsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.portfolios.Teams(ctx, principalFrom(ctx).Tenant.ID, page)
	if err != nil {
		return nil, err
	}
	return gen.ListTeams200JSONResponse{Data: mapSlice(out, apiTeam), NextCursor: nextCursor(next)}, nil
}

// CreateTeam creates a team.
func (h portfolioHandlers) CreateTeam(ctx context.Context, req gen.CreateTeamRequestObject) (gen.CreateTeamResponseObject, error) {
	b := req.Body
	tm, err := h.portfolios.CreateTeam(ctx, principalFrom(ctx).Tenant.ID, portfolio.TeamFields{Name: &b.Name,
		Distribution: strPtr(b.Distribution), OverflowSeconds: b.OverflowSeconds, Default: b.Default,
		OwnersAway: strPtr(b.OwnersAway), MemberIDs: b.MemberIds})
	if err != nil {
		return nil, failure(ctx, err, "Team")
	}
	tag, loc := etag(tm.Version), "/v1/teams/"+tm.ID.String()
	return gen.CreateTeam201JSONResponse{Body: apiTeam(tm), Headers: gen.CreateTeam201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetTeam returns a team.
func (h portfolioHandlers) GetTeam(ctx context.Context, req gen.GetTeamRequestObject) (gen.GetTeamResponseObject, error) {
	tm, err := h.portfolios.Team(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Team")
	}
	tag := etag(tm.Version)
	return gen.GetTeam200JSONResponse{Body: apiTeam(tm), Headers: gen.GetTeam200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateTeam changes the fields sent.
func (h portfolioHandlers) UpdateTeam(ctx context.Context, req gen.UpdateTeamRequestObject) (gen.UpdateTeamResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	tm, err := h.portfolios.UpdateTeam(ctx, principalFrom(ctx).Tenant.ID, req.Id, portfolio.TeamFields{Name: b.Name,
		Distribution: strPtr(b.Distribution), OverflowSeconds: b.OverflowSeconds, Default: b.Default,
		OwnersAway: strPtr(b.OwnersAway), MemberIDs: b.MemberIds}, v)
	if err != nil {
		return nil, failure(ctx, err, "Team")
	}
	tag := etag(tm.Version)
	return gen.UpdateTeam200JSONResponse{Body: apiTeam(tm), Headers: gen.UpdateTeam200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteTeam deletes a team.
func (h portfolioHandlers) DeleteTeam(ctx context.Context, req gen.DeleteTeamRequestObject) (gen.DeleteTeamResponseObject, error) {
	if err := h.portfolios.DeleteTeam(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Team")
	}
	return gen.DeleteTeam204Response{}, nil
}

// GetAgent returns an agent's availability and teams.
func (h portfolioHandlers) GetAgent(ctx context.Context, req gen.GetAgentRequestObject) (gen.GetAgentResponseObject, error) {
	a, err := h.portfolios.Agent(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Agent")
	}
	return gen.GetAgent200JSONResponse(apiAgent(a)), nil
}

// UpdateAgent marks an agent available or away.
func (h portfolioHandlers) UpdateAgent(ctx context.Context, req gen.UpdateAgentRequestObject) (gen.UpdateAgentResponseObject, error) {
	a, err := h.portfolios.SetAvailability(ctx, principalFrom(ctx).Actor(), req.Id, string(req.Body.Availability))
	if err != nil {
		return nil, failure(ctx, err, "Agent")
	}
	return gen.UpdateAgent200JSONResponse(apiAgent(a)), nil
}

func apiTeam(tm portfolio.Team) gen.Team {
	return gen.Team{Id: tm.ID, Name: tm.Name, Distribution: gen.TeamDistribution(tm.Distribution), OverflowSeconds: tm.OverflowSeconds,
		Default: tm.Default, OwnersAway: gen.TeamOwnersAway(tm.OwnersAway), MemberIds: tm.MemberIDs, CreatedAt: tm.CreatedAt,
		UpdatedAt: tm.UpdatedAt}
}

func apiAgent(a portfolio.Agent) gen.Agent {
	return gen.Agent{Id: a.ID, Name: a.Name, Role: gen.Role(a.Role), Availability: gen.AgentAvailability(a.Availability),
		Teams: mapSlice(a.Teams, func(tm portfolio.Team) gen.TeamRef { return gen.TeamRef{Id: tm.ID, Name: tm.Name} }), UpdatedAt: a.UpdatedAt}
}
