package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/require"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// fieldsOf lists the fields a problem names.
func fieldsOf(p gen.Problem) []string {
	out := []string{}
	if p.Errors != nil {
		for _, e := range *p.Errors {
			out = append(out, e.Field)
		}
	}
	return out
}

// requireProblem asserts that a response is a problem document with status naming each of fields.
func requireProblem(t *testing.T, env *apitest.Env, resp *http.Response, body []byte, status int, fields ...string) gen.Problem {
	t.Helper()
	p := env.Problem(resp, body, status)
	for _, f := range fields {
		require.Contains(t, fieldsOf(p), f, "%s", body)
	}
	return p
}

// requireSameTime asserts two instants are equal, whatever their zones.
func requireSameTime(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.UTC().Format(time.RFC3339Nano), got.UTC().Format(time.RFC3339Nano), msgAndArgs...)
}

// allPages follows next_cursor from the first page to the last and returns every page.
func allPages[T any](t *testing.T, fetch func(cursor *string) ([]T, nullable.Nullable[string])) [][]T {
	t.Helper()
	var pages [][]T
	var cursor *string
	for {
		require.Less(t, len(pages), 1000, "the pages never end")
		data, next := fetch(cursor)
		pages = append(pages, data)
		if !next.IsSpecified() || next.IsNull() {
			return pages
		}
		c := next.MustGet()
		cursor = &c
	}
}

// idsOf joins pages and returns the ids of their items, in order.
func idsOf[T any](pages [][]T, id func(T) uuid.UUID) []uuid.UUID {
	out := []uuid.UUID{}
	for _, p := range pages {
		for _, item := range p {
			out = append(out, id(item))
		}
	}
	return out
}

func companyID(c client.Company) uuid.UUID { return c.Id }
func contactID(c client.Contact) uuid.UUID { return c.Id }
func leadID(l client.Lead) uuid.UUID       { return l.Id }

func newCompany(t *testing.T, c *client.ClientWithResponses, body client.CompanyCreate) client.Company {
	t.Helper()
	r, err := c.CreateCompanyWithResponse(context.Background(), nil, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	return *r.JSON201
}

func newContact(t *testing.T, c *client.ClientWithResponses, body client.ContactCreate) client.Contact {
	t.Helper()
	r, err := c.CreateContactWithResponse(context.Background(), nil, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	return *r.JSON201
}

func newLead(t *testing.T, c *client.ClientWithResponses, body client.LeadCreate) client.Lead {
	t.Helper()
	r, err := c.CreateLeadWithResponse(context.Background(), nil, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	return *r.JSON201
}

func newInteraction(t *testing.T, c *client.ClientWithResponses, body client.InteractionCreate) client.Interaction {
	t.Helper()
	r, err := c.CreateInteractionWithResponse(context.Background(), nil, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	return *r.JSON201
}

func newFollowUp(t *testing.T, c *client.ClientWithResponses, body client.FollowUpCreate) client.FollowUp {
	t.Helper()
	r, err := c.CreateFollowUpWithResponse(context.Background(), nil, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	return *r.JSON201
}

// searchCompanies returns the ids of the companies q finds.
func searchCompanies(t *testing.T, c *client.ClientWithResponses, q string, includeArchived bool) []uuid.UUID {
	t.Helper()
	r, err := c.ListCompaniesWithResponse(context.Background(), &client.ListCompaniesParams{Q: &q, IncludeArchived: &includeArchived, Limit: ptr(200)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	return idsOf([][]client.Company{r.JSON200.Data}, companyID)
}

// searchContacts returns the contacts q finds.
func searchContacts(t *testing.T, c *client.ClientWithResponses, q string) []client.Contact {
	t.Helper()
	r, err := c.ListContactsWithResponse(context.Background(), &client.ListContactsParams{Q: &q, Limit: ptr(200)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	return r.JSON200.Data
}

func TestCompaniesLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		ownerID, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)

		created, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{
			LegalName: "Eox Tecnologia Ltda", TradeName: ptr("Eox Tecnologia"), Cnpj: ptr("11.222.333/0001-81"),
			OwnerId: &ownerID, Phones: &[]string{"+55 47 3322-1100"}, CustomFields: &client.CustomFields{"segmento": "software"},
			Addresses: &[]client.Address{{Kind: ptr(client.AddressKindMain), Street: ptr("Rua Francisco Margarida"), Number: ptr("68"),
				City: ptr("Blumenau"), State: ptr("SC"), PostalCode: ptr("89010-000")}},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		eox := *created.JSON201
		require.Equal(t, "/v1/companies/"+eox.Id.String(), created.HTTPResponse.Header.Get("Location"))
		require.Equal(t, `"1"`, created.HTTPResponse.Header.Get("ETag"))
		require.Equal(t, "11222333000181", eox.Cnpj.MustGet(), "the CNPJ is stored without punctuation")
		require.Equal(t, "Eox Tecnologia", eox.TradeName.MustGet())
		require.Equal(t, client.CompanyStatusActive, eox.Status, "companies start active")
		require.Equal(t, ownerID, eox.OwnerId.MustGet())
		require.Len(t, eox.Phones, 1)
		require.Equal(t, "+554733221100", eox.Phones[0].Number)
		require.Equal(t, client.PhoneTypeLandline, eox.Phones[0].Type)
		require.Len(t, eox.Addresses, 1)
		require.Equal(t, "Blumenau", *eox.Addresses[0].City)
		require.Equal(t, "software", eox.CustomFields["segmento"])
		requireSameTime(t, apitest.Epoch, eox.CreatedAt)

		got, err := admin.GetCompanyWithResponse(ctx, eox.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
		require.Equal(t, eox.LegalName, got.JSON200.LegalName)
		tag := got.HTTPResponse.Header.Get("ETag")
		require.Equal(t, `"1"`, tag)

		env.Clock.Advance(time.Hour)
		patched, err := admin.UpdateCompanyWithResponse(ctx, eox.Id, &client.UpdateCompanyParams{IfMatch: &tag}, client.CompanyUpdate{
			TradeName: nullable.NewNullNullable[string](), Status: ptr(client.CompanyStatusInactive),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		require.Equal(t, `"2"`, patched.HTTPResponse.Header.Get("ETag"))
		require.True(t, patched.JSON200.TradeName.IsNull(), "null clears the trade name")
		require.Equal(t, client.CompanyStatusInactive, patched.JSON200.Status)
		require.Equal(t, "Eox Tecnologia Ltda", patched.JSON200.LegalName, "fields not sent keep their value")
		require.Equal(t, "11222333000181", patched.JSON200.Cnpj.MustGet())
		require.Len(t, patched.JSON200.Phones, 1, "a patch keeps the phones")
		requireSameTime(t, apitest.Epoch.Add(time.Hour), patched.JSON200.UpdatedAt)

		stale, err := admin.UpdateCompanyWithResponse(ctx, eox.Id, &client.UpdateCompanyParams{IfMatch: &tag}, client.CompanyUpdate{LegalName: ptr("Lost update")})
		require.NoError(t, err)
		requireProblem(t, env, stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)
		got, err = admin.GetCompanyWithResponse(ctx, eox.Id)
		require.NoError(t, err)
		require.Equal(t, "Eox Tecnologia Ltda", got.JSON200.LegalName, "a stale write changes nothing")
		require.True(t, got.JSON200.TradeName.IsNull())

		// CNPJs: check digits are verified; the alphanumeric CNPJ is accepted; one company per CNPJ.
		bad, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Dígito Errado", Cnpj: ptr("11.222.333/0001-82")})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "cnpj")
		short, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Curto", Cnpj: ptr("11.222.333/0001")})
		require.NoError(t, err)
		requireProblem(t, env, short.HTTPResponse, short.Body, http.StatusBadRequest, "cnpj")
		require.Empty(t, searchCompanies(t, admin, "Dígito Errado", true), "a rejected company is not stored")

		alnum := newCompany(t, admin, client.CompanyCreate{LegalName: "Padaria Nova Era", Cnpj: ptr("12.ABC.345/01DE-35")})
		require.Equal(t, "12ABC34501DE35", alnum.Cnpj.MustGet())

		dup, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Eox Clone", Cnpj: ptr("11222333000181")})
		require.NoError(t, err)
		requireProblem(t, env, dup.HTTPResponse, dup.Body, http.StatusConflict)
		dupAlnum, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Padaria Clone", Cnpj: ptr("12abc34501de35")})
		require.NoError(t, err)
		requireProblem(t, env, dupAlnum.HTTPResponse, dupAlnum.Body, http.StatusConflict)
		steal, err := admin.UpdateCompanyWithResponse(ctx, alnum.Id, nil, client.CompanyUpdate{Cnpj: nullable.NewNullableWithValue("11.222.333/0001-81")})
		require.NoError(t, err)
		requireProblem(t, env, steal.HTTPResponse, steal.Body, http.StatusConflict)
		badPatch, err := admin.UpdateCompanyWithResponse(ctx, alnum.Id, nil, client.CompanyUpdate{Cnpj: nullable.NewNullableWithValue("12.ABC.345/01DE-36")})
		require.NoError(t, err)
		requireProblem(t, env, badPatch.HTTPResponse, badPatch.Body, http.StatusBadRequest, "cnpj")
		badOwner, err := admin.UpdateCompanyWithResponse(ctx, alnum.Id, nil, client.CompanyUpdate{OwnerId: nullable.NewNullableWithValue(uuid.New())})
		require.NoError(t, err)
		requireProblem(t, env, badOwner.HTTPResponse, badOwner.Body, http.StatusBadRequest, "owner_id")

		// List filters.
		list := func(p client.ListCompaniesParams) []uuid.UUID {
			r, err := admin.ListCompaniesWithResponse(ctx, &p)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return idsOf([][]client.Company{r.JSON200.Data}, companyID)
		}
		require.Equal(t, []uuid.UUID{eox.Id, alnum.Id}, list(client.ListCompaniesParams{}), "oldest first")
		require.Equal(t, []uuid.UUID{eox.Id}, list(client.ListCompaniesParams{Status: ptr(client.CompanyStatusInactive)}))
		require.Equal(t, []uuid.UUID{alnum.Id}, list(client.ListCompaniesParams{Status: ptr(client.CompanyStatusActive)}))
		require.Equal(t, []uuid.UUID{eox.Id}, list(client.ListCompaniesParams{OwnerId: &ownerID}))

		// Archiving hides a company from lists, not from reads; restoring brings it back.
		env.Clock.Advance(time.Minute)
		archived, err := admin.UpdateCompanyWithResponse(ctx, alnum.Id, nil, client.CompanyUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, archived.StatusCode(), string(archived.Body))
		requireSameTime(t, apitest.Epoch.Add(time.Hour+time.Minute), archived.JSON200.ArchivedAt.MustGet())
		require.Equal(t, []uuid.UUID{eox.Id}, list(client.ListCompaniesParams{}))
		require.Equal(t, []uuid.UUID{eox.Id, alnum.Id}, list(client.ListCompaniesParams{IncludeArchived: ptr(true)}))
		read, err := admin.GetCompanyWithResponse(ctx, alnum.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, read.StatusCode())
		restored, err := admin.UpdateCompanyWithResponse(ctx, alnum.Id, nil, client.CompanyUpdate{Archived: ptr(false)})
		require.NoError(t, err)
		require.True(t, !restored.JSON200.ArchivedAt.IsSpecified() || restored.JSON200.ArchivedAt.IsNull())
		require.Equal(t, []uuid.UUID{eox.Id, alnum.Id}, list(client.ListCompaniesParams{}))

		// Another tenant sees none of it; an agent may not delete.
		other := env.Client(env.NewTenant("Other").AdminKey)
		foreign, err := other.GetCompanyWithResponse(ctx, eox.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)
		foreignPatch, err := other.UpdateCompanyWithResponse(ctx, eox.Id, nil, client.CompanyUpdate{LegalName: ptr("Hijack")})
		require.NoError(t, err)
		requireProblem(t, env, foreignPatch.HTTPResponse, foreignPatch.Body, http.StatusNotFound)
		foreignDelete, err := other.DeleteCompanyWithResponse(ctx, eox.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreignDelete.HTTPResponse, foreignDelete.Body, http.StatusNotFound)
		otherList, err := other.ListCompaniesWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, otherList.JSON200.Data)
		sameCNPJ, err := other.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Eox Filial", Cnpj: ptr("11.222.333/0001-81")})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, sameCNPJ.StatusCode(), "CNPJs are unique per tenant only: %s", sameCNPJ.Body)
		agentDelete, err := env.Client(agentKey).DeleteCompanyWithResponse(ctx, eox.Id)
		require.NoError(t, err)
		requireProblem(t, env, agentDelete.HTTPResponse, agentDelete.Body, http.StatusForbidden)
	})
}

func TestCompanySearch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)
		eox := newCompany(t, admin, client.CompanyCreate{LegalName: "Eox Tecnologia Ltda", TradeName: ptr("Eox"), Cnpj: ptr("11.222.333/0001-81")})
		padaria := newCompany(t, admin, client.CompanyCreate{LegalName: "Padaria São João Ltda", TradeName: ptr("Pão Quente"),
			Cnpj: ptr("12.ABC.345/01DE-35"), Phones: &[]string{"(11) 3333-4444"}})
		agil := newCompany(t, admin, client.CompanyCreate{LegalName: "Comércio Ágil S.A."})

		for q, want := range map[string][]uuid.UUID{
			"eox":                {eox.Id},
			"TECNOLOGIA":         {eox.Id},
			"sao joao":           {padaria.Id},
			"SÃO JOÃO":           {padaria.Id},
			"pao quente":         {padaria.Id},
			"comercio agil":      {agil.Id},
			"ltda":               {eox.Id, padaria.Id},
			"11.222.333/0001-81": {eox.Id},
			"11222333000181":     {eox.Id},
			"12.ABC.345/01DE-35": {padaria.Id},
			"12abc34501de35":     {padaria.Id},
			"+55 11 3333-4444":   {padaria.Id},
			"1133334444":         {padaria.Id},
			"Marcenaria":         {},
		} {
			require.Equal(t, want, searchCompanies(t, admin, q, false), "q=%q", q)
		}
	})
}

func TestContactsLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		birthday := openapi_types.Date{Time: time.Date(1985, 3, 14, 0, 0, 0, 0, time.UTC)}
		created, err := admin.CreateContactWithResponse(ctx, nil, client.ContactCreate{
			Name: "João José", Email: ptr(client.Email("joao@eox.com.br")), JobTitle: ptr("Comprador"), Birthday: &birthday,
			Notes: ptr("Prefere WhatsApp."), Phones: &[]string{"+55 47 99123-4567", "(47) 3322-1100"},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		joao := *created.JSON201
		require.Equal(t, "/v1/contacts/"+joao.Id.String(), created.HTTPResponse.Header.Get("Location"))
		require.Equal(t, "joao@eox.com.br", joao.Email.MustGet())
		require.Equal(t, "Comprador", joao.JobTitle.MustGet())
		require.Equal(t, "1985-03-14", joao.Birthday.MustGet().Format(time.DateOnly))
		require.Empty(t, joao.CompanyIds)
		numbers := []string{}
		for _, p := range joao.Phones {
			numbers = append(numbers, p.Number)
		}
		require.ElementsMatch(t, []string{"+5547991234567", "+554733221100"}, numbers)

		tag := created.HTTPResponse.Header.Get("ETag")
		patched, err := admin.UpdateContactWithResponse(ctx, joao.Id, &client.UpdateContactParams{IfMatch: &tag}, client.ContactUpdate{
			JobTitle: nullable.NewNullNullable[string](), Email: nullable.NewNullNullable[openapi_types.Email](),
			Notes: nullable.NewNullableWithValue("Ligar depois das 14h."),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		require.True(t, patched.JSON200.JobTitle.IsNull(), "null clears the job title")
		require.True(t, patched.JSON200.Email.IsNull(), "null clears the email")
		require.Equal(t, "Ligar depois das 14h.", patched.JSON200.Notes.MustGet())
		require.Equal(t, "João José", patched.JSON200.Name)
		require.Equal(t, "1985-03-14", patched.JSON200.Birthday.MustGet().Format(time.DateOnly), "fields not sent keep their value")
		require.Len(t, patched.JSON200.Phones, 2)

		stale, err := admin.UpdateContactWithResponse(ctx, joao.Id, &client.UpdateContactParams{IfMatch: &tag}, client.ContactUpdate{Name: ptr("Lost")})
		require.NoError(t, err)
		requireProblem(t, env, stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)
		blank, err := admin.UpdateContactWithResponse(ctx, joao.Id, nil, client.ContactUpdate{Name: ptr("   ")})
		require.NoError(t, err)
		requireProblem(t, env, blank.HTTPResponse, blank.Body, http.StatusBadRequest, "name")
		resp, body := env.Do(http.MethodPost, "/v1/contacts", env.AdminKey, []byte(`{"name": "Sem Email", "email": "not-an-email"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "email")
		resp, body = env.Do(http.MethodPost, "/v1/contacts", env.AdminKey, []byte(`{"name": "   "}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "name")
		got, err := admin.GetContactWithResponse(ctx, joao.Id)
		require.NoError(t, err)
		require.Equal(t, "João José", got.JSON200.Name)
		require.Equal(t, `"2"`, got.HTTPResponse.Header.Get("ETag"))

		all, err := admin.ListContactsWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{joao.Id}, idsOf([][]client.Contact{all.JSON200.Data}, contactID), "rejected contacts are not stored")

		archived, err := admin.UpdateContactWithResponse(ctx, joao.Id, nil, client.ContactUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, archived.StatusCode(), string(archived.Body))
		require.True(t, archived.JSON200.ArchivedAt.IsSpecified() && !archived.JSON200.ArchivedAt.IsNull())
		require.Empty(t, searchContacts(t, admin, "joão"), "archived contacts are left out of lists")
		withArchived, err := admin.ListContactsWithResponse(ctx, &client.ListContactsParams{IncludeArchived: ptr(true)})
		require.NoError(t, err)
		require.Len(t, withArchived.JSON200.Data, 1)

		foreign, err := env.Client(env.NewTenant("Other").AdminKey).GetContactWithResponse(ctx, joao.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)
	})
}

func TestContactSearchByNameIgnoresAccentsAndCase(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)
		joao := newContact(t, admin, client.ContactCreate{Name: "João José", Email: ptr(client.Email("jj@eox.com.br"))})
		conceicao := newContact(t, admin, client.ContactCreate{Name: "MARIA DA CONCEIÇÃO"})
		newContact(t, admin, client.ContactCreate{Name: "Pedro Alves"})

		for q, want := range map[string][]uuid.UUID{
			"joao":        {joao.Id},
			"JOAO JOSE":   {joao.Id},
			"joão":        {joao.Id},
			"José":        {joao.Id},
			"conceicao":   {conceicao.Id},
			"Conceição":   {conceicao.Id},
			"jj@eox":      {joao.Id},
			"Fernanda":    {},
			"100%":        {},
			"jo_o":        {},
			"maria da co": {conceicao.Id},
		} {
			got := searchContacts(t, admin, q)
			require.Equal(t, want, idsOf([][]client.Contact{got}, contactID), "q=%q", q)
		}

		// The search follows renames and deletions, and stays within the tenant.
		ctx := context.Background()
		renamed, err := admin.UpdateContactWithResponse(ctx, joao.Id, nil, client.ContactUpdate{Name: ptr("Joaquim Lima")})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, renamed.StatusCode(), string(renamed.Body))
		require.Empty(t, searchContacts(t, admin, "joão josé"))
		require.Len(t, searchContacts(t, admin, "joaquim"), 1)
		pedro := searchContacts(t, admin, "pedro")
		require.Len(t, pedro, 1)
		del, err := admin.DeleteContactWithResponse(ctx, pedro[0].Id)
		require.NoError(t, err)
		require.Less(t, del.StatusCode(), 300, string(del.Body))
		require.Empty(t, searchContacts(t, admin, "pedro"))
		other := env.Client(env.NewTenant("Outra").AdminKey)
		newContact(t, other, client.ContactCreate{Name: "Joaquim Lima"})
		require.Len(t, searchContacts(t, admin, "joaquim"), 1, "another tenant's Joaquim is not found")
	})
}

func TestContactBelongsToSeveralCompanies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		matriz := newCompany(t, admin, client.CompanyCreate{LegalName: "Grupo Eox Matriz"})
		filial := newCompany(t, admin, client.CompanyCreate{LegalName: "Grupo Eox Filial"})
		terceira := newCompany(t, admin, client.CompanyCreate{LegalName: "Outra Empresa"})

		companyContacts := func(id uuid.UUID) []uuid.UUID {
			r, err := admin.ListCompanyContactsWithResponse(ctx, id, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return idsOf([][]client.Contact{r.JSON200.Data}, contactID)
		}

		buyer := newContact(t, admin, client.ContactCreate{Name: "Compradora do Grupo", CompanyIds: &[]uuid.UUID{matriz.Id, filial.Id}})
		require.ElementsMatch(t, []uuid.UUID{matriz.Id, filial.Id}, buyer.CompanyIds)
		solo := newContact(t, admin, client.ContactCreate{Name: "Só da Matriz", CompanyIds: &[]uuid.UUID{matriz.Id}})
		require.ElementsMatch(t, []uuid.UUID{buyer.Id, solo.Id}, companyContacts(matriz.Id))
		require.Equal(t, []uuid.UUID{buyer.Id}, companyContacts(filial.Id))
		require.Empty(t, companyContacts(terceira.Id))
		byFilter, err := admin.ListContactsWithResponse(ctx, &client.ListContactsParams{CompanyId: &filial.Id})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{buyer.Id}, idsOf([][]client.Contact{byFilter.JSON200.Data}, contactID))

		moved, err := admin.UpdateContactWithResponse(ctx, buyer.Id, nil, client.ContactUpdate{CompanyIds: &[]uuid.UUID{filial.Id, terceira.Id}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, moved.StatusCode(), string(moved.Body))
		require.ElementsMatch(t, []uuid.UUID{filial.Id, terceira.Id}, moved.JSON200.CompanyIds, "company_ids replaces the set")
		require.Equal(t, []uuid.UUID{solo.Id}, companyContacts(matriz.Id))
		require.Equal(t, []uuid.UUID{buyer.Id}, companyContacts(filial.Id))
		require.Equal(t, []uuid.UUID{buyer.Id}, companyContacts(terceira.Id))

		unknown := uuid.New()
		bad, err := admin.CreateContactWithResponse(ctx, nil, client.ContactCreate{Name: "Fantasma", CompanyIds: &[]uuid.UUID{matriz.Id, unknown}})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "company_ids.1")
		require.Empty(t, searchContacts(t, admin, "Fantasma"), "a rejected contact is not stored")
		require.Equal(t, []uuid.UUID{buyer.Id, solo.Id}, idsOf([][]client.Contact{searchContacts(t, admin, "a")}, contactID))

		badPatch, err := admin.UpdateContactWithResponse(ctx, buyer.Id, nil, client.ContactUpdate{CompanyIds: &[]uuid.UUID{unknown}})
		require.NoError(t, err)
		requireProblem(t, env, badPatch.HTTPResponse, badPatch.Body, http.StatusBadRequest, "company_ids.0")
		got, err := admin.GetContactWithResponse(ctx, buyer.Id)
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{filial.Id, terceira.Id}, got.JSON200.CompanyIds, "a rejected patch changes nothing")

		foreignCompany := newCompany(t, env.Client(env.NewTenant("Other").AdminKey), client.CompanyCreate{LegalName: "Alheia"})
		cross, err := admin.UpdateContactWithResponse(ctx, buyer.Id, nil, client.ContactUpdate{CompanyIds: &[]uuid.UUID{filial.Id, foreignCompany.Id}})
		require.NoError(t, err)
		requireProblem(t, env, cross.HTTPResponse, cross.Body, http.StatusBadRequest, "company_ids.1")

		cleared, err := admin.UpdateContactWithResponse(ctx, buyer.Id, nil, client.ContactUpdate{CompanyIds: &[]uuid.UUID{}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cleared.StatusCode(), string(cleared.Body))
		require.Empty(t, cleared.JSON200.CompanyIds)
		require.Empty(t, companyContacts(filial.Id))

		missing, err := admin.ListCompanyContactsWithResponse(ctx, unknown, nil)
		require.NoError(t, err)
		requireProblem(t, env, missing.HTTPResponse, missing.Body, http.StatusNotFound)
	})
}

func TestLeadsLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		created, err := admin.CreateLeadWithResponse(ctx, nil, client.LeadCreate{
			Name: "Ana Prospect", CompanyName: ptr("Plinx Tecnologia"), Email: ptr(client.Email("ana@plinx.example")),
			Source: ptr("website"), Phones: &[]string{"+55 11 98888-7777"},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		ana := *created.JSON201
		require.Equal(t, "/v1/leads/"+ana.Id.String(), created.HTTPResponse.Header.Get("Location"))
		require.Equal(t, client.LeadStatusNew, ana.Status, "leads start new")
		require.Len(t, ana.Phones, 1)
		require.Equal(t, "+5511988887777", ana.Phones[0].Number)
		bia := newLead(t, admin, client.LeadCreate{Name: "Bia Evento", Source: ptr("evento"), Status: ptr(client.LeadStatusQualified)})

		tag := created.HTTPResponse.Header.Get("ETag")
		patched, err := admin.UpdateLeadWithResponse(ctx, ana.Id, &client.UpdateLeadParams{IfMatch: &tag}, client.LeadUpdate{
			Status: ptr(client.LeadStatusContacted), CompanyName: nullable.NewNullNullable[string](),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		require.Equal(t, client.LeadStatusContacted, patched.JSON200.Status)
		require.True(t, patched.JSON200.CompanyName.IsNull(), "null clears the company name")
		require.Equal(t, "website", patched.JSON200.Source.MustGet())
		stale, err := admin.UpdateLeadWithResponse(ctx, ana.Id, &client.UpdateLeadParams{IfMatch: &tag}, client.LeadUpdate{Name: ptr("Lost")})
		require.NoError(t, err)
		requireProblem(t, env, stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)
		badStatus, body := env.Do(http.MethodPatch, "/v1/leads/"+ana.Id.String(), env.AdminKey, []byte(`{"status": "won"}`), nil)
		requireProblem(t, env, badStatus, body, http.StatusBadRequest, "status")

		list := func(p client.ListLeadsParams) []uuid.UUID {
			r, err := admin.ListLeadsWithResponse(ctx, &p)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return idsOf([][]client.Lead{r.JSON200.Data}, leadID)
		}
		require.Equal(t, []uuid.UUID{ana.Id, bia.Id}, list(client.ListLeadsParams{}))
		require.Equal(t, []uuid.UUID{ana.Id}, list(client.ListLeadsParams{Status: ptr(client.LeadStatusContacted)}))
		require.Equal(t, []uuid.UUID{bia.Id}, list(client.ListLeadsParams{Source: ptr("evento")}))
		require.Equal(t, []uuid.UUID{ana.Id}, list(client.ListLeadsParams{Q: ptr("ANA")}))
		require.Equal(t, []uuid.UUID{ana.Id}, list(client.ListLeadsParams{Q: ptr("(11) 98888-7777")}))
		require.Equal(t, []uuid.UUID{ana.Id}, list(client.ListLeadsParams{Q: ptr("plinx.example")}))

		archived, err := admin.UpdateLeadWithResponse(ctx, bia.Id, nil, client.LeadUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, archived.StatusCode(), string(archived.Body))
		require.Equal(t, []uuid.UUID{ana.Id}, list(client.ListLeadsParams{}))
		require.Equal(t, []uuid.UUID{ana.Id, bia.Id}, list(client.ListLeadsParams{IncludeArchived: ptr(true)}))

		del, err := admin.DeleteLeadWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
		gone, err := admin.GetLeadWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		requireProblem(t, env, gone.HTTPResponse, gone.Body, http.StatusNotFound)
	})
}

func TestRecordListsPaginate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		var companies, contacts, leads []uuid.UUID
		for _, name := range []string{"Alfa", "Bravo", "Charlie", "Delta", "Eco"} {
			companies = append(companies, newCompany(t, admin, client.CompanyCreate{LegalName: name + " Ltda"}).Id)
			contacts = append(contacts, newContact(t, admin, client.ContactCreate{Name: name + " Silva"}).Id)
			leads = append(leads, newLead(t, admin, client.LeadCreate{Name: name + " Lead"}).Id)
		}

		companyPages := allPages(t, func(c *string) ([]client.Company, nullable.Nullable[string]) {
			r, err := admin.ListCompaniesWithResponse(ctx, &client.ListCompaniesParams{Limit: ptr(2), Cursor: c})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Len(t, companyPages, 3)
		require.Equal(t, companies, idsOf(companyPages, companyID), "every company once, oldest first")

		contactPages := allPages(t, func(c *string) ([]client.Contact, nullable.Nullable[string]) {
			r, err := admin.ListContactsWithResponse(ctx, &client.ListContactsParams{Limit: ptr(2), Cursor: c})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Len(t, contactPages, 3)
		require.Equal(t, contacts, idsOf(contactPages, contactID))

		leadPages := allPages(t, func(c *string) ([]client.Lead, nullable.Nullable[string]) {
			r, err := admin.ListLeadsWithResponse(ctx, &client.ListLeadsParams{Limit: ptr(4), Cursor: c})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Len(t, leadPages, 2)
		require.Equal(t, leads, idsOf(leadPages, leadID))

		// A search pages too.
		searchPages := allPages(t, func(c *string) ([]client.Contact, nullable.Nullable[string]) {
			r, err := admin.ListContactsWithResponse(ctx, &client.ListContactsParams{Limit: ptr(1), Cursor: c, Q: ptr("silva")})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Equal(t, contacts, idsOf(searchPages, contactID))

		resp, body := env.Do(http.MethodGet, "/v1/companies?cursor=not-a-cursor", env.AdminKey, nil, nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "cursor")
		resp, body = env.Do(http.MethodGet, "/v1/leads?limit=0", env.AdminKey, nil, nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "limit")
	})
}

func TestRecordsWithHistoryMustBeArchivedBeforeDeletion(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		_, supervisorKey := env.NewUser(env.AdminKey, client.RoleSupervisor)
		supervisor := env.Client(supervisorKey)

		acme := newCompany(t, admin, client.CompanyCreate{LegalName: "Acme Indústria", Cnpj: ptr("11.222.333/0001-81"), Phones: &[]string{"+55 47 3322-1100"}})
		grupo := newCompany(t, admin, client.CompanyCreate{LegalName: "Grupo Acme"})
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana Compras", CompanyIds: &[]uuid.UUID{grupo.Id}, Phones: &[]string{"47 99100-0001"}})
		lia := newLead(t, admin, client.LeadCreate{Name: "Lia Prospect"})
		it := newInteraction(t, admin, client.InteractionCreate{
			Channel: client.ChannelWhatsapp, Result: "contact_via_whatsapp", CompanyId: &acme.Id, ContactId: &ana.Id,
		})
		fu := newFollowUp(t, admin, client.FollowUpCreate{LeadId: &lia.Id, DueAt: apitest.Epoch.Add(24 * time.Hour)})

		deleteCompany := func(id uuid.UUID) (*http.Response, []byte) {
			r, err := supervisor.DeleteCompanyWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}
		deleteContact := func(id uuid.UUID) (*http.Response, []byte) {
			r, err := supervisor.DeleteContactWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}
		deleteLead := func(id uuid.UUID) (*http.Response, []byte) {
			r, err := supervisor.DeleteLeadWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}

		resp, body := deleteCompany(acme.Id)
		requireProblem(t, env, resp, body, http.StatusConflict)
		resp, body = deleteContact(ana.Id)
		requireProblem(t, env, resp, body, http.StatusConflict)
		resp, body = deleteLead(lia.Id) // a follow-up is history too
		requireProblem(t, env, resp, body, http.StatusConflict)
		still, err := admin.GetCompanyWithResponse(ctx, acme.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, still.StatusCode(), "a refused delete changes nothing")

		// Archived, the company can go; the interaction keeps pointing at it.
		archived, err := admin.UpdateCompanyWithResponse(ctx, acme.Id, nil, client.CompanyUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, archived.StatusCode(), string(archived.Body))
		resp, body = deleteCompany(acme.Id)
		require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
		gone, err := admin.GetCompanyWithResponse(ctx, acme.Id)
		require.NoError(t, err)
		requireProblem(t, env, gone.HTTPResponse, gone.Body, http.StatusNotFound)
		require.NotContains(t, searchCompanies(t, admin, "acme", true), acme.Id, "a deleted company is gone from lists, archived ones included")
		require.Equal(t, []uuid.UUID{grupo.Id}, searchCompanies(t, admin, "acme", true))
		kept, err := admin.GetInteractionWithResponse(ctx, it.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, kept.StatusCode())
		require.Equal(t, acme.Id, kept.JSON200.CompanyId.MustGet(), "the history keeps the company")
		require.Equal(t, ana.Id, kept.JSON200.ContactId.MustGet())
		history, err := admin.ListInteractionsWithResponse(ctx, &client.ListInteractionsParams{CompanyId: &acme.Id})
		require.NoError(t, err)
		require.Len(t, history.JSON200.Data, 1)
		recordHistory, err := admin.ListCompanyInteractionsWithResponse(ctx, acme.Id, nil)
		require.NoError(t, err)
		requireProblem(t, env, recordHistory.HTTPResponse, recordHistory.Body, http.StatusNotFound)
		phones, err := admin.ListPhonesWithResponse(ctx, &client.ListPhonesParams{Number: ptr("+55 47 3322-1100")})
		require.NoError(t, err)
		require.Len(t, phones.JSON200.Data, 1)
		require.Empty(t, phones.JSON200.Data[0].Links, "a deleted company is not listed on its phone")
		again, body := deleteCompany(acme.Id)
		requireProblem(t, env, again, body, http.StatusNotFound)
		reuse, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Acme Nova", Cnpj: ptr("11.222.333/0001-81")})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, reuse.StatusCode(), "a deleted company's CNPJ is free again: %s", reuse.Body)

		// The same for a contact and a lead.
		_, err = admin.UpdateContactWithResponse(ctx, ana.Id, nil, client.ContactUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		resp, body = deleteContact(ana.Id)
		require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
		goneContact, err := admin.GetContactWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		requireProblem(t, env, goneContact.HTTPResponse, goneContact.Body, http.StatusNotFound)
		withArchived, err := admin.ListContactsWithResponse(ctx, &client.ListContactsParams{IncludeArchived: ptr(true)})
		require.NoError(t, err)
		require.Empty(t, withArchived.JSON200.Data)
		grupoContacts, err := admin.ListCompanyContactsWithResponse(ctx, grupo.Id, nil)
		require.NoError(t, err)
		require.Empty(t, grupoContacts.JSON200.Data, "a deleted contact is gone from its companies")
		kept, err = admin.GetInteractionWithResponse(ctx, it.Id)
		require.NoError(t, err)
		require.Equal(t, ana.Id, kept.JSON200.ContactId.MustGet())
		updates, err := admin.ListContactUpdatesWithResponse(ctx, ana.Id, nil)
		require.NoError(t, err)
		requireProblem(t, env, updates.HTTPResponse, updates.Body, http.StatusNotFound)

		_, err = admin.UpdateLeadWithResponse(ctx, lia.Id, nil, client.LeadUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		resp, body = deleteLead(lia.Id)
		require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
		goneLead, err := admin.GetLeadWithResponse(ctx, lia.Id)
		require.NoError(t, err)
		requireProblem(t, env, goneLead.HTTPResponse, goneLead.Body, http.StatusNotFound)
		keptFollowUp, err := admin.GetFollowUpWithResponse(ctx, fu.Id)
		require.NoError(t, err)
		require.Equal(t, lia.Id, keptFollowUp.JSON200.LeadId.MustGet())

		// Without history a record is deleted outright, archived or not, with its phone links.
		plain := newCompany(t, admin, client.CompanyCreate{LegalName: "Sem Histórico", Phones: &[]string{"+55 47 3322-1199"}})
		bob := newContact(t, admin, client.ContactCreate{Name: "Bob", CompanyIds: &[]uuid.UUID{plain.Id}, Phones: &[]string{"+55 47 3322-1199"}})
		_, err = admin.AddCompanyUpdateWithResponse(ctx, plain.Id, nil, client.UpdateCreate{Message: "Cadastro criado."})
		require.NoError(t, err)
		phoneID := plain.Phones[0].Id
		before, err := admin.GetPhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		require.Len(t, before.JSON200.Links, 2)

		resp, body = deleteCompany(plain.Id)
		require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
		gonePlain, err := admin.GetCompanyWithResponse(ctx, plain.Id)
		require.NoError(t, err)
		requireProblem(t, env, gonePlain.HTTPResponse, gonePlain.Body, http.StatusNotFound)
		after, err := admin.GetPhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, after.StatusCode(), "the phone itself stays")
		require.Len(t, after.JSON200.Links, 1)
		require.Equal(t, bob.Id, after.JSON200.Links[0].Id, "only the deleted company's link is gone")
		bobNow, err := admin.GetContactWithResponse(ctx, bob.Id)
		require.NoError(t, err)
		require.Empty(t, bobNow.JSON200.CompanyIds)

		resp, body = deleteContact(bob.Id)
		require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
		after, err = admin.GetPhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		require.Empty(t, after.JSON200.Links)
		goneBob, err := admin.GetContactWithResponse(ctx, bob.Id)
		require.NoError(t, err)
		requireProblem(t, env, goneBob.HTTPResponse, goneBob.Body, http.StatusNotFound)
	})
}

func TestDeletedCompanyIsGoneFromItsContacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		acme := newCompany(t, admin, client.CompanyCreate{LegalName: "Acme"})
		grupo := newCompany(t, admin, client.CompanyCreate{LegalName: "Grupo Acme"})
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana", CompanyIds: &[]uuid.UUID{acme.Id, grupo.Id}})
		newInteraction(t, admin, client.InteractionCreate{Channel: client.ChannelPhone, Result: "no_answer", CompanyId: &acme.Id})

		_, err := admin.UpdateCompanyWithResponse(ctx, acme.Id, nil, client.CompanyUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		del, err := admin.DeleteCompanyWithResponse(ctx, acme.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))

		got, err := admin.GetContactWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{grupo.Id}, got.JSON200.CompanyIds, "a contact does not point at a company that answers 404")
	})
}

func TestUpdatesLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		agentID, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		agent := env.Client(agentKey)
		other := env.Client(env.NewTenant("Other").AdminKey)

		type logAPI struct {
			add  func(c *client.ClientWithResponses, id uuid.UUID, msg string) (*http.Response, []byte, *client.Update)
			list func(c *client.ClientWithResponses, id uuid.UUID, p client.ListCompanyUpdatesParams) (*http.Response, []byte, *client.UpdateList)
		}
		company := newCompany(t, admin, client.CompanyCreate{LegalName: "Eox"})
		contact := newContact(t, admin, client.ContactCreate{Name: "Ana"})
		lead := newLead(t, admin, client.LeadCreate{Name: "Lia"})
		records := map[string]struct {
			id uuid.UUID
			logAPI
		}{
			"company": {company.Id, logAPI{
				add: func(c *client.ClientWithResponses, id uuid.UUID, msg string) (*http.Response, []byte, *client.Update) {
					r, err := c.AddCompanyUpdateWithResponse(ctx, id, nil, client.UpdateCreate{Message: msg})
					require.NoError(t, err)
					return r.HTTPResponse, r.Body, r.JSON201
				},
				list: func(c *client.ClientWithResponses, id uuid.UUID, p client.ListCompanyUpdatesParams) (*http.Response, []byte, *client.UpdateList) {
					r, err := c.ListCompanyUpdatesWithResponse(ctx, id, &p)
					require.NoError(t, err)
					return r.HTTPResponse, r.Body, r.JSON200
				},
			}},
			"contact": {contact.Id, logAPI{
				add: func(c *client.ClientWithResponses, id uuid.UUID, msg string) (*http.Response, []byte, *client.Update) {
					r, err := c.AddContactUpdateWithResponse(ctx, id, nil, client.UpdateCreate{Message: msg})
					require.NoError(t, err)
					return r.HTTPResponse, r.Body, r.JSON201
				},
				list: func(c *client.ClientWithResponses, id uuid.UUID, p client.ListCompanyUpdatesParams) (*http.Response, []byte, *client.UpdateList) {
					r, err := c.ListContactUpdatesWithResponse(ctx, id, &client.ListContactUpdatesParams{Limit: p.Limit, Cursor: p.Cursor})
					require.NoError(t, err)
					return r.HTTPResponse, r.Body, r.JSON200
				},
			}},
			"lead": {lead.Id, logAPI{
				add: func(c *client.ClientWithResponses, id uuid.UUID, msg string) (*http.Response, []byte, *client.Update) {
					r, err := c.AddLeadUpdateWithResponse(ctx, id, nil, client.UpdateCreate{Message: msg})
					require.NoError(t, err)
					return r.HTTPResponse, r.Body, r.JSON201
				},
				list: func(c *client.ClientWithResponses, id uuid.UUID, p client.ListCompanyUpdatesParams) (*http.Response, []byte, *client.UpdateList) {
					r, err := c.ListLeadUpdatesWithResponse(ctx, id, &client.ListLeadUpdatesParams{Limit: p.Limit, Cursor: p.Cursor})
					require.NoError(t, err)
					return r.HTTPResponse, r.Body, r.JSON200
				},
			}},
		}
		for kind, rec := range records {
			start := env.Clock.Now()
			var written []uuid.UUID
			for i, msg := range []string{"Cliente pediu retorno após o dia 10.", "Proposta enviada.", "Aguardando assinatura."} {
				resp, body, u := rec.add(agent, rec.id, msg)
				require.Equal(t, http.StatusCreated, resp.StatusCode, "%s: %s", kind, body)
				require.Equal(t, client.UpdateKindUser, u.Kind)
				require.Equal(t, msg, u.Message)
				require.Equal(t, agentID, u.ActorId.MustGet(), "%s: the writer is recorded", kind)
				requireSameTime(t, start.Add(time.Duration(i)*time.Minute), u.CreatedAt)
				written = append(written, u.Id)
				env.Clock.Advance(time.Minute)
			}

			resp, body, page := rec.list(admin, rec.id, client.ListCompanyUpdatesParams{Limit: ptr(2)})
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", kind, body)
			require.Len(t, page.Data, 2)
			require.Equal(t, "Aguardando assinatura.", page.Data[0].Message, "%s: newest first", kind)
			require.Equal(t, "Proposta enviada.", page.Data[1].Message)
			next := page.NextCursor.MustGet()
			_, _, rest := rec.list(admin, rec.id, client.ListCompanyUpdatesParams{Limit: ptr(2), Cursor: &next})
			require.Len(t, rest.Data, 1)
			require.Equal(t, written[0], rest.Data[0].Id)
			require.True(t, !rest.NextCursor.IsSpecified() || rest.NextCursor.IsNull())

			resp, body, _ = rec.add(agent, rec.id, "   ")
			requireProblem(t, env, resp, body, http.StatusBadRequest, "message")
			resp, body, _ = rec.add(agent, uuid.New(), "Sem registro.")
			requireProblem(t, env, resp, body, http.StatusNotFound)
			resp, body, _ = rec.list(agent, uuid.New(), client.ListCompanyUpdatesParams{})
			requireProblem(t, env, resp, body, http.StatusNotFound)
			resp, body, _ = rec.add(other, rec.id, "Outro tenant.")
			requireProblem(t, env, resp, body, http.StatusNotFound)
			resp, body, _ = rec.list(other, rec.id, client.ListCompanyUpdatesParams{})
			requireProblem(t, env, resp, body, http.StatusNotFound)
			_, _, all := rec.list(admin, rec.id, client.ListCompanyUpdatesParams{})
			require.Len(t, all.Data, 3, "%s: each record has its own log; refused writes add nothing", kind)
		}
	})
}

func TestResultsCatalog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		_, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		contact := newContact(t, admin, client.ContactCreate{Name: "Ana"})

		catalog := func(includeArchived bool) []client.Result {
			r, err := admin.ListResultsWithResponse(ctx, &client.ListResultsParams{IncludeArchived: &includeArchived})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data
		}
		system := catalog(false)
		require.NotEmpty(t, system)
		require.Equal(t, "contact_via_whatsapp", system[0].Code)
		require.Equal(t, "Contato via WhatsApp", system[0].Name)
		for _, r := range system {
			require.True(t, r.System, "a new tenant has only system results: %s", r.Code)
			require.False(t, r.Archived)
		}
		whatsapp := system[0]
		got, err := admin.GetResultWithResponse(ctx, whatsapp.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
		require.Equal(t, "contact_via_whatsapp", got.JSON200.Code)

		del, err := admin.DeleteResultWithResponse(ctx, whatsapp.Id)
		require.NoError(t, err)
		requireProblem(t, env, del.HTTPResponse, del.Body, http.StatusConflict)
		rename, err := admin.UpdateResultWithResponse(ctx, whatsapp.Id, nil, client.ResultUpdate{Name: ptr("WhatsApp")})
		require.NoError(t, err)
		requireProblem(t, env, rename.HTTPResponse, rename.Body, http.StatusConflict)
		archiveSystem, err := admin.UpdateResultWithResponse(ctx, whatsapp.Id, nil, client.ResultUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		requireProblem(t, env, archiveSystem.HTTPResponse, archiveSystem.Body, http.StatusConflict)

		created, err := admin.CreateResultWithResponse(ctx, nil, client.ResultCreate{Code: "sale_closed", Name: "Venda realizada"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		sale := *created.JSON201
		require.False(t, sale.System)
		require.Equal(t, "/v1/results/"+sale.Id.String(), created.HTTPResponse.Header.Get("Location"))
		list := catalog(false)
		require.Len(t, list, len(system)+1)
		require.Equal(t, sale.Id, list[len(list)-1].Id, "system results are listed first")

		dup, err := admin.CreateResultWithResponse(ctx, nil, client.ResultCreate{Code: "sale_closed", Name: "De novo"})
		require.NoError(t, err)
		requireProblem(t, env, dup.HTTPResponse, dup.Body, http.StatusConflict)
		shadow, err := admin.CreateResultWithResponse(ctx, nil, client.ResultCreate{Code: "contact_via_whatsapp", Name: "Meu WhatsApp"})
		require.NoError(t, err)
		requireProblem(t, env, shadow.HTTPResponse, shadow.Body, http.StatusBadRequest, "code")
		badCode, err := admin.CreateResultWithResponse(ctx, nil, client.ResultCreate{Code: "Sale Closed", Name: "X"})
		require.NoError(t, err)
		requireProblem(t, env, badCode.HTTPResponse, badCode.Body, http.StatusBadRequest, "code")
		byAgent, err := env.Client(agentKey).CreateResultWithResponse(ctx, nil, client.ResultCreate{Code: "agent_result", Name: "X"})
		require.NoError(t, err)
		requireProblem(t, env, byAgent.HTTPResponse, byAgent.Body, http.StatusForbidden)

		tag := created.HTTPResponse.Header.Get("ETag")
		renamed, err := admin.UpdateResultWithResponse(ctx, sale.Id, &client.UpdateResultParams{IfMatch: &tag}, client.ResultUpdate{Name: ptr("Venda fechada")})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, renamed.StatusCode(), string(renamed.Body))
		require.Equal(t, "Venda fechada", renamed.JSON200.Name)
		require.Equal(t, "sale_closed", renamed.JSON200.Code, "the code is stable")
		stale, err := admin.UpdateResultWithResponse(ctx, sale.Id, &client.UpdateResultParams{IfMatch: &tag}, client.ResultUpdate{Name: ptr("Lost")})
		require.NoError(t, err)
		requireProblem(t, env, stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)

		used := newInteraction(t, admin, client.InteractionCreate{Channel: client.ChannelPhone, Result: "sale_closed", ContactId: &contact.Id})
		inUse, err := admin.DeleteResultWithResponse(ctx, sale.Id)
		require.NoError(t, err)
		requireProblem(t, env, inUse.HTTPResponse, inUse.Body, http.StatusConflict)

		archived, err := admin.UpdateResultWithResponse(ctx, sale.Id, nil, client.ResultUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, archived.StatusCode(), string(archived.Body))
		require.True(t, archived.JSON200.Archived)
		require.Len(t, catalog(false), len(system), "archived results are left out")
		withArchived := catalog(true)
		require.Len(t, withArchived, len(system)+1)
		require.True(t, withArchived[len(withArchived)-1].Archived)
		refused, err := admin.CreateInteractionWithResponse(ctx, nil, client.InteractionCreate{Channel: client.ChannelPhone, Result: "sale_closed", ContactId: &contact.Id})
		require.NoError(t, err)
		requireProblem(t, env, refused.HTTPResponse, refused.Body, http.StatusBadRequest, "result")
		old, err := admin.GetInteractionWithResponse(ctx, used.Id)
		require.NoError(t, err)
		require.Equal(t, "sale_closed", old.JSON200.Result, "old interactions keep an archived result")
		inUse, err = admin.DeleteResultWithResponse(ctx, sale.Id)
		require.NoError(t, err)
		requireProblem(t, env, inUse.HTTPResponse, inUse.Body, http.StatusConflict)
		_, err = admin.UpdateResultWithResponse(ctx, sale.Id, nil, client.ResultUpdate{Archived: ptr(false)})
		require.NoError(t, err)
		newInteraction(t, admin, client.InteractionCreate{Channel: client.ChannelPhone, Result: "sale_closed", ContactId: &contact.Id})

		temp, err := admin.CreateResultWithResponse(ctx, nil, client.ResultCreate{Code: "temp_result", Name: "Temporário"})
		require.NoError(t, err)
		del, err = admin.DeleteResultWithResponse(ctx, temp.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
		goneResult, err := admin.GetResultWithResponse(ctx, temp.JSON201.Id)
		require.NoError(t, err)
		requireProblem(t, env, goneResult.HTTPResponse, goneResult.Body, http.StatusNotFound)
		unknown, err := admin.CreateInteractionWithResponse(ctx, nil, client.InteractionCreate{Channel: client.ChannelPhone, Result: "temp_result", ContactId: &contact.Id})
		require.NoError(t, err)
		requireProblem(t, env, unknown.HTTPResponse, unknown.Body, http.StatusBadRequest, "result")

		otherCatalog, err := env.Client(env.NewTenant("Other").AdminKey).ListResultsWithResponse(ctx, &client.ListResultsParams{IncludeArchived: ptr(true)})
		require.NoError(t, err)
		require.Len(t, otherCatalog.JSON200.Data, len(system), "a tenant's results are its own")
	})
}

func TestInteractions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		agentID, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		_, integrationKey := env.NewUser(env.AdminKey, client.RoleIntegration)
		acme := newCompany(t, admin, client.CompanyCreate{LegalName: "Acme"})
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana", CompanyIds: &[]uuid.UUID{acme.Id}})
		lia := newLead(t, admin, client.LeadCreate{Name: "Lia"})

		count := func() (interactions, followUps int) {
			its, err := admin.ListInteractionsWithResponse(ctx, &client.ListInteractionsParams{Limit: ptr(200)})
			require.NoError(t, err)
			fus, err := admin.ListFollowUpsWithResponse(ctx, &client.ListFollowUpsParams{Limit: ptr(200)})
			require.NoError(t, err)
			return len(its.JSON200.Data), len(fus.JSON200.Data)
		}

		// An interaction and the follow-up it schedules, in one step, linked both ways.
		due := time.Date(2026, 1, 7, 12, 0, 0, 0, time.UTC)
		created, err := admin.CreateInteractionWithResponse(ctx, nil, client.InteractionCreate{
			Channel: client.ChannelPhone, Result: "contact_via_whatsapp", CompanyId: &acme.Id, ContactId: &ana.Id,
			Notes: ptr("Cliente prefere WhatsApp."), FollowUp: &client.FollowUpSpec{DueAt: due, AgentId: &agentID, Notes: ptr("Retornar proposta.")},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		first := *created.JSON201
		require.Equal(t, "/v1/interactions/"+first.Id.String(), created.HTTPResponse.Header.Get("Location"))
		require.Equal(t, client.OriginManual, first.Origin, "people record manual interactions by default")
		require.True(t, !first.AgentId.IsSpecified() || first.AgentId.IsNull(), "an admin is no agent")
		requireSameTime(t, apitest.Epoch, first.OccurredAt, "occurred_at defaults to now")
		followUpID := first.FollowUpId.MustGet()
		fu, err := admin.GetFollowUpWithResponse(ctx, followUpID)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, fu.StatusCode(), string(fu.Body))
		require.Equal(t, first.Id, fu.JSON200.InteractionId.MustGet())
		require.Equal(t, ana.Id, fu.JSON200.ContactId.MustGet())
		require.Equal(t, acme.Id, fu.JSON200.CompanyId.MustGet())
		require.Equal(t, agentID, fu.JSON200.AgentId.MustGet())
		require.Equal(t, client.FollowUpStatusPending, fu.JSON200.Status)
		requireSameTime(t, due, fu.JSON200.DueAt)
		require.Equal(t, "Retornar proposta.", fu.JSON200.Notes.MustGet())

		env.Clock.Advance(time.Hour)
		second := newInteraction(t, env.Client(agentKey), client.InteractionCreate{Channel: client.ChannelWhatsapp, Result: "no_answer", LeadId: &lia.Id})
		require.Equal(t, agentID, second.AgentId.MustGet(), "an agent's interaction is its own by default")
		require.Equal(t, client.OriginManual, second.Origin)
		require.True(t, !second.FollowUpId.IsSpecified() || second.FollowUpId.IsNull())

		env.Clock.Advance(time.Hour)
		third := newInteraction(t, env.Client(integrationKey), client.InteractionCreate{
			Channel: client.ChannelOther, Result: "busy", CompanyId: &acme.Id, OccurredAt: ptr(apitest.Epoch.Add(-24 * time.Hour)),
		})
		require.Equal(t, client.OriginIntegration, third.Origin, "integrations record integration interactions by default")
		requireSameTime(t, apitest.Epoch.Add(-24*time.Hour), third.OccurredAt)

		env.Clock.Advance(time.Hour)
		fourth := newInteraction(t, admin, client.InteractionCreate{
			Channel: client.ChannelPhone, Result: "call_failed", ContactId: &ana.Id, Origin: ptr(client.OriginDialer), AgentId: &agentID,
		})
		require.Equal(t, client.OriginDialer, fourth.Origin)

		// Per record, newest first.
		ids := func(list *client.InteractionList) []uuid.UUID {
			out := []uuid.UUID{}
			for _, it := range list.Data {
				out = append(out, it.Id)
			}
			return out
		}
		byContact, err := admin.ListContactInteractionsWithResponse(ctx, ana.Id, nil)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{fourth.Id, first.Id}, ids(byContact.JSON200))
		byCompany, err := admin.ListCompanyInteractionsWithResponse(ctx, acme.Id, nil)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{third.Id, first.Id}, ids(byCompany.JSON200))
		byLead, err := admin.ListLeadInteractionsWithResponse(ctx, lia.Id, nil)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{second.Id}, ids(byLead.JSON200))
		missing, err := admin.ListLeadInteractionsWithResponse(ctx, uuid.New(), nil)
		require.NoError(t, err)
		requireProblem(t, env, missing.HTTPResponse, missing.Body, http.StatusNotFound)

		// Filters.
		filter := func(p client.ListInteractionsParams) []uuid.UUID {
			r, err := admin.ListInteractionsWithResponse(ctx, &p)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return ids(r.JSON200)
		}
		require.Equal(t, []uuid.UUID{fourth.Id, third.Id, second.Id, first.Id}, filter(client.ListInteractionsParams{}))
		require.Equal(t, []uuid.UUID{third.Id}, filter(client.ListInteractionsParams{Origin: ptr(client.OriginIntegration)}))
		require.Equal(t, []uuid.UUID{first.Id}, filter(client.ListInteractionsParams{Origin: ptr(client.OriginManual), CompanyId: &acme.Id}))
		require.Equal(t, []uuid.UUID{second.Id}, filter(client.ListInteractionsParams{Result: ptr("no_answer")}))
		require.Equal(t, []uuid.UUID{fourth.Id, second.Id}, filter(client.ListInteractionsParams{AgentId: &agentID}))
		require.Equal(t, []uuid.UUID{fourth.Id, first.Id}, filter(client.ListInteractionsParams{ContactId: &ana.Id}))
		require.Equal(t, []uuid.UUID{second.Id}, filter(client.ListInteractionsParams{LeadId: &lia.Id}))
		require.Equal(t, []uuid.UUID{fourth.Id, second.Id, first.Id}, filter(client.ListInteractionsParams{From: ptr(apitest.Epoch)}), "from is inclusive")
		require.Equal(t, []uuid.UUID{third.Id}, filter(client.ListInteractionsParams{To: ptr(apitest.Epoch)}), "to is exclusive")
		pages := allPages(t, func(c *string) ([]client.Interaction, nullable.Nullable[string]) {
			r, err := admin.ListInteractionsWithResponse(ctx, &client.ListInteractionsParams{Limit: ptr(3), Cursor: c})
			require.NoError(t, err)
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Len(t, pages, 2)
		require.Equal(t, []uuid.UUID{fourth.Id, third.Id, second.Id, first.Id}, idsOf(pages, func(i client.Interaction) uuid.UUID { return i.Id }))

		// Refused interactions store nothing, not even their follow-up.
		nInteractions, nFollowUps := count()
		resp, body := env.Do(http.MethodPost, "/v1/interactions", env.AdminKey, []byte(`{"channel": "phone", "result": "no_answer"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest)
		bad, err := admin.CreateInteractionWithResponse(ctx, nil, client.InteractionCreate{Channel: client.ChannelPhone, Result: "no_answer", ContactId: ptr(uuid.New())})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "contact_id")
		bad, err = admin.CreateInteractionWithResponse(ctx, nil, client.InteractionCreate{Channel: client.ChannelPhone, Result: "no_such_result", ContactId: &ana.Id})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "result")
		bad, err = admin.CreateInteractionWithResponse(ctx, nil, client.InteractionCreate{
			Channel: client.ChannelPhone, Result: "no_answer", ContactId: &ana.Id,
			FollowUp: &client.FollowUpSpec{DueAt: due, AgentId: ptr(uuid.New())},
		})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "follow_up.agent_id")
		resp, body = env.Do(http.MethodPost, "/v1/interactions", env.AdminKey, []byte(`{"channel": "fax", "result": "no_answer", "contact_id": "`+ana.Id.String()+`"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "channel")
		afterInteractions, afterFollowUps := count()
		require.Equal(t, nInteractions, afterInteractions)
		require.Equal(t, nFollowUps, afterFollowUps)

		foreign, err := env.Client(env.NewTenant("Other").AdminKey).GetInteractionWithResponse(ctx, first.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)
	})
}

func TestFollowUps(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		agentID, _ := env.NewUser(env.AdminKey, client.RoleAgent)
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana", Phones: &[]string{"47 99100-0001"}})
		day := func(n int) time.Time { return apitest.Epoch.Add(time.Duration(n) * 24 * time.Hour) }

		created, err := admin.CreateFollowUpWithResponse(ctx, nil, client.FollowUpCreate{
			ContactId: &ana.Id, PhoneId: &ana.Phones[0].Id, DueAt: day(3), Notes: ptr("Retornar proposta."),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		f3 := *created.JSON201
		require.Equal(t, "/v1/follow-ups/"+f3.Id.String(), created.HTTPResponse.Header.Get("Location"))
		require.Equal(t, client.FollowUpStatusPending, f3.Status)
		require.Equal(t, ana.Phones[0].Id, f3.PhoneId.MustGet())
		f1 := newFollowUp(t, admin, client.FollowUpCreate{ContactId: &ana.Id, DueAt: day(1), AgentId: &agentID})
		f2 := newFollowUp(t, admin, client.FollowUpCreate{ContactId: &ana.Id, DueAt: day(2)})
		f1b := newFollowUp(t, admin, client.FollowUpCreate{ContactId: &ana.Id, DueAt: day(1)})

		list := func(p client.ListFollowUpsParams) []uuid.UUID {
			r, err := admin.ListFollowUpsWithResponse(ctx, &p)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			out := []uuid.UUID{}
			for _, f := range r.JSON200.Data {
				out = append(out, f.Id)
			}
			return out
		}
		require.Equal(t, []uuid.UUID{f1.Id, f1b.Id, f2.Id, f3.Id}, list(client.ListFollowUpsParams{}), "soonest due first")
		pages := allPages(t, func(c *string) ([]client.FollowUp, nullable.Nullable[string]) {
			r, err := admin.ListFollowUpsWithResponse(ctx, &client.ListFollowUpsParams{Limit: ptr(1), Cursor: c})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Equal(t, []uuid.UUID{f1.Id, f1b.Id, f2.Id, f3.Id}, idsOf(pages, func(f client.FollowUp) uuid.UUID { return f.Id }),
			"pages follow the due order, ties included")
		require.Equal(t, []uuid.UUID{f1.Id, f1b.Id}, list(client.ListFollowUpsParams{DueBefore: ptr(day(2))}))
		require.Equal(t, []uuid.UUID{f1.Id}, list(client.ListFollowUpsParams{AgentId: &agentID}))

		tag := `"1"`
		done, err := admin.UpdateFollowUpWithResponse(ctx, f1.Id, &client.UpdateFollowUpParams{IfMatch: &tag}, client.FollowUpUpdate{Status: ptr(client.FollowUpStatusDone)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, done.StatusCode(), string(done.Body))
		require.Equal(t, client.FollowUpStatusDone, done.JSON200.Status)
		require.Equal(t, `"2"`, done.HTTPResponse.Header.Get("ETag"))
		stale, err := admin.UpdateFollowUpWithResponse(ctx, f1.Id, &client.UpdateFollowUpParams{IfMatch: &tag}, client.FollowUpUpdate{Status: ptr(client.FollowUpStatusCanceled)})
		require.NoError(t, err)
		requireProblem(t, env, stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)
		canceled, err := admin.UpdateFollowUpWithResponse(ctx, f2.Id, nil, client.FollowUpUpdate{Status: ptr(client.FollowUpStatusCanceled)})
		require.NoError(t, err)
		require.Equal(t, client.FollowUpStatusCanceled, canceled.JSON200.Status)
		require.Equal(t, []uuid.UUID{f1b.Id, f3.Id}, list(client.ListFollowUpsParams{Status: ptr(client.FollowUpStatusPending)}))
		require.Equal(t, []uuid.UUID{f1.Id}, list(client.ListFollowUpsParams{Status: ptr(client.FollowUpStatusDone)}))
		require.Equal(t, []uuid.UUID{f2.Id}, list(client.ListFollowUpsParams{Status: ptr(client.FollowUpStatusCanceled)}))

		// Rescheduling moves a follow-up in the queue.
		moved, err := admin.UpdateFollowUpWithResponse(ctx, f3.Id, nil, client.FollowUpUpdate{
			DueAt: ptr(apitest.Epoch.Add(12 * time.Hour)), Notes: nullable.NewNullNullable[string](), AgentId: nullable.NewNullableWithValue(agentID),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, moved.StatusCode(), string(moved.Body))
		requireSameTime(t, apitest.Epoch.Add(12*time.Hour), moved.JSON200.DueAt)
		require.True(t, moved.JSON200.Notes.IsNull(), "null clears the notes")
		require.Equal(t, []uuid.UUID{f3.Id, f1b.Id}, list(client.ListFollowUpsParams{Status: ptr(client.FollowUpStatusPending)}))
		got, err := admin.GetFollowUpWithResponse(ctx, f3.Id)
		require.NoError(t, err)
		requireSameTime(t, apitest.Epoch.Add(12*time.Hour), got.JSON200.DueAt)
		require.Equal(t, agentID, got.JSON200.AgentId.MustGet())

		// Bad input is refused and stores nothing.
		resp, body := env.Do(http.MethodPost, "/v1/follow-ups", env.AdminKey, []byte(`{"due_at": "2026-01-06T12:00:00Z"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest)
		bad, err := admin.CreateFollowUpWithResponse(ctx, nil, client.FollowUpCreate{ContactId: ptr(uuid.New()), DueAt: day(1)})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "contact_id")
		bad, err = admin.CreateFollowUpWithResponse(ctx, nil, client.FollowUpCreate{ContactId: &ana.Id, PhoneId: ptr(uuid.New()), DueAt: day(1)})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "phone_id")
		bad, err = admin.CreateFollowUpWithResponse(ctx, nil, client.FollowUpCreate{ContactId: &ana.Id, AgentId: ptr(uuid.New()), DueAt: day(1)})
		require.NoError(t, err)
		requireProblem(t, env, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "agent_id")
		resp, body = env.Do(http.MethodPatch, "/v1/follow-ups/"+f3.Id.String(), env.AdminKey, []byte(`{"status": "finished"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "status")
		require.Len(t, list(client.ListFollowUpsParams{}), 4)

		foreign, err := env.Client(env.NewTenant("Other").AdminKey).GetFollowUpWithResponse(ctx, f3.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)
	})
}

func TestHolidays(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		_, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)

		holidays := func(c *client.ClientWithResponses, year *int) map[string]client.Holiday {
			r, err := c.ListHolidaysWithResponse(ctx, &client.ListHolidaysParams{Year: year})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			out := map[string]client.Holiday{}
			prev := ""
			for _, h := range r.JSON200.Data {
				d := h.Date.Format(time.DateOnly)
				require.GreaterOrEqual(t, d, prev, "holidays are listed by date")
				prev = d
				out[d] = h
			}
			return out
		}
		y2026 := holidays(admin, ptr(2026))
		tiradentes := y2026["2026-04-21"]
		require.True(t, tiradentes.National)
		require.Contains(t, tiradentes.Name, "Tiradentes")
		require.True(t, !tiradentes.Id.IsSpecified() || tiradentes.Id.IsNull(), "national holidays have no id")
		negra := y2026["2026-11-20"]
		require.True(t, negra.National)
		require.Contains(t, negra.Name, "Consciência Negra")
		require.True(t, y2026["2026-12-25"].National)
		require.NotContains(t, y2026, "2026-02-17", "Carnaval is not a national holiday")
		require.Contains(t, holidays(admin, nil), "2026-04-21", "the year defaults to the current one")

		created, err := admin.CreateHolidayWithResponse(ctx, nil, client.HolidayCreate{Date: openapi_types.Date{Time: time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC)}, Name: "Aniversário de Blumenau"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		own := *created.JSON201
		require.False(t, own.National)
		require.Equal(t, "2026-09-02", own.Date.Format(time.DateOnly))
		ownID := own.Id.MustGet()
		listed := holidays(admin, ptr(2026))["2026-09-02"]
		require.Equal(t, "Aniversário de Blumenau", listed.Name)
		require.Equal(t, ownID, listed.Id.MustGet())
		require.NotContains(t, holidays(admin, ptr(2027)), "2027-09-02", "a tenant holiday is on its own date only")
		require.NotContains(t, holidays(env.Client(env.NewTenant("Other").AdminKey), ptr(2026)), "2026-09-02", "holidays are per tenant")

		dup, err := admin.CreateHolidayWithResponse(ctx, nil, client.HolidayCreate{Date: own.Date, Name: "Outro nome"})
		require.NoError(t, err)
		requireProblem(t, env, dup.HTTPResponse, dup.Body, http.StatusConflict)
		byAgent, err := env.Client(agentKey).CreateHolidayWithResponse(ctx, nil, client.HolidayCreate{Date: openapi_types.Date{Time: time.Date(2026, 9, 3, 0, 0, 0, 0, time.UTC)}, Name: "Folga"})
		require.NoError(t, err)
		requireProblem(t, env, byAgent.HTTPResponse, byAgent.Body, http.StatusForbidden)
		resp, body := env.Do(http.MethodGet, "/v1/holidays?year=1999", env.AdminKey, nil, nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "year")

		del, err := admin.DeleteHolidayWithResponse(ctx, ownID)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
		require.NotContains(t, holidays(admin, ptr(2026)), "2026-09-02")
		again, err := admin.DeleteHolidayWithResponse(ctx, ownID)
		require.NoError(t, err)
		requireProblem(t, env, again.HTTPResponse, again.Body, http.StatusNotFound)
	})
}

func TestNextBusinessDay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		next := func(from *time.Time, at *string) client.NextBusinessDay {
			r, err := admin.GetNextBusinessDayWithResponse(ctx, &client.GetNextBusinessDayParams{From: from, At: at})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return *r.JSON200
		}
		friday := time.Date(2026, 4, 17, 20, 0, 0, 0, time.UTC)
		monday := time.Date(2026, 4, 20, 15, 0, 0, 0, time.UTC)

		got := next(&friday, ptr("09:00"))
		require.Equal(t, "America/Sao_Paulo", got.Timezone)
		requireSameTime(t, time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC), got.At, "Friday evening -> Monday 09:00 in São Paulo")
		requireSameTime(t, time.Date(2026, 4, 22, 12, 0, 0, 0, time.UTC), next(&monday, ptr("09:00")).At, "Tiradentes (Tuesday) is skipped")
		thursday := time.Date(2026, 11, 19, 15, 0, 0, 0, time.UTC)
		requireSameTime(t, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), next(&thursday, ptr("09:00")).At, "Consciência Negra (Friday) is skipped")
		requireSameTime(t, time.Date(2026, 1, 6, 11, 0, 0, 0, time.UTC), next(nil, nil).At, "from defaults to now, at to the opening time (08:00)")

		hol, err := admin.CreateHolidayWithResponse(ctx, nil, client.HolidayCreate{Date: openapi_types.Date{Time: time.Date(2026, 4, 22, 0, 0, 0, 0, time.UTC)}, Name: "Inventário"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, hol.StatusCode(), string(hol.Body))
		requireSameTime(t, time.Date(2026, 4, 23, 12, 0, 0, 0, time.UTC), next(&monday, ptr("09:00")).At, "a tenant holiday is skipped")

		settings, err := admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{BusinessHours: &client.BusinessHours{
			Days:  []client.Weekday{client.WeekdayMonday, client.WeekdayTuesday, client.WeekdayWednesday, client.WeekdayThursday, client.WeekdayFriday, client.WeekdaySaturday},
			Opens: "08:00", Closes: "12:00",
		}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, settings.StatusCode(), string(settings.Body))
		requireSameTime(t, time.Date(2026, 4, 18, 12, 0, 0, 0, time.UTC), next(&friday, ptr("09:00")).At, "with Saturdays worked, Friday -> Saturday")

		resp, body := env.Do(http.MethodGet, "/v1/calendar/next-business-day?at=25:00", env.AdminKey, nil, nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "at")
	})
}

func TestSettingsBusinessHours(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		got, err := admin.GetSettingsWithResponse(ctx)
		require.NoError(t, err)
		hours := got.JSON200.BusinessHours
		require.ElementsMatch(t, []client.Weekday{client.WeekdayMonday, client.WeekdayTuesday, client.WeekdayWednesday, client.WeekdayThursday, client.WeekdayFriday}, hours.Days)
		require.Equal(t, "08:00", hours.Opens)
		require.Equal(t, "18:00", hours.Closes)

		tag := got.HTTPResponse.Header.Get("ETag")
		want := client.BusinessHours{Days: []client.Weekday{client.WeekdaySaturday, client.WeekdayMonday, client.WeekdayWednesday}, Opens: "09:30", Closes: "17:45"}
		patched, err := admin.UpdateSettingsWithResponse(ctx, &client.UpdateSettingsParams{IfMatch: &tag}, client.SettingsUpdate{BusinessHours: &want})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		got, err = admin.GetSettingsWithResponse(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, want.Days, got.JSON200.BusinessHours.Days)
		require.Equal(t, "09:30", got.JSON200.BusinessHours.Opens)
		require.Equal(t, "17:45", got.JSON200.BusinessHours.Closes)
		require.Equal(t, "America/Sao_Paulo", got.JSON200.Timezone, "other settings keep their value")

		backwards, err := admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{BusinessHours: &client.BusinessHours{
			Days: []client.Weekday{client.WeekdayMonday}, Opens: "18:00", Closes: "08:00",
		}})
		require.NoError(t, err)
		requireProblem(t, env, backwards.HTTPResponse, backwards.Body, http.StatusBadRequest, "business_hours.closes")
		resp, body := env.Do(http.MethodPatch, "/v1/settings", env.AdminKey, []byte(`{"business_hours": {"days": [], "opens": "08:00", "closes": "18:00"}}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "business_hours.days")
		resp, body = env.Do(http.MethodPatch, "/v1/settings", env.AdminKey, []byte(`{"business_hours": {"days": ["someday"], "opens": "08:00", "closes": "18:00"}}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest)
		resp, body = env.Do(http.MethodPatch, "/v1/settings", env.AdminKey, []byte(`{"business_hours": {"days": ["monday"], "opens": "8h", "closes": "18:00"}}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "business_hours.opens")
		got, err = admin.GetSettingsWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, "09:30", got.JSON200.BusinessHours.Opens, "refused changes leave the hours alone")
	})
}
