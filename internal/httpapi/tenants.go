package httpapi

import (
	"context"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// tenantHandlers provision tenants for the operator.
type tenantHandlers struct {
	tenants *tenant.Service
}

// CreateTenant creates a tenant with its first admin and that admin's key.
func (h tenantHandlers) CreateTenant(ctx context.Context, req gen.CreateTenantRequestObject) (gen.CreateTenantResponseObject, error) {
	in := tenant.NewTenant{Name: req.Body.Name, AdminName: req.Body.Admin.Name, AdminEmail: string(req.Body.Admin.Email)}
	if req.Body.Timezone != nil {
		in.Timezone = *req.Body.Timezone
	}
	if req.Body.DefaultCountryCode != nil {
		in.DefaultCountryCode = *req.Body.DefaultCountryCode
	}
	p, err := h.tenants.CreateTenant(ctx, in)
	if errs, ok := validate.As(err); ok {
		return gen.CreateTenant400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badRequest(ctx, errs)}, nil
	}
	if err != nil {
		return nil, err
	}
	return gen.CreateTenant201JSONResponse{
		Tenant: apiTenant(p.Tenant), Admin: apiUser(p.Admin), ApiKey: apiIssuedKey(p.Key),
	}, nil
}
