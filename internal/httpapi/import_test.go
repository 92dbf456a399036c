package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// importCSV posts body as a CSV of contacts.
func importCSV(t *testing.T, c *client.ClientWithResponses, params *client.ImportContactsParams, contentType string, body io.Reader) *client.ImportContactsResponse {
	t.Helper()
	r, err := c.ImportContactsWithBodyWithResponse(context.Background(), params, contentType, body)
	require.NoError(t, err)
	return r
}

// mustImport imports a CSV file and returns the finished import.
func mustImport(t *testing.T, c *client.ClientWithResponses, params *client.ImportContactsParams, csv string) client.Import {
	t.Helper()
	r := importCSV(t, c, params, "text/csv", strings.NewReader(csv))
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	require.Equal(t, "/v1/imports/"+r.JSON201.Id.String(), r.HTTPResponse.Header.Get("Location"))
	return *r.JSON201
}

// rowErrors maps each reported line to the field blamed ("" when none).
func rowErrors(t *testing.T, im client.Import) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, e := range im.Errors {
		require.NotEmpty(t, e.Message, "line %d", e.Line)
		field := ""
		if e.Field.IsSpecified() && !e.Field.IsNull() {
			field = e.Field.MustGet()
		}
		out[e.Line] = field
	}
	return out
}

// allContacts pages through every contact of the tenant.
func allContacts(t *testing.T, c *client.ClientWithResponses) []client.Contact {
	t.Helper()
	pages := allPages(t, func(cursor *string) ([]client.Contact, nullable.Nullable[string]) {
		r, err := c.ListContactsWithResponse(context.Background(), &client.ListContactsParams{Limit: ptr(200), Cursor: cursor, IncludeArchived: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		return r.JSON200.Data, r.JSON200.NextCursor
	})
	var out []client.Contact
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

// allPhones pages through every phone of the tenant.
func allPhones(t *testing.T, c *client.ClientWithResponses) []client.Phone {
	t.Helper()
	pages := allPages(t, func(cursor *string) ([]client.Phone, nullable.Nullable[string]) {
		r, err := c.ListPhonesWithResponse(context.Background(), &client.ListPhonesParams{Limit: ptr(200), Cursor: cursor})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		return r.JSON200.Data, r.JSON200.NextCursor
	})
	var out []client.Phone
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func listImports(t *testing.T, c *client.ClientWithResponses) []client.Import {
	t.Helper()
	r, err := c.ListImportsWithResponse(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	return r.JSON200.Data
}

// paddedRows generates, on the fly, a contact CSV of n rows, each padded to about pad bytes with a column
// atende ignores, so that a file of many megabytes has a few thousand rows.
type paddedRows struct {
	n, pad, i int
	buf       []byte
}

// paddedPhone is the E.164 of row i's phone.
func paddedPhone(i int) string { return fmt.Sprintf("+55119%04d%04d", 6000+i/10000, i%10000) }

func (r *paddedRows) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i <= r.n {
		if r.i == 0 {
			r.buf = append(r.buf, "nome;telefone;descricao\n"...)
		} else {
			r.buf = fmt.Appendf(r.buf, "Contato %05d;(11) 9%04d-%04d;", r.i, 6000+r.i/10000, r.i%10000)
			r.buf = append(r.buf, bytes.Repeat([]byte{'x'}, r.pad)...)
			r.buf = append(r.buf, '\n')
		}
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func TestImportPortugueseFileThenUpdateByPhone(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		adminID := mustMe(t, admin).User.Id

		first := mustImport(t, admin, nil, "nome;telefone;email;empresa;cnpj;notas\n"+
			"João José;(47) 99123-4567;joao@eox.com.br;Eox Tecnologia Ltda;11.222.333/0001-81;Comprador\n"+
			"Maria Souza;+55 47 99876-5432;maria@eox.com.br;Eox Tecnologia Ltda;11.222.333/0001-81;\n"+
			"Pedro Alves;11 97654-3210;;Padaria Pão Quente;;Cliente antigo\n")
		require.Equal(t, client.ImportKindContacts, first.Kind)
		require.Equal(t, client.ImportStatusCompleted, first.Status)
		require.Equal(t, 3, first.Rows)
		require.Equal(t, 3, first.Created)
		require.Equal(t, 0, first.Updated)
		require.Equal(t, 0, first.Failed)
		require.Empty(t, first.Errors)
		require.False(t, first.ErrorsTruncated)
		require.Empty(t, first.IgnoredColumns)
		require.Equal(t, "utf-8", first.Charset.MustGet())
		require.Equal(t, ";", first.Delimiter.MustGet())
		require.Equal(t, adminID, first.CreatedBy.MustGet())
		requireSameTime(t, apitest.Epoch, first.CreatedAt)
		requireSameTime(t, apitest.Epoch, first.FinishedAt.MustGet())

		// The companies are created once each and the contacts linked to them, with their phones.
		eoxIDs := searchCompanies(t, admin, "Eox Tecnologia", false)
		require.Len(t, eoxIDs, 1, "one company per CNPJ")
		eox, err := admin.GetCompanyWithResponse(ctx, eoxIDs[0])
		require.NoError(t, err)
		require.Equal(t, "Eox Tecnologia Ltda", eox.JSON200.LegalName)
		require.Equal(t, "11222333000181", eox.JSON200.Cnpj.MustGet())
		padaria := searchCompanies(t, admin, "Padaria Pão Quente", false)
		require.Len(t, padaria, 1)
		members, err := admin.ListCompanyContactsWithResponse(ctx, eoxIDs[0], nil)
		require.NoError(t, err)
		names := []string{}
		for _, c := range members.JSON200.Data {
			names = append(names, c.Name)
		}
		require.ElementsMatch(t, []string{"João José", "Maria Souza"}, names)

		found := searchContacts(t, admin, "(47) 99123-4567")
		require.Len(t, found, 1)
		joao := found[0]
		require.Equal(t, "João José", joao.Name)
		require.Equal(t, "joao@eox.com.br", joao.Email.MustGet())
		require.Equal(t, "Comprador", joao.Notes.MustGet())
		require.Equal(t, []uuid.UUID{eoxIDs[0]}, joao.CompanyIds)
		require.Len(t, joao.Phones, 1)
		require.Equal(t, "+5547991234567", joao.Phones[0].Number)
		phones := lookUpPhone(t, admin, "+55 47 99123-4567")
		require.Len(t, phones, 1)
		require.Equal(t, []uuid.UUID{joao.Id}, linkIDs(phones[0]))
		pedro := searchContacts(t, admin, "pedro")
		require.Len(t, pedro, 1)
		require.Equal(t, padaria, pedro[0].CompanyIds)
		require.Equal(t, "+5511976543210", pedro[0].Phones[0].Number)

		got, err := admin.GetImportWithResponse(ctx, first.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
		require.Equal(t, first.Id, got.JSON200.Id)
		require.Equal(t, first.Status, got.JSON200.Status)
		require.Equal(t, [4]int{3, 3, 0, 0}, [4]int{got.JSON200.Rows, got.JSON200.Created, got.JSON200.Updated, got.JSON200.Failed})
		require.Empty(t, got.JSON200.Errors)

		// The same phone in another format updates the contact instead of duplicating it.
		env.Clock.Advance(time.Minute)
		second := mustImport(t, admin, nil, "nome;telefone;email\n"+
			"João José da Silva;+55 47 9123-4567;joao.silva@eox.com.br\n"+
			"Nova Pessoa;47 99555-0001;\n")
		require.Equal(t, 2, second.Rows)
		require.Equal(t, 1, second.Created)
		require.Equal(t, 1, second.Updated)
		require.Equal(t, 0, second.Failed)
		for _, typed := range []string{"(47) 99123-4567", "+5547991234567", "554791234567"} {
			found = searchContacts(t, admin, typed)
			require.Len(t, found, 1, "no duplicate contact: q=%q", typed)
			require.Equal(t, joao.Id, found[0].Id)
		}
		require.Equal(t, "João José da Silva", found[0].Name)
		require.Equal(t, "joao.silva@eox.com.br", found[0].Email.MustGet())
		require.Equal(t, "Comprador", found[0].Notes.MustGet(), "columns the file does not have are left alone")
		require.Equal(t, []uuid.UUID{eoxIDs[0]}, found[0].CompanyIds)
		require.Len(t, found[0].Phones, 1)
		require.Len(t, allContacts(t, admin), 4)
		require.Len(t, allPhones(t, admin), 4)

		imports := listImports(t, admin)
		require.Len(t, imports, 2)
		require.Equal(t, []uuid.UUID{second.Id, first.Id}, []uuid.UUID{imports[0].Id, imports[1].Id}, "newest first")
		require.Equal(t, 1, imports[0].Updated)

		other := env.Client(env.NewTenant("Other").AdminKey)
		foreign, err := other.GetImportWithResponse(ctx, first.Id)
		require.NoError(t, err)
		requireProblem(t, env, foreign.HTTPResponse, foreign.Body, http.StatusNotFound)
		require.Empty(t, listImports(t, other))
		require.Empty(t, allContacts(t, other))
	})
}

func TestImportEnglishCommaFile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)
		_, integrationKey := env.NewUser(env.AdminKey, client.RoleIntegration)
		group := newCompany(t, admin, client.CompanyCreate{LegalName: "Grupo Importador"})

		im := mustImport(t, env.Client(integrationKey), &client.ImportContactsParams{CompanyId: &group.Id}, "name,phone,email,company,notes,favourite colour\r\n"+
			"\"Smith, John\",+1 650 253 0000,john@example.com,Acme Inc,\"Likes, commas\",blue\r\n"+
			"Ana Lima,(21) 98765-4321,ana@example.com,,,\r\n")
		require.Equal(t, ",", im.Delimiter.MustGet())
		require.Equal(t, 2, im.Created, "%+v", im.Errors)
		require.Equal(t, []string{"favourite colour"}, im.IgnoredColumns)

		smith := searchContacts(t, admin, "smith")
		require.Len(t, smith, 1)
		require.Equal(t, "Smith, John", smith[0].Name)
		require.Equal(t, "Likes, commas", smith[0].Notes.MustGet())
		require.Equal(t, "+16502530000", smith[0].Phones[0].Number)
		acme := searchCompanies(t, admin, "Acme Inc", false)
		require.Len(t, acme, 1)
		require.ElementsMatch(t, []uuid.UUID{acme[0], group.Id}, smith[0].CompanyIds, "company_id links every contact as well")
		ana := searchContacts(t, admin, "(21) 98765-4321")
		require.Len(t, ana, 1)
		require.Equal(t, []uuid.UUID{group.Id}, ana[0].CompanyIds)
	})
}

func TestImportLatin1File(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)

		// Bytes as Excel on Windows writes them: "João Gonçalves", "Cerâmica São José", "Observação – ok".
		im := mustImport(t, admin, nil, "nome;telefone;empresa;notas\r\n"+
			"Jo\xe3o Gon\xe7alves;47 99111-2222;Cer\xe2mica S\xe3o Jos\xe9;Observa\xe7\xe3o \x96 ok\r\n")
		require.Equal(t, 1, im.Created, "%+v", im.Errors)
		require.Equal(t, "windows-1252", im.Charset.MustGet(), "the charset is detected")
		found := searchContacts(t, admin, "joao goncalves")
		require.Len(t, found, 1)
		require.Equal(t, "João Gonçalves", found[0].Name)
		require.Equal(t, "Observação – ok", found[0].Notes.MustGet())
		company := searchCompanies(t, admin, "ceramica sao jose", false)
		require.Len(t, company, 1)
		require.Equal(t, company, found[0].CompanyIds)

		// Told the charset, with an accented header.
		im = mustImport(t, admin, &client.ImportContactsParams{Charset: ptr(client.ImportContactsParamsCharsetIso88591)},
			"Nome Completo;N\xfamero\nConcei\xe7\xe3o Ara\xfajo;47 99111-3333\n")
		require.Equal(t, 1, im.Created, "%+v", im.Errors)
		found = searchContacts(t, admin, "47 99111-3333")
		require.Len(t, found, 1)
		require.Equal(t, "Conceição Araújo", found[0].Name)
	})
}

func TestImportReportsRowErrorsAndStoresTheValidRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		im := mustImport(t, admin, nil, "nome;telefone;email;empresa;cnpj;notas\n"+ // line 1
			"Ana Válida;47 99100-0001;ana@example.com;Empresa Boa;11.222.333/0001-81;ok\n"+ // 2
			"Bruno Fone Ruim;123;bruno@example.com;Empresa Fone Ruim;;\n"+ // 3: phone
			"Carla CNPJ Ruim;47 99100-0003;carla@example.com;Empresa CNPJ Ruim;11.222.333/0001-82;\n"+ // 4: cnpj
			"Davi Email Ruim;47 99100-0004;davi@@example;Empresa Email Ruim;;\n"+ // 5: email
			"Eva \"Aspas;47 99100-0005;eva@example.com;Empresa Aspas Ruins;;\n"+ // 6: bare quote
			"Fábio Válido;47 99100-0006;;;;\n"+ // 7
			"\"Gil \"\"Aspas\"\" Certas\";47 99100-0007;;;;\n"+ // 8
			"\"Hugo\" fim;47 99100-0008;;Empresa Quote Ruim;;\n"+ // 9: text after a closing quote
			"Ivo Válido;47 99100-0010;;Outra Boa;;\n") // 10
		require.Equal(t, client.ImportStatusCompleted, im.Status)
		require.Equal(t, 9, im.Rows)
		require.Equal(t, 4, im.Created, "%+v", im.Errors)
		require.Equal(t, 5, im.Failed)
		require.Equal(t, map[int]string{3: "phone", 4: "cnpj", 5: "email", 6: "", 9: ""}, rowErrors(t, im))

		got, err := admin.GetImportWithResponse(ctx, im.Id)
		require.NoError(t, err)
		require.Equal(t, im.Errors, got.JSON200.Errors, "the import keeps its row errors")
		require.Equal(t, 5, got.JSON200.Failed)

		// The valid rows are stored whole.
		names := []string{}
		for _, c := range allContacts(t, admin) {
			names = append(names, c.Name)
			require.Len(t, c.Phones, 1, c.Name)
		}
		require.ElementsMatch(t, []string{"Ana Válida", "Fábio Válido", `Gil "Aspas" Certas`, "Ivo Válido"}, names)
		boa := searchCompanies(t, admin, "Empresa Boa", false)
		require.Len(t, boa, 1)
		require.Equal(t, boa, searchContacts(t, admin, "Ana Válida")[0].CompanyIds)

		// A row with an error leaves nothing behind: no contact, no company, no phone.
		for _, name := range []string{"Bruno", "Carla", "Davi", "Eva", "Hugo"} {
			require.Empty(t, searchContacts(t, admin, name), name)
		}
		for _, number := range []string{"47 99100-0003", "47 99100-0004", "47 99100-0005", "47 99100-0008"} {
			require.Empty(t, lookUpPhone(t, admin, number), number)
		}
		for _, company := range []string{"Fone Ruim", "CNPJ Ruim", "Email Ruim", "Aspas Ruins", "Quote Ruim"} {
			require.Empty(t, searchCompanies(t, admin, company, true), company)
		}
		require.Len(t, allPhones(t, admin), 4)
	})
}

func TestImportRowWithoutANameLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)

		im := mustImport(t, admin, nil, "nome;telefone;empresa\n"+
			";47 99100-0009;Empresa Sem Nome\n"+
			"Zeca;47 99100-0011;\n")
		require.Equal(t, 2, im.Rows)
		require.Equal(t, 1, im.Created)
		require.Equal(t, 1, im.Failed)
		require.Equal(t, map[int]string{2: "name"}, rowErrors(t, im), "a new contact needs a name")
		require.Empty(t, lookUpPhone(t, admin, "47 99100-0009"), "no phone from the refused row")
		require.Len(t, allContacts(t, admin), 1)
		require.Empty(t, searchCompanies(t, admin, "Empresa Sem Nome", true), "no company from the refused row")
	})
}

func TestImportNamesEachCompanyOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)

		im := mustImport(t, admin, nil, "nome;telefone;empresa;cnpj\n"+
			"Ana;47 99100-0001;Empresa Boa;11.222.333/0001-81\n"+
			"Bia;47 99100-0002;Empresa Boa;\n")
		require.Equal(t, 2, im.Created, "%+v", im.Errors)
		boa := searchCompanies(t, admin, "Empresa Boa", true)
		require.Len(t, boa, 1, "a company named on two rows, once with its CNPJ, is one company")
	})
}

func TestImportRefusesUnreadableFiles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)
		_, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)

		for name, body := range map[string]string{
			"empty":            "",
			"blank lines":      "\n\n  \r\n",
			"no known column":  "foo;bar\n1;2\n",
			"duplicate column": "nome;name;telefone\nAna;Ana;47 99100-0001\n",
			"binary":           "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
		} {
			r := importCSV(t, admin, nil, "text/csv", strings.NewReader(body))
			requireProblem(t, env, r.HTTPResponse, r.Body, http.StatusBadRequest, "file")
			require.NotContains(t, string(r.Body), "goroutine", name)
		}
		for _, ct := range []string{"application/json", "text/plain", "multipart/form-data; boundary=x"} {
			r := importCSV(t, admin, nil, ct, strings.NewReader("nome;telefone\nAna;47 99100-0001\n"))
			requireProblem(t, env, r.HTTPResponse, r.Body, http.StatusUnsupportedMediaType)
		}
		unknown := importCSV(t, admin, &client.ImportContactsParams{CompanyId: ptr(uuid.New())}, "text/csv", strings.NewReader("nome;telefone\nAna;47 99100-0001\n"))
		requireProblem(t, env, unknown.HTTPResponse, unknown.Body, http.StatusBadRequest, "company_id")
		byAgent := importCSV(t, env.Client(agentKey), nil, "text/csv", strings.NewReader("nome;telefone\nAna;47 99100-0001\n"))
		requireProblem(t, env, byAgent.HTTPResponse, byAgent.Body, http.StatusForbidden)
		resp, body := env.Do(http.MethodPost, "/v1/imports/contacts?charset=ebcdic", env.AdminKey, []byte("nome\nAna\n"), map[string]string{"Content-Type": "text/csv"})
		requireProblem(t, env, resp, body, http.StatusBadRequest, "charset")

		require.Empty(t, listImports(t, admin), "a refused file records no import")
		require.Empty(t, allContacts(t, admin))
		missing, err := admin.GetImportWithResponse(context.Background(), uuid.New())
		require.NoError(t, err)
		requireProblem(t, env, missing.HTTPResponse, missing.Body, http.StatusNotFound)
	})
}

// requireWholeRows asserts that the contacts the padded file left are whole rows: each contact with its
// own phone, each phone with its contact, as many as the imports say they created.
func requireWholeRows(t *testing.T, c *client.ClientWithResponses) []client.Contact {
	t.Helper()
	created := 0
	for _, im := range listImports(t, c) {
		created += im.Created
	}
	contacts := allContacts(t, c)
	require.Len(t, contacts, created, "the imports' counts are what is stored")
	for _, ct := range contacts {
		var i int
		_, err := fmt.Sscanf(ct.Name, "Contato %05d", &i)
		require.NoError(t, err, ct.Name)
		require.Len(t, ct.Phones, 1, ct.Name)
		require.Equal(t, paddedPhone(i), ct.Phones[0].Number, ct.Name)
	}
	phones := allPhones(t, c)
	require.Len(t, phones, len(contacts), "no phone without its contact")
	for _, ph := range phones {
		require.Len(t, ph.Links, 1, ph.Number)
	}
	return contacts
}

// The test server's UploadLimit is 8 MiB; these files are about 10 MB.
const paddedFileRows, paddedRowBytes = 1250, 8000

func TestImportOverTheUploadLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)

		// Streamed without a length, the file is refused when it passes the limit, and what was stored of it
		// before is whole rows.
		r := importCSV(t, admin, nil, "text/csv", &paddedRows{n: paddedFileRows, pad: paddedRowBytes})
		p := requireProblem(t, env, r.HTTPResponse, r.Body, http.StatusRequestEntityTooLarge)
		require.Equal(t, "urn:atende:problem:payload-too-large", p.Type)
		require.Less(t, len(requireWholeRows(t, admin)), paddedFileRows)

		// Announced with its length, the file is refused before a byte is read.
		sized := env.Client(env.NewTenant("Sized").AdminKey)
		file, err := io.ReadAll(&paddedRows{n: paddedFileRows, pad: paddedRowBytes})
		require.NoError(t, err)
		require.Greater(t, len(file), 8<<20)
		r = importCSV(t, sized, nil, "text/csv", bytes.NewReader(file))
		requireProblem(t, env, r.HTTPResponse, r.Body, http.StatusRequestEntityTooLarge)
		require.Empty(t, listImports(t, sized))
		require.Empty(t, allContacts(t, sized))
	})
}

func TestImportStreamsTheFileAndKeepsTheRowsBeforeTheLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)

		r := importCSV(t, admin, nil, "text/csv", &paddedRows{n: paddedFileRows, pad: paddedRowBytes})
		p := requireProblem(t, env, r.HTTPResponse, r.Body, http.StatusRequestEntityTooLarge)
		imports := listImports(t, admin)
		require.Len(t, imports, 1, "the import of a file cut at the limit is on record: %s", r.Body)
		im := imports[0]
		require.Contains(t, *p.Detail, im.Id.String(), "the problem points at the import")
		require.Equal(t, client.ImportStatusFailed, im.Status)
		require.True(t, im.Detail.IsSpecified() && !im.Detail.IsNull(), "a failed import says why")
		require.Equal(t, []string{"descricao"}, im.IgnoredColumns)
		require.Less(t, im.Rows, paddedFileRows, "the rows past the limit were never read")
		require.Positive(t, im.Created, "the rows read before the limit are stored")
		got, err := admin.GetImportWithResponse(context.Background(), im.Id)
		require.NoError(t, err)
		require.Equal(t, [3]int{im.Rows, im.Created, im.Failed}, [3]int{got.JSON200.Rows, got.JSON200.Created, got.JSON200.Failed})
		require.Len(t, requireWholeRows(t, admin), im.Created)
	})
}

// oneHugeRow is a CSV whose second line is a single row of size bytes, generated on the fly.
type oneHugeRow struct {
	header []byte
	left   int
	tail   []byte
}

func (r *oneHugeRow) Read(p []byte) (int, error) {
	n := 0
	if len(r.header) > 0 {
		n = copy(p, r.header)
		r.header = r.header[n:]
		return n, nil
	}
	if r.left > 0 {
		m := min(len(p), r.left)
		for i := range m {
			p[i] = 'x'
		}
		r.left -= m
		return m, nil
	}
	if len(r.tail) > 0 {
		n = copy(p, r.tail)
		r.tail = r.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

// A 50 MB file whose middle is one endless row: the row is reported, the rows around it are stored, and the
// server never holds the row in memory.
func TestImportFiftyMegabyteFile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect, apitest.Options{Configure: func(c *config.Config) { c.UploadLimit = 64 << 20 }})
		admin := env.Client(env.AdminKey)
		body := &oneHugeRow{
			header: []byte("nome;telefone\nAntes;(47) 99100-1111\nGigante;"),
			left:   50 << 20,
			tail:   []byte("\nDepois;(47) 99100-2222\n"),
		}
		r := importCSV(t, admin, nil, "text/csv", body)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		im := r.JSON201
		require.Equal(t, client.ImportStatusCompleted, im.Status)
		require.Equal(t, 3, im.Rows)
		require.Equal(t, 2, im.Created)
		require.Equal(t, 1, im.Failed)
		require.Equal(t, 3, im.Errors[0].Line)
		require.Contains(t, im.Errors[0].Message, "longer than")
		names := []string{}
		for _, c := range allContacts(t, admin) {
			names = append(names, c.Name)
		}
		require.ElementsMatch(t, []string{"Antes", "Depois"}, names)
	})
}
