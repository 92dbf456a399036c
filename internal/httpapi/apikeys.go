package httpapi

import (
	"context"
	"errors"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// apiKeyHandlers manage API keys.
type apiKeyHandlers struct {
	tenants *tenant.Service
}

// ListAPIKeys pages through the keys the caller may see.
func (h apiKeyHandlers) ListAPIKeys(ctx context.Context, req gen.ListAPIKeysRequestObject) (gen.ListAPIKeysResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return gen.ListAPIKeys400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badCursor(ctx)}, nil
	}
	f := tenant.KeyFilter{UserID: req.Params.UserId, IncludeRevoked: req.Params.IncludeRevoked != nil && *req.Params.IncludeRevoked}
	keys, next, err := h.tenants.Keys(ctx, principalFrom(ctx).Actor(), f, page)
	if err != nil {
		return nil, err
	}
	return gen.ListAPIKeys200JSONResponse{Data: mapSlice(keys, apiKey), NextCursor: nextCursor(next)}, nil
}

// CreateAPIKey issues a key; its secret is in this response only.
func (h apiKeyHandlers) CreateAPIKey(ctx context.Context, req gen.CreateAPIKeyRequestObject) (gen.CreateAPIKeyResponseObject, error) {
	k, err := h.tenants.CreateKey(ctx, principalFrom(ctx).Actor(), tenant.NewKey{
		Name: req.Body.Name, UserID: req.Body.UserId, ExpiresAt: req.Body.ExpiresAt,
	})
	if errs, ok := validate.As(err); ok {
		return gen.CreateAPIKey400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badRequest(ctx, errs)}, nil
	}
	switch {
	case errors.Is(err, tenant.ErrForbidden):
		return gen.CreateAPIKey403ApplicationProblemPlusJSONResponse{ForbiddenApplicationProblemPlusJSONResponse: forbidden(ctx, "Only admins may create keys for other users.")}, nil
	case errors.Is(err, tenant.ErrNotFound):
		return gen.CreateAPIKey404ApplicationProblemPlusJSONResponse{NotFoundApplicationProblemPlusJSONResponse: notFound(ctx, "User")}, nil
	case errors.Is(err, tenant.ErrUserDisabled):
		return gen.CreateAPIKey409ApplicationProblemPlusJSONResponse{ConflictApplicationProblemPlusJSONResponse: conflict(ctx, "The user is disabled; enable it before creating keys for it.")}, nil
	case err != nil:
		return nil, err
	}
	return gen.CreateAPIKey201JSONResponse(apiIssuedKey(k)), nil
}

// GetAPIKey returns one key, without its secret.
func (h apiKeyHandlers) GetAPIKey(ctx context.Context, req gen.GetAPIKeyRequestObject) (gen.GetAPIKeyResponseObject, error) {
	k, err := h.tenants.Key(ctx, principalFrom(ctx).Actor(), req.Id)
	if errors.Is(err, tenant.ErrNotFound) {
		return gen.GetAPIKey404ApplicationProblemPlusJSONResponse{NotFoundApplicationProblemPlusJSONResponse: notFound(ctx, "API key")}, nil
	}
	if err != nil {
		return nil, err
	}
	return gen.GetAPIKey200JSONResponse(apiKey(k)), nil
}

// RevokeAPIKey revokes a key.
func (h apiKeyHandlers) RevokeAPIKey(ctx context.Context, req gen.RevokeAPIKeyRequestObject) (gen.RevokeAPIKeyResponseObject, error) {
	err := h.tenants.RevokeKey(ctx, principalFrom(ctx).Actor(), req.Id)
	if errors.Is(err, tenant.ErrNotFound) {
		return gen.RevokeAPIKey404ApplicationProblemPlusJSONResponse{NotFoundApplicationProblemPlusJSONResponse: notFound(ctx, "API key")}, nil
	}
	if err != nil {
		return nil, err
	}
	return gen.RevokeAPIKey204Response{}, nil
}
