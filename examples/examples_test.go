// Package examples_test runs the example programs — the ERP integrator in Go and the agent's frontend in
// TypeScript — against a whole atende on loopback, as their users would run them.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// EnvRequireNode makes a missing Node.js or clients/typescript/node_modules fail the frontend test instead of
// skipping it.
const EnvRequireNode = "ATENDE_TEST_REQUIRE_NODE"

// runTimeout bounds each example's run.
const runTimeout = 45 * time.Second

// TestERPIntegrator runs examples/erp-integrator: an integration and a webhook endpoint, two signed events of a
// service order, the redelivery of the second, the ticket read back, and atende's signed webhooks of the
// ticket's creation and update received and verified.
func TestERPIntegrator(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "erp-integrator")
	build := exec.Command("go", "build", "-o", bin, "./erp-integrator")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./examples/erp-integrator: %s", out)

	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		// Signed events carry the wall clock's time, which atende checks against its own.
		env.Clock.Set(time.Now())
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		// The webhook deliverer `atende serve` runs beside the API.
		deliverer := env.App.Outbound.NewDeliverer(outbound.DelivererOptions{ID: "examples-test", Timeout: 5 * time.Second, Tick: 20 * time.Millisecond})
		deliverer.Start(ctx)
		defer deliverer.Stop(context.Background())
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), "ATENDE_URL="+env.URL, "ATENDE_ADMIN_KEY="+env.AdminKey, "ATENDE_WEBHOOK_WAIT=30s")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("erp-integrator output:\n%s%s", stdout.String(), stderr.String())
		require.NoError(t, err, "erp-integrator failed: %s", stderr.String())
		for _, want := range []string{"outcome created", "outcome updated", "outcome duplicate", "has one ticket",
			"registered webhook endpoint", "received ticket.created", "received ticket.updated", "[erp] done", "deleted webhook endpoint"} {
			require.Contains(t, stdout.String(), want)
		}

		// What the example did is in atende: one ticket, updated once.
		admin := env.Client(env.AdminKey)
		tickets, err := admin.ListTicketsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, tickets.StatusCode(), string(tickets.Body))
		require.Len(t, tickets.JSON200.Data, 1, "the redelivery created no second ticket")
		tk := tickets.JSON200.Data[0]
		require.Equal(t, client.TicketStatusInProgress, tk.Status)
		require.EqualValues(t, 2, tk.Version)
		// Its webhook endpoint went away with its receiver.
		eps, err := admin.ListWebhookEndpointsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, eps.StatusCode(), string(eps.Body))
		require.Empty(t, eps.JSON200.Data)
	})
}

// TestFrontendDialerPrompt runs examples/frontend with node: the agent joins a campaign, the dialer finds the
// customer in an active WhatsApp conversation and prompts the agent over the session's event stream, and the
// example answers — going on with the call, or pausing the dialer — then sees the outcome's event.
func TestFrontendDialerPrompt(t *testing.T) {
	t.Parallel()
	mainJS := buildFrontend(t)

	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("continue", func(t *testing.T) {
			t.Parallel()
			f := newFrontendEnv(t, dialect)
			res := f.run(t, mainJS, map[string]string{"ATENDE_TIMEOUT": "30"}, true)
			require.Equal(t, 0, res.code, "the example failed:\n%s", res.output)
			for _, want := range []string{"joined campaign", "stream open", "event prompt", "answered prompt", "it is continued",
				"event call", "the call is placed"} {
				require.Contains(t, res.output, want)
			}
			placed := f.env.App.Telephony.Placed()
			require.Len(t, placed, 1, "the call went to telephony")
			require.Equal(t, frontendNumber, placed[0].Number)
		})
		t.Run("pause", func(t *testing.T) {
			t.Parallel()
			f := newFrontendEnv(t, dialect)
			res := f.run(t, mainJS, map[string]string{"ATENDE_TIMEOUT": "30", "ATENDE_PAUSE_DIALER": "1"}, true)
			require.Equal(t, 0, res.code, "the example failed:\n%s", res.output)
			for _, want := range []string{"event prompt", "answered prompt", "it is paused", "event state", "the dialer skipped the customer"} {
				require.Contains(t, res.output, want)
			}
			require.Empty(t, f.env.App.Telephony.Placed(), "no call")
			its, err := f.admin.ListContactInteractionsWithResponse(context.Background(), f.contactID, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, its.StatusCode(), string(its.Body))
			require.Len(t, its.JSON200.Data, 1)
			require.Equal(t, "contact_via_whatsapp", its.JSON200.Data[0].Result)
		})
		t.Run("timeout and reload", func(t *testing.T) {
			t.Parallel()
			f := newFrontendEnv(t, dialect)
			// No worker runs: the prompt never comes.
			res := f.run(t, mainJS, map[string]string{"ATENDE_TIMEOUT": "1"}, false)
			require.Equal(t, 3, res.code, "the example should time out:\n%s", res.output)
			require.Contains(t, res.output, "timed out after 1s waiting for a prompt")

			// Run again, as after a reload: the agent's open session is taken up, not joined twice.
			again := f.run(t, mainJS, map[string]string{"ATENDE_TIMEOUT": "1"}, false)
			require.Equal(t, 3, again.code, "the example should time out:\n%s", again.output)
			require.Contains(t, again.output, "already in the campaign: taking up session")
		})
	})
}

// frontendNumber is the customer's number, in an active WhatsApp conversation in the Plinx simulator.
const frontendNumber = "+5547991234567"

// frontendEnv is atende with a running campaign whose one entry is a customer active on WhatsApp, the dialer
// setting that prompts the agent about such customers on, and an agent for the example to act as.
type frontendEnv struct {
	env        *apitest.Env
	admin      *client.ClientWithResponses
	agentKey   string
	campaignID string
	contactID  uuid.UUID
}

func newFrontendEnv(t *testing.T, dialect store.Dialect) *frontendEnv {
	t.Helper()
	ctx := context.Background()
	// The test clock stays at apitest.Epoch, a working Monday: the campaign's window is open.
	env := apitest.New(t, dialect)
	f := &frontendEnv{env: env, admin: env.Client(env.AdminKey)}
	_, f.agentKey = env.NewUser(env.AdminKey, client.RoleAgent)

	on := true
	s, err := f.admin.UpdateDialerSettingsWithResponse(ctx, nil, client.DialerSettingsUpdate{DialActiveWhatsapp: &on})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, s.StatusCode(), string(s.Body))

	everyDay := client.CallingWindow{
		Days:  []client.Weekday{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"},
		Start: "00:00", End: "23:59",
	}
	c, err := f.admin.CreateCampaignWithResponse(ctx, nil, client.CampaignCreate{Name: "Renovação", Window: everyDay})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
	started, err := f.admin.StartCampaignWithResponse(ctx, c.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, started.StatusCode(), string(started.Body))
	f.campaignID = c.JSON201.Id.String()

	env.Plinx.SetActive(frontendNumber, true)
	contact, err := f.admin.CreateContactWithResponse(ctx, nil, client.CreateContactJSONRequestBody{Name: "Maria Souza", Phones: &[]string{frontendNumber}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, contact.StatusCode(), string(contact.Body))
	f.contactID = contact.JSON201.Id
	e, err := f.admin.AddCampaignEntriesWithResponse(ctx, c.JSON201.Id, nil, client.EntriesCreate{
		Entries: []client.EntryTarget{{ContactId: &contact.JSON201.Id}},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, e.StatusCode(), string(e.Body))
	return f
}

// runResult is how an example run ended.
type runResult struct {
	code   int
	output string
}

// run runs the frontend example with node. With dial set, a dialer worker starts once the example's event
// stream is open, so the prompt reaches it as an event.
func (f *frontendEnv) run(t *testing.T, mainJS string, env map[string]string, dial bool) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", mainJS)
	cmd.Env = append(os.Environ(), "ATENDE_URL="+f.env.URL, "ATENDE_AGENT_KEY="+f.agentKey, "ATENDE_CAMPAIGN_ID="+f.campaignID)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var output apitest.SyncBuffer
	cmd.Stderr = &output
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	opened := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		lines := bufio.NewScanner(stdout)
		once := sync.Once{}
		for lines.Scan() {
			output.Write([]byte(lines.Text() + "\n"))
			if strings.Contains(lines.Text(), "stream open") {
				once.Do(func() { close(opened) })
			}
		}
	}()

	workerCtx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		if !dial {
			return
		}
		select {
		case <-opened:
		case <-workerCtx.Done():
			return
		}
		w := f.env.App.Dialer.NewWorker(dialer.WorkerOptions{ID: "examples-test"})
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := w.RunOnce(workerCtx); err != nil && workerCtx.Err() == nil {
				t.Errorf("dialer worker: %v", err)
				return
			}
			select {
			case <-workerCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	<-read
	err = cmd.Wait()
	stopWorker()
	<-workerDone
	t.Logf("frontend output:\n%s", output.String())
	code := 0
	if err != nil {
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "run node: %v", err)
		code = exit.ExitCode()
	}
	require.NoError(t, ctx.Err(), "the example ran past %s", runTimeout)
	return runResult{code: code, output: output.String()}
}

// buildFrontend compiles the TypeScript client and the frontend example with the client's own tsc and returns
// the example's entry point. Without node or the client's node_modules it skips, unless ATENDE_TEST_REQUIRE_NODE=1.
func buildFrontend(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	clientDir := filepath.Join(root, "clients", "typescript")
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "typescript")); err != nil {
		missing = "clients/typescript/node_modules is missing (run make sdk-ts)"
	}
	if missing != "" {
		if os.Getenv(EnvRequireNode) == "1" {
			t.Fatalf("%s=1 but %s", EnvRequireNode, missing)
		}
		t.Skipf("skipping the TypeScript example: %s (set %s=1 to fail instead)", missing, EnvRequireNode)
	}
	tsc := exec.Command("node", filepath.Join(clientDir, "node_modules", "typescript", "bin", "tsc"), "-b", filepath.Join(root, "examples", "frontend"))
	tsc.Dir = clientDir
	out, err := tsc.CombinedOutput()
	require.NoError(t, err, "tsc -b examples/frontend: %s", out)
	return filepath.Join(root, "examples", "frontend", "dist", "main.js")
}
