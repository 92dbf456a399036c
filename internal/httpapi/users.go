package httpapi

import (
	"context"
	"errors"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// userHandlers manage the tenant's users.
type userHandlers struct {
	tenants *tenant.Service
}

// ListUsers pages through the tenant's users.
func (h userHandlers) ListUsers(ctx context.Context, req gen.ListUsersRequestObject) (gen.ListUsersResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return gen.ListUsers400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badCursor(ctx)}, nil
	}
	f := tenant.UserFilter{Role: (*tenant.Role)(req.Params.Role), Status: (*tenant.UserStatus)(req.Params.Status)}
	users, next, err := h.tenants.Users(ctx, principalFrom(ctx).Tenant.ID, f, page)
	if err != nil {
		return nil, err
	}
	return gen.ListUsers200JSONResponse{Data: mapSlice(users, apiUser), NextCursor: nextCursor(next)}, nil
}

// CreateUser adds a user.
func (h userHandlers) CreateUser(ctx context.Context, req gen.CreateUserRequestObject) (gen.CreateUserResponseObject, error) {
	u, err := h.tenants.CreateUser(ctx, principalFrom(ctx).Tenant.ID, tenant.NewUser{
		Name: req.Body.Name, Email: string(req.Body.Email), Role: tenant.Role(req.Body.Role),
	})
	if errs, ok := validate.As(err); ok {
		return gen.CreateUser400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badRequest(ctx, errs)}, nil
	}
	if errors.Is(err, tenant.ErrEmailTaken) {
		return gen.CreateUser409ApplicationProblemPlusJSONResponse{ConflictApplicationProblemPlusJSONResponse: conflict(ctx, capitalised(err.Error())+".")}, nil
	}
	if err != nil {
		return nil, err
	}
	tag, loc := etag(u.Version), "/v1/users/"+u.ID.String()
	return gen.CreateUser201JSONResponse{Body: apiUser(u), Headers: gen.CreateUser201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetUser returns one user.
func (h userHandlers) GetUser(ctx context.Context, req gen.GetUserRequestObject) (gen.GetUserResponseObject, error) {
	u, err := h.tenants.User(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if errors.Is(err, tenant.ErrNotFound) {
		return gen.GetUser404ApplicationProblemPlusJSONResponse{NotFoundApplicationProblemPlusJSONResponse: notFound(ctx, "User")}, nil
	}
	if err != nil {
		return nil, err
	}
	tag := etag(u.Version)
	return gen.GetUser200JSONResponse{Body: apiUser(u), Headers: gen.GetUser200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateUser changes the fields sent.
func (h userHandlers) UpdateUser(ctx context.Context, req gen.UpdateUserRequestObject) (gen.UpdateUserResponseObject, error) {
	version, ok := ifMatch(req.Params.IfMatch)
	if !ok {
		return gen.UpdateUser412ApplicationProblemPlusJSONResponse{PreconditionFailedApplicationProblemPlusJSONResponse: preconditionFailed(ctx)}, nil
	}
	u, err := h.tenants.UpdateUser(ctx, principalFrom(ctx).Tenant.ID, req.Id, tenant.UserPatch{
		Name: req.Body.Name, Email: (*string)(req.Body.Email),
		Role: (*tenant.Role)(req.Body.Role), Status: (*tenant.UserStatus)(req.Body.Status),
	}, version)
	if errs, ok := validate.As(err); ok {
		return gen.UpdateUser400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badRequest(ctx, errs)}, nil
	}
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return gen.UpdateUser404ApplicationProblemPlusJSONResponse{NotFoundApplicationProblemPlusJSONResponse: notFound(ctx, "User")}, nil
	case errors.Is(err, tenant.ErrStale):
		return gen.UpdateUser412ApplicationProblemPlusJSONResponse{PreconditionFailedApplicationProblemPlusJSONResponse: preconditionFailed(ctx)}, nil
	case errors.Is(err, tenant.ErrEmailTaken), errors.Is(err, tenant.ErrLastAdmin):
		return gen.UpdateUser409ApplicationProblemPlusJSONResponse{ConflictApplicationProblemPlusJSONResponse: conflict(ctx, capitalised(err.Error())+".")}, nil
	case err != nil:
		return nil, err
	}
	tag := etag(u.Version)
	return gen.UpdateUser200JSONResponse{Body: apiUser(u), Headers: gen.UpdateUser200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteUser disables a user and revokes its keys.
func (h userHandlers) DeleteUser(ctx context.Context, req gen.DeleteUserRequestObject) (gen.DeleteUserResponseObject, error) {
	err := h.tenants.DisableUser(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return gen.DeleteUser404ApplicationProblemPlusJSONResponse{NotFoundApplicationProblemPlusJSONResponse: notFound(ctx, "User")}, nil
	case errors.Is(err, tenant.ErrLastAdmin):
		return gen.DeleteUser409ApplicationProblemPlusJSONResponse{ConflictApplicationProblemPlusJSONResponse: conflict(ctx, capitalised(err.Error())+".")}, nil
	case err != nil:
		return nil, err
	}
	return gen.DeleteUser204Response{}, nil
}

func badCursor(ctx context.Context) gen.BadRequestApplicationProblemPlusJSONResponse {
	return badRequest(ctx, validate.Errors{{Field: "cursor", Message: store.ErrBadCursor.Error()}})
}
