package httpapi

import (
	"context"

	gen "github.com/atende/atende/gen/api"
)

// meHandlers describe the caller.
type meHandlers struct{}

// GetMe returns the user, tenant and key behind the request.
func (meHandlers) GetMe(ctx context.Context, _ gen.GetMeRequestObject) (gen.GetMeResponseObject, error) {
	p := principalFrom(ctx)
	return gen.GetMe200JSONResponse{User: apiUser(p.User), Tenant: apiTenant(p.Tenant), ApiKey: apiKey(p.Key)}, nil
}
