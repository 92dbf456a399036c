package httpapi_test

// Tests driven by the contract itself: they walk every operation in api/openapi.yaml, so operations added
// later are covered without editing them.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/httpapi"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

// publicOperations are public by design; every other operation must need a key or a webhook signature.
var publicOperations = []string{"getHealth", "getReadiness", "getMetrics", "getOpenAPISpec", "getDocs", "getPublicTicket"}

// signedWebhookExtension marks operations authenticated by a webhook signature instead of an API key.
const signedWebhookExtension = httpapi.SignedWebhookExtension

type contractOp struct {
	path   string
	method string
	op     *openapi3.Operation
}

func contractOps(t *testing.T) []contractOp {
	doc := apitest.Contract(t)
	var ops []contractOp
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, contractOp{path: path, method: method, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		// DELETE last, so the other methods still find the object.
		return methodOrder(ops[i].method) < methodOrder(ops[j].method)
	})
	require.NotEmpty(t, ops)
	return ops
}

// streams reports whether the operation answers with an event stream, which stays open.
func (o contractOp) streams() bool {
	ok := o.op.Responses.Status(http.StatusOK)
	return ok != nil && ok.Value != nil && ok.Value.Content.Get("text/event-stream") != nil
}

func methodOrder(m string) int {
	if m == http.MethodDelete {
		return 1
	}
	return 0
}

func (o contractOp) security(doc *openapi3.T) openapi3.SecurityRequirements {
	if o.op.Security != nil {
		return *o.op.Security
	}
	return doc.Security
}

func (o contractOp) roles() []client.Role {
	raw, _ := o.op.Extensions[httpapi.RolesExtension].([]any)
	out := make([]client.Role, 0, len(raw))
	for _, r := range raw {
		out = append(out, client.Role(r.(string)))
	}
	return out
}

func (o contractOp) signed() bool {
	signed, _ := o.op.Extensions[signedWebhookExtension].(bool)
	return signed
}

func (o contractOp) usesAPIKey(doc *openapi3.T) bool {
	for _, req := range o.security(doc) {
		if _, ok := req["apiKey"]; ok {
			return true
		}
	}
	return false
}

// exampleBody is the request body example of the operation, or nil when it takes no body.
func (o contractOp) exampleBody(t *testing.T) []byte {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil {
		return nil
	}
	mt := o.op.RequestBody.Value.Content.Get("application/json")
	if mt == nil {
		return nil
	}
	require.NotNil(t, mt.Example, "%s %s: the request body needs an example", o.method, o.path)
	b, err := json.Marshal(mt.Example)
	require.NoError(t, err)
	return b
}

var pathParamRe = regexp.MustCompile(`\{[^}]+\}`)

// withRandomIDs fills every path parameter with a fresh id.
func withRandomIDs(path string) string {
	return pathParamRe.ReplaceAllStringFunc(path, func(string) string { return uuid.NewString() })
}

func TestEveryOperationOutsideThePublicOnesNeedsAKey(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, store.SQLite)
	doc := apitest.Contract(t)
	for _, o := range contractOps(t) {
		name := o.method + " " + o.path
		if len(o.security(doc)) == 0 {
			signed, _ := o.op.Extensions[signedWebhookExtension].(bool)
			require.True(t, slices.Contains(publicOperations, o.op.OperationID) || signed,
				"%s (%s) is public: add security, or mark it as a signed webhook", name, o.op.OperationID)
			if !signed {
				continue
			}
		}
		path := withRandomIDs(o.path)
		resp, body := env.Do(o.method, path, "", o.exampleBody(t), nil)
		p := env.Problem(resp, body, http.StatusUnauthorized)
		require.Equal(t, "urn:atende:problem:unauthorized", p.Type, name)
		if !o.usesAPIKey(doc) {
			continue
		}
		resp, body = env.Do(o.method, path, "atd_"+strings.Repeat("0", 48), o.exampleBody(t), nil)
		env.Problem(resp, body, http.StatusUnauthorized)
		resp, body = env.Do(o.method, path, "", o.exampleBody(t), map[string]string{"Authorization": "Basic dXNlcjpwYXNz"})
		env.Problem(resp, body, http.StatusUnauthorized)
	}
}

func TestEveryOperationRefusesRolesItDoesNotList(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, store.SQLite)
	doc := apitest.Contract(t)
	keys := roleKeys(env, env.AdminKey)
	checked := 0
	for _, o := range contractOps(t) {
		if !o.usesAPIKey(doc) {
			continue
		}
		roles := o.roles()
		require.NotEmpty(t, roles, "%s %s: list its roles in %s", o.method, o.path, httpapi.RolesExtension)
		for role, key := range keys {
			if slices.Contains(roles, role) {
				continue
			}
			resp, body := env.Do(o.method, withRandomIDs(o.path), key, o.exampleBody(t), nil)
			p := env.Problem(resp, body, http.StatusForbidden)
			require.Contains(t, *p.Detail, string(role), "%s %s", o.method, o.path)
			checked++
		}
	}
	require.Positive(t, checked, "some operation must be closed to some role")
}

func TestEveryOperationOnAnIDIsTenantIsolated(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		alpha, beta := env.NewTenant("Alpha"), env.NewTenant("Beta")
		alphaKeys, betaKeys := roleKeys(env, alpha.AdminKey), roleKeys(env, beta.AdminKey)
		ops := contractOps(t)
		fx := &fixtures{t: t, env: env, ops: ops, keys: alphaKeys, made: map[string]string{}}

		byPath := map[string][]contractOp{}
		var paths []string
		for _, o := range ops {
			if !strings.Contains(o.path, "{") || o.signed() || slices.Contains(publicOperations, o.op.OperationID) {
				continue // signed webhooks name their tenant in the path and prove it by signature; public pages have no tenant
			}
			if _, ok := byPath[o.path]; !ok {
				paths = append(paths, o.path)
			}
			byPath[o.path] = append(byPath[o.path], o)
		}
		sort.Strings(paths)
		require.NotEmpty(t, paths)
		for _, path := range paths {
			concrete := fx.resolve(path)
			get := findOp(byPath[path], http.MethodGet)
			var before []byte
			if get != nil && get.streams() {
				get = nil // an event stream does not end; another tenant still gets 404 below
			}
			if get != nil {
				resp, body := env.Do(http.MethodGet, concrete, alphaKeys[get.roles()[0]], nil, nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s as its owner: %s", path, body)
				before = body
			}
			for _, o := range byPath[path] {
				resp, body := env.Do(o.method, concrete, betaKeys[o.roles()[0]], o.exampleBody(t), nil)
				p := env.Problem(resp, body, http.StatusNotFound)
				require.Equal(t, "urn:atende:problem:not-found", p.Type, "%s %s from another tenant", o.method, path)
			}
			if get != nil {
				resp, after := env.Do(http.MethodGet, concrete, alphaKeys[get.roles()[0]], nil, nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.JSONEq(t, string(before), string(after), "another tenant's requests changed %s", path)
			}
		}
	})
}

func TestEveryJSONBodyRejectsMalformedInput(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, store.SQLite)
	keys := roleKeys(env, env.AdminKey)
	keys[""] = apitest.OperatorKey
	doc := apitest.Contract(t)
	for _, o := range contractOps(t) {
		example := o.exampleBody(t)
		if example == nil || o.signed() {
			continue // a signed webhook's signature is checked before its body
		}
		key := apitest.OperatorKey
		if o.usesAPIKey(doc) {
			key = keys[o.roles()[0]]
		}
		path := withRandomIDs(o.path)
		name := o.method + " " + o.path
		var obj map[string]any
		require.NoError(t, json.Unmarshal(example, &obj))
		obj["surely_not_a_field"] = 1
		unknown, _ := json.Marshal(obj)

		for label, body := range map[string]string{
			"truncated": `{"name":`, "array": `[]`, "string": `"x"`, "null": `null`, "number": `42`,
			"deep":          strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000),
			"unknown field": string(unknown),
		} {
			resp, b := env.Do(o.method, path, key, []byte(body), nil)
			require.Less(t, resp.StatusCode, 500, "%s with a %s body: %s", name, label, b)
			p := env.Problem(resp, b, http.StatusBadRequest)
			require.NotEmpty(t, *p.Errors, "%s with a %s body must name the field", name, label)
			if label == "unknown field" {
				require.Contains(t, string(b), "surely_not_a_field", name)
			}
		}
		resp, b := env.Do(o.method, path, key, example, map[string]string{"Content-Type": "text/plain"})
		env.Problem(resp, b, http.StatusUnsupportedMediaType)

		// Mass assignment: fields the server owns are refused by name, never taken from the client.
		for _, owned := range []string{"tenant_id", "id", "created_by", "created_at", "updated_at", "version"} {
			if _, ok := obj[owned]; ok {
				continue
			}
			var with map[string]any
			require.NoError(t, json.Unmarshal(example, &with))
			with[owned] = uuid.NewString()
			body, _ := json.Marshal(with)
			resp, b := env.Do(o.method, path, key, body, nil)
			env.Problem(resp, b, http.StatusBadRequest)
			require.Contains(t, string(b), owned, "%s with %s set by the client", name, owned)
		}
	}
}

func findOp(ops []contractOp, method string) *contractOp {
	for i := range ops {
		if ops[i].method == method {
			return &ops[i]
		}
	}
	return nil
}

// roleKeys returns a key per role in the tenant of adminKey.
func roleKeys(env *apitest.Env, adminKey string) map[client.Role]string {
	keys := map[client.Role]string{client.RoleAdmin: adminKey}
	for _, r := range []client.Role{client.RoleSupervisor, client.RoleAgent, client.RoleIntegration} {
		_, keys[r] = env.NewUser(adminKey, r)
	}
	return keys
}

// fixtures creates, through the API, the objects a path's ids point to, by POSTing the collection's
// request example; nested paths resolve their parents first.
type fixtures struct {
	t    *testing.T
	env  *apitest.Env
	ops  []contractOp
	keys map[client.Role]string
	made map[string]string // path template prefix -> concrete path
	// dialing holds the dialer's fixtures once made.
	dialing *dialerFixtures
	// ticketing holds the tickets' fixtures once made.
	ticketing *ticketFixture
}

func (f *fixtures) resolve(template string) string {
	loc := pathParamRe.FindAllStringIndex(template, -1)
	concrete := template
	for _, l := range loc {
		prefix := template[:l[1]]
		if c, ok := f.made[prefix]; ok {
			concrete = c + template[l[1]:]
			continue
		}
		collectionTemplate := strings.TrimSuffix(template[:l[0]], "/")
		collection := f.concretePrefix(collectionTemplate)
		if make, ok := fixtureMakers[collectionTemplate]; ok {
			f.made[prefix] = collection + "/" + make(f, collection)
			concrete = f.made[prefix] + template[l[1]:]
			continue
		}
		create := f.findCreate(collectionTemplate)
		require.NotNil(f.t, create, "no POST %s with a request example to create a fixture for %s; add one or a fixture here",
			collectionTemplate, template)
		resp, body := f.env.Do(http.MethodPost, collection, f.keys[create.roles()[0]], create.exampleBody(f.t), nil)
		require.Equal(f.t, http.StatusCreated, resp.StatusCode, "create fixture POST %s: %s", collection, body)
		var obj struct {
			ID string `json:"id"`
		}
		require.NoError(f.t, json.Unmarshal(body, &obj))
		require.NotEmpty(f.t, obj.ID, "POST %s must answer the created object's id", collection)
		f.made[prefix] = collection + "/" + obj.ID
		concrete = f.made[prefix] + template[l[1]:]
	}
	return f.concretePrefix(concrete)
}

// post creates an object with body in the fixture tenant and returns its id.
func (f *fixtures) post(path string, body string) string {
	resp, b := f.env.Do(http.MethodPost, path, f.keys[client.RoleAdmin], []byte(body), nil)
	require.Equal(f.t, http.StatusCreated, resp.StatusCode, "create fixture POST %s: %s", path, b)
	var obj struct {
		ID string `json:"id"`
	}
	require.NoError(f.t, json.Unmarshal(b, &obj))
	return obj.ID
}

// fixtureMakers create the objects whose collection's request example cannot stand alone (it points at
// other objects, or the collection is fed some other way). They return the new object's id.
var fixtureMakers = map[string]func(f *fixtures, collection string) string{
	// A delivery is an event of the tenant an endpoint subscribed to: publish one of every type.
	"/v1/webhook-endpoints/{id}/deliveries": func(f *fixtures, collection string) string {
		var me struct {
			Tenant struct {
				ID uuid.UUID `json:"id"`
			} `json:"tenant"`
		}
		_, b := f.env.Do(http.MethodGet, "/v1/me", f.keys[client.RoleAdmin], nil, nil)
		require.NoError(f.t, json.Unmarshal(b, &me))
		id, phone := uuid.Must(uuid.NewV7()), "+5547991234567"
		data := map[string]any{
			outbound.ConversationCreated: outbound.ConversationData{ConversationID: id, PlinxConversationID: "conv-1", Phone: phone, Status: "open"},
			outbound.DialerPromptCreated: outbound.PromptData{PromptID: id, EntryID: id, CampaignID: id, SessionID: id, AgentID: id,
				Number: phone, Text: "Cliente com conversa ativa via WhatsApp. Deseja pausar o discador?", ExpiresAt: f.env.Clock.Now()},
			outbound.CallCreated:   outbound.CallData{CallID: id, EntryID: id, CampaignID: id, AgentID: id, Number: phone, Attempt: 1, Status: "created"},
			outbound.TicketCreated: outbound.TicketData{TicketID: id, IntegrationID: id, ExternalCode: "OS-1", ExternalStatus: "ABERTA", Status: "open", Version: 1},
			outbound.MessageStatus: outbound.MessageStatusData{MessageID: id, TicketID: id, Template: "abertura_chamado", Status: "read"},
		}
		data[outbound.ConversationLinked], data[outbound.ConversationQualified] = data[outbound.ConversationCreated], data[outbound.ConversationCreated]
		data[outbound.CallEnded], data[outbound.TicketUpdated] = data[outbound.CallCreated], data[outbound.TicketCreated]
		var evs []outbound.Event
		for _, typ := range outbound.EventTypes {
			evs = append(evs, outbound.Event{TenantID: me.Tenant.ID, Type: typ, At: f.env.Clock.Now(), Data: data[typ]})
		}
		require.NoError(f.t, f.env.App.Outbound.Publish(context.Background(), f.env.App.DB, evs...))
		resp, b := f.env.Do(http.MethodGet, collection, f.keys[client.RoleAdmin], nil, nil)
		require.Equal(f.t, http.StatusOK, resp.StatusCode, "list deliveries: %s", b)
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		require.NoError(f.t, json.Unmarshal(b, &list))
		require.NotEmpty(f.t, list.Data, "the endpoint fixture subscribes to no event type")
		return list.Data[0].ID
	},
	"/v1/interactions": func(f *fixtures, _ string) string {
		contact := f.post("/v1/contacts", `{"name": "Fixture"}`)
		return f.post("/v1/interactions", `{"channel": "phone", "result": "no_answer", "contact_id": "`+contact+`"}`)
	},
	"/v1/follow-ups": func(f *fixtures, _ string) string {
		contact := f.post("/v1/contacts", `{"name": "Fixture"}`)
		return f.post("/v1/follow-ups", `{"contact_id": "`+contact+`", "due_at": "2026-02-01T12:00:00Z"}`)
	},
	"/v1/imports": func(f *fixtures, _ string) string {
		resp, b := f.env.Do(http.MethodPost, "/v1/imports/contacts", f.keys[client.RoleAdmin], []byte("nome;telefone\nAna;47991234567\n"),
			map[string]string{"Content-Type": "text/csv"})
		require.Equal(f.t, http.StatusCreated, resp.StatusCode, "import fixture: %s", b)
		var obj struct {
			ID string `json:"id"`
		}
		require.NoError(f.t, json.Unmarshal(b, &obj))
		return obj.ID
	},
	// Conversations come from Plinx: configure the tenant's webhook secret and deliver a signed event.
	"/v1/conversations": func(f *fixtures, _ string) string {
		secret := webhook.NewSecret()
		resp, b := f.env.Do(http.MethodPut, "/v1/settings/plinx", f.keys[client.RoleAdmin], []byte(`{"webhook_secret": "`+secret+`"}`), nil)
		require.Equal(f.t, http.StatusOK, resp.StatusCode, "configure webhooks: %s", b)
		var me struct {
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		}
		_, b = f.env.Do(http.MethodGet, "/v1/me", f.keys[client.RoleAdmin], nil, nil)
		require.NoError(f.t, json.Unmarshal(b, &me))
		body := []byte(`{"type": "conversation.started", "occurred_at": "2026-01-05T11:00:00Z",
			"conversation": {"id": "fixture-conversation", "phone": "+5547991110000"}}`)
		h, err := webhook.Headers(secret, webhook.NewID(), apitest.Epoch, body)
		require.NoError(f.t, err)
		headers := map[string]string{}
		for k := range h {
			headers[k] = h.Get(k)
		}
		resp, b = f.env.Do(http.MethodPost, "/v1/webhooks/plinx/"+me.Tenant.ID, "", body, headers)
		require.Equal(f.t, http.StatusOK, resp.StatusCode, "deliver webhook: %s", b)
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		_, b = f.env.Do(http.MethodGet, "/v1/conversations", f.keys[client.RoleAdmin], nil, nil)
		require.NoError(f.t, json.Unmarshal(b, &list))
		require.Len(f.t, list.Data, 1)
		return list.Data[0].ID
	},
	"/v1/campaigns/{id}/entries": func(f *fixtures, collection string) string {
		resp, b := f.env.Do(http.MethodPost, collection, f.keys[client.RoleAdmin], []byte(`{"entries": [{"number": "+5547991239999"}]}`), nil)
		require.Equal(f.t, http.StatusCreated, resp.StatusCode, "entry fixture: %s", b)
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		require.NoError(f.t, json.Unmarshal(b, &list))
		require.Len(f.t, list.Data, 1)
		return list.Data[0].ID
	},
	// The dialer's sessions, prompts and calls come from a running campaign and the worker.
	"/v1/dialer/sessions": func(f *fixtures, _ string) string { return f.dialer().session },
	"/v1/dialer/prompts":  func(f *fixtures, _ string) string { return f.dialer().prompt },
	"/v1/calls":           func(f *fixtures, _ string) string { return f.dialer().call },
	// Tickets come from an integration's events; an external code is named in the upsert's path.
	"/v1/integrations/{id}/tickets": func(f *fixtures, _ string) string { return "FIX-1" },
	"/v1/tickets":                   func(f *fixtures, _ string) string { return f.ticket().ticket },
	// A template message: the ticket's customer has no phone, so it is written failed at once.
	"/v1/messages": func(f *fixtures, _ string) string { return f.ticket().message },
	// A portfolio's members are named by the contact's id, and a contact's portfolios by the portfolio's.
	"/v1/portfolios/{id}/contacts": func(f *fixtures, collection string) string {
		contact := f.post("/v1/contacts", `{"name": "Member"}`)
		resp, b := f.env.Do(http.MethodPost, collection, f.keys[client.RoleAdmin], []byte(`{"contact_ids": ["`+contact+`"]}`), nil)
		require.Equal(f.t, http.StatusOK, resp.StatusCode, "member fixture: %s", b)
		return contact
	},
	"/v1/contacts/{id}/portfolios": func(f *fixtures, collection string) string {
		pf := f.post("/v1/portfolios", `{"name": "Fixture `+uuid.NewString()[:8]+`"}`)
		resp, b := f.env.Do(http.MethodPost, collection, f.keys[client.RoleAdmin], []byte(`{"portfolio_id": "`+pf+`"}`), nil)
		require.Equal(f.t, http.StatusOK, resp.StatusCode, "membership fixture: %s", b)
		return pf
	},
	// Agents are users: the fixture tenant's agent.
	"/v1/agents": func(f *fixtures, _ string) string {
		var me struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		_, b := f.env.Do(http.MethodGet, "/v1/me", f.keys[client.RoleAgent], nil, nil)
		require.NoError(f.t, json.Unmarshal(b, &me))
		require.NotEmpty(f.t, me.User.ID, "me: %s", b)
		return me.User.ID
	},
	// A phone's links are named by the linked record's id.
	"/v1/phones/{id}/links": func(f *fixtures, collection string) string {
		contact := f.post("/v1/contacts", `{"name": "Linked"}`)
		resp, b := f.env.Do(http.MethodPost, collection, f.keys[client.RoleAdmin],
			[]byte(`{"record_type": "contact", "record_id": "`+contact+`"}`), nil)
		require.Equal(f.t, http.StatusOK, resp.StatusCode, "link fixture: %s", b)
		return contact
	},
}

// ticketFixture is a ticket of an integration whose first task sends a template its customer cannot get.
type ticketFixture struct{ ticket, message string }

func (f *fixtures) ticket() ticketFixture {
	if f.ticketing != nil {
		return *f.ticketing
	}
	tpl := f.post("/v1/templates", `{"name": "fixture", "language": "pt_BR", "body": "Olá {{1}}"}`)
	proc := f.post("/v1/procedures", `{"name": "Fixture", "tasks": [{"name": "Abertura", "send_whatsapp": true, "template_id": "`+tpl+`", "variables": ["customer_name"]}]}`)
	ig := f.post("/v1/integrations", `{"name": "Fixture ERP", "default_procedure_id": "`+proc+`"}`)
	resp, b := f.env.Do(http.MethodPut, "/v1/integrations/"+ig+"/tickets/FIX-T", f.keys[client.RoleAdmin],
		[]byte(`{"version": 1, "status": "ABERTA", "customer": {"name": "Sem telefone"}}`), nil)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "ticket fixture: %s", b)
	var receipt struct {
		Ticket struct {
			ID string `json:"id"`
		} `json:"ticket"`
	}
	require.NoError(f.t, json.Unmarshal(b, &receipt))
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	_, b = f.env.Do(http.MethodGet, "/v1/messages?ticket_id="+receipt.Ticket.ID, f.keys[client.RoleAdmin], nil, nil)
	require.NoError(f.t, json.Unmarshal(b, &list))
	require.Len(f.t, list.Data, 1)
	f.ticketing = &ticketFixture{ticket: receipt.Ticket.ID, message: list.Data[0].ID}
	return *f.ticketing
}

// dialerFixtures are a running campaign with two agents: the fixture agent, on a call, and another one
// asked about a customer on WhatsApp.
type dialerFixtures struct{ session, call, prompt string }

func (f *fixtures) dialer() dialerFixtures {
	if f.dialing != nil {
		return *f.dialing
	}
	ctx := context.Background()
	admin := f.keys[client.RoleAdmin]
	campaign := f.post("/v1/campaigns", `{"name": "Fixture", "window": {"days": ["monday", "tuesday", "wednesday", "thursday",
		"friday", "saturday", "sunday"], "start": "00:00", "end": "23:59"}}`)
	resp, b := f.env.Do(http.MethodPost, "/v1/campaigns/"+campaign+"/start", admin, nil, nil)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "start campaign: %s", b)
	join := `{"campaign_id": "` + campaign + `"}`
	resp, b = f.env.Do(http.MethodPost, "/v1/dialer/sessions", f.keys[client.RoleAgent], []byte(join), nil)
	require.Equal(f.t, http.StatusCreated, resp.StatusCode, "join: %s", b)
	var sess struct {
		ID string `json:"id"`
	}
	require.NoError(f.t, json.Unmarshal(b, &sess))
	worker := f.env.App.Dialer.NewWorker(dialer.WorkerOptions{ID: "fixtures"})
	add := func(number string) {
		resp, b := f.env.Do(http.MethodPost, "/v1/campaigns/"+campaign+"/entries", admin, []byte(`{"entries": [{"number": "`+number+`"}]}`), nil)
		require.Equal(f.t, http.StatusCreated, resp.StatusCode, "add entry: %s", b)
		n, err := worker.RunOnce(ctx)
		require.NoError(f.t, err)
		require.Equal(f.t, 1, n)
	}
	add("+5547991230001")
	var onCall struct {
		Call struct {
			ID string `json:"id"`
		} `json:"call"`
	}
	_, b = f.env.Do(http.MethodGet, "/v1/dialer/sessions/"+sess.ID, f.keys[client.RoleAgent], nil, nil)
	require.NoError(f.t, json.Unmarshal(b, &onCall))
	require.NotEmpty(f.t, onCall.Call.ID, "the fixture agent is on a call: %s", b)

	_, other := f.env.NewUser(admin, client.RoleAgent)
	resp, b = f.env.Do(http.MethodPost, "/v1/dialer/sessions", other, []byte(join), nil)
	require.Equal(f.t, http.StatusCreated, resp.StatusCode, "join: %s", b)
	require.NoError(f.t, json.Unmarshal(b, &sess))
	resp, b = f.env.Do(http.MethodPut, "/v1/dialer/settings", admin, []byte(`{"dial_active_whatsapp": true}`), nil)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "settings: %s", b)
	f.env.Plinx.SetActive("+5547991230002", true)
	add("+5547991230002")
	var prompting struct {
		Prompt struct {
			ID string `json:"id"`
		} `json:"prompt"`
	}
	_, b = f.env.Do(http.MethodGet, "/v1/dialer/sessions/"+sess.ID, other, nil, nil)
	require.NoError(f.t, json.Unmarshal(b, &prompting))
	require.NotEmpty(f.t, prompting.Prompt.ID, "the other agent is asked: %s", b)

	var first struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	_, b = f.env.Do(http.MethodGet, "/v1/dialer/sessions?campaign_id="+campaign, admin, nil, nil)
	require.NoError(f.t, json.Unmarshal(b, &first))
	require.Len(f.t, first.Data, 2)
	f.dialing = &dialerFixtures{session: first.Data[0].ID, call: onCall.Call.ID, prompt: prompting.Prompt.ID}
	return *f.dialing
}

// concretePrefix substitutes the ids already made into a template.
func (f *fixtures) concretePrefix(template string) string {
	if !strings.Contains(template, "{") {
		return template
	}
	loc := pathParamRe.FindAllStringIndex(template, -1)
	last := loc[len(loc)-1]
	c, ok := f.made[template[:last[1]]]
	require.True(f.t, ok, fmt.Sprintf("parent of %s not made yet", template))
	return c + template[last[1]:]
}

func (f *fixtures) findCreate(collection string) *contractOp {
	for i := range f.ops {
		if f.ops[i].path == collection && f.ops[i].method == http.MethodPost {
			return &f.ops[i]
		}
	}
	return nil
}

// Every operation documents the errors it can answer with, so SDK users can handle them.
func TestEveryOperationDocumentsItsErrors(t *testing.T) {
	t.Parallel()
	doc := apitest.Contract(t)
	for _, o := range contractOps(t) {
		name := o.method + " " + o.path
		has := func(code string) bool { return o.op.Responses.Value(code) != nil }
		require.NotEmpty(t, o.op.OperationID, name)
		require.NotEmpty(t, o.op.Summary, name)
		require.NotEmpty(t, o.op.Tags, name)
		if len(o.security(doc)) > 0 || o.signed() {
			require.True(t, has("401"), "%s must document 401", name)
			require.True(t, has("500"), "%s must document 500", name)
		}
		if o.usesAPIKey(doc) {
			require.True(t, has("429"), "%s must document 429", name)
			if len(o.roles()) < 4 {
				require.True(t, has("403"), "%s is closed to some roles: it must document 403", name)
			}
			if strings.Contains(o.path, "{") {
				require.True(t, has("404"), "%s names an object: it must document 404", name)
			}
		}
		if o.exampleBody(t) != nil {
			require.True(t, has("400"), "%s takes a body: it must document 400", name)
		}
	}
}
