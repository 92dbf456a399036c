package httpapi

import (
	"context"
	"time"

	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/ticket"
)

// ticketHandlers serve integrations and their intake, tickets, procedures, templates, template messages
// and the public tracking page.
type ticketHandlers struct {
	tickets *ticket.Service
}

// ListIntegrations pages through integrations.
func (h ticketHandlers) ListIntegrations(ctx context.Context, req gen.ListIntegrationsRequestObject) (gen.ListIntegrationsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.tickets.Integrations(ctx, principalFrom(ctx).Tenant.ID, page)
	if err != nil {
		return nil, err
	}
	return gen.ListIntegrations200JSONResponse{Data: mapSlice(out, apiIntegration), NextCursor: nextCursor(next)}, nil
}

func statusMap(in *[]gen.StatusMapping) []ticket.StatusMapping {
	if in == nil {
		return nil
	}
	out := make([]ticket.StatusMapping, len(*in))
	for i, m := range *in {
		out[i] = ticket.StatusMapping{External: m.External, Status: string(m.Status), Critical: m.Critical != nil && *m.Critical}
	}
	return out
}

// CreateIntegration creates an integration; its secret is in this answer only.
func (h ticketHandlers) CreateIntegration(ctx context.Context, req gen.CreateIntegrationRequestObject) (gen.CreateIntegrationResponseObject, error) {
	b := req.Body
	in := ticket.NewIntegration{Name: b.Name, Active: b.Active, StatusMap: statusMap(b.StatusMap)}
	if p := nullablePatch(b.DefaultProcedureId); p != nil {
		in.DefaultProcedureID = *p
	}
	ig, err := h.tickets.CreateIntegration(ctx, principalFrom(ctx).Tenant.ID, in)
	if err != nil {
		return nil, failure(ctx, err, "Integration")
	}
	a := apiIntegration(ig)
	body := gen.IntegrationWithSecret{Id: a.Id, Name: a.Name, Active: a.Active, DefaultProcedureId: a.DefaultProcedureId,
		StatusMap: a.StatusMap, EventsPath: a.EventsPath, SecretRotatedAt: a.SecretRotatedAt, CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt, Secret: ig.Secret}
	tag, loc := etag(ig.Version), "/v1/integrations/"+ig.ID.String()
	return gen.CreateIntegration201JSONResponse{Body: body, Headers: gen.CreateIntegration201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetIntegration returns an integration, without its secret.
func (h ticketHandlers) GetIntegration(ctx context.Context, req gen.GetIntegrationRequestObject) (gen.GetIntegrationResponseObject, error) {
	ig, err := h.tickets.Integration(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Integration")
	}
	tag := etag(ig.Version)
	return gen.GetIntegration200JSONResponse{Body: apiIntegration(ig), Headers: gen.GetIntegration200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateIntegration changes the fields sent.
func (h ticketHandlers) UpdateIntegration(ctx context.Context, req gen.UpdateIntegrationRequestObject) (gen.UpdateIntegrationResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := ticket.IntegrationPatch{Name: b.Name, Active: b.Active, DefaultProcedureID: nullablePatch(b.DefaultProcedureId)}
	if b.StatusMap != nil {
		m := statusMap(b.StatusMap)
		p.StatusMap = &m
	}
	ig, err := h.tickets.UpdateIntegration(ctx, principalFrom(ctx).Tenant.ID, req.Id, p, v)
	if err != nil {
		return nil, failure(ctx, err, "Integration")
	}
	tag := etag(ig.Version)
	return gen.UpdateIntegration200JSONResponse{Body: apiIntegration(ig), Headers: gen.UpdateIntegration200ResponseHeaders{ETag: &tag}}, nil
}

// RotateIntegrationSecret issues a new secret; the previous one verifies for a grace period.
func (h ticketHandlers) RotateIntegrationSecret(ctx context.Context, req gen.RotateIntegrationSecretRequestObject) (gen.RotateIntegrationSecretResponseObject, error) {
	ig, err := h.tickets.RotateSecret(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Integration")
	}
	return gen.RotateIntegrationSecret200JSONResponse{Secret: ig.Secret, PreviousSecretExpiresAt: *ig.PreviousExpiresAt}, nil
}

// eventOf converts an intake body.
func eventOf(code string, b gen.TicketUpsert) ticket.Event {
	ev := ticket.Event{ExternalCode: code, Version: b.Version, OccurredAt: b.OccurredAt, Status: b.Status,
		ProcessNumber: b.ProcessNumber, ProductDescription: b.ProductDescription, Problem: b.Problem, ProcedureID: b.ProcedureId}
	if b.IssuedAt != nil {
		d := dateString(*b.IssuedAt)
		ev.IssuedAt = &d
	}
	if c := b.Customer; c != nil {
		ev.Customer = ticket.Customer{Document: c.Document, Name: c.Name, Phone: c.Phone, Email: c.Email}
	}
	if b.Extra != nil {
		ev.Extra = *b.Extra
	}
	return ev
}

// ReceiveIntegrationEvent applies a verified event of an external system.
func (h ticketHandlers) ReceiveIntegrationEvent(ctx context.Context, req gen.ReceiveIntegrationEventRequestObject) (gen.ReceiveIntegrationEventResponseObject, error) {
	delivery := webhookFrom(ctx)
	ig := delivery.subject.(ticket.Integration)
	b := req.Body
	ev := eventOf(b.ExternalCode, gen.TicketUpsert{Customer: b.Customer, Extra: b.Extra, IssuedAt: b.IssuedAt, OccurredAt: b.OccurredAt,
		Problem: b.Problem, ProcedureId: b.ProcedureId, ProcessNumber: b.ProcessNumber, ProductDescription: b.ProductDescription,
		Status: b.Status, Version: b.Version})
	res, err := h.tickets.Apply(ctx, ig, delivery.id, ev)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	return gen.ReceiveIntegrationEvent200JSONResponse(apiReceipt(res)), nil
}

// UpsertIntegrationTicket applies an integrator's plain upsert of one external code.
func (h ticketHandlers) UpsertIntegrationTicket(ctx context.Context, req gen.UpsertIntegrationTicketRequestObject) (gen.UpsertIntegrationTicketResponseObject, error) {
	ig, err := h.tickets.Integration(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Integration")
	}
	res, err := h.tickets.Apply(ctx, ig, "", eventOf(req.ExternalCode, *req.Body))
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	return gen.UpsertIntegrationTicket200JSONResponse(apiReceipt(res)), nil
}

// ListTickets pages through tickets, newest first.
func (h ticketHandlers) ListTickets(ctx context.Context, req gen.ListTicketsRequestObject) (gen.ListTicketsResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.tickets.Tickets(ctx, principalFrom(ctx).Tenant.ID, ticket.Filter{Status: strPtr(p.Status), Critical: p.Critical,
		IntegrationID: p.IntegrationId, ExternalCode: p.ExternalCode, CompanyID: p.CompanyId, ContactID: p.ContactId}, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListTickets200JSONResponse{Data: mapSlice(out, apiTicket), NextCursor: nextCursor(next)}, nil
}

// GetTicket returns a ticket.
func (h ticketHandlers) GetTicket(ctx context.Context, req gen.GetTicketRequestObject) (gen.GetTicketResponseObject, error) {
	tk, err := h.tickets.Ticket(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	tag := etag(tk.Version)
	return gen.GetTicket200JSONResponse{Body: apiTicket(tk), Headers: gen.GetTicket200ResponseHeaders{ETag: &tag}}, nil
}

// ListTicketTimeline pages through what happened to a ticket, oldest first.
func (h ticketHandlers) ListTicketTimeline(ctx context.Context, req gen.ListTicketTimelineRequestObject) (gen.ListTicketTimelineResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.tickets.Timeline(ctx, principalFrom(ctx).Tenant.ID, req.Id, page)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	return gen.ListTicketTimeline200JSONResponse{Data: mapSlice(out, apiTimelineEntry), NextCursor: nextCursor(next)}, nil
}

// AdvanceTicket moves a ticket to its next task.
func (h ticketHandlers) AdvanceTicket(ctx context.Context, req gen.AdvanceTicketRequestObject) (gen.AdvanceTicketResponseObject, error) {
	tk, err := h.tickets.Advance(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	return gen.AdvanceTicket200JSONResponse(apiTicket(tk)), nil
}

// CloseTicket closes a ticket.
func (h ticketHandlers) CloseTicket(ctx context.Context, req gen.CloseTicketRequestObject) (gen.CloseTicketResponseObject, error) {
	tk, err := h.tickets.Close(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	return gen.CloseTicket200JSONResponse(apiTicket(tk)), nil
}

// ReopenTicket reopens a closed ticket.
func (h ticketHandlers) ReopenTicket(ctx context.Context, req gen.ReopenTicketRequestObject) (gen.ReopenTicketResponseObject, error) {
	tk, err := h.tickets.Reopen(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	return gen.ReopenTicket200JSONResponse(apiTicket(tk)), nil
}

func taskInputs(in []gen.TaskInput) []ticket.TaskInput {
	out := make([]ticket.TaskInput, len(in))
	for i, t := range in {
		out[i] = ticket.TaskInput{ID: t.Id, Name: t.Name, SendWhatsApp: t.SendWhatsapp != nil && *t.SendWhatsapp}
		if p := nullablePatch(t.TemplateId); p != nil {
			out[i].TemplateID = *p
		}
		if t.Variables != nil {
			out[i].Variables = mapSlice(*t.Variables, func(f gen.TicketField) string { return string(f) })
		}
	}
	return out
}

// ListProcedures pages through procedures.
func (h ticketHandlers) ListProcedures(ctx context.Context, req gen.ListProceduresRequestObject) (gen.ListProceduresResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.tickets.Procedures(ctx, principalFrom(ctx).Tenant.ID, page)
	if err != nil {
		return nil, err
	}
	return gen.ListProcedures200JSONResponse{Data: mapSlice(out, apiProcedure), NextCursor: nextCursor(next)}, nil
}

// CreateProcedure creates a procedure with its tasks.
func (h ticketHandlers) CreateProcedure(ctx context.Context, req gen.CreateProcedureRequestObject) (gen.CreateProcedureResponseObject, error) {
	b := req.Body
	in := ticket.NewProcedure{Name: b.Name, Tasks: taskInputs(b.Tasks)}
	if p := nullablePatch(b.Description); p != nil {
		in.Description = *p
	}
	p, err := h.tickets.CreateProcedure(ctx, principalFrom(ctx).Tenant.ID, in)
	if err != nil {
		return nil, failure(ctx, err, "Procedure")
	}
	tag, loc := etag(p.Version), "/v1/procedures/"+p.ID.String()
	return gen.CreateProcedure201JSONResponse{Body: apiProcedure(p), Headers: gen.CreateProcedure201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetProcedure returns a procedure.
func (h ticketHandlers) GetProcedure(ctx context.Context, req gen.GetProcedureRequestObject) (gen.GetProcedureResponseObject, error) {
	p, err := h.tickets.Procedure(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Procedure")
	}
	tag := etag(p.Version)
	return gen.GetProcedure200JSONResponse{Body: apiProcedure(p), Headers: gen.GetProcedure200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateProcedure changes the fields sent; tasks replace the list.
func (h ticketHandlers) UpdateProcedure(ctx context.Context, req gen.UpdateProcedureRequestObject) (gen.UpdateProcedureResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	patch := ticket.ProcedurePatch{Name: b.Name, Description: nullablePatch(b.Description)}
	if b.Tasks != nil {
		tasks := taskInputs(*b.Tasks)
		patch.Tasks = &tasks
	}
	p, err := h.tickets.UpdateProcedure(ctx, principalFrom(ctx).Tenant.ID, req.Id, patch, v)
	if err != nil {
		return nil, failure(ctx, err, "Procedure")
	}
	tag := etag(p.Version)
	return gen.UpdateProcedure200JSONResponse{Body: apiProcedure(p), Headers: gen.UpdateProcedure200ResponseHeaders{ETag: &tag}}, nil
}

// ListTemplates pages through templates.
func (h ticketHandlers) ListTemplates(ctx context.Context, req gen.ListTemplatesRequestObject) (gen.ListTemplatesResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.tickets.Templates(ctx, principalFrom(ctx).Tenant.ID, page)
	if err != nil {
		return nil, err
	}
	return gen.ListTemplates200JSONResponse{Data: mapSlice(out, apiTemplate), NextCursor: nextCursor(next)}, nil
}

// CreateTemplate stores a template.
func (h ticketHandlers) CreateTemplate(ctx context.Context, req gen.CreateTemplateRequestObject) (gen.CreateTemplateResponseObject, error) {
	b := req.Body
	in := ticket.NewTemplate{Name: b.Name, Language: b.Language, Body: b.Body}
	if b.Variables != nil {
		in.Variables = *b.Variables
	}
	t, err := h.tickets.CreateTemplate(ctx, principalFrom(ctx).Tenant.ID, in)
	if err != nil {
		return nil, failure(ctx, err, "Template")
	}
	tag, loc := etag(t.Version), "/v1/templates/"+t.ID.String()
	return gen.CreateTemplate201JSONResponse{Body: apiTemplate(t), Headers: gen.CreateTemplate201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetTemplate returns a template.
func (h ticketHandlers) GetTemplate(ctx context.Context, req gen.GetTemplateRequestObject) (gen.GetTemplateResponseObject, error) {
	t, err := h.tickets.Template(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Template")
	}
	tag := etag(t.Version)
	return gen.GetTemplate200JSONResponse{Body: apiTemplate(t), Headers: gen.GetTemplate200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateTemplate changes the fields sent.
func (h ticketHandlers) UpdateTemplate(ctx context.Context, req gen.UpdateTemplateRequestObject) (gen.UpdateTemplateResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	t, err := h.tickets.UpdateTemplate(ctx, principalFrom(ctx).Tenant.ID, req.Id,
		ticket.TemplatePatch{Name: b.Name, Language: b.Language, Body: b.Body, Variables: b.Variables}, v)
	if err != nil {
		return nil, failure(ctx, err, "Template")
	}
	tag := etag(t.Version)
	return gen.UpdateTemplate200JSONResponse{Body: apiTemplate(t), Headers: gen.UpdateTemplate200ResponseHeaders{ETag: &tag}}, nil
}

// ListMessages pages through template messages, newest first.
func (h ticketHandlers) ListMessages(ctx context.Context, req gen.ListMessagesRequestObject) (gen.ListMessagesResponseObject, error) {
	p := req.Params
	page, err := store.ParsePage(p.Limit, p.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.tickets.Messages(ctx, principalFrom(ctx).Tenant.ID, ticket.MessageFilter{TicketID: p.TicketId, Status: strPtr(p.Status)}, page)
	if err != nil {
		return nil, err
	}
	return gen.ListMessages200JSONResponse{Data: mapSlice(out, apiTicketMessage), NextCursor: nextCursor(next)}, nil
}

// GetMessage returns a template message.
func (h ticketHandlers) GetMessage(ctx context.Context, req gen.GetMessageRequestObject) (gen.GetMessageResponseObject, error) {
	m, err := h.tickets.Message(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Message")
	}
	return gen.GetMessage200JSONResponse(apiTicketMessage(m)), nil
}

// GetPublicTicket shows a customer the public fields of their ticket.
func (h ticketHandlers) GetPublicTicket(ctx context.Context, req gen.GetPublicTicketRequestObject) (gen.GetPublicTicketResponseObject, error) {
	tk, err := h.tickets.PublicTicket(ctx, req.Token)
	if err != nil {
		return nil, failure(ctx, err, "Ticket")
	}
	out := gen.PublicTicket{Protocol: tk.Protocol(), Status: gen.TicketStatus(tk.Status), ProductDescription: nullOf(tk.ProductDescription),
		IssuedAt: nullDate(tk.IssuedAt), UpdatedAt: tk.UpdatedAt, ClosedAt: nullTime(tk.ClosedAt), CurrentTask: nullable.NewNullNullable[string]()}
	if tk.CurrentTask != nil {
		out.CurrentTask = nullable.NewNullableWithValue(tk.CurrentTask.Name)
	}
	return gen.GetPublicTicket200JSONResponse(out), nil
}

func nullDate(s *string) nullable.Nullable[openapi_types.Date] {
	if s == nil {
		return nullable.NewNullNullable[openapi_types.Date]()
	}
	d, err := time.Parse(time.DateOnly, *s)
	if err != nil {
		return nullable.NewNullNullable[openapi_types.Date]()
	}
	return nullable.NewNullableWithValue(openapi_types.Date{Time: d})
}

func apiIntegration(ig ticket.Integration) gen.Integration {
	m := make([]gen.StatusMapping, len(ig.StatusMap))
	for i, sm := range ig.StatusMap {
		m[i] = gen.StatusMapping{External: sm.External, Status: gen.TicketStatus(sm.Status), Critical: &sm.Critical}
	}
	return gen.Integration{Id: ig.ID, Name: ig.Name, Active: ig.Active, DefaultProcedureId: nullOf(ig.DefaultProcedureID),
		StatusMap: m, EventsPath: "/v1/integrations/" + ig.ID.String() + "/events", SecretRotatedAt: nullTime(ig.SecretRotatedAt),
		CreatedAt: ig.CreatedAt, UpdatedAt: ig.UpdatedAt}
}

func apiReceipt(r ticket.Result) gen.TicketEventReceipt {
	return gen.TicketEventReceipt{Outcome: gen.TicketEventReceiptOutcome(r.Outcome), Ticket: apiTicket(r.Ticket)}
}

func apiTicket(tk ticket.Ticket) gen.Ticket {
	out := gen.Ticket{
		Id: tk.ID, IntegrationId: tk.IntegrationID, ExternalCode: tk.ExternalCode, ProcessNumber: nullOf(tk.ProcessNumber),
		IssuedAt: nullDate(tk.IssuedAt), ProductDescription: nullOf(tk.ProductDescription), Problem: nullOf(tk.Problem),
		Customer: gen.TicketCustomerView{Document: nullOf(tk.CustomerDocument), Name: nullOf(tk.CustomerName),
			Phone: nullOf(tk.CustomerPhone), Email: nullOf(tk.CustomerEmail)},
		CompanyId: nullOf(tk.CompanyID), ContactId: nullOf(tk.ContactID), ExternalStatus: tk.ExternalStatus,
		Status: gen.TicketStatus(tk.Status), Critical: tk.Critical, ProcedureId: nullOf(tk.ProcedureID),
		CurrentTask: nullable.NewNullNullable[gen.TaskRef](), Version: tk.SourceVersion, Extra: tk.Extra,
		TrackingUrl: tk.TrackingURL, SurveyUrl: nullOf(tk.SurveyURL), ClosedAt: nullTime(tk.ClosedAt),
		CreatedAt: tk.CreatedAt, UpdatedAt: tk.UpdatedAt,
	}
	if out.Extra == nil {
		out.Extra = map[string]any{}
	}
	if t := tk.CurrentTask; t != nil {
		out.CurrentTask = nullable.NewNullableWithValue(gen.TaskRef{Id: t.ID, Name: t.Name, Position: t.Position})
	}
	return out
}

func apiTimelineEntry(e ticket.TimelineEntry) gen.TimelineEntry {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return gen.TimelineEntry{Id: e.ID, Kind: gen.TimelineEntryKind(e.Kind), Text: e.Text, MessageId: nullOf(e.MessageID),
		TaskId: nullOf(e.TaskID), Data: data, At: e.At}
}

func apiProcedure(p ticket.Procedure) gen.Procedure {
	return gen.Procedure{Id: p.ID, Name: p.Name, Description: nullOf(p.Description), Tasks: mapSlice(p.Tasks, apiTask),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func apiTask(t ticket.Task) gen.Task {
	return gen.Task{Id: t.ID, Position: t.Position, Name: t.Name, SendWhatsapp: t.SendWhatsApp, TemplateId: nullOf(t.TemplateID),
		Variables: mapSlice(t.Variables, func(s string) gen.TicketField { return gen.TicketField(s) })}
}

func apiTemplate(t ticket.Template) gen.Template {
	return gen.Template{Id: t.ID, Name: t.Name, Language: t.Language, Body: t.Body, Variables: t.Variables,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func apiTicketMessage(m ticket.Message) gen.TicketMessage {
	return gen.TicketMessage{
		Id: m.ID, TicketId: m.TicketID, TaskId: m.TaskID, TemplateId: m.TemplateID, Template: m.Template, Language: m.Language,
		Variables: m.Variables, To: nullOf(m.To), WaId: nullOf(m.WaID), Status: gen.TicketMessageStatus(m.Status),
		Attempts: m.Attempts, NextAttemptAt: nullTime(m.NextAttemptAt), PlinxMessageId: nullOf(m.PlinxMessageID),
		ErrorCode: nullOf(m.ErrorCode), ErrorMessage: nullOf(m.ErrorMessage), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		AcceptedAt: nullTime(m.AcceptedAt), SentAt: nullTime(m.SentAt), DeliveredAt: nullTime(m.DeliveredAt),
		ReadAt: nullTime(m.ReadAt), FailedAt: nullTime(m.FailedAt),
	}
}
