package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// lookUpPhone answers GET /v1/phones?number=.
func lookUpPhone(t *testing.T, c *client.ClientWithResponses, number string) []client.Phone {
	t.Helper()
	r, err := c.ListPhonesWithResponse(context.Background(), &client.ListPhonesParams{Number: &number})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	return r.JSON200.Data
}

// linkIDs lists the records a phone is linked to.
func linkIDs(p client.Phone) []uuid.UUID {
	out := []uuid.UUID{}
	for _, l := range p.Links {
		out = append(out, l.Id)
	}
	return out
}

func TestSearchByPhoneFindsTheRecordInAnyFormat(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		joao := newContact(t, admin, client.ContactCreate{Name: "João José", Phones: &[]string{"+55 47 99123-4567"}})
		require.Equal(t, "+5547991234567", joao.Phones[0].Number)
		newContact(t, admin, client.ContactCreate{Name: "Outro Cliente", Phones: &[]string{"+55 47 99123-4568"}})
		lead := newLead(t, admin, client.LeadCreate{Name: "Lia", Phones: &[]string{"+55 47 99123-4567"}})
		company := newCompany(t, admin, client.CompanyCreate{LegalName: "Eox", Phones: &[]string{"+55 47 99123-4567"}})

		for _, typed := range []string{"+55 47 99123-4567", "4799123-4567", "554791234567", "(47) 99123-4567", "+5547991234567", "47 9123-4567"} {
			found := searchContacts(t, admin, typed)
			require.Len(t, found, 1, "q=%q", typed)
			require.Equal(t, joao.Id, found[0].Id, "q=%q", typed)

			phones := lookUpPhone(t, admin, typed)
			require.Len(t, phones, 1, "number=%q", typed)
			require.Equal(t, "+5547991234567", phones[0].Number)
			require.ElementsMatch(t, []uuid.UUID{joao.Id, lead.Id, company.Id}, linkIDs(phones[0]), "number=%q", typed)

			leads, err := admin.ListLeadsWithResponse(ctx, &client.ListLeadsParams{Q: &typed})
			require.NoError(t, err)
			require.Len(t, leads.JSON200.Data, 1, "q=%q", typed)
			require.Equal(t, []uuid.UUID{company.Id}, searchCompanies(t, admin, typed, false), "q=%q", typed)
		}
		for _, l := range lookUpPhone(t, admin, "4799123-4567")[0].Links {
			switch l.Id {
			case joao.Id:
				require.Equal(t, client.RecordTypeContact, l.Type)
				require.Equal(t, "João José", l.Name)
			case lead.Id:
				require.Equal(t, client.RecordTypeLead, l.Type)
			case company.Id:
				require.Equal(t, client.RecordTypeCompany, l.Type)
				require.Equal(t, "Eox", l.Name)
			}
		}

		// The other way round: an old eight-digit mobile is the same line as its ninth-digit form.
		other := env.Client(env.NewTenant("Other").AdminKey)
		old := newContact(t, other, client.ContactCreate{Name: "Cliente Antigo", Phones: &[]string{"47 9123-4567"}})
		require.Equal(t, "+5547991234567", old.Phones[0].Number, "the ninth digit is restored")
		found := searchContacts(t, other, "+5547991234567")
		require.Len(t, found, 1)
		require.Equal(t, old.Id, found[0].Id)
		phones := lookUpPhone(t, other, "+5547991234567")
		require.Len(t, phones, 1)
		require.Equal(t, []uuid.UUID{old.Id}, linkIDs(phones[0]), "each tenant sees its own records only")

		require.Empty(t, searchContacts(t, admin, "+55 47 99999-0000"), "an unknown number finds nothing")
		require.Empty(t, lookUpPhone(t, admin, "+55 47 99999-0000"))
	})
}

func TestInvalidPhonesAreRefusedByField(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		contact, err := admin.CreateContactWithResponse(ctx, nil, client.ContactCreate{Name: "Ana", Phones: &[]string{"123"}})
		require.NoError(t, err)
		requireProblem(t, env, contact.HTTPResponse, contact.Body, http.StatusBadRequest, "phones.0")
		contact, err = admin.CreateContactWithResponse(ctx, nil, client.ContactCreate{Name: "Ana", Phones: &[]string{"+55 47 99123-4567", "47 ramal 12"}})
		require.NoError(t, err)
		p := requireProblem(t, env, contact.HTTPResponse, contact.Body, http.StatusBadRequest, "phones.1")
		require.NotContains(t, fieldsOf(p), "phones.0", "the valid number is not blamed")
		require.Empty(t, searchContacts(t, admin, "Ana"), "the contact is not stored")
		require.Empty(t, lookUpPhone(t, admin, "+55 47 99123-4567"), "nor its valid phone")

		company, err := admin.CreateCompanyWithResponse(ctx, nil, client.CompanyCreate{LegalName: "Eox", Phones: &[]string{"(47) 1234"}})
		require.NoError(t, err)
		requireProblem(t, env, company.HTTPResponse, company.Body, http.StatusBadRequest, "phones.0")
		lead, err := admin.CreateLeadWithResponse(ctx, nil, client.LeadCreate{Name: "Lia", Phones: &[]string{"+55 11 9765"}})
		require.NoError(t, err)
		requireProblem(t, env, lead.HTTPResponse, lead.Body, http.StatusBadRequest, "phones.0")

		created, err := admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{Number: "12345"})
		require.NoError(t, err)
		requireProblem(t, env, created.HTTPResponse, created.Body, http.StatusBadRequest, "number")
		created, err = admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{Number: "abc-defg-hijk"})
		require.NoError(t, err)
		requireProblem(t, env, created.HTTPResponse, created.Body, http.StatusBadRequest, "number")
		for _, bad := range []string{"12", "call me", "+55 11 9765"} {
			r, err := admin.ListPhonesWithResponse(ctx, &client.ListPhonesParams{Number: ptr(bad)})
			require.NoError(t, err)
			requireProblem(t, env, r.HTTPResponse, r.Body, http.StatusBadRequest, "number")
		}

		all, err := admin.ListPhonesWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, all.JSON200.Data, "no phone was stored by a refused request")
	})
}

func TestPhonesAndTheirLinks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana"})
		acme := newCompany(t, admin, client.CompanyCreate{LegalName: "Acme"})
		bia := newLead(t, admin, client.LeadCreate{Name: "Bia"})

		created, err := admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{
			Number: "(11) 97654-3210", Links: &[]client.PhoneLinkCreate{{RecordType: client.RecordTypeContact, RecordId: ana.Id}},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		phone := *created.JSON201
		require.Equal(t, "/v1/phones/"+phone.Id.String(), created.HTTPResponse.Header.Get("Location"))
		require.Equal(t, `"1"`, created.HTTPResponse.Header.Get("ETag"))
		require.Equal(t, "+5511976543210", phone.Number)
		require.Equal(t, client.PhoneTypeMobile, phone.Type, "the type is detected from the number")
		require.Len(t, phone.Links, 1)
		require.Equal(t, client.RecordRef{Type: client.RecordTypeContact, Id: ana.Id, Name: "Ana", Archived: ptr(false)}, phone.Links[0])
		anaNow, err := admin.GetContactWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		require.Len(t, anaNow.JSON200.Phones, 1)
		require.Equal(t, phone.Id, anaNow.JSON200.Phones[0].Id)

		landline, err := admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{Number: "+55 11 3333-4444"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, landline.StatusCode(), string(landline.Body))
		require.Equal(t, client.PhoneTypeLandline, landline.JSON201.Type)
		require.Empty(t, landline.JSON201.Links)

		dup, err := admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{Number: "11 7654-3210"})
		require.NoError(t, err)
		p := requireProblem(t, env, dup.HTTPResponse, dup.Body, http.StatusConflict)
		require.NotNil(t, p.Detail)
		require.Contains(t, *p.Detail, phone.Id.String(), "the conflict names the existing phone")

		orphan, err := admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{
			Number: "+55 21 98765-4321", Links: &[]client.PhoneLinkCreate{{RecordType: client.RecordTypeCompany, RecordId: uuid.New()}},
		})
		require.NoError(t, err)
		requireProblem(t, env, orphan.HTTPResponse, orphan.Body, http.StatusBadRequest, "links.0.record_id")
		require.Empty(t, lookUpPhone(t, admin, "+55 21 98765-4321"), "a refused phone is not stored")

		link := func(id uuid.UUID, rt client.RecordType, record uuid.UUID) *client.LinkPhoneResponse {
			r, err := admin.LinkPhoneWithResponse(ctx, id, nil, client.PhoneLinkCreate{RecordType: rt, RecordId: record})
			require.NoError(t, err)
			return r
		}
		linked := link(phone.Id, client.RecordTypeCompany, acme.Id)
		require.Equal(t, http.StatusOK, linked.StatusCode(), string(linked.Body))
		require.ElementsMatch(t, []uuid.UUID{ana.Id, acme.Id}, linkIDs(*linked.JSON200))
		twice := link(phone.Id, client.RecordTypeCompany, acme.Id)
		require.Equal(t, http.StatusOK, twice.StatusCode(), "linking twice is not an error: %s", twice.Body)
		require.ElementsMatch(t, []uuid.UUID{ana.Id, acme.Id}, linkIDs(*twice.JSON200))
		linked = link(phone.Id, client.RecordTypeLead, bia.Id)
		require.ElementsMatch(t, []uuid.UUID{ana.Id, acme.Id, bia.Id}, linkIDs(*linked.JSON200))
		wrongType := link(phone.Id, client.RecordTypeLead, acme.Id)
		requireProblem(t, env, wrongType.HTTPResponse, wrongType.Body, http.StatusBadRequest, "record_id")
		unknownPhone := link(uuid.New(), client.RecordTypeLead, bia.Id)
		requireProblem(t, env, unknownPhone.HTTPResponse, unknownPhone.Body, http.StatusNotFound)
		acmeNow, err := admin.GetCompanyWithResponse(ctx, acme.Id)
		require.NoError(t, err)
		require.Len(t, acmeNow.JSON200.Phones, 1)
		biaNow, err := admin.GetLeadWithResponse(ctx, bia.Id)
		require.NoError(t, err)
		require.Len(t, biaNow.JSON200.Phones, 1)

		unlink, err := admin.UnlinkPhoneWithResponse(ctx, phone.Id, acme.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, unlink.StatusCode(), string(unlink.Body))
		got, err := admin.GetPhoneWithResponse(ctx, phone.Id)
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{ana.Id, bia.Id}, linkIDs(*got.JSON200))
		acmeNow, err = admin.GetCompanyWithResponse(ctx, acme.Id)
		require.NoError(t, err)
		require.Empty(t, acmeNow.JSON200.Phones)
		unlink, err = admin.UnlinkPhoneWithResponse(ctx, phone.Id, acme.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, unlink.StatusCode(), "unlinking what is not linked is not an error")
		unlink, err = admin.UnlinkPhoneWithResponse(ctx, uuid.New(), acme.Id)
		require.NoError(t, err)
		requireProblem(t, env, unlink.HTTPResponse, unlink.Body, http.StatusNotFound)

		// An archived record stays linked, marked as archived.
		_, err = admin.UpdateContactWithResponse(ctx, ana.Id, nil, client.ContactUpdate{Archived: ptr(true)})
		require.NoError(t, err)
		got, err = admin.GetPhoneWithResponse(ctx, phone.Id)
		require.NoError(t, err)
		for _, l := range got.JSON200.Links {
			require.Equal(t, l.Id == ana.Id, *l.Archived, "only Ana is archived")
		}

		pages := allPages(t, func(c *string) ([]client.Phone, nullable.Nullable[string]) {
			r, err := admin.ListPhonesWithResponse(ctx, &client.ListPhonesParams{Limit: ptr(1), Cursor: c})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data, r.JSON200.NextCursor
		})
		require.Equal(t, []uuid.UUID{phone.Id, landline.JSON201.Id}, idsOf(pages, func(p client.Phone) uuid.UUID { return p.Id }), "oldest first")

		other := env.Client(env.NewTenant("Other").AdminKey)
		foreign, err := other.GetPhoneWithResponse(ctx, phone.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)
		require.Empty(t, lookUpPhone(t, other, "(11) 97654-3210"))
		foreignLink, err := other.LinkPhoneWithResponse(ctx, phone.Id, nil, client.PhoneLinkCreate{RecordType: client.RecordTypeLead, RecordId: bia.Id})
		require.NoError(t, err)
		requireProblem(t, env, foreignLink.HTTPResponse, foreignLink.Body, http.StatusNotFound)
		own, err := other.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{Number: "(11) 97654-3210"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, own.StatusCode(), "numbers are unique per tenant only: %s", own.Body)
		crossLink, err := other.LinkPhoneWithResponse(ctx, own.JSON201.Id, nil, client.PhoneLinkCreate{RecordType: client.RecordTypeLead, RecordId: bia.Id})
		require.NoError(t, err)
		requireProblem(t, env, crossLink.HTTPResponse, crossLink.Body, http.StatusBadRequest, "record_id")
	})
}

func TestPhoneWhatsAppIdentity(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana", Phones: &[]string{"(47) 99123-4567"}})
		phoneID := ana.Phones[0].Id
		require.True(t, !ana.Phones[0].WhatsappId.IsSpecified() || ana.Phones[0].WhatsappId.IsNull())

		got, err := admin.GetPhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		tag := got.HTTPResponse.Header.Get("ETag")
		env.Clock.Advance(2 * time.Hour)
		patched, err := admin.UpdatePhoneWithResponse(ctx, phoneID, &client.UpdatePhoneParams{IfMatch: &tag}, client.PhoneUpdate{
			WhatsappId: nullable.NewNullableWithValue("554791234567"),
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		require.Equal(t, "554791234567", patched.JSON200.WhatsappId.MustGet(), "the id Plinx returned is kept as is")
		requireSameTime(t, apitest.Epoch.Add(2*time.Hour), patched.JSON200.WhatsappConfirmedAt.MustGet(), "confirmed now")
		require.Equal(t, "+5547991234567", patched.JSON200.Number, "the number itself is fixed")
		require.NotEqual(t, tag, patched.HTTPResponse.Header.Get("ETag"))
		stale, err := admin.UpdatePhoneWithResponse(ctx, phoneID, &client.UpdatePhoneParams{IfMatch: &tag}, client.PhoneUpdate{Type: ptr(client.PhoneTypeLandline)})
		require.NoError(t, err)
		requireProblem(t, env, stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)
		anaNow, err := admin.GetContactWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		require.Equal(t, "554791234567", anaNow.JSON200.Phones[0].WhatsappId.MustGet(), "records show their phones' WhatsApp ids")

		resp, body := env.Do(http.MethodPatch, "/v1/phones/"+phoneID.String(), env.AdminKey, []byte(`{"whatsapp_id": "+55 47"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "whatsapp_id")
		resp, body = env.Do(http.MethodPatch, "/v1/phones/"+phoneID.String(), env.AdminKey, []byte(`{"number": "+5511999999999"}`), nil)
		requireProblem(t, env, resp, body, http.StatusBadRequest, "number")

		cleared, err := admin.UpdatePhoneWithResponse(ctx, phoneID, nil, client.PhoneUpdate{WhatsappId: nullable.NewNullNullable[string]()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cleared.StatusCode(), string(cleared.Body))
		require.True(t, cleared.JSON200.WhatsappId.IsNull(), "null clears the WhatsApp id")

		withID, err := admin.CreatePhoneWithResponse(ctx, nil, client.PhoneCreate{Number: "+55 11 98888-7777", WhatsappId: ptr("5511988887777")})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, withID.StatusCode(), string(withID.Body))
		requireSameTime(t, apitest.Epoch.Add(2*time.Hour), withID.JSON201.WhatsappConfirmedAt.MustGet())
	})
}

func TestDeletePhone(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		_, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		ana := newContact(t, admin, client.ContactCreate{Name: "Ana", Phones: &[]string{"(47) 99123-4567", "(47) 3322-1100"}})
		acme := newCompany(t, admin, client.CompanyCreate{LegalName: "Acme", Phones: &[]string{"(47) 99123-4567"}})
		phoneID := lookUpPhone(t, admin, "(47) 99123-4567")[0].Id

		byAgent, err := env.Client(agentKey).DeletePhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		requireProblem(t, env, byAgent.HTTPResponse, byAgent.Body, http.StatusForbidden)
		foreign, err := env.Client(env.NewTenant("Other").AdminKey).DeletePhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)

		del, err := admin.DeletePhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
		gone, err := admin.GetPhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		requireProblem(t, env, gone.HTTPResponse, gone.Body, http.StatusNotFound)
		require.Empty(t, lookUpPhone(t, admin, "(47) 99123-4567"))
		require.Empty(t, searchContacts(t, admin, "(47) 99123-4567"), "the number no longer finds the contact")

		anaNow, err := admin.GetContactWithResponse(ctx, ana.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, anaNow.StatusCode(), "the records stay")
		require.Len(t, anaNow.JSON200.Phones, 1)
		require.Equal(t, "+554733221100", anaNow.JSON200.Phones[0].Number, "only the deleted phone is gone")
		acmeNow, err := admin.GetCompanyWithResponse(ctx, acme.Id)
		require.NoError(t, err)
		require.Empty(t, acmeNow.JSON200.Phones)

		again, err := admin.DeletePhoneWithResponse(ctx, phoneID)
		require.NoError(t, err)
		requireProblem(t, env, again.HTTPResponse, again.Body, http.StatusNotFound)
	})
}
