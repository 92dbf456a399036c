package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// routingEnv is a tenant with portfolio routing on, a default team "Comercial" distributing by portfolio
// (Ana, Bruno and Carla) and the consultants' portfolios.
type routingEnv struct {
	*plinxEnv
	ana, bruno, carla          uuid.UUID
	anaC, brunoC, carlaC, supC *client.ClientWithResponses
	team                       client.Team
	anaPf, brunoPf             uuid.UUID
}

func newRoutingEnv(t *testing.T, dialect store.Dialect) *routingEnv {
	t.Helper()
	ctx := context.Background()
	e := &routingEnv{plinxEnv: newPlinxEnv(t, dialect)}
	var anaKey, brunoKey, carlaKey, supKey string
	e.ana, anaKey = e.namedUser(t, "Ana", client.RoleAgent)
	e.bruno, brunoKey = e.namedUser(t, "Bruno", client.RoleAgent)
	e.carla, carlaKey = e.namedUser(t, "Carla", client.RoleAgent)
	_, supKey = e.namedUser(t, "Sofia", client.RoleSupervisor)
	e.anaC, e.brunoC, e.carlaC, e.supC = e.Client(anaKey), e.Client(brunoKey), e.Client(carlaKey), e.Client(supKey)

	on, yes, byPortfolio := true, true, client.TeamDistributionPortfolio
	st, err := e.admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{Features: &client.FeaturesUpdate{PortfolioRouting: &on}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	team, err := e.admin.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "Comercial", Distribution: &byPortfolio,
		Default: &yes, MemberIds: &[]uuid.UUID{e.ana, e.bruno, e.carla}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, team.StatusCode(), string(team.Body))
	require.True(t, team.JSON201.Default)
	require.Equal(t, client.TeamOwnersAwayWait, team.JSON201.OwnersAway, "owners away: wait for the overflow time by default")
	e.team = *team.JSON201
	single := client.PortfolioTypeSingle
	for owner, id := range map[uuid.UUID]*uuid.UUID{e.ana: &e.anaPf, e.bruno: &e.brunoPf} {
		name := "Carteira Ana"
		if owner == e.bruno {
			name = "Carteira Bruno"
		}
		pf, err := e.admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: name, Type: &single, OwnerIds: &[]uuid.UUID{owner}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, pf.StatusCode(), string(pf.Body))
		*id = pf.JSON201.Id
	}
	return e
}

func (e *routingEnv) namedUser(t *testing.T, name string, role client.Role) (uuid.UUID, string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.admin.CreateUserWithResponse(ctx, nil, client.UserCreate{Name: name, Email: client.Email(uuid.NewString()[:8] + "@atende.example"), Role: role})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, u.StatusCode(), string(u.Body))
	k, err := e.admin.CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: name, UserId: &u.JSON201.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, k.StatusCode(), string(k.Body))
	return u.JSON201.Id, k.JSON201.Key
}

// customer creates a contact with a WhatsApp number, filed in the given portfolios.
func (e *routingEnv) customer(t *testing.T, name, number string, portfolios ...uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	c, err := e.admin.CreateContactWithResponse(ctx, nil, client.CreateContactJSONRequestBody{Name: name, Phones: &[]string{number}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
	for _, pf := range portfolios {
		add, err := e.admin.AddContactPortfolioWithResponse(ctx, c.JSON201.Id, client.ContactPortfolioAdd{PortfolioId: pf})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, add.StatusCode(), string(add.Body))
	}
}

// arrive has Plinx start a conversation with number and returns it as atende routed it.
func (e *routingEnv) arrive(t *testing.T, number string, team ...string) client.Conversation {
	t.Helper()
	sc := sim.Shortcut{Type: "conversation.started", Phone: number}
	if len(team) > 0 {
		sc.Team = team[0]
	}
	e.fire(t, sc)
	return e.conversationOf(t, number)
}

// restart closes the number's conversation and starts a new one.
func (e *routingEnv) restart(t *testing.T, number string) client.Conversation {
	t.Helper()
	e.fire(t, sim.Shortcut{Type: "conversation.closed", Phone: number})
	e.fire(t, sim.Shortcut{Type: "conversation.started", Phone: number})
	ctx := context.Background()
	open := client.ConversationStatusOpen
	list, err := e.admin.ListConversationsWithResponse(ctx, &client.ListConversationsParams{Phone: &number, Status: &open})
	require.NoError(t, err)
	require.Len(t, list.JSON200.Data, 1)
	return list.JSON200.Data[0]
}

func (e *routingEnv) waiting(t *testing.T, c *client.ClientWithResponses, agent uuid.UUID) []string {
	t.Helper()
	res, err := c.ListAgentWaitingWithResponse(context.Background(), agent, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	var numbers []string
	for _, cv := range res.JSON200.Data {
		numbers = append(numbers, cv.Phone.Number)
	}
	return numbers
}

func (e *routingEnv) decisions(t *testing.T, id uuid.UUID) []client.RoutingDecision {
	t.Helper()
	res, err := e.supC.ListConversationRoutingWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Data
}

func (e *routingEnv) sweep(t *testing.T) int {
	t.Helper()
	n, err := e.App.Router.RunOnce(context.Background())
	require.NoError(t, err)
	return n
}

func (e *routingEnv) setAvailability(t *testing.T, c *client.ClientWithResponses, id uuid.UUID, a client.AgentAvailability) {
	t.Helper()
	res, err := c.UpdateAgentWithResponse(context.Background(), id, client.AgentUpdate{Availability: a})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}

func assignedTo(c client.Conversation) uuid.UUID {
	if v, err := c.AssignedTo.Get(); err == nil {
		return v
	}
	return uuid.Nil
}

func routingOf(c client.Conversation) client.ConversationRouting {
	v, _ := c.Routing.Get()
	return v
}

const (
	joaoNumber  = "+5547991110001" // Ana's
	mariaNumber = "+5547991110002" // Bruno's
	pedroNumber = "+5547991110003" // in both portfolios
	lucasNumber = "+5547991110004" // Ana's
	newNumber   = "+5547991110009" // nobody's
)

// Seeds 003 and 004: two consultants each own a portfolio; their contacts' conversations reach only their
// waiting lists, a contact in both reaches both, a new number goes to the team, and the owner takes it.
func TestPortfolioRoutingOffersConversationsToTheOwners(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newRoutingEnv(t, dialect)
		ctx := context.Background()
		e.customer(t, "João", joaoNumber, e.anaPf)
		e.customer(t, "Maria", mariaNumber, e.brunoPf)
		e.customer(t, "Pedro", pedroNumber, e.anaPf, e.brunoPf)

		joao, maria, pedro := e.arrive(t, joaoNumber), e.arrive(t, mariaNumber), e.arrive(t, pedroNumber)
		for _, c := range []client.Conversation{joao, maria, pedro} {
			require.Equal(t, client.ConversationRoutingOffered, routingOf(c))
			require.Equal(t, uuid.Nil, assignedTo(c), "an offered conversation is nobody's yet")
			require.Equal(t, e.team.Id, c.TeamId.MustGet(), "it entered the default team")
			require.Equal(t, apitest.Epoch.Add(300*time.Second), c.OverflowAt.MustGet().UTC())
		}
		require.Equal(t, []string{joaoNumber, pedroNumber}, e.waiting(t, e.anaC, e.ana))
		require.Equal(t, []string{mariaNumber, pedroNumber}, e.waiting(t, e.brunoC, e.bruno))
		require.Empty(t, e.waiting(t, e.carlaC, e.carla), "Carla owns no portfolio: nothing waits for her")

		d := e.decisions(t, joao.Id)
		require.Len(t, d, 1)
		require.Equal(t, client.RoutingDecisionKindOffered, d[0].Kind)
		require.Equal(t, client.RoutingDecisionReasonPortfolioOwner, d[0].Reason)
		require.Equal(t, e.ana, d[0].AgentId.MustGet())
		require.Equal(t, e.anaPf, d[0].PortfolioId.MustGet())
		require.Equal(t, "Ana owns portfolio «Carteira Ana» of the contact.", d[0].Detail)
		require.Len(t, e.decisions(t, pedro.Id), 2, "offered to both owners")

		// A new number goes to the team's round robin: assigned at once to a member.
		fresh := e.arrive(t, newNumber)
		require.Equal(t, client.ConversationRoutingAssigned, routingOf(fresh))
		require.Contains(t, []uuid.UUID{e.ana, e.bruno, e.carla}, assignedTo(fresh))
		d = e.decisions(t, fresh.Id)
		require.Equal(t, client.RoutingDecisionKindAssigned, d[0].Kind)
		require.Equal(t, client.RoutingDecisionReasonNewNumber, d[0].Reason)
		require.Equal(t, assignedTo(fresh), d[0].AgentId.MustGet())

		// Waiting lists: an agent sees only its own; supervisors see anyone's.
		other, err := e.brunoC.ListAgentWaitingWithResponse(ctx, e.ana, nil)
		require.NoError(t, err)
		e.Problem(other.HTTPResponse, other.Body, http.StatusForbidden)
		require.Equal(t, []string{joaoNumber, pedroNumber}, e.waiting(t, e.supC, e.ana))

		// Bruno cannot take Ana's customer; Ana takes it, and it leaves her list.
		notHis, err := e.brunoC.AssignConversationWithResponse(ctx, joao.Id, nil, client.AssignConversationJSONRequestBody{})
		require.NoError(t, err)
		e.Problem(notHis.HTTPResponse, notHis.Body, http.StatusForbidden)
		forOther, err := e.brunoC.AssignConversationWithResponse(ctx, maria.Id, nil, client.AssignConversationJSONRequestBody{AgentId: &e.carla})
		require.NoError(t, err)
		e.Problem(forOther.HTTPResponse, forOther.Body, http.StatusForbidden)
		took, err := e.anaC.AssignConversationWithResponse(ctx, joao.Id, nil, client.AssignConversationJSONRequestBody{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, took.StatusCode(), string(took.Body))
		require.Equal(t, e.ana, assignedTo(*took.JSON200))
		require.Equal(t, client.ConversationRoutingAssigned, routingOf(*took.JSON200))
		require.Equal(t, []string{pedroNumber}, e.waiting(t, e.anaC, e.ana))
		d = e.decisions(t, joao.Id)
		require.Equal(t, client.RoutingDecisionKindTaken, d[1].Kind)
		require.Equal(t, e.ana, d[1].ActorId.MustGet())
		again, err := e.anaC.AssignConversationWithResponse(ctx, joao.Id, nil, client.AssignConversationJSONRequestBody{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, again.StatusCode(), "taking what one has changes nothing")
		require.Len(t, e.decisions(t, joao.Id), 2)

		// Both owners reach for Pedro at once: exactly one gets him.
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []*client.ClientWithResponses{e.anaC, e.brunoC} {
			wg.Go(func() {
				res, err := c.AssignConversationWithResponse(ctx, pedro.Id, nil, client.AssignConversationJSONRequestBody{})
				if err == nil {
					codes[i] = res.StatusCode()
				}
			})
		}
		wg.Wait()
		require.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes)
		require.Empty(t, e.waiting(t, e.anaC, e.ana))
		require.Equal(t, []string{mariaNumber}, e.waiting(t, e.brunoC, e.bruno))

		// A supervisor moves Maria to Carla.
		moved, err := e.supC.AssignConversationWithResponse(ctx, maria.Id, nil, client.AssignConversationJSONRequestBody{AgentId: &e.carla})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, moved.StatusCode(), string(moved.Body))
		require.Equal(t, e.carla, assignedTo(*moved.JSON200))
		d = e.decisions(t, maria.Id)
		require.Equal(t, client.RoutingDecisionKindManual, d[len(d)-1].Kind)
		require.Equal(t, "Sofia assigned it to Carla.", d[len(d)-1].Detail)
		ghost, err := e.supC.AssignConversationWithResponse(ctx, maria.Id, nil, client.AssignConversationJSONRequestBody{AgentId: ptr(uuid.New())})
		require.NoError(t, err)
		require.Equal(t, "agent_id", (*e.Problem(ghost.HTTPResponse, ghost.Body, http.StatusBadRequest).Errors)[0].Field)

		// A conversation Plinx directs to another team is offered only to owners in that team.
		byPortfolio := client.TeamDistributionPortfolio
		pos, err := e.admin.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "Pós-venda", Distribution: &byPortfolio,
			MemberIds: &[]uuid.UUID{e.carla}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, pos.StatusCode(), string(pos.Body))
		e.customer(t, "Lucas", lucasNumber, e.anaPf)
		lucas := e.arrive(t, lucasNumber, "Pós-venda")
		require.Equal(t, e.carla, assignedTo(lucas), "Ana owns Lucas but is not in Pós-venda")
		d = e.decisions(t, lucas.Id)
		require.Equal(t, client.RoutingDecisionReasonNoPortfolio, d[0].Reason)
		require.Equal(t, pos.JSON201.Id, d[0].TeamId.MustGet())

		// Closed conversations are nobody's to take; another tenant sees none of this.
		e.fire(t, sim.Shortcut{Type: "conversation.closed", Phone: newNumber})
		closed, err := e.supC.AssignConversationWithResponse(ctx, fresh.Id, nil, client.AssignConversationJSONRequestBody{AgentId: &e.ana})
		require.NoError(t, err)
		e.Problem(closed.HTTPResponse, closed.Body, http.StatusConflict)
		stranger := e.Client(e.NewTenant("Outra").AdminKey)
		lst, err := stranger.ListAgentWaitingWithResponse(ctx, e.ana, nil)
		require.NoError(t, err)
		e.Problem(lst.HTTPResponse, lst.Body, http.StatusNotFound)
		as, err := stranger.AssignConversationWithResponse(ctx, maria.Id, nil, client.AssignConversationJSONRequestBody{})
		require.NoError(t, err)
		e.Problem(as.HTTPResponse, as.Body, http.StatusNotFound)
		rt, err := stranger.ListConversationRoutingWithResponse(ctx, maria.Id)
		require.NoError(t, err)
		e.Problem(rt.HTTPResponse, rt.Body, http.StatusNotFound)
	})
}

// An owner away: the conversation waits on the owner's list for the overflow time, then the team's round
// robin gives it to an available member; a team set to overflow at once skips the wait; with nobody
// available the conversation queues in the team until a member comes back.
func TestRoutingOverflowsToTheTeam(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newRoutingEnv(t, dialect)
		ctx := context.Background()
		e.customer(t, "João", joaoNumber, e.anaPf)
		e.customer(t, "Lucas", lucasNumber, e.anaPf)
		e.customer(t, "Maria", mariaNumber, e.brunoPf)
		e.setAvailability(t, e.anaC, e.ana, client.AgentAvailabilityAway)

		// Ana is away; Bruno is at his desk but does not answer Maria.
		joao, maria := e.arrive(t, joaoNumber), e.arrive(t, mariaNumber)
		require.Equal(t, client.ConversationRoutingOffered, routingOf(joao))
		require.Equal(t, []string{joaoNumber}, e.waiting(t, e.supC, e.ana), "it waits for its owner")
		require.Equal(t, []string{mariaNumber}, e.waiting(t, e.supC, e.bruno))
		require.Zero(t, e.sweep(t))
		e.Clock.Advance(299 * time.Second)
		require.Zero(t, e.sweep(t), "the overflow time has not passed")
		require.Equal(t, client.ConversationRoutingOffered, routingOf(e.conversationOf(t, joaoNumber)))

		e.Clock.Advance(2 * time.Second)
		require.Equal(t, 2, e.sweep(t))
		maria = e.conversationOf(t, mariaNumber)
		require.Equal(t, client.ConversationRoutingAssigned, routingOf(maria))
		require.Equal(t, client.RoutingDecisionReasonOverflow, e.decisions(t, maria.Id)[1].Reason)
		require.Empty(t, e.waiting(t, e.supC, e.bruno))
		joao = e.conversationOf(t, joaoNumber)
		require.Equal(t, client.ConversationRoutingAssigned, routingOf(joao))
		require.Contains(t, []uuid.UUID{e.bruno, e.carla}, assignedTo(joao), "an available member, not the away owner")
		require.NotEqual(t, assignedTo(joao), assignedTo(maria), "round robin: one each")
		require.Empty(t, e.waiting(t, e.supC, e.ana))
		d := e.decisions(t, joao.Id)
		require.Len(t, d, 2)
		require.Equal(t, client.RoutingDecisionKindAssigned, d[1].Kind)
		require.Equal(t, client.RoutingDecisionReasonOverflow, d[1].Reason)
		require.Contains(t, d[1].Detail, "No portfolio owner took it within the overflow time (1s late)")
		first := assignedTo(joao)

		// The team now gives away owners' conversations to the team at once; the round robin takes turns.
		overflow := client.TeamOwnersAwayOverflow
		up, err := e.admin.UpdateTeamWithResponse(ctx, e.team.Id, nil, client.TeamUpdate{OwnersAway: &overflow})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		lucas := e.arrive(t, lucasNumber)
		require.Equal(t, client.ConversationRoutingAssigned, routingOf(lucas))
		require.Contains(t, []uuid.UUID{e.bruno, e.carla}, assignedTo(lucas))
		require.Equal(t, first, assignedTo(lucas), "round robin: after João and Maria, João's agent again")
		require.Equal(t, client.RoutingDecisionReasonOwnersAway, e.decisions(t, lucas.Id)[0].Reason)

		// Everyone away: a new number queues in the team, on every member's list, until Carla is back.
		e.setAvailability(t, e.brunoC, e.bruno, client.AgentAvailabilityAway)
		e.setAvailability(t, e.carlaC, e.carla, client.AgentAvailabilityAway)
		fresh := e.arrive(t, newNumber)
		require.Equal(t, client.ConversationRoutingQueued, routingOf(fresh))
		require.Equal(t, []string{newNumber}, e.waiting(t, e.anaC, e.ana))
		require.Zero(t, e.sweep(t))
		e.setAvailability(t, e.carlaC, e.carla, client.AgentAvailabilityAvailable)
		require.Equal(t, 1, e.sweep(t))
		fresh = e.conversationOf(t, newNumber)
		require.Equal(t, e.carla, assignedTo(fresh))
		d = e.decisions(t, fresh.Id)
		require.Equal(t, []client.RoutingDecisionKind{client.RoutingDecisionKindQueued, client.RoutingDecisionKindAssigned}, []client.RoutingDecisionKind{d[0].Kind, d[1].Kind})
		require.Equal(t, client.RoutingDecisionReasonNewNumber, d[1].Reason)
		require.Empty(t, e.waiting(t, e.anaC, e.ana))
	})
}

// With the tenant's portfolio routing off, the team's round robin assigns every conversation in turn and
// portfolios are ignored; Plinx may name the team.
func TestRoutingWithTheFlagOffIsRoundRobin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newRoutingEnv(t, dialect)
		ctx := context.Background()
		e.customer(t, "João", joaoNumber, e.anaPf)
		e.customer(t, "Maria", mariaNumber, e.anaPf)
		e.customer(t, "Pedro", pedroNumber, e.anaPf)
		off := false
		st, err := e.admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{Features: &client.FeaturesUpdate{PortfolioRouting: &off}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))

		seen := map[uuid.UUID]int{}
		for _, number := range []string{joaoNumber, mariaNumber, pedroNumber} {
			c := e.arrive(t, number)
			require.Equal(t, client.ConversationRoutingAssigned, routingOf(c))
			seen[assignedTo(c)]++
			d := e.decisions(t, c.Id)
			require.Equal(t, client.RoutingDecisionReasonRoutingOff, d[0].Reason)
		}
		require.Equal(t, map[uuid.UUID]int{e.ana: 1, e.bruno: 1, e.carla: 1}, seen, "one each, in turn, portfolios ignored")
		require.Empty(t, e.waiting(t, e.anaC, e.ana))

		// Plinx names the team; an unknown name falls back to the default team.
		suporte, err := e.admin.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "Suporte", MemberIds: &[]uuid.UUID{e.bruno}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, suporte.StatusCode(), string(suporte.Body))
		c := e.arrive(t, "+5547991110005", "suporte")
		require.Equal(t, suporte.JSON201.Id, c.TeamId.MustGet())
		require.Equal(t, e.bruno, assignedTo(c))
		c = e.arrive(t, "+5547991110006", "Financeiro")
		require.Equal(t, e.team.Id, c.TeamId.MustGet())
		require.Contains(t, e.decisions(t, c.Id)[0].Detail, "Plinx named team «Financeiro», which does not exist")

		// Without a default team a conversation is unrouted, for a supervisor to assign.
		no := false
		up, err := e.admin.UpdateTeamWithResponse(ctx, e.team.Id, nil, client.TeamUpdate{Default: &no})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		c = e.arrive(t, "+5547991110007")
		require.Equal(t, client.ConversationRoutingUnrouted, routingOf(c))
		require.Equal(t, client.RoutingDecisionReasonNoTeam, e.decisions(t, c.Id)[0].Reason)
		unrouted := client.ConversationRoutingUnrouted
		list, err := e.supC.ListConversationsWithResponse(ctx, &client.ListConversationsParams{Routing: &unrouted})
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
		taken, err := e.carlaC.AssignConversationWithResponse(ctx, c.Id, nil, client.AssignConversationJSONRequestBody{})
		require.NoError(t, err)
		e.Problem(taken.HTTPResponse, taken.Body, http.StatusForbidden)
	})
}
