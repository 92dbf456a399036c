package csvimport_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/csvimport"
)

// result is everything Next returned, in order: a row or a row error per entry.
type result struct {
	rows   []csvimport.Row
	errs   []*csvimport.RowError
	events []int // line of each row and row error, in the order returned
}

func readAll(t *testing.T, input string, opts csvimport.Options) (*csvimport.Reader, result) {
	t.Helper()
	r, err := csvimport.NewReader(strings.NewReader(input), opts)
	require.NoError(t, err)
	return r, drain(t, r)
}

func drain(t *testing.T, r *csvimport.Reader) result {
	t.Helper()
	var res result
	for {
		row, err := r.Next()
		if err == io.EOF {
			return res
		}
		var re *csvimport.RowError
		if errors.As(err, &re) {
			res.errs = append(res.errs, re)
			res.events = append(res.events, re.Line)
			continue
		}
		require.NoError(t, err)
		res.rows = append(res.rows, row)
		res.events = append(res.events, row.Line)
	}
}

func row(line int, fields ...string) csvimport.Row {
	r := csvimport.Row{Line: line, Fields: map[csvimport.Column]string{}}
	for i := 0; i < len(fields); i += 2 {
		r.Fields[csvimport.Column(fields[i])] = fields[i+1]
	}
	return r
}

func TestExcelUTF8WithBOM(t *testing.T) {
	t.Parallel()
	input := "\xef\xbb\xbfNome;Telefone;E-mail\r\n" +
		"João da Silva;(11) 99999-0001;joao@example.com\r\n" +
		" Maria ;11988880002;\r\n" +
		";;\r\n" + // Excel writes empty rows as bare delimiters
		"\r\n" +
		"Zé;;ze@example.com\r\n"
	r, res := readAll(t, input, csvimport.Options{})
	require.Equal(t, ';', r.Delimiter())
	require.Equal(t, "utf-8", r.Charset())
	require.Equal(t, []csvimport.Column{csvimport.Name, csvimport.Phone, csvimport.Email}, r.Columns())
	require.Empty(t, r.Ignored())
	require.Empty(t, res.errs)
	require.Equal(t, []csvimport.Row{
		row(2, "name", "João da Silva", "phone", "(11) 99999-0001", "email", "joao@example.com"),
		row(3, "name", "Maria", "phone", "11988880002", "email", ""),
		row(6, "name", "Zé", "phone", "", "email", "ze@example.com"),
	}, res.rows)
}

func TestWindows1252Detected(t *testing.T) {
	t.Parallel()
	input := "nome;observa\xe7\xf5es\nJo\xe3o;Cora\xe7\xe3o \x80 5\nAn\xe1;\xa0caf\xe9\xa0\n"
	r, res := readAll(t, input, csvimport.Options{})
	require.Equal(t, "windows-1252", r.Charset())
	require.Equal(t, []csvimport.Column{csvimport.Name, csvimport.Notes}, r.Columns())
	require.Empty(t, res.errs)
	require.Equal(t, []csvimport.Row{
		row(2, "name", "João", "notes", "Coração € 5"),
		row(3, "name", "Aná", "notes", "café"),
	}, res.rows)
}

func TestExplicitCharset(t *testing.T) {
	t.Parallel()

	t.Run("latin1 is read as windows-1252", func(t *testing.T) {
		t.Parallel()
		// Valid UTF-8 too ("Ã£" read as UTF-8 is "ã"): only the option tells it apart.
		r, res := readAll(t, "nome\nJo\xc3\xa3o\n", csvimport.Options{Charset: "Latin1"})
		require.Equal(t, "windows-1252", r.Charset())
		require.Equal(t, []csvimport.Row{row(2, "name", "JoÃ£o")}, res.rows)
	})

	t.Run("utf-8 forced on windows-1252 bytes", func(t *testing.T) {
		t.Parallel()
		r, res := readAll(t, "nome;telefone\nAna;1\nJo\xe3o;2\nBia;3\n", csvimport.Options{Charset: "utf-8"})
		require.Equal(t, "utf-8", r.Charset())
		require.Equal(t, []csvimport.Row{row(2, "name", "Ana", "phone", "1"), row(4, "name", "Bia", "phone", "3")}, res.rows)
		require.Len(t, res.errs, 1)
		require.Equal(t, 3, res.errs[0].Line)
		require.Contains(t, res.errs[0].Message, "not valid UTF-8")
		require.Contains(t, res.errs[0].Message, "charset=windows-1252")
	})

	t.Run("unknown charset", func(t *testing.T) {
		t.Parallel()
		_, err := csvimport.NewReader(strings.NewReader("nome\nAna\n"), csvimport.Options{Charset: "utf-16"})
		require.ErrorIs(t, err, csvimport.ErrEncoding)
	})
}

func TestLateInvalidUTF8IsARowError(t *testing.T) {
	t.Parallel()
	// The first 64 KiB are ASCII, so the file is read as UTF-8; a Windows-1252 row after that cannot be.
	var b strings.Builder
	b.WriteString("nome;telefone\n")
	for b.Len() < 70<<10 {
		b.WriteString("Contato;11999990000\n")
	}
	lines := strings.Count(b.String(), "\n")
	b.WriteString("Jo\xe3o;11999990001\nAna;11999990002\n")

	r, res := readAll(t, b.String(), csvimport.Options{})
	require.Equal(t, "utf-8", r.Charset())
	require.Len(t, res.errs, 1)
	require.Equal(t, lines+1, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, `column "nome": not valid UTF-8`)
	last := res.rows[len(res.rows)-1]
	require.Equal(t, row(lines+2, "name", "Ana", "phone", "11999990002"), last)
}

func TestMostlyUTF8WithADamagedByteStaysUTF8(t *testing.T) {
	t.Parallel()
	input := "nome;empresa\nJoão;Padaria Pão\nMárcia;Açougue\nJos\xe9;Café\nLúcia;Ótica\n"
	r, res := readAll(t, input, csvimport.Options{})
	require.Equal(t, "utf-8", r.Charset(), "reading it as Windows-1252 would garble every row")
	require.Len(t, res.rows, 3)
	require.Equal(t, "João", res.rows[0].Fields[csvimport.Name])
	require.Len(t, res.errs, 1)
	require.Equal(t, 4, res.errs[0].Line)
}

func TestCommaFileWithQuotedFields(t *testing.T) {
	t.Parallel()
	input := "name,phone,notes,company\n" +
		"\"Silva, João\",11999990001,\"first line\nsecond line\nthird, with comma\",\"ACME \"\"Brasil\"\"\"\n" +
		"Ana,11999990002,,\n" +
		"\"Bia\",\"11999990003\",\"\r\n\",x\r\n" +
		"Caio,11999990004\n" // fewer fields: the rest are empty
	r, res := readAll(t, input, csvimport.Options{})
	require.Equal(t, ',', r.Delimiter())
	require.Empty(t, res.errs)
	require.Equal(t, []csvimport.Row{
		row(2, "name", "Silva, João", "phone", "11999990001", "notes", "first line\nsecond line\nthird, with comma",
			"company", `ACME "Brasil"`),
		row(5, "name", "Ana", "phone", "11999990002", "notes", "", "company", ""),
		row(6, "name", "Bia", "phone", "11999990003", "notes", "", "company", "x"),
		row(8, "name", "Caio", "phone", "11999990004", "notes", "", "company", ""),
	}, res.rows)
}

func TestHeaderNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   []csvimport.Column
	}{
		{"NOME COMPLETO;CELULAR;E-MAIL;RAZÃO SOCIAL;CNPJ;GRUPO DE CONTATOS;OBSERVAÇÕES",
			[]csvimport.Column{"name", "phone", "email", "company", "cnpj", "portfolio", "notes"}},
		{"Name;Phone;Email;Company;Cnpj;Portfolio;Notes",
			[]csvimport.Column{"name", "phone", "email", "company", "cnpj", "portfolio", "notes"}},
		{" \ufeffContato ; Número ;e_mail; Razao  Social;Carteira;Obs.",
			[]csvimport.Column{"name", "phone", "email", "company", "portfolio", "notes"}},
		{"Nome*;WhatsApp*;Empresa:;Grupo;Notas", []csvimport.Column{"name", "phone", "company", "portfolio", "notes"}},
		{"fone;numero", nil},
	} {
		t.Run(tc.header, func(t *testing.T) {
			t.Parallel()
			r, err := csvimport.NewReader(strings.NewReader(tc.header+"\n"), csvimport.Options{})
			if tc.want == nil {
				require.ErrorIs(t, err, csvimport.ErrDuplicateColumn)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Columns())
		})
	}
}

func TestUnknownColumnsAreIgnoredAndListed(t *testing.T) {
	t.Parallel()
	r, res := readAll(t, "Código;Nome;Cidade;Telefone;;\n7;Ana;Recife;8133330000;;\n", csvimport.Options{})
	require.Equal(t, []csvimport.Column{csvimport.Name, csvimport.Phone}, r.Columns())
	require.Equal(t, []string{"Código", "Cidade"}, r.Ignored())
	require.Equal(t, []csvimport.Row{row(2, "name", "Ana", "phone", "8133330000")}, res.rows)
}

func TestUnusableFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input string
		want        error
		mention     string
	}{
		{"empty", "", csvimport.ErrEmpty, ""},
		{"only a BOM", "\xef\xbb\xbf", csvimport.ErrEmpty, ""},
		{"only blank lines", " \r\n\n\t\n", csvimport.ErrEmpty, ""},
		{"only empty Excel rows", ";;;\n;;;\n", csvimport.ErrEmpty, ""},
		{"duplicate column", "Nome;Telefone;Celular\n", csvimport.ErrDuplicateColumn, `"Telefone" and "Celular" are both phone`},
		{"no known column", "João;11999990000\n", csvimport.ErrNoKnownColumns, `"João"`},
		{"broken header", "nome;\"tele\"fone\n", csvimport.ErrNoHeader, "quote"},
		{"xlsx", "PK\x03\x04\x14\x00\x06\x00", csvimport.ErrEncoding, "Excel workbook"},
		{"utf-16", "\xff\xfen\x00o\x00m\x00e\x00", csvimport.ErrEncoding, "UTF-16"},
		{"invalid utf-8 header", "\xef\xbb\xbfnom\xe9\n", csvimport.ErrEncoding, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := csvimport.NewReader(strings.NewReader(tc.input), csvimport.Options{})
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.mention)
		})
	}
}

func TestHeaderOnly(t *testing.T) {
	t.Parallel()
	for _, input := range []string{"nome;telefone", "nome;telefone\r\n", "nome;telefone\n\n;\n"} {
		r, err := csvimport.NewReader(strings.NewReader(input), csvimport.Options{})
		require.NoError(t, err)
		_, err = r.Next()
		require.Equal(t, io.EOF, err)
	}
}

func TestBrokenQuotingIsARowErrorAndReadingGoesOn(t *testing.T) {
	t.Parallel()
	input := "nome;telefone\n" +
		"Ana;1\n" +
		"Padaria \"Pão\";2\n" + // 3: stray quote in an unquoted field
		"Caio;3\n" +
		"\"Dani\"x;4\n" + // 5: text after a closing quote
		"Edu;5\n" +
		"\"Fabi;6\n" + // 7: quote opened here, closed badly on line 9
		"Gil;7\n" +
		"Hugo;\"8\"9\n" +
		"Iara;10\n"
	_, res := readAll(t, input, csvimport.Options{})
	require.Equal(t, []csvimport.Row{
		row(2, "name", "Ana", "phone", "1"),
		row(4, "name", "Caio", "phone", "3"),
		row(6, "name", "Edu", "phone", "5"),
		row(10, "name", "Iara", "phone", "10"),
	}, res.rows)
	require.Len(t, res.errs, 3)
	require.Equal(t, 3, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, "quote (\") inside a field that is not quoted")
	require.Equal(t, 5, res.errs[1].Line)
	require.Contains(t, res.errs[1].Message, "closing quote")
	require.Equal(t, 7, res.errs[2].Line)
	require.Contains(t, res.errs[2].Message, "lines 7–9 could not be read")
	require.Equal(t, []int{2, 3, 4, 5, 6, 7, 10}, res.events)
}

func TestUnterminatedQuoteSwallowsTheRest(t *testing.T) {
	t.Parallel()
	input := "nome;telefone\nAna;1\n\"Bia;2\nCaio;3\nDani;4\n"
	_, res := readAll(t, input, csvimport.Options{})
	require.Equal(t, []csvimport.Row{row(2, "name", "Ana", "phone", "1")}, res.rows)
	require.Len(t, res.errs, 1)
	require.Equal(t, 3, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, "never closed")
	require.Contains(t, res.errs[0].Message, "lines 3–5")

	// Past MaxRowBytes the guard cuts the record instead of encoding/csv buffering the rest of the file.
	_, res = readAll(t, input+strings.Repeat("Mais;5\n", 100), csvimport.Options{MaxRowBytes: 64})
	require.Len(t, res.errs, 1)
	require.Equal(t, 3, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, "never closed")
	require.Contains(t, res.errs[0].Message, "lines 3–105")
}

func TestTooManyFields(t *testing.T) {
	t.Parallel()
	input := "nome,telefone\nAna,1,extra\nBia,2,,\nCaio,3\n"
	_, res := readAll(t, input, csvimport.Options{})
	require.Len(t, res.errs, 1)
	require.Equal(t, 2, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, "3 fields but the header has 2")
	require.Equal(t, []csvimport.Row{
		row(3, "name", "Bia", "phone", "2"), // empty padding is not data
		row(4, "name", "Caio", "phone", "3"),
	}, res.rows)
}

func TestLongValuesAndRows(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ã", 1001)
	input := "nome;notas\n" +
		"Ana;" + strings.Repeat("ç", 1000) + "\n" +
		"Bia;" + long + "\n" +
		"Caio;" + strings.Repeat("x", 3000) + "\n" +
		"Dani;\"" + strings.Repeat("y\n", 1500) + "\"\n" + // a quoted field over several lines
		"Edu;ok\n"
	_, res := readAll(t, input, csvimport.Options{MaxRowBytes: 2048})
	require.Len(t, res.errs, 3)
	require.Equal(t, 3, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, `column "notas": the value is longer than 1000 characters`)
	require.Equal(t, 4, res.errs[1].Line)
	require.Contains(t, res.errs[1].Message, "longer than 2048 bytes")
	require.Equal(t, 5, res.errs[2].Line)
	require.Contains(t, res.errs[2].Message, "lines 5–1505 could not be read")
	require.Equal(t, []int{2, 3, 4, 5, 1506}, res.events)
	require.Equal(t, "Edu", res.rows[1].Fields[csvimport.Name])

	// A row over the default 64 KiB without any line end before it.
	_, res = readAll(t, "nome\n"+strings.Repeat("z", 200<<10)+"\nAna\n", csvimport.Options{})
	require.Len(t, res.errs, 1)
	require.Equal(t, 2, res.errs[0].Line)
	require.Equal(t, []csvimport.Row{row(3, "name", "Ana")}, res.rows)
}

func TestHeaderTooLong(t *testing.T) {
	t.Parallel()
	_, err := csvimport.NewReader(strings.NewReader("nome;"+strings.Repeat("a", 300)+"\nAna\n"),
		csvimport.Options{MaxRowBytes: 100})
	require.ErrorIs(t, err, csvimport.ErrNoHeader)
	require.Contains(t, err.Error(), "longer than 100 bytes")
}

func TestDelimiterSniffing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   rune
	}{
		{"nome;telefone;email", ';'},
		{"nome,telefone,email", ','},
		{"\"nome;x\",telefone,email", ','}, // delimiters inside quotes do not count
		{"nome;telefone,email", ';'},       // tie: Brazilian Excel's default
		{"nome\ttelefone\temail", '\t'},
		{"nome\ttelefone;email", ';'},
		{"nome", ','},
		{"\n\r\n  \nnome;telefone", ';'}, // blank lines before the header
	} {
		r, err := csvimport.NewReader(strings.NewReader(tc.header+"\n"), csvimport.Options{})
		require.NoError(t, err, tc.header)
		require.Equal(t, tc.want, r.Delimiter(), tc.header)
	}
}

func TestTabSeparated(t *testing.T) {
	t.Parallel()
	r, res := readAll(t, "nome\ttelefone\tcnpj\nAna\t\t12.345.678/0001-90\n", csvimport.Options{})
	require.Equal(t, '\t', r.Delimiter())
	require.Equal(t, []csvimport.Row{row(2, "name", "Ana", "phone", "", "cnpj", "12.345.678/0001-90")}, res.rows)
}

func TestExcelSepLine(t *testing.T) {
	t.Parallel()
	// The header alone would sniff as ',': the sep= line wins, and it counts as line 1.
	r, res := readAll(t, "\xef\xbb\xbfsep=;\r\nnome;empresa\r\nAna;Silva, Souza & Cia\r\nBia\"s;x\r\n",
		csvimport.Options{})
	require.Equal(t, ';', r.Delimiter())
	require.Equal(t, []csvimport.Row{row(3, "name", "Ana", "company", "Silva, Souza & Cia")}, res.rows)
	require.Len(t, res.errs, 1)
	require.Equal(t, 4, res.errs[0].Line)
	require.Contains(t, res.errs[0].Message, "line 4")

	r, err := csvimport.NewReader(strings.NewReader("SEP=,\nnome;x,telefone\n"), csvimport.Options{})
	require.NoError(t, err)
	require.Equal(t, ',', r.Delimiter())
	require.Equal(t, []string{"nome;x"}, r.Ignored())
}

func TestOldMacLineEnds(t *testing.T) {
	t.Parallel()
	_, res := readAll(t, "nome;telefone\rAna;1\r\rBia;2\r", csvimport.Options{})
	require.Equal(t, []csvimport.Row{row(2, "name", "Ana", "phone", "1"), row(4, "name", "Bia", "phone", "2")}, res.rows)
}

func TestRowErrorIsAnError(t *testing.T) {
	t.Parallel()
	var err error = &csvimport.RowError{Line: 7, Message: "bad"}
	require.EqualError(t, err, "line 7: bad")
}

func TestReadErrorsAreNotRowErrors(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("connection reset")
	file := "nome\n" + strings.Repeat("Ana\n", 20_000) // more than the sniffed window

	r, err := csvimport.NewReader(io.MultiReader(strings.NewReader(file), iotest.ErrReader(errBoom)), csvimport.Options{})
	require.NoError(t, err)
	rows := 0
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		rows++
	}
	require.ErrorIs(t, err, errBoom)
	var re *csvimport.RowError
	require.False(t, errors.As(err, &re), "the caller must stop, not record a bad row")
	require.Equal(t, 20_000, rows, "the error comes in place of io.EOF")

	_, err = csvimport.NewReader(io.MultiReader(strings.NewReader("nome\nAna\n"), iotest.ErrReader(errBoom)),
		csvimport.Options{})
	require.ErrorIs(t, err, errBoom)
}
