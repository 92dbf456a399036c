package csvimport

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// aliases are the header names, in Portuguese and English, each column is recognised by.
var aliases = map[Column][]string{
	Name:      {"nome", "name", "nome completo", "contato"},
	Phone:     {"telefone", "phone", "numero", "número", "celular", "whatsapp", "fone"},
	Email:     {"email", "e-mail"},
	Company:   {"empresa", "company", "razão social", "razao social"},
	CNPJ:      {"cnpj"},
	Portfolio: {"carteira", "portfolio", "grupo", "grupo de contatos"},
	Notes:     {"notas", "notes", "observações", "observacoes", "obs"},
}

var columnByName = func() map[string]Column {
	m := make(map[string]Column)
	for col, names := range aliases {
		for _, n := range names {
			m[normalizeHeader(n)] = col
		}
	}
	return m
}()

// lookupColumn maps a header label to the column it names.
func lookupColumn(label string) (Column, bool) {
	col, ok := columnByName[normalizeHeader(label)]
	return col, ok
}

// normalizeHeader folds the ways users write a header name: case, accents, BOM, '_' or '-' for spaces,
// repeated spaces and the "*", ":" or "." templates and abbreviations put at the end ("Nome*", "Obs.").
func normalizeHeader(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\ufeff':
			continue
		case unicode.IsSpace(r), r == '_', r == '-':
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimRight(b.String(), " *:.")
}
