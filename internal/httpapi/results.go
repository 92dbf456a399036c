package httpapi

import (
	"context"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/crm"
)

// resultHandlers serve the results catalog.
type resultHandlers struct {
	crm *crm.Service
}

// ListResults lists the catalog.
func (h resultHandlers) ListResults(ctx context.Context, req gen.ListResultsRequestObject) (gen.ListResultsResponseObject, error) {
	out, err := h.crm.Results(ctx, principalFrom(ctx).Tenant.ID, req.Params.IncludeArchived != nil && *req.Params.IncludeArchived)
	if err != nil {
		return nil, err
	}
	return gen.ListResults200JSONResponse{Data: mapSlice(out, apiResult)}, nil
}

// CreateResult adds a tenant result.
func (h resultHandlers) CreateResult(ctx context.Context, req gen.CreateResultRequestObject) (gen.CreateResultResponseObject, error) {
	r, err := h.crm.CreateResult(ctx, principalFrom(ctx).Actor(), crm.NewResult{
		Code: req.Body.Code, Name: req.Body.Name, Description: req.Body.Description,
	})
	if err != nil {
		return nil, failure(ctx, err, "Result")
	}
	tag, loc := etag(r.Version), "/v1/results/"+r.ID.String()
	return gen.CreateResult201JSONResponse{Body: apiResult(r), Headers: gen.CreateResult201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetResult returns a result.
func (h resultHandlers) GetResult(ctx context.Context, req gen.GetResultRequestObject) (gen.GetResultResponseObject, error) {
	r, err := h.crm.Result(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Result")
	}
	tag := etag(r.Version)
	return gen.GetResult200JSONResponse{Body: apiResult(r), Headers: gen.GetResult200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateResult renames or archives a tenant result.
func (h resultHandlers) UpdateResult(ctx context.Context, req gen.UpdateResultRequestObject) (gen.UpdateResultResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	r, err := h.crm.UpdateResult(ctx, principalFrom(ctx).Tenant.ID, req.Id, crm.ResultPatch{
		Name: req.Body.Name, Description: optional(req.Body.Description, same[string]), Archived: req.Body.Archived,
	}, v)
	if err != nil {
		return nil, failure(ctx, err, "Result")
	}
	tag := etag(r.Version)
	return gen.UpdateResult200JSONResponse{Body: apiResult(r), Headers: gen.UpdateResult200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteResult deletes an unused tenant result.
func (h resultHandlers) DeleteResult(ctx context.Context, req gen.DeleteResultRequestObject) (gen.DeleteResultResponseObject, error) {
	if err := h.crm.DeleteResult(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Result")
	}
	return gen.DeleteResult204Response{}, nil
}
