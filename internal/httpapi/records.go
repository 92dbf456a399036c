package httpapi

import (
	"context"

	"github.com/google/uuid"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store"
)

// recordHandlers serve companies, contacts and leads, with their updates logs and interactions.
type recordHandlers struct {
	crm *crm.Service
}

// ListCompanies pages through companies.
func (h recordHandlers) ListCompanies(ctx context.Context, req gen.ListCompaniesRequestObject) (gen.ListCompaniesResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.Companies(ctx, principalFrom(ctx).Actor(), crm.CompanyFilter{
		Query: p.Q, Status: strPtr(p.Status), OwnerID: p.OwnerId, IncludeArchived: p.IncludeArchived != nil && *p.IncludeArchived,
	}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListCompanies200JSONResponse{Data: mapSlice(out, apiCompany), NextCursor: nextCursor(next)}, nil
}

// CreateCompany creates a company.
func (h recordHandlers) CreateCompany(ctx context.Context, req gen.CreateCompanyRequestObject) (gen.CreateCompanyResponseObject, error) {
	c, err := h.crm.CreateCompany(ctx, principalFrom(ctx).Actor(), newCompany(*req.Body))
	if err != nil {
		return nil, failure(ctx, err, "Company")
	}
	tag, loc := etag(c.Version), "/v1/companies/"+c.ID.String()
	return gen.CreateCompany201JSONResponse{Body: apiCompany(c), Headers: gen.CreateCompany201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetCompany returns a company.
func (h recordHandlers) GetCompany(ctx context.Context, req gen.GetCompanyRequestObject) (gen.GetCompanyResponseObject, error) {
	c, err := h.crm.Company(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Company")
	}
	tag := etag(c.Version)
	return gen.GetCompany200JSONResponse{Body: apiCompany(c), Headers: gen.GetCompany200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateCompany changes the fields sent.
func (h recordHandlers) UpdateCompany(ctx context.Context, req gen.UpdateCompanyRequestObject) (gen.UpdateCompanyResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	patch := crm.CompanyPatch{
		LegalName: b.LegalName, TradeName: optional(b.TradeName, same[string]), CNPJ: optional(b.Cnpj, same[string]),
		Status: strPtr(b.Status), OwnerID: optional(b.OwnerId, same[uuid.UUID]), Addresses: crmAddresses(deref(b.Addresses)),
		Archived: b.Archived,
	}
	if b.CustomFields != nil {
		patch.CustomFields = *b.CustomFields
	}
	c, err := h.crm.UpdateCompany(ctx, principalFrom(ctx).Tenant.ID, req.Id, patch, v)
	if err != nil {
		return nil, failure(ctx, err, "Company")
	}
	tag := etag(c.Version)
	return gen.UpdateCompany200JSONResponse{Body: apiCompany(c), Headers: gen.UpdateCompany200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteCompany deletes (or hides) a company.
func (h recordHandlers) DeleteCompany(ctx context.Context, req gen.DeleteCompanyRequestObject) (gen.DeleteCompanyResponseObject, error) {
	if err := h.crm.DeleteCompany(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Company")
	}
	return gen.DeleteCompany204Response{}, nil
}

// ListCompanyContacts pages through a company's contacts.
func (h recordHandlers) ListCompanyContacts(ctx context.Context, req gen.ListCompanyContactsRequestObject) (gen.ListCompanyContactsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.CompanyContacts(ctx, principalFrom(ctx).Tenant.ID, req.Id, page)
	if err != nil {
		return nil, failure(ctx, err, "Company")
	}
	return gen.ListCompanyContacts200JSONResponse{Data: mapSlice(out, apiContact), NextCursor: nextCursor(next)}, nil
}

// ListContacts pages through contacts.
func (h recordHandlers) ListContacts(ctx context.Context, req gen.ListContactsRequestObject) (gen.ListContactsResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.Contacts(ctx, principalFrom(ctx).Actor(), crm.ContactFilter{
		Query: p.Q, CompanyID: p.CompanyId, IncludeArchived: p.IncludeArchived != nil && *p.IncludeArchived,
	}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListContacts200JSONResponse{Data: mapSlice(out, apiContact), NextCursor: nextCursor(next)}, nil
}

// CreateContact creates a contact.
func (h recordHandlers) CreateContact(ctx context.Context, req gen.CreateContactRequestObject) (gen.CreateContactResponseObject, error) {
	c, err := h.crm.CreateContact(ctx, principalFrom(ctx).Actor(), newContact(*req.Body))
	if err != nil {
		return nil, failure(ctx, err, "Contact")
	}
	tag, loc := etag(c.Version), "/v1/contacts/"+c.ID.String()
	return gen.CreateContact201JSONResponse{Body: apiContact(c), Headers: gen.CreateContact201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetContact returns a contact.
func (h recordHandlers) GetContact(ctx context.Context, req gen.GetContactRequestObject) (gen.GetContactResponseObject, error) {
	c, err := h.crm.Contact(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Contact")
	}
	tag := etag(c.Version)
	return gen.GetContact200JSONResponse{Body: apiContact(c), Headers: gen.GetContact200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateContact changes the fields sent.
func (h recordHandlers) UpdateContact(ctx context.Context, req gen.UpdateContactRequestObject) (gen.UpdateContactResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	patch := crm.ContactPatch{
		Name: b.Name, Email: optional(b.Email, emailString), JobTitle: optional(b.JobTitle, same[string]),
		Birthday: optional(b.Birthday, dateString), Notes: optional(b.Notes, same[string]), Archived: b.Archived,
	}
	if b.CompanyIds != nil {
		patch.CompanyIDs = append([]uuid.UUID{}, *b.CompanyIds...)
	}
	c, err := h.crm.UpdateContact(ctx, principalFrom(ctx).Tenant.ID, req.Id, patch, v)
	if err != nil {
		return nil, failure(ctx, err, "Contact")
	}
	tag := etag(c.Version)
	return gen.UpdateContact200JSONResponse{Body: apiContact(c), Headers: gen.UpdateContact200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteContact deletes (or hides) a contact.
func (h recordHandlers) DeleteContact(ctx context.Context, req gen.DeleteContactRequestObject) (gen.DeleteContactResponseObject, error) {
	if err := h.crm.DeleteContact(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Contact")
	}
	return gen.DeleteContact204Response{}, nil
}

// ListLeads pages through leads.
func (h recordHandlers) ListLeads(ctx context.Context, req gen.ListLeadsRequestObject) (gen.ListLeadsResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.crm.Leads(ctx, principalFrom(ctx).Actor(), crm.LeadFilter{
		Query: p.Q, Status: strPtr(p.Status), Source: p.Source, IncludeArchived: p.IncludeArchived != nil && *p.IncludeArchived,
	}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListLeads200JSONResponse{Data: mapSlice(out, apiLead), NextCursor: nextCursor(next)}, nil
}

// CreateLead creates a lead.
func (h recordHandlers) CreateLead(ctx context.Context, req gen.CreateLeadRequestObject) (gen.CreateLeadResponseObject, error) {
	l, err := h.crm.CreateLead(ctx, principalFrom(ctx).Actor(), newLead(*req.Body))
	if err != nil {
		return nil, failure(ctx, err, "Lead")
	}
	tag, loc := etag(l.Version), "/v1/leads/"+l.ID.String()
	return gen.CreateLead201JSONResponse{Body: apiLead(l), Headers: gen.CreateLead201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetLead returns a lead.
func (h recordHandlers) GetLead(ctx context.Context, req gen.GetLeadRequestObject) (gen.GetLeadResponseObject, error) {
	l, err := h.crm.Lead(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Lead")
	}
	tag := etag(l.Version)
	return gen.GetLead200JSONResponse{Body: apiLead(l), Headers: gen.GetLead200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateLead changes the fields sent.
func (h recordHandlers) UpdateLead(ctx context.Context, req gen.UpdateLeadRequestObject) (gen.UpdateLeadResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	l, err := h.crm.UpdateLead(ctx, principalFrom(ctx).Tenant.ID, req.Id, crm.LeadPatch{
		Name: b.Name, CompanyName: optional(b.CompanyName, same[string]), Email: optional(b.Email, emailString),
		Source: optional(b.Source, same[string]), Status: strPtr(b.Status), Archived: b.Archived,
	}, v)
	if err != nil {
		return nil, failure(ctx, err, "Lead")
	}
	tag := etag(l.Version)
	return gen.UpdateLead200JSONResponse{Body: apiLead(l), Headers: gen.UpdateLead200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteLead deletes (or hides) a lead.
func (h recordHandlers) DeleteLead(ctx context.Context, req gen.DeleteLeadRequestObject) (gen.DeleteLeadResponseObject, error) {
	if err := h.crm.DeleteLead(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Lead")
	}
	return gen.DeleteLead204Response{}, nil
}

var recordNames = map[crm.RecordType]string{crm.RecordCompany: "Company", crm.RecordContact: "Contact", crm.RecordLead: "Lead"}

func (h recordHandlers) updates(ctx context.Context, rt crm.RecordType, id uuid.UUID, limit *int, cursor *string) (gen.UpdateList, error) {
	page, err := store.ParsePage(limit, cursor)
	if err != nil {
		return gen.UpdateList{}, failure(ctx, err, "")
	}
	out, next, err := h.crm.Updates(ctx, principalFrom(ctx).Tenant.ID, rt, id, page)
	if err != nil {
		return gen.UpdateList{}, failure(ctx, err, recordNames[rt])
	}
	return gen.UpdateList{Data: mapSlice(out, apiUpdate), NextCursor: nextCursor(next)}, nil
}

func (h recordHandlers) addUpdate(ctx context.Context, rt crm.RecordType, id uuid.UUID, body *gen.UpdateCreate) (gen.Update, error) {
	u, err := h.crm.AddUpdate(ctx, principalFrom(ctx).Actor(), rt, id, body.Message)
	if err != nil {
		return gen.Update{}, failure(ctx, err, recordNames[rt])
	}
	return apiUpdate(u), nil
}

func (h recordHandlers) interactions(ctx context.Context, rt crm.RecordType, id uuid.UUID, limit *int, cursor *string) (gen.InteractionList, error) {
	page, err := store.ParsePage(limit, cursor)
	if err != nil {
		return gen.InteractionList{}, failure(ctx, err, "")
	}
	out, next, err := h.crm.RecordInteractions(ctx, principalFrom(ctx).Tenant.ID, rt, id, page)
	if err != nil {
		return gen.InteractionList{}, failure(ctx, err, recordNames[rt])
	}
	return gen.InteractionList{Data: mapSlice(out, apiInteraction), NextCursor: nextCursor(next)}, nil
}

// ListCompanyUpdates lists a company's updates log.
func (h recordHandlers) ListCompanyUpdates(ctx context.Context, req gen.ListCompanyUpdatesRequestObject) (gen.ListCompanyUpdatesResponseObject, error) {
	l, err := h.updates(ctx, crm.RecordCompany, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListCompanyUpdates200JSONResponse(l), err
}

// AddCompanyUpdate writes to a company's updates log.
func (h recordHandlers) AddCompanyUpdate(ctx context.Context, req gen.AddCompanyUpdateRequestObject) (gen.AddCompanyUpdateResponseObject, error) {
	u, err := h.addUpdate(ctx, crm.RecordCompany, req.Id, req.Body)
	return gen.AddCompanyUpdate201JSONResponse(u), err
}

// ListCompanyInteractions lists a company's interactions.
func (h recordHandlers) ListCompanyInteractions(ctx context.Context, req gen.ListCompanyInteractionsRequestObject) (gen.ListCompanyInteractionsResponseObject, error) {
	l, err := h.interactions(ctx, crm.RecordCompany, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListCompanyInteractions200JSONResponse(l), err
}

// ListContactUpdates lists a contact's updates log.
func (h recordHandlers) ListContactUpdates(ctx context.Context, req gen.ListContactUpdatesRequestObject) (gen.ListContactUpdatesResponseObject, error) {
	l, err := h.updates(ctx, crm.RecordContact, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListContactUpdates200JSONResponse(l), err
}

// AddContactUpdate writes to a contact's updates log.
func (h recordHandlers) AddContactUpdate(ctx context.Context, req gen.AddContactUpdateRequestObject) (gen.AddContactUpdateResponseObject, error) {
	u, err := h.addUpdate(ctx, crm.RecordContact, req.Id, req.Body)
	return gen.AddContactUpdate201JSONResponse(u), err
}

// ListContactInteractions lists a contact's interactions.
func (h recordHandlers) ListContactInteractions(ctx context.Context, req gen.ListContactInteractionsRequestObject) (gen.ListContactInteractionsResponseObject, error) {
	l, err := h.interactions(ctx, crm.RecordContact, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListContactInteractions200JSONResponse(l), err
}

// ListLeadUpdates lists a lead's updates log.
func (h recordHandlers) ListLeadUpdates(ctx context.Context, req gen.ListLeadUpdatesRequestObject) (gen.ListLeadUpdatesResponseObject, error) {
	l, err := h.updates(ctx, crm.RecordLead, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListLeadUpdates200JSONResponse(l), err
}

// AddLeadUpdate writes to a lead's updates log.
func (h recordHandlers) AddLeadUpdate(ctx context.Context, req gen.AddLeadUpdateRequestObject) (gen.AddLeadUpdateResponseObject, error) {
	u, err := h.addUpdate(ctx, crm.RecordLead, req.Id, req.Body)
	return gen.AddLeadUpdate201JSONResponse(u), err
}

// ListLeadInteractions lists a lead's interactions.
func (h recordHandlers) ListLeadInteractions(ctx context.Context, req gen.ListLeadInteractionsRequestObject) (gen.ListLeadInteractionsResponseObject, error) {
	l, err := h.interactions(ctx, crm.RecordLead, req.Id, req.Params.Limit, req.Params.Cursor)
	return gen.ListLeadInteractions200JSONResponse(l), err
}
