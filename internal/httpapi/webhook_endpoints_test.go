package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

// hookCall is one delivery a receiver got: when (on the server's clock), its headers and its event.
type hookCall struct {
	at      time.Time
	id      string
	headers http.Header
	event   outbound.Envelope
	body    []byte
}

// hookReceiver is a webhook endpoint that checks every delivery the way the Standard Webhooks rules say — the
// reference library verifies the signature over "id.timestamp.body" with each secret it is given, and the
// timestamp must be within 5 minutes of the (injected) clock — and answers with the status answer returns.
type hookReceiver struct {
	t   *testing.T
	env *apitest.Env
	url string

	mu      sync.Mutex
	secrets []string
	status  int
	calls   []hookCall
}

func newHookReceiver(t *testing.T, env *apitest.Env) *hookReceiver {
	r := &hookReceiver{t: t, env: env, status: http.StatusOK}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/atende/webhooks"
	return r
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	require.NoError(r.t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(r.t, r.secrets, "a delivery before the receiver knew its secret")
	for _, secret := range r.secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(r.t, err)
		if err := wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
			r.t.Errorf("delivery %s fails Standard Webhooks verification with a current secret: %v", req.Header.Get("webhook-id"), err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	ts, err := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	require.NoError(r.t, err)
	now := r.env.Clock.Now()
	require.WithinDuration(r.t, now, time.Unix(ts, 0), webhook.Tolerance, "webhook-timestamp within the tolerance")
	require.Equal(r.t, "application/json", req.Header.Get("Content-Type"))
	var ev outbound.Envelope
	require.NoError(r.t, json.Unmarshal(body, &ev))
	require.Equal(r.t, req.Header.Get("webhook-id"), ev.ID, "the body's id is the webhook-id")
	r.calls = append(r.calls, hookCall{at: now, id: ev.ID, headers: req.Header.Clone(), event: ev, body: body})
	w.WriteHeader(r.status)
	_, _ = fmt.Fprintf(w, `{"received":%q}`, ev.ID)
}

func (r *hookReceiver) set(status int, secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
	if len(secrets) > 0 {
		r.secrets = secrets
	}
}

func (r *hookReceiver) got() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookCall(nil), r.calls...)
}

func (r *hookReceiver) types() []string {
	var out []string
	for _, c := range r.got() {
		out = append(out, c.event.Type)
	}
	return out
}

// deliverAll runs a deliverer until nothing is due at the server's clock.
func deliverAll(t *testing.T, env *apitest.Env) {
	t.Helper()
	d := env.App.Outbound.NewDeliverer(outbound.DelivererOptions{Timeout: 2 * time.Second})
	for range 100 {
		n, err := d.RunOnce(context.Background())
		require.NoError(t, err)
		d.Wait()
		if n == 0 {
			return
		}
	}
	t.Fatal("the deliverer never ran out of due deliveries")
}

func createEndpoint(t *testing.T, c *client.ClientWithResponses, url string, events ...client.WebhookEventType) client.WebhookEndpointWithSecret {
	t.Helper()
	res, err := c.CreateWebhookEndpointWithResponse(context.Background(), nil, client.WebhookEndpointCreate{Url: url,
		Description: ptr("ERP — chamados"), Events: events})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return *res.JSON201
}

// Events reach a subscribed endpoint signed with Standard Webhooks, in the envelope the contract documents;
// the delivery log shows each delivery and its attempts; after a rotation both secrets verify.
func TestOutboundWebhooksDeliverSignedEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		ctx := context.Background()
		rcv := newHookReceiver(t, e.Env)
		ep := createEndpoint(t, e.admin, rcv.url, client.WebhookEventTypeTicketCreated, client.WebhookEventTypeTicketUpdated,
			client.WebhookEventTypeMessageStatus, client.WebhookEventTypeConversationCreated)
		require.True(t, strings.HasPrefix(ep.Secret, webhook.SecretPrefix))
		require.True(t, ep.Enabled)
		rcv.set(http.StatusOK, ep.Secret)
		got, err := e.admin.GetWebhookEndpointWithResponse(ctx, ep.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
		require.NotContains(t, string(got.Body), ep.Secret, "the secret is shown once")

		open := e.deliver(t, "evt-1", map[string]any{"external_code": "OS-2026-0042", "version": 1, "status": "ABERTA",
			"customer": map[string]any{"name": "Ana Souza", "phone": "(47) 99123-4567"}})
		require.Equal(t, http.StatusOK, open.StatusCode(), string(open.Body))
		deliverAll(t, e.Env)
		repair := e.deliver(t, "evt-2", map[string]any{"external_code": "OS-2026-0042", "version": 2, "status": "EM REPARO"})
		require.Equal(t, http.StatusOK, repair.StatusCode(), string(repair.Body))
		deliverAll(t, e.Env)
		e.fire(t, sim.Shortcut{Type: "conversation.started", Phone: "+5547991230000"})
		deliverAll(t, e.Env)

		calls := rcv.got()
		require.Equal(t, []string{"ticket.created", "ticket.updated", "conversation.created"}, rcv.types())
		var created outbound.TicketData
		require.NoError(t, json.Unmarshal(calls[0].event.Data, &created))
		require.Equal(t, open.JSON200.Ticket.Id, created.TicketID)
		require.Equal(t, "OS-2026-0042", created.ExternalCode)
		require.Equal(t, "open", created.Status)
		require.Equal(t, e.tenantID, calls[0].event.TenantID)
		var updated outbound.TicketData
		require.NoError(t, json.Unmarshal(calls[1].event.Data, &updated))
		require.Equal(t, "in_progress", updated.Status)
		require.Equal(t, "EM REPARO", updated.ExternalStatus)
		require.Greater(t, updated.Version, created.Version)
		var conv outbound.ConversationData
		require.NoError(t, json.Unmarshal(calls[2].event.Data, &conv))
		require.Equal(t, "+5547991230000", conv.Phone)

		// The WhatsApp greeting's statuses follow: accepted by Plinx, sent, delivered and read (deliveries due
		// together go out in parallel, in no set order).
		e.send(t)
		e.waitMessage(t, open.JSON200.Ticket.Id, "abertura_chamado", client.TicketMessageStatusRead)
		deliverAll(t, e.Env)
		var statuses []string
		for _, c := range rcv.got()[3:] {
			require.Equal(t, "message.status", c.event.Type)
			var m outbound.MessageStatusData
			require.NoError(t, json.Unmarshal(c.event.Data, &m))
			require.Equal(t, "abertura_chamado", m.Template)
			statuses = append(statuses, m.Status)
		}
		require.ElementsMatch(t, []string{"accepted", "sent", "delivered", "read"}, statuses)

		// The delivery log, newest first, each delivery with its attempt.
		list, err := e.admin.ListWebhookDeliveriesWithResponse(ctx, ep.Id, &client.ListWebhookDeliveriesParams{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
		require.Len(t, list.JSON200.Data, 7)
		require.Equal(t, client.WebhookEventTypeMessageStatus, list.JSON200.Data[0].EventType)
		first := list.JSON200.Data[6]
		require.Equal(t, client.WebhookDeliveryStatusSucceeded, first.Status)
		require.Equal(t, calls[0].id, first.EventId)
		detail, err := e.admin.GetWebhookDeliveryWithResponse(ctx, ep.Id, first.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, detail.StatusCode(), string(detail.Body))
		require.Len(t, detail.JSON200.AttemptLog, 1)
		require.Equal(t, 200, detail.JSON200.AttemptLog[0].StatusCode.MustGet())
		require.Contains(t, detail.JSON200.AttemptLog[0].ResponseBody.MustGet(), calls[0].id)
		require.Equal(t, calls[0].id, detail.JSON200.Event.Id)
		filtered, err := e.admin.ListWebhookDeliveriesWithResponse(ctx, ep.Id, &client.ListWebhookDeliveriesParams{
			EventType: ptr(client.WebhookEventTypeTicketUpdated)})
		require.NoError(t, err)
		require.Len(t, filtered.JSON200.Data, 1)

		// After a rotation a delivery carries two signatures: receivers on either secret accept it.
		rot, err := e.admin.RotateWebhookEndpointSecretWithResponse(ctx, ep.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rot.StatusCode(), string(rot.Body))
		rcv.set(http.StatusOK, ep.Secret, rot.JSON200.Secret)
		closing := e.deliver(t, "evt-3", map[string]any{"external_code": "OS-2026-0042", "version": 3, "status": "FINALIZADA"})
		require.Equal(t, http.StatusOK, closing.StatusCode(), string(closing.Body))
		deliverAll(t, e.Env)
		last := rcv.got()[len(rcv.got())-1]
		require.Equal(t, "ticket.updated", last.event.Type)
		require.Len(t, strings.Fields(last.headers.Get("webhook-signature")), 2)
		e.Clock.Advance(outbound.SecretGrace + time.Minute)
		rcv.set(http.StatusOK, rot.JSON200.Secret)
		e.fire(t, sim.Shortcut{Type: "conversation.started", Phone: "+5547991230001"})
		deliverAll(t, e.Env)
		last = rcv.got()[len(rcv.got())-1]
		require.Len(t, strings.Fields(last.headers.Get("webhook-signature")), 1, "the old secret signs no more after the grace")
	})
}

// A receiver that keeps failing gets every attempt of the schedule, with the same webhook-id, each after its
// backoff; after the last the delivery has failed and the endpoint is disabled. Re-enabled and redelivered,
// the event arrives. A 410 disables an endpoint at once.
func TestFailingEndpointIsRetriedWithBackoffThenDisabled(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		ctx := context.Background()
		rcv := newHookReceiver(t, e.Env)
		ep := createEndpoint(t, e.admin, rcv.url, client.WebhookEventTypeTicketCreated)
		rcv.set(http.StatusServiceUnavailable, ep.Secret)

		open := e.deliver(t, "evt-1", map[string]any{"external_code": "OS-1", "version": 1, "status": "ABERTA"})
		require.Equal(t, http.StatusOK, open.StatusCode(), string(open.Body))
		delivery := func() client.WebhookDelivery {
			list, err := e.admin.ListWebhookDeliveriesWithResponse(ctx, ep.Id, &client.ListWebhookDeliveriesParams{})
			require.NoError(t, err)
			require.Len(t, list.JSON200.Data, 1)
			return list.JSON200.Data[0]
		}
		deliverAll(t, e.Env)
		for range outbound.Schedule {
			d := delivery()
			require.Equal(t, client.WebhookDeliveryStatusPending, d.Status)
			require.Equal(t, 503, d.LastStatusCode.MustGet())
			// Nothing goes out before the backoff is over.
			e.Clock.Set(d.NextAttemptAt.MustGet().Add(-time.Second))
			before := len(rcv.got())
			deliverAll(t, e.Env)
			require.Len(t, rcv.got(), before, "no attempt before the next one is due")
			e.Clock.Set(d.NextAttemptAt.MustGet())
			deliverAll(t, e.Env)
		}
		calls := rcv.got()
		require.Len(t, calls, len(outbound.Schedule)+1, "the first attempt and one per wait of the schedule")
		var waits []string
		for i := 1; i < len(calls); i++ {
			wait := calls[i].at.Sub(calls[i-1].at)
			nominal := outbound.Schedule[i-1]
			require.GreaterOrEqual(t, wait, nominal, "attempt %d waits its backoff", i+1)
			require.LessOrEqual(t, wait, nominal+nominal/10+time.Second, "attempt %d jitter stays within 10%%", i+1)
			require.Equal(t, calls[0].id, calls[i].id, "every attempt carries the same webhook-id")
			waits = append(waits, wait.Round(time.Second).String())
		}
		t.Logf("waits between attempts: %s; last attempt %s after the first", strings.Join(waits, " "),
			calls[len(calls)-1].at.Sub(calls[0].at).Round(time.Minute))
		require.Greater(t, calls[len(calls)-1].at.Sub(calls[0].at), 24*time.Hour, "retried for about a day")

		d := delivery()
		require.Equal(t, client.WebhookDeliveryStatusFailed, d.Status)
		require.Equal(t, len(outbound.Schedule)+1, d.Attempts)
		require.True(t, d.NextAttemptAt.IsNull())
		got, err := e.admin.GetWebhookEndpointWithResponse(ctx, ep.Id)
		require.NoError(t, err)
		require.False(t, got.JSON200.Enabled, "disabled after failing for a day")
		require.Equal(t, client.WebhookEndpointDisabledReasonFailing, got.JSON200.DisabledReason.MustGet())
		require.Equal(t, int64(1), got.JSON200.FailedDeliveries)
		detail, err := e.admin.GetWebhookDeliveryWithResponse(ctx, ep.Id, d.Id)
		require.NoError(t, err)
		require.Len(t, detail.JSON200.AttemptLog, len(outbound.Schedule)+1)
		for _, a := range detail.JSON200.AttemptLog {
			require.Equal(t, 503, a.StatusCode.MustGet())
			require.Contains(t, a.Error.MustGet(), "503")
		}

		// Disabled: new events are not sent to it, and a redelivery is refused until it is enabled.
		second := e.deliver(t, "evt-2", map[string]any{"external_code": "OS-2", "version": 1, "status": "ABERTA"})
		require.Equal(t, http.StatusOK, second.StatusCode(), string(second.Body))
		deliverAll(t, e.Env)
		require.Len(t, rcv.got(), len(calls))
		refused, err := e.admin.RedeliverWebhookWithResponse(ctx, ep.Id, d.Id)
		require.NoError(t, err)
		e.Problem(refused.HTTPResponse, refused.Body, http.StatusConflict)
		enable, err := e.admin.UpdateWebhookEndpointWithResponse(ctx, ep.Id, &client.UpdateWebhookEndpointParams{IfMatch: ptr(got.HTTPResponse.Header.Get("ETag"))},
			client.WebhookEndpointUpdate{Enabled: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, enable.StatusCode(), string(enable.Body))
		require.True(t, enable.JSON200.DisabledReason.IsNull())
		rcv.set(http.StatusAccepted)
		again, err := e.admin.RedeliverWebhookWithResponse(ctx, ep.Id, d.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, again.StatusCode(), string(again.Body))
		require.Equal(t, client.WebhookDeliveryStatusPending, again.JSON202.Status)
		deliverAll(t, e.Env)
		last := rcv.got()[len(rcv.got())-1]
		require.Equal(t, calls[0].id, last.id, "a redelivery keeps its webhook-id")
		require.Equal(t, client.WebhookDeliveryStatusSucceeded, delivery().Status)

		// Disabled by hand with a delivery waiting for its retry: it is held, and resumes when enabled.
		rcv.set(http.StatusInternalServerError)
		fourth := e.deliver(t, "evt-4", map[string]any{"external_code": "OS-4", "version": 1, "status": "ABERTA"})
		require.Equal(t, http.StatusOK, fourth.StatusCode(), string(fourth.Body))
		deliverAll(t, e.Env)
		setEnabled := func(on bool) {
			cur, err := e.admin.GetWebhookEndpointWithResponse(ctx, ep.Id)
			require.NoError(t, err)
			res, err := e.admin.UpdateWebhookEndpointWithResponse(ctx, ep.Id,
				&client.UpdateWebhookEndpointParams{IfMatch: ptr(cur.HTTPResponse.Header.Get("ETag"))}, client.WebhookEndpointUpdate{Enabled: ptr(on)})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		}
		setEnabled(false)
		waiting, err := e.admin.ListWebhookDeliveriesWithResponse(ctx, ep.Id, &client.ListWebhookDeliveriesParams{
			Status: ptr(client.WebhookDeliveryStatusPending)})
		require.NoError(t, err)
		require.Len(t, waiting.JSON200.Data, 1)
		require.True(t, waiting.JSON200.Data[0].NextAttemptAt.IsNull(), "held while the endpoint is disabled")
		sent := len(rcv.got())
		e.Clock.Advance(time.Hour)
		deliverAll(t, e.Env)
		require.Len(t, rcv.got(), sent, "nothing goes to a disabled endpoint")
		rcv.set(http.StatusOK)
		setEnabled(true)
		deliverAll(t, e.Env)
		require.Len(t, rcv.got(), sent+1)
		require.Equal(t, waiting.JSON200.Data[0].EventId, rcv.got()[sent].id)

		// 410 Gone: the endpoint is disabled at once, its delivery failed after one attempt.
		gone := newHookReceiver(t, e.Env)
		ep2 := createEndpoint(t, e.admin, gone.url, client.WebhookEventTypeTicketCreated)
		gone.set(http.StatusGone, ep2.Secret)
		third := e.deliver(t, "evt-3", map[string]any{"external_code": "OS-3", "version": 1, "status": "ABERTA"})
		require.Equal(t, http.StatusOK, third.StatusCode(), string(third.Body))
		deliverAll(t, e.Env)
		require.Len(t, gone.got(), 1)
		got2, err := e.admin.GetWebhookEndpointWithResponse(ctx, ep2.Id)
		require.NoError(t, err)
		require.False(t, got2.JSON200.Enabled)
		require.Equal(t, client.WebhookEndpointDisabledReasonGone, got2.JSON200.DisabledReason.MustGet())
		e.Clock.Advance(time.Hour)
		deliverAll(t, e.Env)
		require.Len(t, gone.got(), 1, "nothing more goes to a gone endpoint")
	})
}

// Endpoints are an admin's or an integration's business, of their own tenant, and bad input names its field.
func TestWebhookEndpointsAccessAndInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		ep := createEndpoint(t, admin, "https://erp.example.com/hooks", client.WebhookEventTypeCallEnded)

		_, integrationKey := env.NewUser(env.AdminKey, client.RoleIntegration)
		list, err := env.Client(integrationKey).ListWebhookEndpointsWithResponse(ctx, &client.ListWebhookEndpointsParams{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
		require.Len(t, list.JSON200.Data, 1)

		_, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		forbidden, err := env.Client(agentKey).ListWebhookEndpointsWithResponse(ctx, &client.ListWebhookEndpointsParams{})
		require.NoError(t, err)
		env.Problem(forbidden.HTTPResponse, forbidden.Body, http.StatusForbidden)

		other := env.NewTenant("Outra Central")
		base := "/v1/webhook-endpoints/" + ep.Id.String()
		for _, req := range [][2]string{{http.MethodGet, base}, {http.MethodGet, base + "/deliveries"},
			{http.MethodPost, base + "/rotate-secret"}, {http.MethodDelete, base},
			{http.MethodPost, base + "/deliveries/" + uuid.Must(uuid.NewV7()).String() + "/redeliver"}} {
			resp, body := env.Do(req[0], req[1], other.AdminKey, nil, nil)
			env.Problem(resp, body, http.StatusNotFound)
		}

		for _, tc := range []struct {
			body  string
			field string
		}{
			{`{"url": "ftp://erp.example.com/hooks", "events": ["ticket.created"]}`, "url"},
			{`{"url": "https://user:pass@erp.example.com/hooks", "events": ["ticket.created"]}`, "url"},
			{`{"url": "hooks", "events": ["ticket.created"]}`, "url"},
			{`{"url": "https://erp.example.com/hooks", "events": []}`, "events"},
			{`{"url": "https://erp.example.com/hooks", "events": ["ticket.deleted"]}`, "events.0"},
		} {
			resp, body := env.Do(http.MethodPost, "/v1/webhook-endpoints", env.AdminKey, []byte(tc.body), nil)
			p := env.Problem(resp, body, http.StatusBadRequest)
			require.NotNil(t, p.Errors, tc.body)
			require.Equal(t, tc.field, (*p.Errors)[0].Field, tc.body)
		}
	})
}

// The dialer's and the conversations' events reach the endpoints subscribed to them: a prompt, the call the
// agent chose to place and its end; a conversation re-linked and qualified.
func TestDialerAndConversationEventsAreDelivered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		d := newDialerEnv(t, dialect, everyDay)
		rcv := newHookReceiver(t, d.Env)
		ep := createEndpoint(t, d.admin, rcv.url, client.WebhookEventTypeDialerPromptCreated, client.WebhookEventTypeCallCreated,
			client.WebhookEventTypeCallEnded)
		rcv.set(http.StatusOK, ep.Secret)
		contact, entry, p := d.prompted(t, "+5547991234567")
		deliverAll(t, d.Env)
		ans, err := d.agent.AnswerDialerPromptWithResponse(ctx, p.Id, client.PromptAnswer{PauseDialer: false})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ans.StatusCode(), string(ans.Body))
		deliverAll(t, d.Env)
		call := d.sessionNow(t).Call.MustGet()
		for _, ev := range []client.CallEventCreateEvent{client.CallEventCreateEventAnswered, client.CallEventCreateEventEnded} {
			r, err := d.admin.ReportCallEventWithResponse(ctx, call.Id, client.CallEventCreate{Event: ev})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		}
		deliverAll(t, d.Env)
		require.Equal(t, []string{"dialer.prompt.created", "call.created", "call.ended"}, rcv.types())
		calls := rcv.got()
		var prompt outbound.PromptData
		require.NoError(t, json.Unmarshal(calls[0].event.Data, &prompt))
		require.Equal(t, p.Id, prompt.PromptID)
		require.Equal(t, entry.Id, prompt.EntryID)
		require.Equal(t, d.agentID, prompt.AgentID)
		require.Equal(t, contact, *prompt.ContactID)
		require.Equal(t, "Cliente com conversa ativa via WhatsApp. Deseja pausar o discador?", prompt.Text)
		var created, ended outbound.CallData
		require.NoError(t, json.Unmarshal(calls[1].event.Data, &created))
		require.NoError(t, json.Unmarshal(calls[2].event.Data, &ended))
		require.Equal(t, call.Id, created.CallID)
		require.Equal(t, "created", created.Status)
		require.Equal(t, call.Id, ended.CallID)
		require.Equal(t, "ended", ended.Status)
		require.Equal(t, "answered", *ended.Outcome)
		require.Equal(t, 1, ended.Attempt)

		p2 := newPlinxEnv(t, dialect)
		rcv2 := newHookReceiver(t, p2.Env)
		ep2 := createEndpoint(t, p2.admin, rcv2.url, client.WebhookEventTypeConversationLinked, client.WebhookEventTypeConversationQualified)
		rcv2.set(http.StatusOK, ep2.Secret)
		c, err := p2.admin.CreateContactWithResponse(ctx, nil, client.CreateContactJSONRequestBody{Name: "João José"})
		require.NoError(t, err)
		p2.fire(t, sim.Shortcut{Type: "conversation.started", Phone: "+5547991239999"})
		conv := p2.conversationOf(t, "+5547991239999")
		link, err := p2.admin.LinkConversationWithResponse(ctx, conv.Id, nil, client.ConversationLinkUpdate{
			Contact: nullable.NewNullableWithValue(client.ContactTarget{Id: &c.JSON201.Id})})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, link.StatusCode(), string(link.Body))
		deliverAll(t, p2.Env)
		results, err := p2.admin.ListResultsWithResponse(ctx, nil)
		require.NoError(t, err)
		q, err := p2.admin.QualifyConversationWithResponse(ctx, conv.Id, nil, client.QualificationCreate{ResultId: results.JSON200.Data[0].Id})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, q.StatusCode(), string(q.Body))
		deliverAll(t, p2.Env)
		require.Equal(t, []string{"conversation.linked", "conversation.qualified"}, rcv2.types())
		var linked, qualified outbound.ConversationData
		require.NoError(t, json.Unmarshal(rcv2.got()[0].event.Data, &linked))
		require.NoError(t, json.Unmarshal(rcv2.got()[1].event.Data, &qualified))
		require.Equal(t, c.JSON201.Id, *linked.ContactID)
		require.Equal(t, conv.Id, qualified.ConversationID)
		require.Equal(t, results.JSON200.Data[0].Id, *qualified.ResultID)
		require.NotNil(t, qualified.InteractionID)
	})
}

// A receiver that hangs holds only its share of a deliverer's send slots: another endpoint's deliveries all
// go out while it hangs.
func TestHangingEndpointDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		tenantID := mustMe(t, env.Client(env.AdminKey)).Tenant.Id
		release := make(chan struct{})
		var once sync.Once
		unblock := func() { once.Do(func() { close(release) }) }
		stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() {
			unblock()
			stuck.Close()
		})
		healthy := newHookReceiver(t, env)
		slow := createEndpoint(t, env.Client(env.AdminKey), stuck.URL, client.WebhookEventTypeTicketCreated)
		fast := createEndpoint(t, env.Client(env.AdminKey), healthy.url, client.WebhookEventTypeTicketCreated)
		healthy.set(http.StatusOK, fast.Secret)
		var evs []outbound.Event
		for i := range 40 {
			evs = append(evs, outbound.Event{TenantID: tenantID, Type: outbound.TicketCreated, At: env.Clock.Now(),
				Data: outbound.TicketData{TicketID: uuid.Must(uuid.NewV7()), ExternalCode: fmt.Sprint("OS-", i), Status: "open"}})
		}
		require.NoError(t, env.App.Outbound.Publish(ctx, env.App.DB, evs...))

		d := env.App.Outbound.NewDeliverer(outbound.DelivererOptions{Sends: 8, Timeout: time.Minute, Tick: 10 * time.Millisecond})
		d.Start(ctx)
		require.Eventually(t, func() bool { return len(healthy.got()) == 40 }, 30*time.Second, 10*time.Millisecond,
			"the healthy endpoint got %d of 40 while the other hangs", len(healthy.got()))
		list, err := env.Client(env.AdminKey).ListWebhookDeliveriesWithResponse(ctx, slow.Id, &client.ListWebhookDeliveriesParams{
			Status: ptr(client.WebhookDeliveryStatusPending), Limit: ptr(100)})
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 40, "the hanging endpoint's deliveries are all still pending")
		unblock()
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		d.Stop(stopCtx)
	})
}

// A call the agent qualifies while it is still up ends with the qualification: call.ended goes out then, once,
// and telephony's late "ended" adds nothing.
func TestQualifyingALiveCallEndsIt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		d := newDialerEnv(t, dialect, everyDay)
		rcv := newHookReceiver(t, d.Env)
		ep := createEndpoint(t, d.admin, rcv.url, client.WebhookEventTypeCallEnded)
		rcv.set(http.StatusOK, ep.Secret)
		d.customer(t, "+5547991234567")
		require.Equal(t, 1, d.run(t))
		call := d.sessionNow(t).Call.MustGet()
		r, err := d.admin.ReportCallEventWithResponse(ctx, call.Id, client.CallEventCreate{Event: client.CallEventCreateEventAnswered})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		q, err := d.agent.QualifyCallWithResponse(ctx, call.Id, nil, client.QualificationCreate{ResultId: resultID(t, d.admin, "callback_scheduled")})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, q.StatusCode(), string(q.Body))
		late, err := d.admin.ReportCallEventWithResponse(ctx, call.Id, client.CallEventCreate{Event: client.CallEventCreateEventEnded})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, late.StatusCode(), string(late.Body))
		deliverAll(t, d.Env)
		require.Equal(t, []string{"call.ended"}, rcv.types())
		var ended outbound.CallData
		require.NoError(t, json.Unmarshal(rcv.got()[0].event.Data, &ended))
		require.Equal(t, call.Id, ended.CallID)
		require.Equal(t, "answered", *ended.Outcome)
	})
}

// A WhatsApp message that cannot be sent for want of a phone is reported failed as it is written.
func TestMessageWithoutPhoneIsReportedFailed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		rcv := newHookReceiver(t, e.Env)
		ep := createEndpoint(t, e.admin, rcv.url, client.WebhookEventTypeMessageStatus)
		rcv.set(http.StatusOK, ep.Secret)
		open := e.deliver(t, "evt-1", map[string]any{"external_code": "OS-9", "version": 1, "status": "ABERTA",
			"customer": map[string]any{"name": "Sem Telefone"}})
		require.Equal(t, http.StatusOK, open.StatusCode(), string(open.Body))
		deliverAll(t, e.Env)
		require.Equal(t, []string{"message.status"}, rcv.types())
		var m outbound.MessageStatusData
		require.NoError(t, json.Unmarshal(rcv.got()[0].event.Data, &m))
		require.Equal(t, "failed", m.Status)
		require.Equal(t, "no_phone", *m.ErrorCode)
		require.Equal(t, "Não possui telefone para envio de mensagem", *m.ErrorMessage)
		require.Nil(t, m.To)
	})
}
