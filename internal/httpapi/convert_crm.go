package httpapi

import (
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/tenant"
)

// nullOf renders an optional value as JSON null or the value.
func nullOf[T any](p *T) nullable.Nullable[T] {
	if p == nil {
		return nullable.NewNullNullable[T]()
	}
	return nullable.NewNullableWithValue(*p)
}

// optional reads a PATCH field: absent, null (clear) or a value, converted by conv.
func optional[T, U any](n nullable.Nullable[T], conv func(T) U) crm.Optional[U] {
	if !n.IsSpecified() {
		return crm.Optional[U]{}
	}
	if n.IsNull() {
		return crm.Optional[U]{Set: true}
	}
	v := conv(n.MustGet())
	return crm.Optional[U]{Set: true, Value: &v}
}

func same[T any](v T) T { return v }

func emailString(e openapi_types.Email) string { return string(e) }

func dateString(d openapi_types.Date) string { return d.Format(time.DateOnly) }

func strPtr[T ~string](p *T) *string {
	if p == nil {
		return nil
	}
	s := string(*p)
	return &s
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

func apiPhoneRefs(phones []crm.Phone) []gen.PhoneRef {
	out := make([]gen.PhoneRef, len(phones))
	for i, p := range phones {
		out[i] = gen.PhoneRef{Id: p.ID, Number: p.E164, Type: gen.PhoneType(p.Type), WhatsappId: nullOf(p.WhatsAppID)}
	}
	return out
}

func crmAddresses(in []gen.Address) []crm.Address {
	if in == nil {
		return nil
	}
	out := make([]crm.Address, len(in))
	for i, a := range in {
		out[i] = crm.Address{
			Kind: str(strPtr(a.Kind)), Street: str(a.Street), Number: str(a.Number), Complement: str(a.Complement),
			District: str(a.District), City: str(a.City), State: str(a.State), PostalCode: str(a.PostalCode), Country: str(a.Country),
		}
	}
	return out
}

func apiAddresses(in []crm.Address) []gen.Address {
	out := make([]gen.Address, len(in))
	for i, a := range in {
		out[i] = gen.Address{
			Kind: (*gen.AddressKind)(ptrIf(a.Kind)), Street: ptrIf(a.Street), Number: ptrIf(a.Number),
			Complement: ptrIf(a.Complement), District: ptrIf(a.District), City: ptrIf(a.City), State: ptrIf(a.State),
			PostalCode: ptrIf(a.PostalCode), Country: ptrIf(a.Country),
		}
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptrIf(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func apiCompany(c crm.Company) gen.Company {
	return gen.Company{
		Id: c.ID, LegalName: c.LegalName, TradeName: nullOf(c.TradeName), Cnpj: nullOf(c.CNPJ),
		Status: gen.CompanyStatus(c.Status), OwnerId: nullOf(c.OwnerID), CustomFields: c.CustomFields,
		Addresses: apiAddresses(c.Addresses), Phones: apiPhoneRefs(c.Phones), ArchivedAt: nullOf(c.ArchivedAt),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func apiContact(c crm.Contact) gen.Contact {
	var birthday *openapi_types.Date
	if c.Birthday != nil {
		if t, err := time.Parse(time.DateOnly, *c.Birthday); err == nil {
			birthday = &openapi_types.Date{Time: t}
		}
	}
	return gen.Contact{
		Id: c.ID, Name: c.Name, Email: nullOf(c.Email), JobTitle: nullOf(c.JobTitle), Birthday: nullOf(birthday),
		Notes: nullOf(c.Notes), CompanyIds: c.CompanyIDs, Phones: apiPhoneRefs(c.Phones), ArchivedAt: nullOf(c.ArchivedAt),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func apiLead(l crm.Lead) gen.Lead {
	return gen.Lead{
		Id: l.ID, Name: l.Name, CompanyName: nullOf(l.CompanyName), Email: nullOf(l.Email), Source: nullOf(l.Source),
		Status: gen.LeadStatus(l.Status), Phones: apiPhoneRefs(l.Phones), ArchivedAt: nullOf(l.ArchivedAt),
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}
}

func apiPhone(p crm.Phone) gen.Phone {
	links := make([]gen.RecordRef, len(p.Links))
	for i, l := range p.Links {
		archived := l.Archived
		links[i] = gen.RecordRef{Type: gen.RecordType(l.Type), Id: l.ID, Name: l.Name, Archived: &archived}
	}
	return gen.Phone{
		Id: p.ID, Number: p.E164, Type: gen.PhoneType(p.Type), WhatsappId: nullOf(p.WhatsAppID),
		WhatsappConfirmedAt: nullOf(p.WhatsAppConfirmedAt), Links: links, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func apiUpdate(u crm.Update) gen.Update {
	return gen.Update{Id: u.ID, Kind: gen.UpdateKind(u.Kind), Message: u.Message, ActorId: nullOf(u.ActorID), CreatedAt: u.CreatedAt}
}

func apiResult(r crm.Result) gen.Result {
	return gen.Result{
		Id: r.ID, Code: r.Code, Name: r.Name, Description: nullOf(r.Description), System: r.System,
		Archived: r.ArchivedAt != nil, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func apiInteraction(it crm.Interaction) gen.Interaction {
	return gen.Interaction{
		Id: it.ID, Channel: gen.Channel(it.Channel), Origin: gen.Origin(it.Origin), Result: it.ResultCode,
		Notes: nullOf(it.Notes), AgentId: nullOf(it.AgentID), CompanyId: nullOf(it.CompanyID), ContactId: nullOf(it.ContactID),
		LeadId: nullOf(it.LeadID), ConversationId: nullOf(it.ConversationID), CallId: nullOf(it.CallID),
		FollowUpId: nullOf(it.FollowUpID), OccurredAt: it.OccurredAt, CreatedAt: it.CreatedAt,
	}
}

func apiFollowUp(f crm.FollowUp) gen.FollowUp {
	return gen.FollowUp{
		Id: f.ID, CompanyId: nullOf(f.CompanyID), ContactId: nullOf(f.ContactID), LeadId: nullOf(f.LeadID),
		PhoneId: nullOf(f.PhoneID), DueAt: f.DueAt, AgentId: nullOf(f.AgentID), CampaignId: nullOf(f.CampaignID),
		Status: gen.FollowUpStatus(f.Status), Notes: nullOf(f.Notes), InteractionId: nullOf(f.InteractionID),
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
}

func apiDayOff(d tenant.DayOff) gen.Holiday {
	h := gen.Holiday{Date: openapi_types.Date{Time: d.Date}, Name: d.Name, National: d.National,
		Id: nullable.NewNullNullable[uuid.UUID](), CreatedAt: nullable.NewNullNullable[time.Time]()}
	if d.Holiday != nil {
		h.Id = nullable.NewNullableWithValue(d.Holiday.ID)
		h.CreatedAt = nullable.NewNullableWithValue(d.Holiday.CreatedAt)
	}
	return h
}

func apiImport(im crm.Import) gen.Import {
	errs := make([]gen.ImportRowError, len(im.Errors))
	for i, e := range im.Errors {
		errs[i] = gen.ImportRowError{Line: e.Line, Message: e.Message, Field: nullOf(ptrIf(e.Field))}
	}
	return gen.Import{
		Id: im.ID, Kind: gen.ImportKind(im.Kind), Status: gen.ImportStatus(im.Status), Charset: nullOf(im.Charset),
		Delimiter: nullOf(im.Delimiter), Rows: im.Rows, Created: im.Created, Updated: im.Updated, Failed: im.Failed,
		IgnoredColumns: im.IgnoredColumns, Errors: errs, ErrorsTruncated: im.ErrorsTruncated, Detail: nullOf(im.Detail),
		CreatedBy: nullOf(im.CreatedBy), CreatedAt: im.CreatedAt, FinishedAt: nullOf(im.FinishedAt),
	}
}

func newCompany(b gen.CompanyCreate) crm.NewCompany {
	in := crm.NewCompany{
		LegalName: b.LegalName, TradeName: b.TradeName, CNPJ: b.Cnpj, Status: strPtr(b.Status), OwnerID: b.OwnerId,
		Addresses: crmAddresses(deref(b.Addresses)), Phones: deref(b.Phones),
	}
	if b.CustomFields != nil {
		in.CustomFields = *b.CustomFields
	}
	return in
}

func newContact(b gen.ContactCreate) crm.NewContact {
	in := crm.NewContact{
		Name: b.Name, Email: strPtr(b.Email), JobTitle: b.JobTitle, Notes: b.Notes, CompanyIDs: deref(b.CompanyIds), Phones: deref(b.Phones),
	}
	if b.Birthday != nil {
		d := dateString(*b.Birthday)
		in.Birthday = &d
	}
	return in
}

func newLead(b gen.LeadCreate) crm.NewLead {
	return crm.NewLead{
		Name: b.Name, CompanyName: b.CompanyName, Email: strPtr(b.Email), Source: b.Source, Status: strPtr(b.Status), Phones: deref(b.Phones),
	}
}

func apiRecordRef(r crm.RecordRef) gen.RecordRef {
	archived := r.Archived
	return gen.RecordRef{Type: gen.RecordType(r.Type), Id: r.ID, Name: r.Name, Archived: &archived}
}
