package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func createContact(t *testing.T, c *client.ClientWithResponses, name string) uuid.UUID {
	t.Helper()
	res, err := c.CreateContactWithResponse(context.Background(), nil, client.CreateContactJSONRequestBody{Name: name})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201.Id
}

// Seeds 003 and 004: consultants own portfolios of contacts; a contact may be in several; agents file the
// contact they talk to but do not manage portfolios; deleting portfolios keeps the contacts.
func TestPortfoliosGroupContacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		ana, anaKey := env.NewUser(env.AdminKey, client.RoleAgent)
		bruno, _ := env.NewUser(env.AdminKey, client.RoleAgent)
		agent := env.Client(anaKey)
		single, shared := client.PortfolioTypeSingle, client.PortfolioTypeShared

		sul, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Carteira Sul", Type: &single, OwnerIds: &[]uuid.UUID{ana}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, sul.StatusCode(), string(sul.Body))
		norte, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Carteira Norte", Type: &shared, OwnerIds: &[]uuid.UUID{ana, bruno}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, norte.StatusCode(), string(norte.Body))
		require.ElementsMatch(t, []uuid.UUID{ana, bruno}, norte.JSON201.OwnerIds)

		twoOwners, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Dupla", Type: &single, OwnerIds: &[]uuid.UUID{ana, bruno}})
		require.NoError(t, err)
		p := env.Problem(twoOwners.HTTPResponse, twoOwners.Body, http.StatusBadRequest)
		require.Equal(t, "owner_ids", (*p.Errors)[0].Field)
		same, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "carteira sul"})
		require.NoError(t, err)
		env.Problem(same.HTTPResponse, same.Body, http.StatusConflict)
		byAgent, err := agent.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Minha"})
		require.NoError(t, err)
		env.Problem(byAgent.HTTPResponse, byAgent.Body, http.StatusForbidden)

		carla, davi, eva := createContact(t, admin, "Carla"), createContact(t, admin, "Davi"), createContact(t, admin, "Eva")
		added, err := admin.AddPortfolioContactsWithResponse(ctx, sul.JSON201.Id, client.PortfolioContactsAdd{ContactIds: []uuid.UUID{davi, carla}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, added.StatusCode(), string(added.Body))
		require.Equal(t, 2, added.JSON200.Added)
		again, err := admin.AddPortfolioContactsWithResponse(ctx, sul.JSON201.Id, client.PortfolioContactsAdd{ContactIds: []uuid.UUID{carla}})
		require.NoError(t, err)
		require.Zero(t, again.JSON200.Added, "a member is added once")
		unknown, err := admin.AddPortfolioContactsWithResponse(ctx, sul.JSON201.Id, client.PortfolioContactsAdd{ContactIds: []uuid.UUID{eva, uuid.New()}})
		require.NoError(t, err)
		p = env.Problem(unknown.HTTPResponse, unknown.Body, http.StatusBadRequest)
		require.Equal(t, "contact_ids.1", (*p.Errors)[0].Field)

		got, err := agent.GetPortfolioWithResponse(ctx, sul.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, 2, got.JSON200.MemberCount, "nothing of the refused request was added")
		require.Equal(t, "Carla", got.JSON200.Members[0].Name)
		require.Equal(t, "Davi", got.JSON200.Members[1].Name)

		// The agent files Carla in Norte too, while talking to her.
		filed, err := agent.AddContactPortfolioWithResponse(ctx, carla, client.ContactPortfolioAdd{PortfolioId: norte.JSON201.Id})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, filed.StatusCode(), string(filed.Body))
		require.Len(t, filed.JSON200.Data, 2)
		require.Equal(t, "Carteira Norte", filed.JSON200.Data[0].Name)

		list, err := agent.ListPortfoliosWithResponse(ctx, &client.ListPortfoliosParams{Q: ptr("sul")})
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
		require.Equal(t, sul.JSON201.Id, list.JSON200.Data[0].Id)

		other := env.NewTenant("Outra")
		hidden, err := env.Client(other.AdminKey).GetPortfolioWithResponse(ctx, sul.JSON201.Id)
		require.NoError(t, err)
		env.Problem(hidden.HTTPResponse, hidden.Body, http.StatusNotFound)

		rm, err := admin.RemovePortfolioContactWithResponse(ctx, sul.JSON201.Id, davi)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rm.StatusCode())
		rm, err = admin.RemovePortfolioContactWithResponse(ctx, sul.JSON201.Id, davi)
		require.NoError(t, err)
		env.Problem(rm.HTTPResponse, rm.Body, http.StatusNotFound)

		bulkByAgent, err := agent.BulkDeletePortfoliosWithResponse(ctx, client.PortfolioBulkDelete{Ids: []uuid.UUID{sul.JSON201.Id}})
		require.NoError(t, err)
		env.Problem(bulkByAgent.HTTPResponse, bulkByAgent.Body, http.StatusForbidden)
		bulk, err := admin.BulkDeletePortfoliosWithResponse(ctx, client.PortfolioBulkDelete{Ids: []uuid.UUID{sul.JSON201.Id, norte.JSON201.Id, uuid.New()}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, bulk.StatusCode(), string(bulk.Body))
		require.Equal(t, 2, bulk.JSON200.Deleted)
		kept, err := admin.GetContactWithResponse(ctx, carla)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, kept.StatusCode(), "contacts outlive their portfolios")
		of, err := admin.ListContactPortfoliosWithResponse(ctx, carla)
		require.NoError(t, err)
		require.Empty(t, of.JSON200.Data)
	})
}

// Seed 003: an import files every contact in the portfolio its carteira column names, and in the
// import-wide portfolio; a name that is no portfolio fails its row only; re-importing files existing ones.
func TestImportFilesContactsInPortfolios(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		sul, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Carteira Sul"})
		require.NoError(t, err)
		todos, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Todos"})
		require.NoError(t, err)
		importCSV := func(csv string) *client.ImportContactsResponse {
			t.Helper()
			res, err := admin.ImportContactsWithBodyWithResponse(ctx, &client.ImportContactsParams{PortfolioId: &todos.JSON201.Id},
				"text/csv", strings.NewReader(csv))
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
			return res
		}
		first := importCSV("nome;telefone;carteira\nAna;47991230001;Carteira Sul\nBia;47991230002;carteira sul\nCaio;47991230003;Inexistente\nDora;47991230004;\n")
		require.Equal(t, 3, first.JSON201.Created)
		require.Equal(t, 1, first.JSON201.Failed)
		require.Equal(t, "portfolio", first.JSON201.Errors[0].Field.MustGet())
		require.Equal(t, 4, first.JSON201.Errors[0].Line)

		count := func(id uuid.UUID) int {
			got, err := admin.GetPortfolioWithResponse(ctx, id)
			require.NoError(t, err)
			return got.JSON200.MemberCount
		}
		require.Equal(t, 2, count(sul.JSON201.Id))
		require.Equal(t, 3, count(todos.JSON201.Id), "every imported contact is in the import-wide portfolio")

		// Dora is known by her phone: the re-import updates her and files her in Carteira Sul.
		again := importCSV("nome;telefone;carteira\nDora Lima;47991230004;CARTEIRA SUL\n")
		require.Equal(t, 1, again.JSON201.Updated)
		require.Equal(t, 3, count(sul.JSON201.Id))
		require.Equal(t, 3, count(todos.JSON201.Id))
	})
}

// With automatic inclusion on, the contact of a conversation an agent qualifies lands in the agent's
// portfolio when it is in none; with it off, nothing is filed.
func TestQualifyingFilesTheContactInTheAgentsPortfolio(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		p := newPlinxEnv(t, dialect)
		ctx := context.Background()
		agentID, agentKey := p.NewUser(p.AdminKey, client.RoleAgent)
		agent := p.Client(agentKey)
		single := client.PortfolioTypeSingle
		pf, err := p.admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Carteira da Ana", Type: &single, OwnerIds: &[]uuid.UUID{agentID}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, pf.StatusCode(), string(pf.Body))
		results, err := agent.ListResultsWithResponse(ctx, nil)
		require.NoError(t, err)
		resultID := results.JSON200.Data[0].Id

		qualify := func(name, number string) uuid.UUID {
			t.Helper()
			c, err := p.admin.CreateContactWithResponse(ctx, nil, client.CreateContactJSONRequestBody{Name: name, Phones: &[]string{number}})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
			p.fire(t, sim.Shortcut{Type: "conversation.started", Phone: number})
			conv := p.conversationOf(t, number)
			q, err := agent.QualifyConversationWithResponse(ctx, conv.Id, nil, client.QualificationCreate{ResultId: resultID})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, q.StatusCode(), string(q.Body))
			return c.JSON201.Id
		}
		off := qualify("Fora", "+5547991119001")
		of, err := p.admin.ListContactPortfoliosWithResponse(ctx, off)
		require.NoError(t, err)
		require.Empty(t, of.JSON200.Data, "automatic inclusion is off by default")

		on := true
		st, err := p.admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{Features: &client.FeaturesUpdate{PortfolioAutoInclude: &on}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
		filed := qualify("Dentro", "+5547991119002")
		of, err = p.admin.ListContactPortfoliosWithResponse(ctx, filed)
		require.NoError(t, err)
		require.Len(t, of.JSON200.Data, 1)
		require.Equal(t, pf.JSON201.Id, of.JSON200.Data[0].Id)
	})
}

// Teams gather agents and say how conversations are distributed; agents mark themselves away, and only
// themselves.
func TestTeamsAndAgentAvailability(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		ana, anaKey := env.NewUser(env.AdminKey, client.RoleAgent)
		bruno, _ := env.NewUser(env.AdminKey, client.RoleAgent)
		agent := env.Client(anaKey)
		byPortfolio := client.TeamDistributionPortfolio

		team, err := admin.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "Comercial", Distribution: &byPortfolio,
			MemberIds: &[]uuid.UUID{ana, bruno}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, team.StatusCode(), string(team.Body))
		require.Equal(t, 300, team.JSON201.OverflowSeconds, "the default overflow time")
		require.ElementsMatch(t, []uuid.UUID{ana, bruno}, team.JSON201.MemberIds)
		dup, err := admin.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "comercial"})
		require.NoError(t, err)
		env.Problem(dup.HTTPResponse, dup.Body, http.StatusConflict)
		byAgent, err := agent.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "Minha"})
		require.NoError(t, err)
		env.Problem(byAgent.HTTPResponse, byAgent.Body, http.StatusForbidden)

		a, err := agent.GetAgentWithResponse(ctx, ana)
		require.NoError(t, err)
		require.Equal(t, client.AgentAvailabilityAvailable, a.JSON200.Availability)
		require.Equal(t, "Comercial", a.JSON200.Teams[0].Name)
		away, err := agent.UpdateAgentWithResponse(ctx, ana, client.AgentUpdate{Availability: client.AgentAvailabilityAway})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, away.StatusCode(), string(away.Body))
		require.Equal(t, client.AgentAvailabilityAway, away.JSON200.Availability)
		other, err := agent.UpdateAgentWithResponse(ctx, bruno, client.AgentUpdate{Availability: client.AgentAvailabilityAway})
		require.NoError(t, err)
		env.Problem(other.HTTPResponse, other.Body, http.StatusForbidden)

		del, err := admin.DeleteTeamWithResponse(ctx, team.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode())
		a, err = admin.GetAgentWithResponse(ctx, ana)
		require.NoError(t, err)
		require.Empty(t, a.JSON200.Teams)
	})
}
