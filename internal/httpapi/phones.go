package httpapi

import (
	"context"
	"time"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store"
)

// phoneHandlers serve phones and their links.
type phoneHandlers struct {
	crm *crm.Service
}

// ListPhones pages through phones, or looks one number up in any format.
func (h phoneHandlers) ListPhones(ctx context.Context, req gen.ListPhonesRequestObject) (gen.ListPhonesResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.Phones(ctx, principalFrom(ctx).Actor(), req.Params.Number, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListPhones200JSONResponse{Data: mapSlice(out, apiPhone), NextCursor: nextCursor(next)}, nil
}

// CreatePhone stores a number.
func (h phoneHandlers) CreatePhone(ctx context.Context, req gen.CreatePhoneRequestObject) (gen.CreatePhoneResponseObject, error) {
	b := req.Body
	in := crm.NewPhone{Number: b.Number, Type: strPtr(b.Type), WhatsAppID: b.WhatsappId}
	for _, l := range deref(b.Links) {
		in.Links = append(in.Links, crm.LinkTarget{Type: crm.RecordType(l.RecordType), ID: l.RecordId})
	}
	p, err := h.crm.CreatePhone(ctx, principalFrom(ctx).Actor(), in)
	if err != nil {
		return nil, failure(ctx, err, "Phone")
	}
	tag, loc := etag(p.Version), "/v1/phones/"+p.ID.String()
	return gen.CreatePhone201JSONResponse{Body: apiPhone(p), Headers: gen.CreatePhone201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetPhone returns a phone with its links.
func (h phoneHandlers) GetPhone(ctx context.Context, req gen.GetPhoneRequestObject) (gen.GetPhoneResponseObject, error) {
	p, err := h.crm.Phone(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Phone")
	}
	tag := etag(p.Version)
	return gen.GetPhone200JSONResponse{Body: apiPhone(p), Headers: gen.GetPhone200ResponseHeaders{ETag: &tag}}, nil
}

// UpdatePhone changes a phone's type or WhatsApp identity.
func (h phoneHandlers) UpdatePhone(ctx context.Context, req gen.UpdatePhoneRequestObject) (gen.UpdatePhoneResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p, err := h.crm.UpdatePhone(ctx, principalFrom(ctx).Tenant.ID, req.Id, crm.PhonePatch{
		Type: strPtr(b.Type), WhatsAppID: optional(b.WhatsappId, same[string]),
		WhatsAppConfirmedAt: optional(b.WhatsappConfirmedAt, func(t time.Time) time.Time { return t.UTC() }),
	}, v)
	if err != nil {
		return nil, failure(ctx, err, "Phone")
	}
	tag := etag(p.Version)
	return gen.UpdatePhone200JSONResponse{Body: apiPhone(p), Headers: gen.UpdatePhone200ResponseHeaders{ETag: &tag}}, nil
}

// DeletePhone removes a phone.
func (h phoneHandlers) DeletePhone(ctx context.Context, req gen.DeletePhoneRequestObject) (gen.DeletePhoneResponseObject, error) {
	if err := h.crm.DeletePhone(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Phone")
	}
	return gen.DeletePhone204Response{}, nil
}

// LinkPhone links a phone to a record.
func (h phoneHandlers) LinkPhone(ctx context.Context, req gen.LinkPhoneRequestObject) (gen.LinkPhoneResponseObject, error) {
	p, err := h.crm.LinkPhone(ctx, principalFrom(ctx).Tenant.ID, req.Id, crm.LinkTarget{
		Type: crm.RecordType(req.Body.RecordType), ID: req.Body.RecordId,
	})
	if err != nil {
		return nil, failure(ctx, err, "Phone")
	}
	return gen.LinkPhone200JSONResponse(apiPhone(p)), nil
}

// UnlinkPhone removes a phone's link to a record.
func (h phoneHandlers) UnlinkPhone(ctx context.Context, req gen.UnlinkPhoneRequestObject) (gen.UnlinkPhoneResponseObject, error) {
	if err := h.crm.UnlinkPhone(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.RecordId); err != nil {
		return nil, failure(ctx, err, "Phone")
	}
	return gen.UnlinkPhone204Response{}, nil
}
