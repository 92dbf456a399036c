package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

const joaoPhone = "+5547991234567"

// plinxEnv is atende with a Plinx simulator delivering webhooks to it over loopback.
type plinxEnv struct {
	*apitest.Env
	sim      *sim.Server
	tenantID uuid.UUID
	secret   string
	admin    *client.ClientWithResponses
}

func newPlinxEnv(t *testing.T, dialect store.Dialect) *plinxEnv {
	t.Helper()
	env := apitest.New(t, dialect)
	simulator := sim.New(sim.Options{Now: env.Clock.Now})
	t.Cleanup(simulator.Close)
	srv := httptest.NewServer(simulator)
	t.Cleanup(srv.Close)

	admin := env.Client(env.AdminKey)
	secret := webhook.NewSecret()
	put, err := admin.UpdatePlinxSettingsWithResponse(context.Background(), nil, client.PlinxSettingsUpdate{
		BaseUrl: nullable.NewNullableWithValue(srv.URL), Token: nullable.NewNullableWithValue(simulator.Token()),
		WebhookSecret: nullable.NewNullableWithValue(secret),
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, put.StatusCode(), string(put.Body))
	require.True(t, put.JSON200.WebhookSecretSet)
	require.NotContains(t, string(put.Body), secret, "secrets are write-only")

	me := mustMe(t, admin)
	_, err = simulator.SetWebhook(sim.WebhookConfig{URL: env.URL + put.JSON200.WebhookUrl, Secret: secret})
	require.NoError(t, err)
	return &plinxEnv{Env: env, sim: simulator, tenantID: me.Tenant.Id, secret: secret, admin: admin}
}

// fire makes the simulator deliver an event and requires atende to accept it.
func (p *plinxEnv) fire(t *testing.T, sc sim.Shortcut) sim.Delivery {
	t.Helper()
	d, err := p.sim.Fire(context.Background(), sc)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.StatusCode, "atende refused %s: %s", sc.Type, d.Error)
	return d
}

func (p *plinxEnv) conversationOf(t *testing.T, number string) client.Conversation {
	t.Helper()
	list, err := p.admin.ListConversationsWithResponse(context.Background(), &client.ListConversationsParams{Phone: &number})
	require.NoError(t, err)
	require.Len(t, list.JSON200.Data, 1)
	return list.JSON200.Data[0]
}

// seedRecords builds the seed's situation: buyer João José buys for Plinx Tecnologia and Eox Tecnologia; his
// phone is linked to Plinx Tecnologia and to him.
func seedRecords(t *testing.T, c *client.ClientWithResponses) (plinxCo, eoxCo, joao uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	p, err := c.CreateCompanyWithResponse(ctx, nil, client.CreateCompanyJSONRequestBody{
		LegalName: "Plinx Tecnologia LTDA-ME", Phones: &[]string{"+55 47 99123-4567"},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, p.StatusCode(), string(p.Body))
	e, err := c.CreateCompanyWithResponse(ctx, nil, client.CreateCompanyJSONRequestBody{LegalName: "Eox Tecnologia Ltda"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, e.StatusCode(), string(e.Body))
	j, err := c.CreateContactWithResponse(ctx, nil, client.CreateContactJSONRequestBody{
		Name: "João José", JobTitle: ptr("Comprador"), Phones: &[]string{"(47) 99123-4567"},
		CompanyIds: &[]uuid.UUID{p.JSON201.Id, e.JSON201.Id},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, j.StatusCode(), string(j.Body))
	return p.JSON201.Id, e.JSON201.Id, j.JSON201.Id
}

// The seed's example: João's conversation is about Eox, but his phone links it to Plinx Tecnologia. The agent
// re-links it to Eox before qualifying, and the history lands on Eox, not on Plinx Tecnologia.
func TestRelinkBeforeQualifyingPutsTheHistoryOnTheRightCompany(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		for _, inline := range []bool{false, true} {
			p := newPlinxEnv(t, dialect)
			ctx := context.Background()
			plinxCo, eoxCo, joao := seedRecords(t, p.admin)
			agentID, agentKey := p.NewUser(p.AdminKey, client.RoleAgent)
			agent := p.Client(agentKey)

			p.fire(t, sim.Shortcut{Type: "conversation.started", Phone: joaoPhone, Agent: "Ana (Plinx)"})
			p.fire(t, sim.Shortcut{Type: "message.created", Phone: joaoPhone, Text: "Bom dia, sobre o pedido da Eox Tecnologia..."})
			conv := p.conversationOf(t, "4799123-4567")
			require.Equal(t, client.ConversationStatusOpen, conv.Status)
			require.Equal(t, plinxCo, conv.Link.Company.MustGet().Id, "linked on creation to the company sharing the phone")
			require.Equal(t, joao, conv.Link.Contact.MustGet().Id)

			related, err := agent.GetConversationRelatedWithResponse(ctx, conv.Id)
			require.NoError(t, err)
			require.Len(t, related.JSON200.Companies, 1)
			require.Equal(t, "Plinx Tecnologia LTDA-ME", related.JSON200.Companies[0].Name)
			require.Len(t, related.JSON200.Contacts, 1)

			msgs, err := agent.ListConversationMessagesWithResponse(ctx, conv.Id, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, msgs.StatusCode(), string(msgs.Body))
			require.Len(t, msgs.JSON200.Data, 1)
			require.Equal(t, "Bom dia, sobre o pedido da Eox Tecnologia...", msgs.JSON200.Data[0].Text.MustGet())

			// The agent finds Eox through the company search, or creates it inline, and re-links.
			body := client.ConversationLinkUpdate{Contact: nullable.NewNullableWithValue(client.ContactTarget{Id: &joao})}
			if inline {
				body.Company = nullable.NewNullableWithValue(client.CompanyTarget{New: &client.CompanyCreate{LegalName: "Eox Tecnologia Filial SC"}})
			} else {
				found, err := agent.ListCompaniesWithResponse(ctx, &client.ListCompaniesParams{Q: ptr("eox")})
				require.NoError(t, err)
				require.Len(t, found.JSON200.Data, 1)
				body.Company = nullable.NewNullableWithValue(client.CompanyTarget{Id: &found.JSON200.Data[0].Id})
			}
			linked, err := agent.LinkConversationWithResponse(ctx, conv.Id, nil, body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, linked.StatusCode(), string(linked.Body))
			target := linked.JSON200.Link.Company.MustGet()
			if inline {
				require.Equal(t, "Eox Tecnologia Filial SC", target.Name)
				phones, err := agent.ListPhonesWithResponse(ctx, &client.ListPhonesParams{Number: ptr(joaoPhone)})
				require.NoError(t, err)
				names := []string{}
				for _, l := range phones.JSON200.Data[0].Links {
					names = append(names, l.Name)
				}
				require.Contains(t, names, "Eox Tecnologia Filial SC", "a company created inline gets the conversation's phone")
			} else {
				require.Equal(t, eoxCo, target.Id)
			}

			results, err := agent.ListResultsWithResponse(ctx, nil)
			require.NoError(t, err)
			var resultID uuid.UUID
			for _, r := range results.JSON200.Data {
				if r.Code == "callback_scheduled" {
					resultID = r.Id
				}
			}
			followUp := apitest.Epoch.Add(48 * time.Hour)
			q, err := agent.QualifyConversationWithResponse(ctx, conv.Id, nil, client.QualificationCreate{
				ResultId: resultID, Notes: ptr("Pedido da Eox confirmado."), FollowUpAt: &followUp,
			})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, q.StatusCode(), string(q.Body))
			it := q.JSON201.Interaction
			require.Equal(t, client.OriginWhatsapp, it.Origin)
			require.Equal(t, client.ChannelWhatsapp, it.Channel)
			require.Equal(t, target.Id, it.CompanyId.MustGet())
			require.Equal(t, joao, it.ContactId.MustGet())
			require.Equal(t, conv.Id, it.ConversationId.MustGet())
			require.Equal(t, agentID, it.AgentId.MustGet())
			require.True(t, it.FollowUpId.IsSpecified() && !it.FollowUpId.IsNull(), "the follow-up is scheduled")

			onTarget, err := agent.ListCompanyInteractionsWithResponse(ctx, target.Id, nil)
			require.NoError(t, err)
			require.Len(t, onTarget.JSON200.Data, 1)
			onPlinx, err := agent.ListCompanyInteractionsWithResponse(ctx, plinxCo, nil)
			require.NoError(t, err)
			require.Empty(t, onPlinx.JSON200.Data, "nothing lands on Plinx Tecnologia")
			convOnTarget, err := agent.ListCompanyConversationsWithResponse(ctx, target.Id, nil)
			require.NoError(t, err)
			require.Len(t, convOnTarget.JSON200.Data, 1)
			convOnPlinx, err := agent.ListCompanyConversationsWithResponse(ctx, plinxCo, nil)
			require.NoError(t, err)
			require.Empty(t, convOnPlinx.JSON200.Data)

			history, err := agent.ListConversationLinkHistoryWithResponse(ctx, conv.Id)
			require.NoError(t, err)
			require.Len(t, history.JSON200.Data, 2)
			require.Equal(t, client.LinkChangeReasonAutomatic, history.JSON200.Data[0].Reason)
			manual := history.JSON200.Data[1]
			require.Equal(t, client.LinkChangeReasonManual, manual.Reason)
			require.Equal(t, agentID, manual.ActorId.MustGet())
			require.Equal(t, plinxCo, manual.From.CompanyId.MustGet())
			require.Equal(t, target.Id, manual.To.CompanyId.MustGet())

			// After qualification the link is frozen, and qualifying again is refused.
			again, err := agent.LinkConversationWithResponse(ctx, conv.Id, nil, client.ConversationLinkUpdate{
				Company: nullable.NewNullableWithValue(client.CompanyTarget{Id: &plinxCo}),
			})
			require.NoError(t, err)
			require.Equal(t, http.StatusConflict, again.StatusCode())
			twice, err := agent.QualifyConversationWithResponse(ctx, conv.Id, nil, client.QualificationCreate{ResultId: resultID})
			require.NoError(t, err)
			require.Equal(t, http.StatusConflict, twice.StatusCode())
		}
	})
}

func TestRelinkRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		p := newPlinxEnv(t, dialect)
		ctx := context.Background()
		plinxCo, _, _ := seedRecords(t, p.admin)
		// A second company on the same phone: the conversation links no company and lets the agent choose.
		_, err := p.admin.CreateCompanyWithResponse(ctx, nil, client.CreateCompanyJSONRequestBody{
			LegalName: "Grupo Plinx Holding", Phones: &[]string{joaoPhone},
		})
		require.NoError(t, err)
		p.fire(t, sim.Shortcut{Type: "conversation.started", Phone: joaoPhone})
		conv := p.conversationOf(t, joaoPhone)
		require.True(t, conv.Link.Company.IsNull(), "two companies share the phone: none is chosen")
		related, err := p.admin.GetConversationRelatedWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		require.Len(t, related.JSON200.Companies, 2)

		qualify, err := p.admin.QualifyConversationWithResponse(ctx, conv.Id, nil, client.QualificationCreate{ResultId: uuid.New()})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, qualify.StatusCode(), "an unknown result is refused first")

		bad, err := p.admin.LinkConversationWithResponse(ctx, conv.Id, nil, client.ConversationLinkUpdate{
			Company: nullable.NewNullableWithValue(client.CompanyTarget{Id: &plinxCo, New: &client.CompanyCreate{LegalName: "X"}}),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, bad.StatusCode(), "id and new together are refused")
		unknown, err := p.admin.LinkConversationWithResponse(ctx, conv.Id, nil, client.ConversationLinkUpdate{
			Company: nullable.NewNullableWithValue(client.CompanyTarget{Id: ptr(uuid.New())}),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, unknown.StatusCode())
		invalid, err := p.admin.LinkConversationWithResponse(ctx, conv.Id, nil, client.ConversationLinkUpdate{
			Contact: nullable.NewNullableWithValue(client.ContactTarget{New: &client.ContactCreate{Name: " "}}),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, invalid.StatusCode())
		require.Equal(t, "contact.new.name", (*invalid.ApplicationproblemJSON400.Errors)[0].Field)

		got, err := p.admin.GetConversationWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		tag := got.HTTPResponse.Header.Get("ETag")
		ok, err := p.admin.LinkConversationWithResponse(ctx, conv.Id, &client.LinkConversationParams{IfMatch: &tag},
			client.ConversationLinkUpdate{Company: nullable.NewNullableWithValue(client.CompanyTarget{Id: &plinxCo})})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
		stale, err := p.admin.LinkConversationWithResponse(ctx, conv.Id, &client.LinkConversationParams{IfMatch: &tag},
			client.ConversationLinkUpdate{})
		require.NoError(t, err)
		require.Equal(t, http.StatusPreconditionFailed, stale.StatusCode())

		// Nothing linked: qualification is refused.
		none, err := p.admin.LinkConversationWithResponse(ctx, conv.Id, nil, client.ConversationLinkUpdate{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, none.StatusCode())
		require.True(t, none.JSON200.Link.Company.IsNull())
		results, err := p.admin.ListResultsWithResponse(ctx, nil)
		require.NoError(t, err)
		q, err := p.admin.QualifyConversationWithResponse(ctx, conv.Id, nil, client.QualificationCreate{ResultId: results.JSON200.Data[0].Id})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, q.StatusCode())
	})
}

// Deliveries replayed, badly signed, stale or meant for another tenant change nothing.
func TestPlinxWebhookSecurity(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		p := newPlinxEnv(t, dialect)
		ctx := context.Background()
		p.fire(t, sim.Shortcut{Type: "conversation.started", Phone: joaoPhone})
		d := p.fire(t, sim.Shortcut{Type: "message.created", Phone: joaoPhone, Text: "Olá"})
		state := func() (int, int) {
			conv := p.conversationOf(t, joaoPhone)
			msgs, err := p.admin.ListConversationMessagesWithResponse(ctx, conv.Id, nil)
			require.NoError(t, err)
			return len(msgs.JSON200.Data), int(conv.UpdatedAt.UnixMicro())
		}
		before, beforeAt := state()
		require.Equal(t, 1, before)

		status, err := p.sim.Redeliver(ctx, d.WebhookID)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "a replay is acknowledged")
		last := p.sim.Deliveries()[len(p.sim.Deliveries())-1]
		require.Equal(t, d.WebhookID, last.WebhookID)

		body := []byte(`{"type": "message.created", "occurred_at": "2026-01-05T11:59:00Z",
			"conversation": {"id": "other", "phone": "+5547991234567"}, "message": {"id": "forged", "text": "x"}}`)
		url := "/v1/webhooks/plinx/" + p.tenantID.String()
		send := func(path, secret string, at time.Time, tamper func(map[string]string)) (*http.Response, []byte) {
			h, err := webhook.Headers(secret, webhook.NewID(), at, body)
			require.NoError(t, err)
			headers := map[string]string{}
			for k := range h {
				headers[k] = h.Get(k)
			}
			if tamper != nil {
				tamper(headers)
			}
			return p.Do(http.MethodPost, path, "", body, headers)
		}
		for name, try := range map[string]func() (*http.Response, []byte){
			"wrong secret": func() (*http.Response, []byte) { return send(url, webhook.NewSecret(), apitest.Epoch, nil) },
			"stale":        func() (*http.Response, []byte) { return send(url, p.secret, apitest.Epoch.Add(-6*time.Minute), nil) },
			"future":       func() (*http.Response, []byte) { return send(url, p.secret, apitest.Epoch.Add(6*time.Minute), nil) },
			"no signature": func() (*http.Response, []byte) {
				return send(url, p.secret, apitest.Epoch, func(h map[string]string) { h["Webhook-Signature"] = "" })
			},
			"tampered body": func() (*http.Response, []byte) {
				return send(url, p.secret, apitest.Epoch, func(h map[string]string) { h["Webhook-Id"] = "msg_other" })
			},
			"unknown tenant": func() (*http.Response, []byte) {
				return send("/v1/webhooks/plinx/"+uuid.NewString(), p.secret, apitest.Epoch, nil)
			},
			"other tenant": func() (*http.Response, []byte) {
				other := p.NewTenant("Outra")
				secret := webhook.NewSecret()
				resp, b := p.Do(http.MethodPut, "/v1/settings/plinx", other.AdminKey, []byte(`{"webhook_secret": "`+secret+`"}`), nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
				return send("/v1/webhooks/plinx/"+other.ID.String(), p.secret, apitest.Epoch, nil)
			},
		} {
			resp, b := try()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s: %s", name, b)
			p.Problem(resp, b, http.StatusUnauthorized)
		}
		after, afterAt := state()
		require.Equal(t, before, after, "no delivery changed anything")
		require.Equal(t, beforeAt, afterAt)
		list, err := p.admin.ListConversationsWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1, "the forged conversation was never created")
	})
}

// Events out of order or repeated never move a conversation or a message backwards.
func TestPlinxEventsOutOfOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		p := newPlinxEnv(t, dialect)
		ctx := context.Background()
		deliver := func(body string) {
			t.Helper()
			d, err := p.sim.FireWebhookBody(ctx, []byte(body))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, d.StatusCode, d.Error)
		}
		// The message arrives before the conversation's start; the close before a late start.
		deliver(`{"type":"message.created","occurred_at":"2026-01-05T11:10:00Z","conversation":{"id":"c1","phone":"+5547991234567"},"message":{"id":"m1","direction":"outbound","text":"Seu pedido saiu"}}`)
		deliver(`{"type":"conversation.closed","occurred_at":"2026-01-05T11:30:00Z","conversation":{"id":"c1","phone":"+5547991234567"}}`)
		deliver(`{"type":"conversation.started","occurred_at":"2026-01-05T11:00:00Z","conversation":{"id":"c1","phone":"+5547991234567","agent":"Ana"}}`)
		deliver(`{"type":"message.status","occurred_at":"2026-01-05T11:12:00Z","message":{"id":"m1","status":"read"}}`)
		deliver(`{"type":"message.status","occurred_at":"2026-01-05T11:11:00Z","message":{"id":"m1","status":"delivered"}}`)
		deliver(`{"type":"message.status","occurred_at":"2026-01-05T11:13:00Z","message":{"id":"m1","status":"failed","error_code":"131026"}}`)
		deliver(`{"type":"message.created","occurred_at":"2026-01-05T11:10:00Z","conversation":{"id":"c1","phone":"+5547991234567"},"message":{"id":"m1","direction":"outbound","text":"Seu pedido saiu"}}`)

		conv := p.conversationOf(t, joaoPhone)
		require.Equal(t, client.ConversationStatusClosed, conv.Status, "a late start does not reopen")
		require.Equal(t, "2026-01-05T11:00:00Z", conv.StartedAt.MustGet().UTC().Format(time.RFC3339))
		require.Equal(t, "2026-01-05T11:30:00Z", conv.ClosedAt.MustGet().UTC().Format(time.RFC3339))
		require.Equal(t, "Ana", conv.PlinxAgent.MustGet())
		msgs, err := p.admin.ListConversationMessagesWithResponse(ctx, conv.Id, nil)
		require.NoError(t, err)
		require.Len(t, msgs.JSON200.Data, 1, "the same message twice is stored once")
		require.Equal(t, client.MessageStatusRead, msgs.JSON200.Data[0].Status.MustGet(), "statuses only move forward")
	})
}
