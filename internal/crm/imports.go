package crm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/csvimport"
	"github.com/atende/atende/internal/document"
	"github.com/atende/atende/internal/phone"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Import is the record of one bulk import and what came of each row.
type Import struct {
	bun.BaseModel `bun:"table:imports,alias:im"`

	TenantID        uuid.UUID     `bun:"tenant_id,pk"`
	ID              uuid.UUID     `bun:"id,pk"`
	Kind            string        `bun:"kind"`
	Status          string        `bun:"status"`
	Charset         *string       `bun:"charset"`
	Delimiter       *string       `bun:"delimiter"`
	Rows            int           `bun:"rows"`
	Created         int           `bun:"created"`
	Updated         int           `bun:"updated"`
	Failed          int           `bun:"failed"`
	IgnoredColumns  []string      `bun:"ignored_columns,type:jsonb"`
	Errors          []ImportError `bun:"errors,type:jsonb"`
	ErrorsTruncated bool          `bun:"errors_truncated"`
	Detail          *string       `bun:"detail"`
	CreatedBy       *uuid.UUID    `bun:"created_by"`
	CreatedAt       time.Time     `bun:"created_at"`
	FinishedAt      *time.Time    `bun:"finished_at"`
}

// ImportError is a row that was not imported, and why.
type ImportError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Import states.
const (
	ImportRunning   = "running"
	ImportCompleted = "completed"
	ImportFailed    = "failed"
)

const (
	// importBatch is how many rows are written per transaction.
	importBatch = 1000
	// maxImportErrors is how many row errors an import keeps.
	maxImportErrors = 1000
)

// ImportOptions tune a contact import.
type ImportOptions struct {
	// CompanyID, when set, is linked to every imported contact.
	CompanyID *uuid.UUID
	// PortfolioID, when set, is a portfolio every imported contact is put in.
	PortfolioID *uuid.UUID
	// Charset is the file's encoding; empty detects it.
	Charset string
}

// ErrImportAborted wraps the error that stopped an import midway (the rows before it are stored).
var ErrImportAborted = errors.New("import aborted")

// ImportContacts streams a CSV file of contacts into the tenant: each row creates a contact, or updates the
// contact that already has the row's phone. Rows are all-or-nothing; the rows with errors are reported in
// the import and skipped. A file that cannot be read at all is a validation error on "file".
func (s *Service) ImportContacts(ctx context.Context, actor tenant.Actor, r io.Reader, opts ImportOptions) (Import, error) {
	if opts.CompanyID != nil {
		ok, err := recordExists(ctx, s.db, actor.TenantID, RecordCompany, *opts.CompanyID)
		if err != nil {
			return Import{}, err
		}
		if !ok {
			return Import{}, validate.Field("company_id", "no such company")
		}
	}
	if opts.PortfolioID != nil {
		ok, err := s.db.NewSelect().Table("portfolios").Where("tenant_id = ? AND id = ?", actor.TenantID, *opts.PortfolioID).Exists(ctx)
		if err != nil {
			return Import{}, fmt.Errorf("find portfolio: %w", err)
		}
		if !ok {
			return Import{}, validate.Field("portfolio_id", "no such portfolio")
		}
	}
	reader, err := csvimport.NewReader(r, csvimport.Options{Charset: opts.Charset})
	if err != nil {
		if !isCSVError(err) {
			return Import{}, fmt.Errorf("%w: %w", ErrImportAborted, err)
		}
		return Import{}, validate.Field("file", "%s", err.Error())
	}
	charset, delim := reader.Charset(), string(reader.Delimiter())
	im := Import{
		TenantID: actor.TenantID, ID: newID(), Kind: "contacts", Status: ImportRunning, Charset: &charset, Delimiter: &delim,
		IgnoredColumns: reader.Ignored(), Errors: []ImportError{}, CreatedBy: &actor.UserID, CreatedAt: s.clock.Now(),
	}
	if im.IgnoredColumns == nil {
		im.IgnoredColumns = []string{}
	}
	if _, err := s.db.NewInsert().Model(&im).Exec(ctx); err != nil {
		return Import{}, fmt.Errorf("insert import: %w", err)
	}

	run := &importRun{s: s, actor: actor, im: &im, companyID: opts.CompanyID, portfolioID: opts.PortfolioID}
	if run.analyzedAt, err = s.db.EstimatedRows(ctx, "contacts"); err != nil {
		return Import{}, err
	}
	// Reading and checking rows (CPU) runs ahead of writing them (database), one batch apart.
	stop := make(chan struct{})
	defer close(stop)
	var readErr error
	for chunk := range readChunks(reader, actor.CountryCode, stop) {
		im.Rows += chunk.read
		for _, f := range chunk.failures {
			run.fail(f.Line, f.Field, f.Message)
		}
		if len(chunk.rows) > 0 {
			if err := run.flush(ctx, chunk.rows); err != nil {
				readErr = err
				break
			}
		}
		if chunk.err != nil {
			readErr = chunk.err
			break
		}
	}

	now := s.clock.Now()
	im.FinishedAt = &now
	im.Status = ImportCompleted
	if readErr != nil {
		im.Status = ImportFailed
		detail := "The import stopped before the end of the file; the rows before the failure are stored."
		im.Detail = &detail
	}
	// Record the outcome even when the client has gone.
	if _, err := s.db.NewUpdate().Model(&im).WherePK().Exec(context.WithoutCancel(ctx)); err != nil {
		return Import{}, fmt.Errorf("finish import: %w", err)
	}
	if readErr != nil {
		return im, fmt.Errorf("%w: %w", ErrImportAborted, readErr)
	}
	return im, nil
}

func isCSVError(err error) bool {
	for _, e := range []error{csvimport.ErrEmpty, csvimport.ErrNoHeader, csvimport.ErrNoKnownColumns,
		csvimport.ErrDuplicateColumn, csvimport.ErrEncoding} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Import returns one import.
func (s *Service) Import(ctx context.Context, tenantID, id uuid.UUID) (Import, error) {
	var im Import
	if err := s.db.NewSelect().Model(&im).Where("im.tenant_id = ? AND im.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Import{}, notFound(err)
	}
	return im, nil
}

// Imports pages through the tenant's imports, newest first.
func (s *Service) Imports(ctx context.Context, tenantID uuid.UUID, p store.Page) ([]Import, string, error) {
	var out []Import
	p.Desc = true
	if err := p.Apply(s.db.NewSelect().Model(&out).Where("im.tenant_id = ?", tenantID), "im.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list imports: %w", err)
	}
	out, next := store.Trim(p, out, func(i Import) uuid.UUID { return i.ID })
	return out, next, nil
}

// importRow is a row that passed its own checks, ready to be written.
type importRow struct {
	line      int
	name      string
	email     *string
	phone     *phone.Number
	company   string
	cnpj      *string
	notes     *string
	portfolio string
}

type importRun struct {
	s           *Service
	actor       tenant.Actor
	im          *Import
	companyID   *uuid.UUID
	portfolioID *uuid.UUID
	// written counts rows stored; analyzedAt is the contacts table's size at the last statistics refresh.
	written, analyzedAt int64
}

// importedTables are the tables an import fills.
var importedTables = []string{"contacts", "companies", "phones", "phone_links", "contact_companies", "portfolio_contacts"}

func (run *importRun) fail(line int, field, message string) {
	run.im.Failed++
	if len(run.im.Errors) < maxImportErrors {
		run.im.Errors = append(run.im.Errors, ImportError{Line: line, Field: field, Message: message})
	} else {
		run.im.ErrorsTruncated = true
	}
}

// importChunk is a batch of checked rows and the rows that failed their checks, in file order.
type importChunk struct {
	rows     []importRow
	failures []ImportError
	read     int
	err      error // the file could not be read further
}

// readChunks reads and checks rows in the background and hands them over a batch at a time. It stops at
// the end of the file, at a read error (sent in the last chunk), or when stop is closed.
func readChunks(reader *csvimport.Reader, countryCode string, stop <-chan struct{}) <-chan importChunk {
	out := make(chan importChunk, 1)
	go func() {
		defer close(out)
		var chunk importChunk
		send := func() bool {
			select {
			case out <- chunk:
				chunk = importChunk{}
				return true
			case <-stop:
				return false
			}
		}
		for {
			row, err := reader.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *csvimport.RowError
			switch {
			case errors.As(err, &re):
				chunk.read++
				chunk.failures = append(chunk.failures, ImportError{Line: re.Line, Message: re.Message})
			case err != nil:
				chunk.err = err
				send()
				return
			default:
				chunk.read++
				if r, fail := parseRow(row, countryCode); fail != nil {
					chunk.failures = append(chunk.failures, *fail)
				} else {
					chunk.rows = append(chunk.rows, r)
				}
			}
			if len(chunk.rows)+len(chunk.failures) >= importBatch && !send() {
				return
			}
		}
		if chunk.read > 0 {
			send()
		}
	}()
	return out
}

// parseRow checks one row on its own.
func parseRow(row csvimport.Row, countryCode string) (importRow, *ImportError) {
	f := row.Fields
	fail := func(field, message string) (importRow, *ImportError) {
		return importRow{}, &ImportError{Line: row.Line, Field: field, Message: message}
	}
	out := importRow{line: row.Line, name: f[csvimport.Name], company: f[csvimport.Company], portfolio: strings.TrimSpace(f[csvimport.Portfolio])}
	if v := f[csvimport.Phone]; v != "" {
		n, err := phone.Normalize(v, countryCode)
		if err != nil {
			return fail("phone", phoneReason(err))
		}
		out.phone = &n
	}
	if v := f[csvimport.Email]; v != "" {
		v = strings.ToLower(v)
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return fail("email", "is not an email address")
		}
		out.email = &v
	}
	if v := f[csvimport.CNPJ]; v != "" {
		c, err := document.NormalizeCNPJ(v)
		if err != nil {
			return fail("cnpj", err.Error())
		}
		out.cnpj = &c
		if out.company == "" {
			return fail("company", "is required with a CNPJ")
		}
	}
	if v := f[csvimport.Notes]; v != "" {
		out.notes = &v
	}
	if out.name == "" && out.phone == nil {
		return fail("name", "is required")
	}
	return out, nil
}

// flush writes a batch in one transaction. If the batch fails as a whole, its rows are retried one by
// one, so a single bad row costs only itself.
func (run *importRun) flush(ctx context.Context, batch []importRow) error {
	created, updated, failed := run.im.Created, run.im.Updated, run.im.Failed
	errs := len(run.im.Errors)
	err := run.s.db.RunInTxBulk(ctx, func(ctx context.Context, tx bun.Tx, cp store.Copier) error {
		return run.write(ctx, tx, cp, batch)
	})
	if err == nil {
		return run.refreshStats(ctx, len(batch))
	}
	if len(batch) == 1 || ctx.Err() != nil {
		return err
	}
	run.im.Created, run.im.Updated, run.im.Failed = created, updated, failed
	run.im.Errors = run.im.Errors[:errs]
	for _, row := range batch {
		created, updated, failed := run.im.Created, run.im.Updated, run.im.Failed
		err := run.s.db.RunInTxBulk(ctx, func(ctx context.Context, tx bun.Tx, cp store.Copier) error {
			return run.write(ctx, tx, cp, []importRow{row})
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			run.im.Created, run.im.Updated, run.im.Failed = created, updated, failed
			run.fail(row.line, "", "could not be stored")
		}
	}
	return nil
}

// refreshStats keeps the planner's view of the tables in step with a load that doubles them: plans made
// while the tables were nearly empty (foreign-key checks among them) would otherwise scan them whole.
func (run *importRun) refreshStats(ctx context.Context, rows int) error {
	run.written += int64(rows)
	if run.written < max(run.analyzedAt, importBatch) {
		return nil
	}
	if err := run.s.db.Analyze(ctx, importedTables...); err != nil {
		return err
	}
	run.analyzedAt += run.written
	run.written = 0
	return nil
}

// Columns written by COPY (or multi-row INSERT) during imports.
var (
	contactColumns         = []string{"tenant_id", "id", "name", "email", "notes", "search_text", "version", "created_at", "updated_at"}
	phoneColumns           = []string{"tenant_id", "id", "e164", "type", "version", "created_at", "updated_at"}
	linkColumns            = []string{"tenant_id", "phone_id", "record_type", "record_id", "created_at"}
	memberColumns          = []string{"tenant_id", "contact_id", "company_id"}
	portfolioMemberColumns = []string{"tenant_id", "portfolio_id", "contact_id", "added_at"}
)

// write stores a batch inside tx: it finds the contacts that already have the rows' phones, creates the
// companies named, and inserts or updates the contacts with their phones and company links. New rows are
// written in bulk.
func (run *importRun) write(ctx context.Context, tx bun.Tx, cp store.Copier, batch []importRow) error {
	tenantID := run.actor.TenantID
	now := run.s.clock.Now()

	phoneIDs, owners, err := contactsByPhone(ctx, tx, tenantID, batch)
	if err != nil {
		return err
	}
	// A row without a name can only update a contact its phone already has (or gets from an earlier row);
	// the others fail before anything is written for them.
	portfolios, err := portfoliosNamed(ctx, tx, tenantID, batch)
	if err != nil {
		return err
	}
	valid := make([]importRow, 0, len(batch))
	owned := map[string]bool{}
	for e := range owners {
		owned[e] = true
	}
	for _, row := range batch {
		if row.name == "" && (row.phone == nil || !owned[row.phone.E164]) {
			run.fail(row.line, "name", "is required for a new contact")
			continue
		}
		if row.portfolio != "" && portfolios[strings.ToLower(row.portfolio)] == uuid.Nil {
			run.fail(row.line, "portfolio", "no such portfolio")
			continue
		}
		if row.phone != nil {
			owned[row.phone.E164] = true
		}
		valid = append(valid, row)
	}
	batch = valid
	companies, err := run.companiesFor(ctx, tx, batch, now)
	if err != nil {
		return err
	}

	var (
		created   []*Contact
		isNew     = map[uuid.UUID]bool{}
		updated   = map[uuid.UUID]*Contact{}
		newPhones [][]any
		links     = map[[2]string]bool{} // (e164, contact id) not linked yet
		members   = map[[2]uuid.UUID]bool{}
		filed     = map[[2]uuid.UUID]bool{} // (contact id, portfolio id)
	)
	for _, row := range batch {
		var c *Contact
		if row.phone != nil {
			c = owners[row.phone.E164]
		}
		switch {
		case c == nil:
			c = &Contact{TenantID: tenantID, ID: newID(), Name: row.name, Version: 1, CreatedAt: now}
			created = append(created, c)
			isNew[c.ID] = true
			run.im.Created++
			if row.phone != nil {
				links[[2]string{row.phone.E164, c.ID.String()}] = true
			}
		default:
			if row.name != "" {
				c.Name = row.name
			}
			if !isNew[c.ID] {
				updated[c.ID] = c
			}
			run.im.Updated++
		}
		if row.email != nil {
			c.Email = row.email
		}
		if row.notes != nil {
			c.Notes = row.notes
		}
		c.SearchText = searchText(&c.Name, c.Email)
		c.UpdatedAt = now
		if row.phone != nil {
			e := row.phone.E164
			owners[e] = c
			if _, known := phoneIDs[e]; !known {
				id := newID()
				phoneIDs[e] = id
				newPhones = append(newPhones, []any{tenantID, id, e, string(row.phone.Type), int64(1), now, now})
			}
		}
		for _, companyID := range []*uuid.UUID{companies[row.companyKey()], run.companyID} {
			if companyID != nil {
				members[[2]uuid.UUID{c.ID, *companyID}] = true
			}
		}
		if row.portfolio != "" {
			filed[[2]uuid.UUID{c.ID, portfolios[strings.ToLower(row.portfolio)]}] = true
		}
		if run.portfolioID != nil {
			filed[[2]uuid.UUID{c.ID, *run.portfolioID}] = true
		}
	}

	contactRows := make([][]any, len(created))
	for i, c := range created {
		contactRows[i] = []any{tenantID, c.ID, c.Name, c.Email, c.Notes, c.SearchText, c.Version, c.CreatedAt, c.UpdatedAt}
	}
	if err := cp.Copy(ctx, "contacts", contactColumns, contactRows); err != nil {
		return err
	}
	for _, c := range updated {
		c.Version++
		_, err := tx.NewUpdate().Model(c).Column("name", "email", "notes", "search_text", "version", "updated_at").
			Where("ct.tenant_id = ? AND ct.id = ?", tenantID, c.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
	}
	if err := cp.Copy(ctx, "phones", phoneColumns, newPhones); err != nil {
		return err
	}
	linkRows := make([][]any, 0, len(links))
	for k := range links {
		linkRows = append(linkRows, []any{tenantID, phoneIDs[k[0]], string(RecordContact), uuid.MustParse(k[1]), now})
	}
	if err := cp.Copy(ctx, "phone_links", linkColumns, linkRows); err != nil {
		return err
	}
	// New contacts cannot be members yet: copy them. Existing ones may already be: insert, skipping those.
	var fresh [][]any
	var existing []ContactCompany
	for k := range members {
		if isNew[k[0]] {
			fresh = append(fresh, []any{tenantID, k[0], k[1]})
		} else {
			existing = append(existing, ContactCompany{TenantID: tenantID, ContactID: k[0], CompanyID: k[1]})
		}
	}
	if err := cp.Copy(ctx, "contact_companies", memberColumns, fresh); err != nil {
		return err
	}
	if len(existing) > 0 {
		if _, err := tx.NewInsert().Model(&existing).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("link companies: %w", err)
		}
	}
	return filePortfolios(ctx, tx, cp, tenantID, filed, isNew, now)
}

// portfoliosNamed finds the tenant's portfolios the batch's rows name, by lower-cased name.
func portfoliosNamed(ctx context.Context, db bun.IDB, tenantID uuid.UUID, batch []importRow) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	var names []string
	for _, row := range batch {
		if row.portfolio != "" {
			names = append(names, strings.ToLower(row.portfolio))
		}
	}
	if len(names) == 0 {
		return out, nil
	}
	var found []struct {
		ID   uuid.UUID `bun:"id"`
		Name string    `bun:"name"`
	}
	if err := db.NewSelect().Table("portfolios").ColumnExpr("id, lower(name) AS name").
		Where("tenant_id = ? AND lower(name) IN (?)", tenantID, bun.In(names)).Scan(ctx, &found); err != nil {
		return nil, fmt.Errorf("find portfolios: %w", err)
	}
	for _, f := range found {
		out[f.Name] = f.ID
	}
	return out, nil
}

// filePortfolios puts the batch's contacts in their portfolios: new contacts cannot be members yet and are
// copied; existing ones may be, and are inserted skipping those.
func filePortfolios(ctx context.Context, tx bun.Tx, cp store.Copier, tenantID uuid.UUID, filed map[[2]uuid.UUID]bool, isNew map[uuid.UUID]bool, now time.Time) error {
	var fresh, existing [][]any
	for k := range filed {
		row := []any{tenantID, k[1], k[0], now}
		if isNew[k[0]] {
			fresh = append(fresh, row)
		} else {
			existing = append(existing, row)
		}
	}
	if err := cp.Copy(ctx, "portfolio_contacts", portfolioMemberColumns, fresh); err != nil {
		return err
	}
	for _, row := range existing {
		if _, err := tx.ExecContext(ctx, `INSERT INTO portfolio_contacts (tenant_id, portfolio_id, contact_id, added_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, row...); err != nil {
			return fmt.Errorf("file contact in portfolio: %w", err)
		}
	}
	return nil
}

// contactsByPhone finds, for the batch's numbers, the stored phone ids and the contact that owns each
// number (its oldest live contact).
func contactsByPhone(ctx context.Context, db bun.IDB, tenantID uuid.UUID, batch []importRow) (map[string]uuid.UUID, map[string]*Contact, error) {
	ids := map[string]uuid.UUID{}
	owners := map[string]*Contact{}
	var e164s []string
	for _, r := range batch {
		if r.phone != nil {
			e164s = append(e164s, r.phone.E164)
		}
	}
	if len(e164s) == 0 {
		return ids, owners, nil
	}
	// Driven from the phones (unique per tenant and number), so the cost does not grow with the tenant.
	var phones []Phone
	if err := db.NewSelect().Model(&phones).Column("id", "e164").
		Where("ph.tenant_id = ? AND ph.e164 IN (?)", tenantID, bun.In(e164s)).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("find phones: %w", err)
	}
	if len(phones) == 0 {
		return ids, owners, nil
	}
	byID := map[uuid.UUID]string{}
	phoneIDs := make([]uuid.UUID, len(phones))
	for i, p := range phones {
		ids[p.E164] = p.ID
		byID[p.ID] = p.E164
		phoneIDs[i] = p.ID
	}
	var rows []struct {
		Contact
		PhoneID uuid.UUID `bun:"phone_id"`
	}
	err := db.NewSelect().Model((*Contact)(nil)).
		ColumnExpr("ct.*").ColumnExpr("pl.phone_id").
		Join("JOIN phone_links AS pl ON pl.tenant_id = ct.tenant_id AND pl.record_id = ct.id").
		Where("pl.tenant_id = ? AND pl.phone_id IN (?) AND pl.record_type = ?", tenantID, bun.In(phoneIDs), RecordContact).
		Where("ct.deleted_at IS NULL").
		OrderExpr("ct.id").
		Scan(ctx, &rows)
	if err != nil {
		return nil, nil, fmt.Errorf("find contacts by phone: %w", err)
	}
	for i := range rows {
		e := byID[rows[i].PhoneID]
		if _, ok := owners[e]; !ok {
			c := rows[i].Contact
			owners[e] = &c
		}
	}
	return ids, owners, nil
}

func (r importRow) companyKey() string {
	switch {
	case r.cnpj != nil:
		return "cnpj:" + *r.cnpj
	case r.company != "":
		return "name:" + r.company
	}
	return ""
}

// companiesFor finds the companies the batch names — by CNPJ when given, else by exact legal name — and
// creates the missing ones. It answers by row company key.
func (run *importRun) companiesFor(ctx context.Context, db bun.IDB, batch []importRow, now time.Time) (map[string]*uuid.UUID, error) {
	out := map[string]*uuid.UUID{}
	var cnpjs, names []string
	for _, r := range batch {
		switch {
		case r.cnpj != nil:
			cnpjs = append(cnpjs, *r.cnpj)
		case r.company != "":
			names = append(names, r.company)
		}
	}
	if len(cnpjs)+len(names) == 0 {
		return out, nil
	}
	var found []Company
	q := db.NewSelect().Model(&found).Column("id", "cnpj", "legal_name").
		Where("co.tenant_id = ? AND co.deleted_at IS NULL", run.actor.TenantID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(cnpjs) > 0 {
				q = q.WhereOr("co.cnpj IN (?)", bun.In(cnpjs))
			}
			if len(names) > 0 {
				q = q.WhereOr("co.legal_name IN (?)", bun.In(names))
			}
			return q
		}).OrderExpr("co.id")
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("find companies: %w", err)
	}
	for i := range found {
		c := found[i]
		if c.CNPJ != nil {
			if _, ok := out["cnpj:"+*c.CNPJ]; !ok {
				out["cnpj:"+*c.CNPJ] = &c.ID
			}
		}
		if _, ok := out["name:"+c.LegalName]; !ok {
			out["name:"+c.LegalName] = &c.ID
		}
	}
	// Rows with a CNPJ first, so a row naming the same company without one finds it.
	var missing []Company
	for _, withCNPJ := range []bool{true, false} {
		for _, r := range batch {
			key := r.companyKey()
			if key == "" || out[key] != nil || (r.cnpj != nil) != withCNPJ {
				continue
			}
			c := Company{TenantID: run.actor.TenantID, ID: newID(), LegalName: r.company, CNPJ: r.cnpj, Status: CompanyActive,
				CustomFields: map[string]any{}, Addresses: []Address{}, Version: 1, CreatedAt: now, UpdatedAt: now}
			c.SearchText = c.searchText()
			missing = append(missing, c)
			id := c.ID
			out[key] = &id
			if _, named := out["name:"+c.LegalName]; !named {
				out["name:"+c.LegalName] = &id
			}
		}
	}
	if len(missing) > 0 {
		if _, err := db.NewInsert().Model(&missing).Exec(ctx); err != nil {
			return nil, fmt.Errorf("insert companies: %w", err)
		}
	}
	return out, nil
}
