package main

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/ticket"
)

// outbox is a PostgreSQL database of tickets whose opening task sends a WhatsApp template, a Plinx
// simulator, and the means to add tickets and run `atende worker` processes that send their messages.
type outbox struct {
	*fleet
	integration ticket.Integration
}

func newOutbox(t *testing.T) *outbox {
	t.Helper()
	f := newProcesses(t)
	f.plinx.AddTemplate(sim.Template{Name: "abertura_chamado", Language: "pt_BR", Variables: 2})

	ctx := context.Background()
	a := f.app(ctx)
	defer a.Close()
	_, _, err := a.Bootstrap(ctx)
	require.NoError(t, err)
	var tenantID uuid.UUID
	require.NoError(t, a.DB.NewSelect().Table("tenants").Column("id").Limit(1).Scan(ctx, &tenantID))
	tpl, err := a.Tickets.CreateTemplate(ctx, tenantID, ticket.NewTemplate{Name: "abertura_chamado", Language: "pt_BR",
		Body: "Olá {{1}}, chamado {{2}} aberto."})
	require.NoError(t, err)
	proc, err := a.Tickets.CreateProcedure(ctx, tenantID, ticket.NewProcedure{Name: "OS", Tasks: []ticket.TaskInput{
		{Name: "Abertura", SendWhatsApp: true, TemplateID: &tpl.ID, Variables: []string{ticket.FieldCustomerName, ticket.FieldProtocol}},
	}})
	require.NoError(t, err)
	ig, err := a.Tickets.CreateIntegration(ctx, tenantID, ticket.NewIntegration{Name: "ERP", DefaultProcedureID: &proc.ID})
	require.NoError(t, err)

	f.db, err = store.Open(ctx, f.dbURL, store.Options{MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { f.db.Close() })
	return &outbox{fleet: f, integration: ig}
}

func (f *fleet) app(ctx context.Context) *app.App {
	f.t.Helper()
	a, err := app.New(ctx, config.Config{DatabaseURL: f.dbURL, DatabaseMaxConns: 4, PlinxURL: f.plinxAt,
		PlinxToken: config.Secret(sim.DefaultToken), BootstrapAdminKey: fleetAdminKey, TelephonySimulator: "manual",
		PlinxTimeout: time.Second, PublicURL: "https://atende.example"}, slog.New(slog.DiscardHandler), clock.System{})
	require.NoError(f.t, err)
	return a
}

// open opens n tickets, from code first on, each queueing its greeting.
func (o *outbox) open(first, n int) {
	o.t.Helper()
	ctx := context.Background()
	a := o.app(ctx)
	defer a.Close()
	for i := first; i < first+n; i++ {
		name, phone := fmt.Sprintf("Cliente %d", i), fmt.Sprintf("+55479%08d", 92000000+i)
		_, err := a.Tickets.Apply(ctx, o.integration, "", ticket.Event{ExternalCode: fmt.Sprintf("OS-%d", i), Version: ptr(int64(1)),
			Status: "ABERTA", Customer: ticket.Customer{Name: &name, Phone: &phone}})
		require.NoError(o.t, err)
	}
}

func ptr[T any](v T) *T { return &v }

// sends counts, among the messages of codes [first, first+n), the simulator's sends by reference.
func (o *outbox) sends() map[string]int {
	out := map[string]int{}
	for _, m := range o.plinx.SentMessages() {
		out[m.Reference]++
	}
	return out
}

// waitSent waits until no message is queued.
func (o *outbox) waitSent(timeout time.Duration) {
	o.t.Helper()
	require.Eventually(o.t, func() bool {
		return o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'queued'`) == 0
	}, timeout, 50*time.Millisecond, "messages still queued: %d", o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'queued'`))
}

// The sender killed (SIGKILL) mid-batch, and Plinx failing with errors and timeouts for a while: no message
// is lost, and only the sends in flight at the kill may go out twice.
func TestKilledSenderLosesNoMessage(t *testing.T) {
	const n = 400
	o := newOutbox(t)
	o.open(0, n)
	require.Equal(t, n, o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'queued'`))

	// Slow sends keep a batch in flight.
	o.plinx.SetLatency(sim.OpSendTemplate, 150*time.Millisecond)
	env := []string{"ATENDE_WORKERS=1", "ATENDE_WORKER_LEASE=3s", "ATENDE_PLINX_TIMEOUT=1s", "ATENDE_PLINX_SEND_RATE=1000"}
	victim := o.start("worker", env...)
	require.Eventually(t, func() bool {
		return o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'accepted'`) >= 50 &&
			o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'queued' AND leased_by IS NOT NULL`) > 0
	}, time.Minute, 5*time.Millisecond, "the sender never had a batch in flight")
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.done
	victim.done <- nil
	inFlight := o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'queued' AND leased_by IS NOT NULL`)
	t.Logf("killed with %d messages claimed", inFlight)
	require.Positive(t, inFlight, "the kill caught a batch in flight")

	// Plinx fails for a while: errors, then timeouts, then it recovers.
	o.plinx.SetLatency(sim.OpSendTemplate, 0)
	o.plinx.FailNext(sim.OpSendTemplate, sim.FailError500, 20)
	heir := o.start("worker", env...)
	require.Eventually(t, func() bool { return o.plinx.Fault(sim.OpSendTemplate).Mode == sim.FailNone }, time.Minute, 10*time.Millisecond)
	o.plinx.SetFault(sim.OpSendTemplate, sim.Fault{Mode: sim.FailTimeout, Times: 5, HangFor: 3 * time.Second})
	o.waitSent(2 * time.Minute)
	heir.stop(t)

	require.Zero(t, o.count(`SELECT count(*) FROM outbound_messages WHERE status <> 'accepted'`), "every message went out")
	require.Positive(t, o.count(`SELECT count(*) FROM outbound_messages WHERE attempts > 1`), "failures were retried")
	sends := o.sends()
	require.Len(t, sends, n, "no message lost")
	twice := 0
	for _, c := range sends {
		if c > 1 {
			twice += c - 1
		}
	}
	t.Logf("%d sends repeated after the kill", twice)
	require.LessOrEqual(t, twice, inFlight, "only sends in flight at the kill repeat")
}

// A sender stopped with SIGTERM finishes and records what it sent: nothing goes out twice.
func TestStoppedSenderSendsNothingTwice(t *testing.T) {
	const n = 300
	o := newOutbox(t)
	o.open(0, n)
	o.plinx.SetLatency(sim.OpSendTemplate, 100*time.Millisecond)
	env := []string{"ATENDE_WORKERS=1", "ATENDE_WORKER_LEASE=3s", "ATENDE_PLINX_TIMEOUT=1s", "ATENDE_PLINX_SEND_RATE=1000"}
	first := o.start("worker", env...)
	require.Eventually(t, func() bool { return o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'accepted'`) >= 30 },
		time.Minute, 5*time.Millisecond, "the sender never got going")
	first.stop(t)
	require.Contains(t, first.logs.String(), "message sender stopped")
	require.Zero(t, o.count(`SELECT count(*) FROM outbound_messages WHERE leased_by IS NOT NULL`), "nothing left claimed")
	left := o.count(`SELECT count(*) FROM outbound_messages WHERE status = 'queued'`)
	t.Logf("stopped with %d messages left", left)
	require.Positive(t, left)

	o.plinx.SetLatency(sim.OpSendTemplate, 0)
	second := o.start("worker", env...)
	o.waitSent(time.Minute)
	second.stop(t)
	sends := o.sends()
	require.Len(t, sends, n)
	for ref, c := range sends {
		require.Equal(t, 1, c, "message %s", ref)
	}
}
