package httpapi

import (
	"context"
	"errors"
	"net/http"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store"
)

// importHandlers serve bulk imports.
type importHandlers struct {
	crm *crm.Service
}

// ImportContacts streams a CSV of contacts into the tenant.
func (h importHandlers) ImportContacts(ctx context.Context, req gen.ImportContactsRequestObject) (gen.ImportContactsResponseObject, error) {
	opts := crm.ImportOptions{CompanyID: req.Params.CompanyId, PortfolioID: req.Params.PortfolioId}
	if req.Params.Charset != nil {
		opts.Charset = string(*req.Params.Charset)
	}
	im, err := h.crm.ImportContacts(ctx, principalFrom(ctx).Actor(), req.Body, opts)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		detail := "The file is over the size limit."
		if im.ID != [16]byte{} {
			detail += " The rows read before the limit are stored; see /v1/imports/" + im.ID.String() + "."
		}
		return nil, problemErr(ctx, http.StatusRequestEntityTooLarge, problemTooLarge, detail)
	}
	if err != nil {
		return nil, failure(ctx, err, "Company")
	}
	loc := "/v1/imports/" + im.ID.String()
	return gen.ImportContacts201JSONResponse{Body: apiImport(im), Headers: gen.ImportContacts201ResponseHeaders{Location: &loc}}, nil
}

// ListImports pages through imports.
func (h importHandlers) ListImports(ctx context.Context, req gen.ListImportsRequestObject) (gen.ListImportsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.Imports(ctx, principalFrom(ctx).Tenant.ID, page)
	if err != nil {
		return nil, err
	}
	return gen.ListImports200JSONResponse{Data: mapSlice(out, apiImport), NextCursor: nextCursor(next)}, nil
}

// GetImport returns an import with its row errors.
func (h importHandlers) GetImport(ctx context.Context, req gen.GetImportRequestObject) (gen.GetImportResponseObject, error) {
	im, err := h.crm.Import(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Import")
	}
	return gen.GetImport200JSONResponse(apiImport(im)), nil
}
