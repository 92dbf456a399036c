package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	apispec "github.com/atende/atende/api"
	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/telephony"
)

// resultID finds a result of the tenant's catalog by its code.
func resultID(t *testing.T, c *client.ClientWithResponses, code string) uuid.UUID {
	t.Helper()
	r, err := c.ListResultsWithResponse(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	for _, res := range r.JSON200.Data {
		if res.Code == code {
			return res.Id
		}
	}
	t.Fatalf("no result %q in the catalog", code)
	return uuid.Nil
}

// dialerEnv is atende with a running campaign, an agent in it, the Plinx simulator and simulated telephony
// in manual mode; the test drives the worker pass by pass.
type dialerEnv struct {
	*apitest.Env
	admin    *client.ClientWithResponses
	agent    *client.ClientWithResponses
	agentID  uuid.UUID
	agentKey string
	campaign client.Campaign
	session  client.Session
	worker   *dialer.Worker
}

// everyDay is a calling window open all day, every day.
var everyDay = client.CallingWindow{
	Days:  []client.Weekday{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"},
	Start: "00:00", End: "23:59",
}

func newDialerEnv(t *testing.T, dialect store.Dialect, window client.CallingWindow, opts ...apitest.Options) *dialerEnv {
	t.Helper()
	ctx := context.Background()
	env := apitest.New(t, dialect, opts...)
	d := &dialerEnv{Env: env, admin: env.Client(env.AdminKey)}
	d.agentID, d.agentKey = env.NewUser(env.AdminKey, client.RoleAgent)
	d.agent = env.Client(d.agentKey)
	retry := 3600
	c, err := d.admin.CreateCampaignWithResponse(ctx, nil, client.CampaignCreate{
		Name: "Renovação", Window: window, MaxAttempts: ptr(3),
		Retry: &client.RetryRules{NoAnswerSeconds: &retry, BusySeconds: &retry, FailedSeconds: &retry, WhatsappSeconds: ptr(7200)},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
	started, err := d.admin.StartCampaignWithResponse(ctx, c.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, started.StatusCode(), string(started.Body))
	d.campaign = *started.JSON200
	s, err := d.agent.JoinDialerWithResponse(ctx, nil, client.SessionCreate{CampaignId: d.campaign.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, s.StatusCode(), string(s.Body))
	d.session = *s.JSON201
	d.worker = env.App.Dialer.NewWorker(dialer.WorkerOptions{ID: "test-worker"})
	return d
}

// customer creates a contact with a phone and queues it; it returns the contact and the entry.
func (d *dialerEnv) customer(t *testing.T, number string) (uuid.UUID, client.Entry) {
	t.Helper()
	ctx := context.Background()
	c, err := d.admin.CreateContactWithResponse(ctx, nil, client.CreateContactJSONRequestBody{Name: "Cliente " + number, Phones: &[]string{number}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
	e, err := d.admin.AddCampaignEntriesWithResponse(ctx, d.campaign.Id, nil, client.EntriesCreate{
		Entries: []client.EntryTarget{{ContactId: &c.JSON201.Id}},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, e.StatusCode(), string(e.Body))
	require.Len(t, e.JSON201.Data, 1)
	return c.JSON201.Id, e.JSON201.Data[0]
}

func (d *dialerEnv) run(t *testing.T) int {
	t.Helper()
	n, err := d.worker.RunOnce(context.Background())
	require.NoError(t, err)
	return n
}

func (d *dialerEnv) entry(t *testing.T, id uuid.UUID) client.EntryDetail {
	t.Helper()
	e, err := d.admin.GetCampaignEntryWithResponse(context.Background(), d.campaign.Id, id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, e.StatusCode(), string(e.Body))
	return *e.JSON200
}

func (d *dialerEnv) sessionNow(t *testing.T) client.Session {
	t.Helper()
	s, err := d.agent.GetDialerSessionWithResponse(context.Background(), d.session.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, s.StatusCode(), string(s.Body))
	return *s.JSON200
}

func (d *dialerEnv) setDialActive(t *testing.T, on bool) {
	t.Helper()
	r, err := d.admin.UpdateDialerSettingsWithResponse(context.Background(), nil, client.DialerSettingsUpdate{DialActiveWhatsapp: &on})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
}

func (d *dialerEnv) checks() int { return d.Plinx.Requests(sim.OpGetActiveConversation) }

func kinds(e client.EntryDetail) []string {
	out := make([]string, len(e.Transitions))
	for i, tr := range e.Transitions {
		out[i] = tr.Kind
	}
	return out
}

func TestDialerDialsWhenTheCustomerIsNotOnWhatsApp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		contact, entry := d.customer(t, "+55 47 99123-4567")

		require.Equal(t, 1, d.run(t))
		require.Equal(t, 1, d.checks(), "Plinx was asked before the call")
		require.Len(t, d.App.Telephony.Placed(), 1, "the call went to telephony")
		e := d.entry(t, entry.Id)
		require.Equal(t, client.EntryStatusDialing, e.Status)
		require.Equal(t, 1, e.Attempts)
		require.Equal(t, []string{"plinx_checked", "called"}, kinds(e))
		s := d.sessionNow(t)
		require.Equal(t, client.SessionStatusOnCall, s.Status)
		call := s.Call.MustGet()
		require.Equal(t, "+5547991234567", call.Number)

		// No answer: the agent is free and the entry retries after the campaign's interval.
		r, err := d.admin.ReportCallEventWithResponse(ctx, call.Id, client.CallEventCreate{Event: client.CallEventCreateEventNoAnswer})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		e = d.entry(t, entry.Id)
		require.Equal(t, client.EntryStatusQueued, e.Status)
		require.Equal(t, apitest.Epoch.Add(time.Hour), e.DueAt.UTC())
		require.Equal(t, "no_answer", e.LastOutcome.MustGet())
		require.Equal(t, client.SessionStatusReady, d.sessionNow(t).Status)
		require.Equal(t, 0, d.run(t), "not due yet")

		// An hour later: answered, ended, qualified.
		d.Clock.Advance(time.Hour)
		require.Equal(t, 1, d.run(t))
		require.Equal(t, 2, d.checks(), "a fresh check for the second attempt")
		call = d.sessionNow(t).Call.MustGet()
		require.Equal(t, 2, call.Attempt)
		for _, ev := range []client.CallEventCreateEvent{client.CallEventCreateEventAnswered, client.CallEventCreateEventEnded} {
			r, err := d.admin.ReportCallEventWithResponse(ctx, call.Id, client.CallEventCreate{Event: ev})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		}
		require.Equal(t, client.SessionStatusWrapUp, d.sessionNow(t).Status)
		result := resultID(t, d.admin, "callback_scheduled")
		q, err := d.agent.QualifyCallWithResponse(ctx, call.Id, nil, client.QualificationCreate{ResultId: result, Notes: ptr("Ligar semana que vem")})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, q.StatusCode(), string(q.Body))
		require.Equal(t, client.OriginDialer, q.JSON201.Interaction.Origin)
		require.Equal(t, contact, q.JSON201.Interaction.ContactId.MustGet())
		require.Equal(t, client.EntryStatusClosed, d.entry(t, entry.Id).Status)
		require.Equal(t, client.SessionStatusReady, d.sessionNow(t).Status)
		again, err := d.agent.QualifyCallWithResponse(ctx, call.Id, nil, client.QualificationCreate{ResultId: result})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, again.StatusCode())

		its, err := d.admin.ListContactInteractionsWithResponse(ctx, contact, nil)
		require.NoError(t, err)
		require.Len(t, its.JSON200.Data, 2, "the no-answer and the qualified call")

		// The queue shows on /metrics.
		resp, err := http.Get(d.URL + "/metrics")
		require.NoError(t, err)
		metrics, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		for _, series := range []string{"atende_dialer_queue_depth 0", "atende_dialer_claims_total 2",
			`atende_dialer_outcomes_total{kind="called"} 2`, `atende_dialer_outcomes_total{kind="call_no_answer"} 1`,
			`atende_dialer_plinx_check_seconds_count{result="answered"} 2`, `atende_plinx_breaker_state{state="closed"`} {
			require.Contains(t, string(metrics), series)
		}
	})
}

// Setting off (the default): a customer in an active WhatsApp conversation is skipped, the skip is written
// on their record, and the entry comes back after the campaign's WhatsApp retry interval.
func TestDialerSkipsCustomersOnWhatsApp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		d.Plinx.SetActive("+5547991234567", true)
		contact, entry := d.customer(t, "(47) 99123-4567")

		require.Equal(t, 1, d.run(t))
		require.Equal(t, 1, d.checks())
		require.Empty(t, d.App.Telephony.Placed(), "no call")
		e := d.entry(t, entry.Id)
		require.Equal(t, client.EntryStatusQueued, e.Status)
		require.Equal(t, apitest.Epoch.Add(2*time.Hour), e.DueAt.UTC(), "rescheduled by the WhatsApp retry rule")
		require.Equal(t, "skipped_whatsapp", e.LastOutcome.MustGet())
		require.Contains(t, kinds(e), "skipped_whatsapp")
		require.Equal(t, client.SessionStatusReady, d.sessionNow(t).Status, "the agent was never involved")

		updates, err := d.admin.ListContactUpdatesWithResponse(ctx, contact, nil)
		require.NoError(t, err)
		require.Len(t, updates.JSON200.Data, 1)
		require.Equal(t, client.UpdateKindSystem, updates.JSON200.Data[0].Kind)
		require.Equal(t, dialer.SkippedWhatsAppMessage, updates.JSON200.Data[0].Message)

		// The conversation ends; at the retry the customer is called.
		d.Plinx.SetActive("+5547991234567", false)
		d.Clock.Advance(2 * time.Hour)
		require.Equal(t, 1, d.run(t))
		require.Equal(t, 2, d.checks())
		require.Len(t, d.App.Telephony.Placed(), 1)
	})
}

func (d *dialerEnv) prompted(t *testing.T, number string) (uuid.UUID, client.Entry, client.Prompt) {
	t.Helper()
	d.setDialActive(t, true)
	d.Plinx.SetActive(number, true)
	contact, entry := d.customer(t, number)
	require.Equal(t, 1, d.run(t))
	require.Empty(t, d.App.Telephony.Placed(), "no call while the agent decides")
	s := d.sessionNow(t)
	require.Equal(t, client.SessionStatusPrompting, s.Status)
	p := s.Prompt.MustGet()
	require.Equal(t, "Cliente com conversa ativa via WhatsApp. Deseja pausar o discador?", p.Text)
	require.Equal(t, client.EntryStatusPrompting, d.entry(t, entry.Id).Status)
	return contact, entry, p
}

// Setting on, the agent pauses the dialer: no call, a "Contato via WhatsApp" interaction with origin dialer,
// and the next contact on the next business day at the window's start — here across the Good Friday holiday
// and a weekend.
func TestDialerPromptPauseRecordsWhatsAppContact(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		weekdays := client.CallingWindow{Days: []client.Weekday{"monday", "tuesday", "wednesday", "thursday", "friday"}, Start: "09:00", End: "18:00"}
		d := newDialerEnv(t, dialect, weekdays)
		ctx := context.Background()
		d.Clock.Set(time.Date(2026, 4, 2, 15, 0, 0, 0, time.UTC)) // Thursday 12:00 in São Paulo; Friday is Sexta-feira Santa
		contact, entry, p := d.prompted(t, "+5547991234567")

		// The agent's screen gets the prompt as an event.
		stream := d.events(t, uuid.Nil)
		ans, err := d.agent.AnswerDialerPromptWithResponse(ctx, p.Id, client.PromptAnswer{PauseDialer: true})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ans.StatusCode(), string(ans.Body))
		require.Equal(t, client.PromptStatusPaused, ans.JSON200.Status)
		var st struct {
			Status string `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(stream.next(t, "state")), &st))
		require.Equal(t, "ready", st.Status)

		require.Empty(t, d.App.Telephony.Placed(), "no call")
		require.Equal(t, client.SessionStatusReady, d.sessionNow(t).Status, "the agent goes on")
		e := d.entry(t, entry.Id)
		require.Equal(t, client.EntryStatusClosed, e.Status)
		require.Equal(t, "whatsapp_contact", e.CloseReason.MustGet())

		its, err := d.admin.ListContactInteractionsWithResponse(ctx, contact, nil)
		require.NoError(t, err)
		require.Len(t, its.JSON200.Data, 1)
		it := its.JSON200.Data[0]
		require.Equal(t, "contact_via_whatsapp", it.Result)
		require.Equal(t, client.OriginDialer, it.Origin)
		require.Equal(t, d.agentID, it.AgentId.MustGet())

		nextMonday := time.Date(2026, 4, 6, 12, 0, 0, 0, time.UTC) // 09:00 in São Paulo
		fu, err := d.admin.GetFollowUpWithResponse(ctx, it.FollowUpId.MustGet())
		require.NoError(t, err)
		require.Equal(t, nextMonday, fu.JSON200.DueAt.UTC(), "next business day at the window's start")
		require.Equal(t, d.campaign.Id, fu.JSON200.CampaignId.MustGet())
		queued, err := d.admin.ListCampaignEntriesWithResponse(ctx, d.campaign.Id, &client.ListCampaignEntriesParams{Status: ptr(client.EntryStatusQueued)})
		require.NoError(t, err)
		require.Len(t, queued.JSON200.Data, 1, "the follow-up is the customer's next entry")
		require.Equal(t, nextMonday, queued.JSON200.Data[0].DueAt.UTC())

		// Answering again is refused.
		again, err := d.agent.AnswerDialerPromptWithResponse(ctx, p.Id, client.PromptAnswer{PauseDialer: false})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, again.StatusCode())
	})
}

// Setting on, the agent goes on: the call is placed and nothing else is recorded.
func TestDialerPromptContinueCalls(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		contact, entry, p := d.prompted(t, "+5547991234567")
		ans, err := d.agent.AnswerDialerPromptWithResponse(ctx, p.Id, client.PromptAnswer{PauseDialer: false})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ans.StatusCode(), string(ans.Body))
		require.Len(t, d.App.Telephony.Placed(), 1, "the call is placed")
		require.Equal(t, client.SessionStatusOnCall, d.sessionNow(t).Status)
		e := d.entry(t, entry.Id)
		require.Equal(t, client.EntryStatusDialing, e.Status)
		require.Equal(t, 1, e.Attempts)
		its, err := d.admin.ListContactInteractionsWithResponse(ctx, contact, nil)
		require.NoError(t, err)
		require.Empty(t, its.JSON200.Data, "nothing else recorded")
		require.Equal(t, 1, d.checks())
	})
}

// Setting on, the agent does not answer in time: the entry goes back to the queue, the session pauses, and a
// late answer is refused.
func TestDialerPromptTimeout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		_, entry, p := d.prompted(t, "+5547991234567")
		d.Clock.Advance(31 * time.Second)
		d.run(t)
		s := d.sessionNow(t)
		require.Equal(t, client.SessionStatusPaused, s.Status)
		require.Equal(t, "prompt_timeout", s.PauseReason.MustGet())
		e := d.entry(t, entry.Id)
		require.Equal(t, client.EntryStatusQueued, e.Status)
		require.Equal(t, 0, e.Attempts, "no attempt used")
		require.Contains(t, kinds(e), "prompt_expired")

		late, err := d.agent.AnswerDialerPromptWithResponse(ctx, p.Id, client.PromptAnswer{PauseDialer: true})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, late.StatusCode())
		require.Empty(t, d.App.Telephony.Placed())

		// Nobody is ready, so nothing is claimed; the agent resumes and the customer is asked about again.
		require.Equal(t, 0, d.run(t))
		r, err := d.agent.ResumeDialerSessionWithResponse(ctx, d.session.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode())
		require.Equal(t, 1, d.run(t))
		require.Equal(t, client.SessionStatusPrompting, d.sessionNow(t).Status)
	})
}

// Plinx cannot answer (errors, timeouts, breaker open): no call, ever; the entry is deferred and the record
// says why.
func TestDialerNeverDialsWithoutACheck(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		d.Plinx.SetFailure(sim.OpGetActiveConversation, sim.FailError500)
		contact, entry := d.customer(t, "+5547991234567")
		d.deferredUncalled(t, entry.Id)
		updates, err := d.admin.ListContactUpdatesWithResponse(ctx, contact, nil)
		require.NoError(t, err)
		require.NotEmpty(t, updates.JSON200.Data)
		require.Contains(t, updates.JSON200.Data[0].Message, "Plinx não respondeu")

		// Plinx back (and the breaker closed after its cool-down): the call goes out.
		d.Plinx.SetFailure(sim.OpGetActiveConversation, sim.FailNone)
		d.runUntilCalled(t, 15*time.Second)
		require.Len(t, d.App.Telephony.Placed(), 1)
	})
}

// deferredUncalled runs the worker past the breaker's threshold with Plinx failing — it opens, and checks
// fail without reaching Plinx — and requires that nobody was called and the entry waits, deferred, with no
// attempt used.
func (d *dialerEnv) deferredUncalled(t *testing.T, entry uuid.UUID) {
	t.Helper()
	for range 7 {
		d.run(t)
		d.Clock.Advance(time.Minute)
	}
	require.Empty(t, d.App.Telephony.Placed(), "no call without a check")
	e := d.entry(t, entry)
	require.Equal(t, client.EntryStatusQueued, e.Status)
	require.Equal(t, 0, e.Attempts, "deferrals use no attempt")
	require.Contains(t, kinds(e), "deferred")
}

// runUntilCalled runs the worker minute by minute until a call goes out or timeout passes on the wall clock,
// where the breaker's cool-down runs.
func (d *dialerEnv) runUntilCalled(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(d.App.Telephony.Placed()) == 0 && time.Now().Before(deadline) {
		d.run(t)
		d.Clock.Advance(time.Minute)
		time.Sleep(200 * time.Millisecond)
	}
}

// Plinx slow past the client's timeout: every check fails by timing out, the breaker opens, entries are
// deferred without using an attempt and nobody is called; once Plinx answers in time again, calls go out.
func TestDialerWithASlowPlinxCallsNobodyUnchecked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay, apitest.Options{Configure: func(c *config.Config) {
			c.PlinxTimeout = 200 * time.Millisecond
		}})
		d.Plinx.SetLatency(sim.OpGetActiveConversation, time.Second)
		_, entry := d.customer(t, "+5547991234567")
		d.deferredUncalled(t, entry.Id)

		d.Plinx.SetLatency(sim.OpGetActiveConversation, 0)
		d.runUntilCalled(t, 20*time.Second)
		require.Len(t, d.App.Telephony.Placed(), 1, "Plinx in time again: the call goes out")
	})
}

// Over a 1,000-entry campaign with customers in and out of WhatsApp, every call is preceded by its own check
// and there are never more calls than checks.
func TestEveryCallIsPrecededByItsOwnCheck(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		// More agents, so passes place several calls.
		for range 19 {
			_, key := d.NewUser(d.AdminKey, client.RoleAgent)
			s, err := d.Client(key).JoinDialerWithResponse(ctx, nil, client.SessionCreate{CampaignId: d.campaign.Id})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, s.StatusCode())
		}
		targets := make([]client.EntryTarget, 1000)
		for i := range targets {
			n := fmt.Sprintf("+55479%08d", 91000000+i)
			targets[i] = client.EntryTarget{Number: &n}
			if i%3 == 0 {
				d.Plinx.SetActive(n, true)
			}
		}
		add, err := d.admin.AddCampaignEntriesWithResponse(ctx, d.campaign.Id, nil, client.EntriesCreate{Entries: targets})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, add.StatusCode(), string(add.Body))
		require.Len(t, add.JSON201.Data, 1000)

		ended := 0
		for pass := 0; pass < 400; pass++ {
			n := d.run(t)
			// Every placed call ends unanswered, freeing its agent.
			placed := d.App.Telephony.Placed()
			for _, c := range placed[ended:] {
				require.NoError(t, d.App.Dialer.CallEvent(ctx, telephony.Event{TenantID: c.TenantID, CallID: c.ID, Kind: telephony.NoAnswer, At: d.Clock.Now()}))
			}
			ended = len(placed)
			if n == 0 {
				d.Clock.Advance(2 * time.Hour) // let skipped and retried entries fall due
				if d.run(t) == 0 {
					break
				}
			}
		}
		calls := len(d.App.Telephony.Placed())
		checks := d.checks()
		require.Positive(t, calls)
		require.LessOrEqual(t, calls, checks)

		// Each call's attempt has a check of its own before it.
		var evs []dialer.DialEvent
		require.NoError(t, d.App.DB.NewSelect().Model(&evs).OrderExpr("dv.entry_id, dv.id").Scan(ctx))
		checked := map[[2]any]bool{}
		called := 0
		for _, ev := range evs {
			switch ev.Kind {
			case dialer.EventChecked:
				checked[[2]any{ev.EntryID, ev.Attempt}] = true
			case dialer.EventCalled:
				called++
				// The check was logged before the attempt was counted.
				require.True(t, checked[[2]any{ev.EntryID, ev.Attempt - 1}], "call of entry %s attempt %d had no check of its own", ev.EntryID, ev.Attempt)
			}
		}
		require.Equal(t, calls, called)
		closedOrQueued, err := d.App.DB.NewSelect().Model((*dialer.Entry)(nil)).Where("status IN ('closed', 'queued')").Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1000, closedOrQueued, "no entry left claimed or dialing")
	})
}

// sseStream reads a session's Server-Sent Events.
type sseStream struct {
	lines  *bufio.Scanner
	cancel context.CancelFunc
	// schemas are the contract's schemas of each event's data, by event name (x-atende-events).
	schemas map[string]*openapi3.Schema
}

func (d *dialerEnv) events(t *testing.T, after uuid.UUID) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/v1/dialer/sessions/"+d.session.Id.String()+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.agentKey)
	if after != uuid.Nil {
		req.Header.Set("Last-Event-ID", after.String())
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	t.Cleanup(func() { resp.Body.Close() })
	return &sseStream{lines: bufio.NewScanner(resp.Body), cancel: cancel, schemas: sessionEventSchemas(t)}
}

// sessionEventSchemas reads, from the contract, the schema of each dialer session event's data.
func sessionEventSchemas(t *testing.T) map[string]*openapi3.Schema {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(apispec.YAML) // as written: the embedded one leaves the stream out
	require.NoError(t, err)
	op := doc.Paths.Value("/v1/dialer/sessions/{id}/events").Get
	media := op.Responses.Status(http.StatusOK).Value.Content.Get("text/event-stream")
	refs, ok := media.Extensions["x-atende-events"].(map[string]any)
	require.True(t, ok, "the event stream names its events' schemas in x-atende-events")
	out := map[string]*openapi3.Schema{}
	for kind, ref := range refs {
		name := strings.TrimPrefix(ref.(map[string]any)["$ref"].(string), "#/components/schemas/")
		require.Contains(t, doc.Components.Schemas, name)
		out[kind] = doc.Components.Schemas[name].Value
	}
	return out
}

// next reads events until one of this kind and returns its data; every event's data on the way must match
// the contract's schema for its kind.
func (s *sseStream) next(t *testing.T, kind string) string {
	t.Helper()
	current := ""
	for s.lines.Scan() {
		line := s.lines.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			current = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && current != "":
			data := strings.TrimPrefix(line, "data: ")
			schema, ok := s.schemas[current]
			require.True(t, ok, "event %q is not in the contract", current)
			var v any
			require.NoError(t, json.Unmarshal([]byte(data), &v))
			require.NoError(t, schema.VisitJSON(v), "%s event data against the contract: %s", current, data)
			if current == kind {
				return data
			}
			current = ""
		}
	}
	t.Fatalf("stream ended before a %q event: %v", kind, s.lines.Err())
	return ""
}

// Every event an agent's screen gets — prompt, prompt_expired, state, call — carries data of the shape the
// contract gives it.
func TestSessionEventsFollowTheContract(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		d := newDialerEnv(t, dialect, everyDay)
		ctx := context.Background()
		stream := d.events(t, uuid.Nil)
		_, _, p := d.prompted(t, "+5547991234567")
		var prompt struct {
			PromptID uuid.UUID `json:"prompt_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(stream.next(t, "prompt")), &prompt))
		require.Equal(t, p.Id, prompt.PromptID)
		d.Clock.Advance(31 * time.Second)
		d.run(t)
		stream.next(t, "prompt_expired")
		stream.next(t, "state")
		r, err := d.agent.ResumeDialerSessionWithResponse(ctx, d.session.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode())
		require.Equal(t, 1, d.run(t))
		p2 := d.sessionNow(t).Prompt.MustGet()
		stream.next(t, "prompt")
		ans, err := d.agent.AnswerDialerPromptWithResponse(ctx, p2.Id, client.PromptAnswer{PauseDialer: false})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ans.StatusCode(), string(ans.Body))
		var call struct {
			CallID        uuid.UUID `json:"call_id"`
			SessionStatus string    `json:"session_status"`
		}
		require.NoError(t, json.Unmarshal([]byte(stream.next(t, "call")), &call))
		require.Equal(t, "on_call", call.SessionStatus)
		for _, ev := range []client.CallEventCreateEvent{client.CallEventCreateEventAnswered, client.CallEventCreateEventEnded} {
			r, err := d.admin.ReportCallEventWithResponse(ctx, call.CallID, client.CallEventCreate{Event: ev})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		}
		stream.next(t, "call")
		var st struct {
			Status string `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(stream.next(t, "state")), &st))
		require.Equal(t, "wrap_up", st.Status)
	})
}
