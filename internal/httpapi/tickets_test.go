package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/ticket"
	"github.com/atende/atende/internal/webhook"
)

// ticketEnv is atende with an ERP integration whose procedure greets the customer on opening and sends the
// survey on closing, and a Plinx simulator that reports every template sent, delivered and read.
type ticketEnv struct {
	*plinxEnv
	integration client.IntegrationWithSecret
	procedure   client.Procedure
}

func newTicketEnv(t *testing.T, dialect store.Dialect) *ticketEnv {
	t.Helper()
	p := newPlinxEnv(t, dialect)
	ctx := context.Background()
	_, err := p.sim.SetWebhook(sim.WebhookConfig{URL: p.URL + "/v1/webhooks/plinx/" + p.tenantID.String(), Secret: p.secret,
		AutoStatus: []string{"sent", "delivered", "read"}})
	require.NoError(t, err)
	p.sim.AddTemplate(sim.Template{Name: "abertura_chamado", Language: "pt_BR", Variables: 3})
	p.sim.AddTemplate(sim.Template{Name: "encerramento_chamado", Language: "pt_BR", Variables: 3})

	st, err := p.admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{
		SurveyUrlTemplate: nullable.NewNullableWithValue("https://pesquisa.example/s/{token}")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))

	greet := createTemplate(t, p.admin, "abertura_chamado", "Olá {{1}}! Seu chamado {{2}} foi aberto. Acompanhe em {{3}}")
	bye := createTemplate(t, p.admin, "encerramento_chamado", "Olá {{1}}, o chamado {{2}} foi concluído. Avalie em {{3}}")
	send := true
	proc, err := p.admin.CreateProcedureWithResponse(ctx, nil, client.ProcedureCreate{Name: "Ordem de serviço", Tasks: []client.TaskInput{
		{Name: "Abertura", SendWhatsapp: &send, TemplateId: nullable.NewNullableWithValue(greet),
			Variables: &[]client.TicketField{client.TicketFieldCustomerName, client.TicketFieldProtocol, client.TicketFieldTrackingLink}},
		{Name: "Reparo"},
		{Name: "Encerramento", SendWhatsapp: &send, TemplateId: nullable.NewNullableWithValue(bye),
			Variables: &[]client.TicketField{client.TicketFieldCustomerName, client.TicketFieldProtocol, client.TicketFieldSurveyLink}},
	}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, proc.StatusCode(), string(proc.Body))

	critical := true
	ig, err := p.admin.CreateIntegrationWithResponse(ctx, nil, client.IntegrationCreate{Name: "ERP Oficina",
		DefaultProcedureId: nullable.NewNullableWithValue(proc.JSON201.Id),
		StatusMap: &[]client.StatusMapping{
			{External: "ABERTA", Status: client.TicketStatusOpen},
			{External: "EM REPARO", Status: client.TicketStatusInProgress},
			{External: "ATRASADA", Status: client.TicketStatusInProgress, Critical: &critical},
			{External: "FINALIZADA", Status: client.TicketStatusClosed},
		}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ig.StatusCode(), string(ig.Body))
	require.True(t, strings.HasPrefix(ig.JSON201.Secret, webhook.SecretPrefix))
	return &ticketEnv{plinxEnv: p, integration: *ig.JSON201, procedure: *proc.JSON201}
}

func createTemplate(t *testing.T, c *client.ClientWithResponses, name, body string) uuid.UUID {
	t.Helper()
	res, err := c.CreateTemplateWithResponse(context.Background(), nil, client.TemplateCreate{Name: name, Language: "pt_BR", Body: body,
		Variables: &[]string{"Nome do cliente", "Nº do protocolo", "Link"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201.Id
}

// deliver signs and posts an ERP event; the webhook id names the delivery.
func (e *ticketEnv) deliver(t testing.TB, webhookID string, ev map[string]any) *client.ReceiveIntegrationEventResponse {
	t.Helper()
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	return e.deliverRaw(t, e.integration.Secret, webhookID, e.Clock.Now(), body)
}

func (e *ticketEnv) deliverRaw(t testing.TB, secret, webhookID string, at time.Time, body []byte) *client.ReceiveIntegrationEventResponse {
	t.Helper()
	h, err := webhook.Headers(secret, webhookID, at, body)
	require.NoError(t, err)
	res, err := e.Client("").ReceiveIntegrationEventWithBodyWithResponse(context.Background(), e.integration.Id,
		&client.ReceiveIntegrationEventParams{WebhookId: h.Get(webhook.HeaderID), WebhookTimestamp: h.Get(webhook.HeaderTimestamp),
			WebhookSignature: h.Get(webhook.HeaderSignature)}, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	return res
}

// send runs the message sender until nothing is due.
func (e *ticketEnv) send(t testing.TB) {
	t.Helper()
	s := e.App.Tickets.NewSender(ticket.SenderOptions{Batch: 200, Sends: 16, Rate: 100_000})
	for range 1000 {
		n, err := s.RunOnce(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("the sender never ran out of due messages")
}

func (e *ticketEnv) timeline(t testing.TB, id uuid.UUID) []client.TimelineEntry {
	t.Helper()
	res, err := e.admin.ListTicketTimelineWithResponse(context.Background(), id, &client.ListTicketTimelineParams{Limit: ptr(200)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Data
}

func timelineKinds(entries []client.TimelineEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = string(e.Kind)
	}
	return out
}

// waitMessage waits for a message to reach a status through Plinx's webhooks.
func (e *ticketEnv) waitMessage(t testing.TB, ticketID uuid.UUID, task string, status client.TicketMessageStatus) client.TicketMessage {
	t.Helper()
	var last client.TicketMessage
	require.Eventually(t, func() bool {
		res, err := e.admin.ListMessagesWithResponse(context.Background(), &client.ListMessagesParams{TicketId: &ticketID})
		require.NoError(t, err)
		for _, m := range res.JSON200.Data {
			if m.Template == task {
				last = m
				return m.Status == status
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "message %s of ticket %s never reached %s", task, ticketID, status)
	return last
}

// The seed's flow end to end: the ERP opens a service order, the ticket shows its data and the customer gets
// the greeting with the tracking link; the ERP closes it, the ticket closes and the customer gets the survey.
func TestERPOpensAndClosesAServiceOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		ctx := context.Background()
		open := e.deliver(t, "evt-1", map[string]any{
			"external_code": "OS-2026-0042", "version": 1, "status": "ABERTA", "process_number": "2026-000123",
			"issued_at": "2026-11-20", "product_description": "Notebook Dell Latitude 5440", "problem": "Não liga",
			"customer": map[string]any{"name": "Ana Souza", "phone": "(47) 99123-4567", "document": "11.222.333/0001-81", "email": "Ana@Cliente.example"},
			"extra":    map[string]any{"technician": "Carlos"},
		})
		require.Equal(t, http.StatusOK, open.StatusCode(), string(open.Body))
		require.Equal(t, client.TicketEventReceiptOutcomeCreated, open.JSON200.Outcome)
		tk := open.JSON200.Ticket
		require.Equal(t, "OS-2026-0042", tk.ExternalCode)
		require.Equal(t, "2026-000123", tk.ProcessNumber.MustGet())
		require.Equal(t, "2026-11-20", tk.IssuedAt.MustGet().String())
		require.Equal(t, "Notebook Dell Latitude 5440", tk.ProductDescription.MustGet())
		require.Equal(t, "Não liga", tk.Problem.MustGet())
		require.Equal(t, "+5547991234567", tk.Customer.Phone.MustGet())
		require.Equal(t, "11222333000181", tk.Customer.Document.MustGet())
		require.Equal(t, client.TicketStatusOpen, tk.Status)
		require.Equal(t, "Abertura", tk.CurrentTask.MustGet().Name)
		require.Equal(t, "Carlos", tk.Extra["technician"])
		require.True(t, tk.CompanyId.IsSpecified() && !tk.CompanyId.IsNull(), "a company is created for the CNPJ")
		require.True(t, tk.ContactId.IsSpecified() && !tk.ContactId.IsNull(), "a contact is created for the customer")
		company, err := e.admin.GetCompanyWithResponse(ctx, tk.CompanyId.MustGet())
		require.NoError(t, err)
		require.Equal(t, "Ana Souza", company.JSON200.LegalName)

		e.send(t)
		sent := e.sim.SentMessages()
		require.Len(t, sent, 1)
		require.Equal(t, "abertura_chamado", sent[0].Template)
		require.Equal(t, "+5547991234567", sent[0].To)
		require.Equal(t, []string{"Ana Souza", "2026-000123", tk.TrackingUrl}, sent[0].Variables)
		greeting := e.waitMessage(t, tk.Id, "abertura_chamado", client.TicketMessageStatusRead)
		require.Equal(t, "5547991234567", greeting.WaId.MustGet())
		require.Equal(t, sent[0].ID, greeting.PlinxMessageId.MustGet())

		// The tracking link opens without a key and shows public fields only.
		token := tk.TrackingUrl[strings.LastIndex(tk.TrackingUrl, "/")+1:]
		pub, err := e.Client("").GetPublicTicketWithResponse(ctx, token)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, pub.StatusCode(), string(pub.Body))
		require.Equal(t, "2026-000123", pub.JSON200.Protocol)
		require.Equal(t, "Abertura", pub.JSON200.CurrentTask.MustGet())
		require.NotContains(t, string(pub.Body), "Ana", "the public page shows no personal data")
		missing, err := e.Client("").GetPublicTicketWithResponse(ctx, "AAAAAAAAAAAAAAAAAAAAAA")
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, missing.StatusCode())

		// Late: critical, visible to supervisors at once.
		late := e.deliver(t, "evt-2", map[string]any{"external_code": "OS-2026-0042", "version": 2, "status": "ATRASADA"})
		require.Equal(t, client.TicketEventReceiptOutcomeUpdated, late.JSON200.Outcome)
		supKey := ""
		_, supKey = e.NewUser(e.AdminKey, client.RoleSupervisor)
		crit, err := e.Client(supKey).ListTicketsWithResponse(ctx, &client.ListTicketsParams{Critical: ptr(true)})
		require.NoError(t, err)
		require.Len(t, crit.JSON200.Data, 1)
		require.Equal(t, tk.Id, crit.JSON200.Data[0].Id)
		require.Equal(t, "ATRASADA", crit.JSON200.Data[0].ExternalStatus)

		// The ERP closes the order: the ticket closes and the survey goes out.
		closed := e.deliver(t, "evt-3", map[string]any{"external_code": "OS-2026-0042", "version": 3, "status": "FINALIZADA"})
		require.Equal(t, http.StatusOK, closed.StatusCode(), string(closed.Body))
		require.Equal(t, client.TicketStatusClosed, closed.JSON200.Ticket.Status)
		require.Equal(t, "Encerramento", closed.JSON200.Ticket.CurrentTask.MustGet().Name)
		require.True(t, closed.JSON200.Ticket.ClosedAt.IsSpecified() && !closed.JSON200.Ticket.ClosedAt.IsNull())
		e.send(t)
		sent = e.sim.SentMessages()
		require.Len(t, sent, 2)
		require.Equal(t, "encerramento_chamado", sent[1].Template)
		require.Equal(t, []string{"Ana Souza", "2026-000123", "https://pesquisa.example/s/" + token}, sent[1].Variables)
		e.waitMessage(t, tk.Id, "encerramento_chamado", client.TicketMessageStatusRead)

		// A stale event is on the timeline and changes nothing; a redelivery is a duplicate.
		stale := e.deliver(t, "evt-4", map[string]any{"external_code": "OS-2026-0042", "version": 2, "status": "EM REPARO"})
		require.Equal(t, client.TicketEventReceiptOutcomeStale, stale.JSON200.Outcome)
		require.Equal(t, client.TicketStatusClosed, stale.JSON200.Ticket.Status)
		dup := e.deliver(t, "evt-1", map[string]any{"external_code": "OS-2026-0042", "version": 1, "status": "ABERTA"})
		require.Equal(t, client.TicketEventReceiptOutcomeDuplicate, dup.JSON200.Outcome)

		got := timelineKinds(e.timeline(t, tk.Id))
		require.Equal(t, []string{"created", "task_entered", "message_queued", "message_accepted", "message_sent", "message_delivered",
			"message_read", "status_changed", "status_changed", "task_entered", "message_queued", "closed", "message_accepted",
			"message_sent", "message_delivered", "message_read", "stale_event"}, got)
		require.Len(t, e.sim.SentMessages(), 2, "nothing more was sent")

		// Reopening and closing again never sends a task's message twice.
		re, err := e.admin.ReopenTicketWithResponse(ctx, tk.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, re.StatusCode(), string(re.Body))
		cl, err := e.admin.CloseTicketWithResponse(ctx, tk.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cl.StatusCode(), string(cl.Body))
		again, err := e.admin.CloseTicketWithResponse(ctx, tk.Id)
		require.NoError(t, err)
		e.Problem(again.HTTPResponse, again.Body, http.StatusConflict)
		e.send(t)
		require.Len(t, e.sim.SentMessages(), 2)

		// Another tenant sees none of it.
		other := e.NewTenant("Outra")
		hidden, err := e.Client(other.AdminKey).GetTicketWithResponse(ctx, tk.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, hidden.StatusCode())
	})
}

// Seed 002: a customer without a usable phone gets no message, and the ticket's timeline says why.
func TestCustomerWithoutPhoneIsOnTheTimeline(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		noPhone := e.deliver(t, "np-1", map[string]any{"external_code": "OS-1", "version": 1, "status": "ABERTA",
			"customer": map[string]any{"name": "Bruno"}})
		require.Equal(t, http.StatusOK, noPhone.StatusCode(), string(noPhone.Body))
		e.sim.SetWhatsApp("+5547988887777", false)
		landline := e.deliver(t, "np-2", map[string]any{"external_code": "OS-2", "version": 1, "status": "ABERTA",
			"customer": map[string]any{"name": "Carla", "phone": "+55 47 98888-7777"}})
		require.Equal(t, http.StatusOK, landline.StatusCode(), string(landline.Body))
		garbage := e.deliver(t, "np-3", map[string]any{"external_code": "OS-3", "version": 1, "status": "ABERTA",
			"customer": map[string]any{"name": "Davi", "phone": "ramal 12"}})
		require.Equal(t, http.StatusOK, garbage.StatusCode(), string(garbage.Body))
		e.send(t)
		require.Empty(t, e.sim.SentMessages())
		for _, tk := range []client.Ticket{noPhone.JSON200.Ticket, landline.JSON200.Ticket, garbage.JSON200.Ticket} {
			entries := e.timeline(t, tk.Id)
			texts := []string{}
			for _, en := range entries {
				texts = append(texts, en.Text)
			}
			require.Contains(t, texts, "Não possui telefone para envio de mensagem", "ticket %s", tk.ExternalCode)
			m := e.waitMessage(t, tk.Id, "abertura_chamado", client.TicketMessageStatusFailed)
			require.True(t, m.FailedAt.IsSpecified() && !m.FailedAt.IsNull())
		}
	})
}

// Bad signature, stale timestamp, unknown integration, malformed body: a 4xx problem, and nothing stored.
func TestBadDeliveriesStoreNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		good, err := json.Marshal(map[string]any{"external_code": "OS-9", "version": 1, "status": "ABERTA"})
		require.NoError(t, err)
		now := e.Clock.Now()
		cases := []struct {
			name   string
			res    func() *client.ReceiveIntegrationEventResponse
			status int
			detail string
		}{
			{"bad signature", func() *client.ReceiveIntegrationEventResponse {
				return e.deliverRaw(t, webhook.NewSecret(), "x-1", now, good)
			}, http.StatusUnauthorized, "signature"},
			{"stale timestamp", func() *client.ReceiveIntegrationEventResponse {
				return e.deliverRaw(t, e.integration.Secret, "x-2", now.Add(-10*time.Minute), good)
			}, http.StatusUnauthorized, "5 minutes"},
			{"malformed json", func() *client.ReceiveIntegrationEventResponse {
				return e.deliverRaw(t, e.integration.Secret, "x-3", now, []byte(`{"external_code": "OS-9", `))
			}, http.StatusBadRequest, ""},
			{"missing status", func() *client.ReceiveIntegrationEventResponse {
				return e.deliverRaw(t, e.integration.Secret, "x-4", now, []byte(`{"external_code":"OS-9","version":1}`))
			}, http.StatusBadRequest, ""},
			{"no order key", func() *client.ReceiveIntegrationEventResponse {
				return e.deliverRaw(t, e.integration.Secret, "x-5", now, []byte(`{"external_code":"OS-9","status":"ABERTA"}`))
			}, http.StatusBadRequest, ""},
			{"bad date", func() *client.ReceiveIntegrationEventResponse {
				return e.deliverRaw(t, e.integration.Secret, "x-6", now, []byte(`{"external_code":"OS-9","version":1,"status":"ABERTA","issued_at":"20/11/2026"}`))
			}, http.StatusBadRequest, ""},
		}
		for _, c := range cases {
			res := c.res()
			pr := e.Problem(res.HTTPResponse, res.Body, c.status)
			require.NotNil(t, pr.Detail, c.name)
			require.Contains(t, *pr.Detail, c.detail, c.name)
		}
		unknown := *e
		unknown.integration.Id = uuid.Must(uuid.NewV7())
		res := unknown.deliverRaw(t, e.integration.Secret, "x-7", now, good)
		e.Problem(res.HTTPResponse, res.Body, http.StatusUnauthorized)

		// Deactivated integrations are unknown too.
		inactive := false
		up, err := e.admin.UpdateIntegrationWithResponse(context.Background(), e.integration.Id, nil, client.IntegrationUpdate{Active: &inactive})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		res = e.deliverRaw(t, e.integration.Secret, "x-8", now, good)
		e.Problem(res.HTTPResponse, res.Body, http.StatusUnauthorized)

		list, err := e.admin.ListTicketsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Empty(t, list.JSON200.Data, "no delivery stored anything")
		var receipts int64
		receipts, err = e.App.DB.NewSelect().Table("webhook_receipts").Count(context.Background())
		require.NoError(t, err)
		require.Zero(t, receipts)
	})
}

// A rotated secret keeps verifying for its grace period, so the ERP can switch without losing events.
func TestRotatedSecretVerifiesDuringGrace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		old := e.integration.Secret
		rot, err := e.admin.RotateIntegrationSecretWithResponse(context.Background(), e.integration.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rot.StatusCode(), string(rot.Body))
		require.NotEqual(t, old, rot.JSON200.Secret)
		body := []byte(`{"external_code":"OS-1","version":1,"status":"ABERTA"}`)
		require.Equal(t, http.StatusOK, e.deliverRaw(t, old, "r-1", e.Clock.Now(), body).StatusCode())
		require.Equal(t, http.StatusOK, e.deliverRaw(t, rot.JSON200.Secret, "r-2", e.Clock.Now(), body).StatusCode())
		e.Clock.Advance(ticket.SecretGrace + time.Minute)
		res := e.deliverRaw(t, old, "r-3", e.Clock.Now(), body)
		e.Problem(res.HTTPResponse, res.Body, http.StatusUnauthorized)
		got, err := e.admin.GetIntegrationWithResponse(context.Background(), e.integration.Id)
		require.NoError(t, err)
		require.NotContains(t, string(got.Body), rot.JSON200.Secret, "secrets are shown once")
	})
}

// The plain upsert with an API key follows the same rules as signed events.
func TestUpsertWithAPIKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		_, key := e.NewUser(e.AdminKey, client.RoleIntegration)
		c := e.Client(key)
		ctx := context.Background()
		v := func(n int64) *int64 { return &n }
		first, err := c.UpsertIntegrationTicketWithResponse(ctx, e.integration.Id, "PED-77", client.TicketUpsert{Version: v(5), Status: "ABERTA",
			Customer: &client.TicketCustomer{Name: ptr("Eva"), Phone: ptr("47 99777-1234")}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, first.StatusCode(), string(first.Body))
		require.Equal(t, client.TicketEventReceiptOutcomeCreated, first.JSON200.Outcome)
		same, err := c.UpsertIntegrationTicketWithResponse(ctx, e.integration.Id, "PED-77", client.TicketUpsert{Version: v(5), Status: "ABERTA"})
		require.NoError(t, err)
		require.Equal(t, client.TicketEventReceiptOutcomeUnchanged, same.JSON200.Outcome)
		older, err := c.UpsertIntegrationTicketWithResponse(ctx, e.integration.Id, "PED-77", client.TicketUpsert{Version: v(4), Status: "FINALIZADA"})
		require.NoError(t, err)
		require.Equal(t, client.TicketEventReceiptOutcomeStale, older.JSON200.Outcome)
		require.Equal(t, client.TicketStatusOpen, older.JSON200.Ticket.Status)
		adv, err := c.AdvanceTicketWithResponse(ctx, first.JSON200.Ticket.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, adv.StatusCode(), "integrations do not work tickets")
		other := e.NewTenant("Outra")
		res, err := e.Client(other.AdminKey).UpsertIntegrationTicketWithResponse(ctx, e.integration.Id, "PED-77", client.TicketUpsert{Version: v(6), Status: "ABERTA"})
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, res.StatusCode(), "another tenant's integration is not found")
	})
}

// When the ERP names another customer the ticket follows it; a phone it mistypes keeps the one it had.
func TestCustomerChangeRelinksTheTicket(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		ctx := context.Background()
		v := func(n int64) *int64 { return &n }
		up := func(version int64, c client.TicketCustomer) client.Ticket {
			t.Helper()
			res, err := e.admin.UpsertIntegrationTicketWithResponse(ctx, e.integration.Id, "PED-9",
				client.TicketUpsert{Version: v(version), Status: "ABERTA", Customer: &c})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
			return res.JSON200.Ticket
		}
		first := up(1, client.TicketCustomer{Name: ptr("Fábio"), Phone: ptr("47 99111-2222")})
		typo := up(2, client.TicketCustomer{Phone: ptr("ramal 12")})
		require.Equal(t, "+5547991112222", typo.Customer.Phone.MustGet(), "a mistyped phone keeps the one the ticket had")
		require.Equal(t, first.ContactId.MustGet(), typo.ContactId.MustGet())
		other := up(3, client.TicketCustomer{Name: ptr("Gabriela"), Phone: ptr("47 99333-4444"), Document: ptr("11.444.777/0001-61")})
		require.NotEqual(t, first.ContactId.MustGet(), other.ContactId.MustGet(), "another customer, another contact")
		require.True(t, other.CompanyId.IsSpecified() && !other.CompanyId.IsNull())
		contact, err := e.admin.GetContactWithResponse(ctx, other.ContactId.MustGet())
		require.NoError(t, err)
		require.Equal(t, "Gabriela", contact.JSON200.Name)
	})
}

// Plinx's statuses arrive in any order, and twice: the message ends at the furthest one, with each status's
// time and one timeline entry each.
func TestMessageStatusesInAnyOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		_, err := e.sim.SetWebhook(sim.WebhookConfig{URL: e.URL + "/v1/webhooks/plinx/" + e.tenantID.String(), Secret: e.secret})
		require.NoError(t, err) // no automatic statuses: the test sends them
		res := e.deliver(t, "o-1", map[string]any{"external_code": "OS-7", "version": 1, "status": "ABERTA",
			"customer": map[string]any{"name": "Helena", "phone": "+5547991110007"}})
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		e.send(t)
		m := e.waitMessage(t, res.JSON200.Ticket.Id, "abertura_chamado", client.TicketMessageStatusAccepted)
		id := m.PlinxMessageId.MustGet()
		for _, st := range []string{"read", "sent", "read", "failed", "delivered"} {
			e.fire(t, sim.Shortcut{Type: "message.status", MessageID: id, Status: st})
		}
		m = e.waitMessage(t, res.JSON200.Ticket.Id, "abertura_chamado", client.TicketMessageStatusRead)
		for _, at := range []nullable.Nullable[time.Time]{m.SentAt, m.DeliveredAt, m.ReadAt} {
			require.True(t, at.IsSpecified() && !at.IsNull())
		}
		require.True(t, m.FailedAt.IsSpecified() && !m.FailedAt.IsNull(), "a failure after reading is recorded, not obeyed")
		count := map[string]int{}
		for _, k := range timelineKinds(e.timeline(t, res.JSON200.Ticket.Id)) {
			count[k]++
		}
		for _, k := range []string{"message_sent", "message_delivered", "message_read", "message_failed"} {
			require.Equal(t, 1, count[k], k)
		}
	})
}

// Sends to Plinx are paced per tenant: 30 messages at 10 per second (a burst of 10) take at least 2 s.
func TestSendsArePacedPerTenant(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		for i := range 30 {
			res := e.deliver(t, fmt.Sprintf("pace-%d", i), map[string]any{"external_code": fmt.Sprintf("OS-%d", i), "version": 1,
				"status": "ABERTA", "customer": map[string]any{"name": "Cliente", "phone": fmt.Sprintf("+55479911%05d", i)}})
			require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		}
		sender := e.App.Tickets.NewSender(ticket.SenderOptions{Batch: 50, Sends: 16, Rate: 10})
		start := time.Now()
		n, err := sender.RunOnce(context.Background())
		require.NoError(t, err)
		require.Equal(t, 30, n)
		require.Len(t, e.sim.SentMessages(), 30)
		require.GreaterOrEqual(t, time.Since(start), 1900*time.Millisecond, "20 sends past the burst at 10/s")
	})
}
