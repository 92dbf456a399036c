// Command erp-integrator is an ERP's side of atende's ticket integration, written against the generated Go
// client (gen/client) and the Standard Webhooks library, as an integrator's own program would be. It runs
// this sequence and prints each step:
//
//  1. create an integration (POST /v1/integrations, with an Idempotency-Key) whose status map says what the
//     ERP's service-order statuses mean as ticket statuses; the answer carries the integration's signing
//     secret, shown only this once;
//  2. start a small HTTP receiver and register it as an outbound webhook endpoint
//     (POST /v1/webhook-endpoints) for ticket.created and ticket.updated; that secret is shown once too;
//  3. send the first event of a service order to the integration's events path, signed with the
//     integration's secret (webhook-id, webhook-timestamp, webhook-signature): atende creates the ticket;
//  4. send the order's next event (a higher version, another status): atende updates the ticket;
//  5. deliver that same event again under the same webhook-id, as a sender retrying after a lost answer does:
//     atende answers "duplicate" and changes nothing;
//  6. read the ticket back (GET /v1/tickets/{id}), check that the order has one ticket in the mapped status,
//     and print it;
//  7. wait for atende's deliveries of ticket.created and ticket.updated to the receiver, verifying each one's
//     signature with the endpoint's secret, then delete the endpoint.
//
// Configuration, from the environment:
//
//	ATENDE_URL             atende's address (default http://127.0.0.1:8080)
//	ATENDE_ADMIN_KEY       an admin's API key (required: creating integrations is for admins)
//	ATENDE_RECEIVER_ADDR   where the webhook receiver listens (default 127.0.0.1:0, any free port)
//	ATENDE_RECEIVER_URL    the receiver's URL as atende reaches it (default http://<the address it listens on>/webhooks)
//	ATENDE_WEBHOOK_WAIT    how long to wait for the deliveries (default 10s)
//
// It exits 0 when every step answered as expected, 1 otherwise, with the reason on stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/atende/atende/gen/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "[erp] error:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("[erp] "+format+"\n", args...)
}

func run() error {
	baseURL := strings.TrimRight(envOr("ATENDE_URL", "http://127.0.0.1:8080"), "/")
	adminKey := os.Getenv("ATENDE_ADMIN_KEY")
	if adminKey == "" {
		return errors.New("set ATENDE_ADMIN_KEY to an admin's API key")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	httpClient := &http.Client{Timeout: 15 * time.Second}
	// The admin's client, and one without a key: signed events authenticate by their signature alone.
	admin, err := client.NewClientWithResponses(baseURL, client.WithHTTPClient(httpClient),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+adminKey)
			return nil
		}))
	if err != nil {
		return err
	}
	public, err := client.NewClientWithResponses(baseURL, client.WithHTTPClient(httpClient))
	if err != nil {
		return err
	}

	// 1. The integration and its status map.
	critical := true
	idem := uuid.NewString()
	created, err := admin.CreateIntegrationWithResponse(ctx, &client.CreateIntegrationParams{IdempotencyKey: &idem}, client.IntegrationCreate{
		Name: "ERP Assistência Técnica",
		StatusMap: &[]client.StatusMapping{
			{External: "ABERTA", Status: client.TicketStatusOpen},
			{External: "EM_REPARO", Status: client.TicketStatusInProgress},
			{External: "AGUARDANDO_PECA", Status: client.TicketStatusWaiting, Critical: &critical},
			{External: "FINALIZADA", Status: client.TicketStatusClosed},
		},
	})
	if err != nil {
		return fmt.Errorf("create the integration: %w", err)
	}
	if created.JSON201 == nil {
		return unexpected("create the integration", created.StatusCode(), created.Body)
	}
	integration := *created.JSON201
	step("created integration %s (%q); events go to %s", integration.Id, integration.Name, integration.EventsPath)
	step("its signing secret, shown only now: %s… (keep it in the ERP's secret store)", integration.Secret[:min(len(integration.Secret), 12)])
	signer, err := standardwebhooks.NewWebhook(integration.Secret)
	if err != nil {
		return fmt.Errorf("the integration's secret: %w", err)
	}

	// 2. The receiver of atende's own webhooks, registered before the events so it hears of every change.
	wait, err := time.ParseDuration(envOr("ATENDE_WEBHOOK_WAIT", "10s"))
	if err != nil || wait <= 0 {
		return fmt.Errorf("ATENDE_WEBHOOK_WAIT must be a positive duration such as 10s, not %q", os.Getenv("ATENDE_WEBHOOK_WAIT"))
	}
	recv, err := startReceiver(envOr("ATENDE_RECEIVER_ADDR", "127.0.0.1:0"))
	if err != nil {
		return err
	}
	defer recv.close()
	receiverURL := envOr("ATENDE_RECEIVER_URL", recv.url)
	endpointKey := uuid.NewString()
	registered, err := admin.CreateWebhookEndpointWithResponse(ctx, &client.CreateWebhookEndpointParams{IdempotencyKey: &endpointKey},
		client.WebhookEndpointCreate{
			Url: receiverURL, Description: ptr("ERP — chamados"),
			Events: []client.WebhookEventType{client.WebhookEventTypeTicketCreated, client.WebhookEventTypeTicketUpdated},
		})
	if err != nil {
		return fmt.Errorf("register the webhook endpoint: %w", err)
	}
	if registered.JSON201 == nil {
		return unexpected("register the webhook endpoint", registered.StatusCode(), registered.Body)
	}
	endpoint := registered.JSON201
	defer func() {
		// The receiver goes away with this program: so does its endpoint.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if res, err := admin.DeleteWebhookEndpointWithResponse(ctx, endpoint.Id); err != nil || res.StatusCode() != http.StatusNoContent {
			step("could not delete webhook endpoint %s: %v", endpoint.Id, errOr(err, res))
			return
		}
		step("deleted webhook endpoint %s", endpoint.Id)
	}()
	if err := recv.verifyWith(endpoint.Secret); err != nil {
		return fmt.Errorf("the endpoint's secret: %w", err)
	}
	step("registered webhook endpoint %s for %v at %s (its secret, shown only now: %s…)", endpoint.Id, endpoint.Events, receiverURL,
		endpoint.Secret[:min(len(endpoint.Secret), 12)])

	send := func(what, webhookID string, ev client.TicketEvent, want client.TicketEventReceiptOutcome) (client.Ticket, error) {
		body, err := json.Marshal(ev)
		if err != nil {
			return client.Ticket{}, err
		}
		// Sign exactly the bytes sent: "{webhook-id}.{webhook-timestamp}.{body}", HMAC-SHA256 with the secret.
		now := time.Now()
		signature, err := signer.Sign(webhookID, now, body)
		if err != nil {
			return client.Ticket{}, err
		}
		res, err := public.ReceiveIntegrationEventWithBodyWithResponse(ctx, integration.Id, &client.ReceiveIntegrationEventParams{
			WebhookId: webhookID, WebhookTimestamp: strconv.FormatInt(now.Unix(), 10), WebhookSignature: signature,
		}, "application/json", bytes.NewReader(body))
		if err != nil {
			return client.Ticket{}, fmt.Errorf("%s: %w", what, err)
		}
		if res.JSON200 == nil {
			return client.Ticket{}, unexpected(what, res.StatusCode(), res.Body)
		}
		r := res.JSON200
		step("%s (webhook-id %s, version %d, status %s): outcome %s; ticket %s is %s", what, webhookID, *ev.Version, ev.Status,
			r.Outcome, r.Ticket.Id, r.Ticket.Status)
		if r.Outcome != want {
			return r.Ticket, fmt.Errorf("%s: outcome %q, want %q", what, r.Outcome, want)
		}
		return r.Ticket, nil
	}

	// 3. The service order's first event creates its ticket.
	code := "OS-" + time.Now().UTC().Format("2006") + "-" + strings.ToUpper(uuid.NewString()[:6])
	order := client.TicketEvent{
		ExternalCode:       code,
		Version:            ptr[int64](1),
		Status:             "ABERTA",
		ProcessNumber:      ptr("2026/000123"),
		ProductDescription: ptr("Geladeira Frost Free 450 L"),
		Problem:            ptr("Não gela e faz barulho ao ligar o compressor."),
		Customer: &client.TicketCustomer{
			Name: ptr("Maria Souza"), Document: ptr("123.456.789-09"), Phone: ptr("(47) 99123-4567"), Email: ptr("maria.souza@example.com"),
		},
		Extra: &map[string]any{"loja": "Joinville Centro", "garantia": true},
	}
	first, err := send("sent the order's first event", "msg_"+uuid.NewString(), order, client.TicketEventReceiptOutcomeCreated)
	if err != nil {
		return err
	}

	// 4. Its next event: a higher version and the order in repair.
	order.Version, order.Status = ptr[int64](2), "EM_REPARO"
	second := "msg_" + uuid.NewString()
	if _, err := send("sent its next event", second, order, client.TicketEventReceiptOutcomeUpdated); err != nil {
		return err
	}

	// 5. The same event again, under the same webhook-id (signed anew, as every retry is).
	again, err := send("redelivered that event", second, order, client.TicketEventReceiptOutcomeDuplicate)
	if err != nil {
		return err
	}
	if again.Id != first.Id {
		return fmt.Errorf("the redelivery answered ticket %s, not %s", again.Id, first.Id)
	}

	// 6. Read it back: one ticket for the order, in repair.
	list, err := admin.ListTicketsWithResponse(ctx, &client.ListTicketsParams{IntegrationId: &integration.Id, ExternalCode: &code})
	if err != nil {
		return fmt.Errorf("list the order's tickets: %w", err)
	}
	if list.JSON200 == nil {
		return unexpected("list the order's tickets", list.StatusCode(), list.Body)
	}
	if n := len(list.JSON200.Data); n != 1 {
		return fmt.Errorf("order %s has %d tickets, want 1", code, n)
	}
	got, err := admin.GetTicketWithResponse(ctx, first.Id)
	if err != nil {
		return fmt.Errorf("read the ticket: %w", err)
	}
	if got.JSON200 == nil {
		return unexpected("read the ticket", got.StatusCode(), got.Body)
	}
	ticket := *got.JSON200
	if ticket.Status != client.TicketStatusInProgress || ticket.Version != 2 || ticket.ExternalStatus != "EM_REPARO" {
		return fmt.Errorf("ticket %s is %s at version %d (ERP status %s), want in_progress at version 2 (EM_REPARO)",
			ticket.Id, ticket.Status, ticket.Version, ticket.ExternalStatus)
	}
	pretty, err := json.MarshalIndent(ticket, "      ", "  ")
	if err != nil {
		return err
	}
	step("order %s has one ticket, %s, in_progress at version 2:\n      %s", code, ticket.Id, pretty)

	// 7. atende's webhooks: the ticket's creation and its update, each signed with the endpoint's secret.
	step("waiting up to %s for the ticket's webhooks", wait)
	want := map[client.WebhookEventType]bool{client.WebhookEventTypeTicketCreated: false, client.WebhookEventTypeTicketUpdated: false}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !want[client.WebhookEventTypeTicketCreated] || !want[client.WebhookEventTypeTicketUpdated] {
		select {
		case d := <-recv.deliveries:
			if d.err != nil {
				return fmt.Errorf("a delivery to the receiver: %w", d.err)
			}
			data, err := d.event.Data.AsTicketEventData()
			if err != nil {
				return fmt.Errorf("delivery %s: %w", d.event.Id, err)
			}
			step("received %s (webhook-id %s, signature verified): ticket %s is %s at version %d (ERP status %s)",
				d.event.Type, d.event.Id, data.TicketId, data.Status, data.Version, data.ExternalStatus)
			if data.TicketId == ticket.Id {
				want[d.event.Type] = true
			}
		case <-deadline.C:
			return fmt.Errorf("no ticket.created and ticket.updated delivery within %s (received: %v)", wait, want)
		}
	}
	step("done")
	return nil
}

// delivery is one webhook the receiver accepted, or why it refused one.
type delivery struct {
	event client.WebhookEvent
	err   error
}

// receiver is the ERP's HTTP endpoint for atende's webhooks. It verifies each delivery's Standard Webhooks
// signature, refuses timestamps more than 5 minutes away, and passes each webhook-id on once: atende retries a
// delivery until it is answered 2xx, always with the same webhook-id.
type receiver struct {
	url        string
	server     *http.Server
	deliveries chan delivery

	mu       sync.Mutex
	verifier *standardwebhooks.Webhook
	seen     map[string]bool
}

func startReceiver(addr string) (*receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for webhooks on %s: %w", addr, err)
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/webhooks", deliveries: make(chan delivery, 64), seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks", r.receive)
	r.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.server.Serve(ln) }()
	return r, nil
}

func (r *receiver) verifyWith(secret string) error {
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verifier = v
	return nil
}

func (r *receiver) receive(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	v := r.verifier
	r.mu.Unlock()
	if v == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable) // atende retries it
		return
	}
	if err := v.Verify(body, req.Header); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		r.pass(delivery{err: fmt.Errorf("webhook-id %s: %w", req.Header.Get("webhook-id"), err)})
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	dup := r.seen[id]
	r.seen[id] = true
	r.mu.Unlock()
	if dup {
		w.WriteHeader(http.StatusNoContent) // seen before: acknowledge again, act once
		return
	}
	var ev client.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not a webhook event", http.StatusBadRequest)
		r.pass(delivery{err: fmt.Errorf("webhook-id %s: %w", id, err)})
		return
	}
	w.WriteHeader(http.StatusNoContent)
	r.pass(delivery{event: ev})
}

// pass hands a delivery to the program; past what it has yet to read, the rest are only acknowledged.
func (r *receiver) pass(d delivery) {
	select {
	case r.deliveries <- d:
	default:
	}
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.server.Shutdown(ctx)
}

// errOr names what went wrong with a request: its error, or its unexpected answer.
func errOr(err error, res interface {
	StatusCode() int
}) any {
	if err != nil {
		return err
	}
	return fmt.Sprintf("atende answered %d", res.StatusCode())
}

// unexpected describes an answer other than the one expected, with atende's problem document.
func unexpected(what string, status int, body []byte) error {
	return fmt.Errorf("%s: atende answered %d: %s", what, status, bytes.TrimSpace(body))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func ptr[T any](v T) *T { return &v }
