package crm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/atende/atende/internal/phone"
)

// foldText lower-cases s and strips its accents, so "João" and "joao" search alike.
func foldText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// searchText is what a record is searched by: its names, document and email, folded, one per line.
func searchText(parts ...*string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == nil || *p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(foldText(*p))
	}
	return b.String()
}

// likePattern turns a search term into a LIKE pattern matching it anywhere, with LIKE's wildcards escaped.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(foldText(strings.TrimSpace(q))) + "%"
}

// phoneQuery returns the stored forms of q when q reads as a phone number.
func phoneQuery(q, countryCode string) []string {
	digits := 0
	for _, r := range q {
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsLetter(r):
			return nil
		}
	}
	if digits < 8 {
		return nil
	}
	n, err := phone.Normalize(q, countryCode)
	if err != nil {
		return nil
	}
	return phone.Variants(n.E164)
}

// applySearch restricts q to records whose search text contains the term, or whose phones match it. The
// two matches are one IN over a UNION: an OR of them would make PostgreSQL scan every record instead of
// using the trigram index for the text and the phone index for the number.
func applySearch(q *bun.SelectQuery, alias string, recordType RecordType, tenantID any, term, countryCode string) *bun.SelectQuery {
	table, _ := recordTable(recordType)
	text, indexed := textMatches(q, table, tenantID, term)
	numbers := phoneQuery(term, countryCode)
	switch {
	case len(numbers) > 0:
		return q.Where(`?.id IN (? UNION SELECT pl.record_id FROM phone_links AS pl JOIN phones AS p
			ON p.tenant_id = pl.tenant_id AND p.id = pl.phone_id WHERE pl.tenant_id = ? AND pl.record_type = ? AND p.e164 IN (?))`,
			bun.Ident(alias), text, tenantID, recordType, bun.In(numbers))
	case indexed:
		return q.Where("?.id IN (?)", bun.Ident(alias), text)
	}
	return q.Where(`?.search_text LIKE ? ESCAPE '\'`, bun.Ident(alias), likePattern(term))
}

// textMatches selects the ids of the tenant's records of table whose search text contains term. On SQLite a
// term of three characters or more without LIKE wildcards is looked up in the table's trigram full-text
// index (indexed); otherwise it is a LIKE, which PostgreSQL's trigram GIN index serves by itself.
func textMatches(q *bun.SelectQuery, table string, tenantID any, term string) (schema.QueryWithArgs, bool) {
	folded := foldText(strings.TrimSpace(term))
	if q.Dialect().Name() == dialect.SQLite && utf8.RuneCountInString(folded) >= 3 && !strings.ContainsAny(folded, `%_\`) {
		// CROSS JOIN keeps SQLite's join order: the index finds the matches, then their records are looked up
		// (from the tenant's side it would walk every record of the tenant).
		return bun.SafeQuery(`SELECT cs.id FROM ? AS f CROSS JOIN ? AS cs ON cs.n = f.rowid WHERE f.search_text LIKE ? AND cs.tenant_id = ?`,
			bun.Ident(table+"_fts"), bun.Ident(table+"_search"), "%"+folded+"%", tenantID), true
	}
	return bun.SafeQuery(`SELECT s.id FROM ? AS s WHERE s.tenant_id = ? AND s.search_text LIKE ? ESCAPE '\'`,
		bun.Ident(table), tenantID, likePattern(term)), false
}
