package ticket

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/document"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/phone"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// MaxExtraBytes bounds the free fields an event may carry, as JSON.
const MaxExtraBytes = 16 << 10

// Event is what an external system says about one of its cases: the full current state, ordered by its
// version (or, without one, its time).
type Event struct {
	ExternalCode string
	// Version orders the external system's events; without it OccurredAt does.
	Version    *int64
	OccurredAt *time.Time
	// Status is the external system's own status, mapped through the integration's status map.
	Status             string
	ProcessNumber      *string
	IssuedAt           *string // YYYY-MM-DD
	ProductDescription *string
	Problem            *string
	Customer           Customer
	// Extra are free fields kept as JSON; nil keeps the ticket's.
	Extra map[string]any
	// ProcedureID overrides the integration's default procedure when the ticket is created.
	ProcedureID *uuid.UUID
}

// Outcomes of an event.
const (
	OutcomeCreated   = "created"
	OutcomeUpdated   = "updated"
	OutcomeUnchanged = "unchanged"
	OutcomeStale     = "stale"
	OutcomeDuplicate = "duplicate"
)

// Result is what an event did, and the ticket after it.
type Result struct {
	Outcome string
	Ticket  Ticket
}

// orderKey is the event's position among the external system's events: its version, or its time in
// microseconds.
func (ev *Event) orderKey() (int64, error) {
	switch {
	case ev.Version != nil:
		return *ev.Version, nil
	case ev.OccurredAt != nil:
		return ev.OccurredAt.UnixMicro(), nil
	}
	return 0, validate.Field("version", "either version or occurred_at is required to order the events")
}

func (ev *Event) check() error {
	var errs validate.Errors
	ev.ExternalCode = strings.TrimSpace(ev.ExternalCode)
	if ev.ExternalCode == "" {
		errs.Add("external_code", "must not be blank")
	}
	if ev.Status = strings.TrimSpace(ev.Status); ev.Status == "" {
		errs.Add("status", "must not be blank")
	}
	if _, err := ev.orderKey(); err != nil {
		fe, _ := validate.As(err)
		errs = append(errs, fe...)
	}
	if ev.IssuedAt != nil {
		if _, err := time.Parse(time.DateOnly, *ev.IssuedAt); err != nil {
			errs.Add("issued_at", "must be a date, YYYY-MM-DD")
		}
	}
	if ev.Extra != nil {
		raw, err := json.Marshal(ev.Extra)
		if err != nil || len(raw) > MaxExtraBytes {
			errs.Add("extra", "must be a JSON object of at most %d bytes", MaxExtraBytes)
		}
	}
	ev.ProcessNumber, ev.ProductDescription, ev.Problem = trimmed(ev.ProcessNumber), trimmed(ev.ProductDescription), trimmed(ev.Problem)
	c := &ev.Customer
	c.Document, c.Name, c.Phone, c.Email = trimmed(c.Document), trimmed(c.Name), trimmed(c.Phone), trimmed(c.Email)
	if c.Email != nil {
		lower := strings.ToLower(*c.Email)
		c.Email = &lower
	}
	return errs.Err()
}

// Apply applies one event of an integration to the ticket of its external code, creating it the first
// time. webhookID, when not empty, makes a redelivery a duplicate that changes nothing. An event older than
// the ticket's last is written on the timeline as stale and changes nothing else.
func (s *Service) Apply(ctx context.Context, ig Integration, webhookID string, ev Event) (Result, error) {
	if err := ev.check(); err != nil {
		return Result{}, err
	}
	t, err := s.tenant(ctx, ig.TenantID)
	if err != nil {
		return Result{}, err
	}
	res, err := s.intake.apply(ctx, intakeJob{t: t, ig: ig, webhookID: webhookID, ev: ev})
	if err != nil {
		return Result{}, err
	}
	s.metrics.event(res.Outcome)
	tk := &res.Ticket
	if tk.CurrentTaskID != nil && (tk.CurrentTask == nil || tk.CurrentTask.ID != *tk.CurrentTaskID) {
		var task Task
		err := s.db.NewSelect().Model(&task).Where("tk.tenant_id = ? AND tk.id = ?", tk.TenantID, *tk.CurrentTaskID).Scan(ctx)
		switch {
		case err == nil:
			tk.CurrentTask = &task
		case notFound(err) != ErrNotFound: // a task removed since is shown as none
			return Result{}, fmt.Errorf("task of ticket: %w", err)
		}
	}
	s.decorate(t, tk)
	return res, nil
}

// applyAlone applies one event in a transaction of its own. Two first events of one external code racing
// to create its ticket, or a deadlock with another transaction over a shared customer, are tried again.
func (s *Service) applyAlone(ctx context.Context, j intakeJob) (Result, error) {
	var res Result
	var err error
	for range 3 {
		err = store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) (err error) {
			res, err = s.applyIn(ctx, tx, j, nil)
			return err
		})
		if !store.IsUniqueViolation(err) && !store.IsRetryable(err) {
			break
		}
	}
	return res, err
}

// applyIn applies one event inside the caller's transaction; b, when not nil, holds what the batch read
// and collects what it writes at its end.
func (s *Service) applyIn(ctx context.Context, tx bun.Tx, j intakeJob, b *batchState) (Result, error) {
	if b != nil {
		return s.applyInBatch(ctx, tx, j, b)
	}
	var res Result
	ig, ev, now := j.ig, j.ev, s.clock.Now()
	tk, fresh, err := s.acceptAndFind(ctx, tx, ig, j.webhookID, ev.ExternalCode, now)
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		return res, err
	case !fresh:
		res.Outcome = OutcomeDuplicate
		if errors.Is(err, ErrNotFound) {
			// The first delivery was still being applied when this one looked; it has committed since.
			tk, err = s.ticketByCode(ctx, tx, ig, ev.ExternalCode, false)
		}
		res.Ticket = tk
		return res, err
	case errors.Is(err, ErrNotFound):
		if err := s.lockCode(ctx, tx, ig, ev.ExternalCode); err != nil {
			return res, err
		}
		if tk, err = s.ticketByCode(ctx, tx, ig, ev.ExternalCode, true); errors.Is(err, ErrNotFound) {
			res.Outcome = OutcomeCreated
			res.Ticket, err = s.create(ctx, tx, j.t, ig, ev, now, nil)
			return res, err
		}
		if err != nil {
			return res, err
		}
	}
	res.Outcome, err = s.update(ctx, tx, j.t, ig, &tk, ev, now, nil)
	res.Ticket = tk
	return res, err
}

// ticketByCode finds the ticket of an external code with its current task, locking the ticket on
// PostgreSQL when lock is set.
func (s *Service) ticketByCode(ctx context.Context, db bun.IDB, ig Integration, code string, lock bool) (Ticket, error) {
	var tk Ticket
	q := s.ticketQuery(db, &tk, ig, code)
	if lock {
		q = s.forUpdate(q, "tc")
	}
	if err := q.Scan(ctx); err != nil {
		return Ticket{}, notFound(err)
	}
	s.setCurrentTask(&tk)
	return tk, nil
}

// ticketQuery selects the ticket of an external code with its current task's name and position.
func (s *Service) ticketQuery(db bun.IDB, tk *Ticket, ig Integration, code string) *bun.SelectQuery {
	return withCurrentTask(db, tk).
		Where("tc.tenant_id = ? AND tc.integration_id = ? AND tc.external_code = ?", ig.TenantID, ig.ID, code)
}

// withCurrentTask selects tickets into dest with their current task's name and position.
func withCurrentTask(db bun.IDB, dest any) *bun.SelectQuery {
	return db.NewSelect().Model(dest).ColumnExpr("tc.*").
		ColumnExpr("tk.name AS current_task_name, tk.position AS current_task_position").
		Join("LEFT JOIN procedure_tasks AS tk ON tk.tenant_id = tc.tenant_id AND tk.id = tc.current_task_id")
}

// setCurrentTask sets the current task from the columns ticketQuery reads with the ticket.
func (s *Service) setCurrentTask(tk *Ticket) {
	if tk.CurrentTaskID != nil && tk.CurrentTaskName != nil && tk.CurrentTaskPosition != nil {
		tk.CurrentTask = &Task{TenantID: tk.TenantID, ID: *tk.CurrentTaskID, ProcedureID: idOf(tk.ProcedureID),
			Name: *tk.CurrentTaskName, Position: *tk.CurrentTaskPosition}
	}
}

// newToken returns an unguessable public token: 128 random bits, base64url.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) create(ctx context.Context, tx bun.Tx, t tenant.Tenant, ig Integration, ev Event, now time.Time, b *batchState) (Ticket, error) {
	key, _ := ev.orderKey()
	mapped := ig.mapStatus(ev.Status)
	tk := Ticket{
		TenantID: ig.TenantID, ID: newID(), IntegrationID: ig.ID, ExternalCode: ev.ExternalCode,
		ProcessNumber: ev.ProcessNumber, IssuedAt: ev.IssuedAt, ProductDescription: ev.ProductDescription,
		Problem: ev.Problem, CustomerName: ev.Customer.Name, CustomerEmail: ev.Customer.Email,
		ExternalStatus: ev.Status, Status: mapped.Status, Critical: mapped.Critical, SourceVersion: key,
		Extra: ev.Extra, PublicToken: newToken(), Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if tk.Extra == nil {
		tk.Extra = map[string]any{}
	}
	tk.ProcedureID = ig.DefaultProcedureID
	if ev.ProcedureID != nil {
		var errs validate.Errors
		if err := checkProcedure(ctx, tx, &errs, ig.TenantID, "procedure_id", ev.ProcedureID); err != nil {
			return Ticket{}, err
		}
		if err := errs.Err(); err != nil {
			return Ticket{}, err
		}
		tk.ProcedureID = ev.ProcedureID
	}
	notes := s.setCustomer(&tk, t, ev.Customer)
	if err := s.matchCustomer(ctx, tx, t, &tk, now); err != nil {
		return Ticket{}, err
	}
	if tk.Status == StatusClosed {
		tk.ClosedAt = &now
	}
	tasks, err := s.procedureTasks(ctx, tx, &tk, b)
	if err != nil {
		return Ticket{}, err
	}
	var first *Task
	switch {
	case len(tasks) == 0:
	case tk.Status == StatusClosed:
		first = &tasks[len(tasks)-1] // opened already closed: straight to the closing task
	default:
		first = &tasks[0]
	}
	if first != nil {
		tk.CurrentTaskID = &first.ID
	}
	if _, err := tx.NewInsert().Model(&tk).Exec(ctx); err != nil {
		return Ticket{}, err // a unique violation is retried by Apply
	}
	data := map[string]any{"external_status": ev.Status, "status": tk.Status, "critical": tk.Critical, "version": key}
	for k, v := range notes {
		data[k] = v
	}
	text := fmt.Sprintf("Chamado criado pela integração %s (código %s, status %s).", ig.Name, tk.ExternalCode, ev.Status)
	if tk.Critical {
		text += " Status crítico."
	}
	w := newTimeline(&tk, now)
	w.add(KindCreated, text, nil, nil, data)
	if first != nil {
		if err := s.enterTask(ctx, tx, t, &tk, first, w, now, b); err != nil {
			return Ticket{}, err
		}
	}
	if tk.Status == StatusClosed {
		w.add(KindClosed, "Chamado encerrado na origem.", nil, nil, nil)
	}
	if err := s.emitTicket(ctx, tx, b, &tk, outbound.TicketCreated, now); err != nil {
		return Ticket{}, err
	}
	if b != nil {
		b.timeline = append(b.timeline, w.entries...)
		return tk, nil
	}
	return tk, w.flush(ctx, tx)
}

// setCustomer copies the customer's fields onto the ticket, normalising document and phone; what cannot be
// normalised is noted for the timeline, not refused: the case matters more than a typo in its data.
func (s *Service) setCustomer(tk *Ticket, t tenant.Tenant, c Customer) map[string]any {
	notes := map[string]any{}
	if c.Name != nil {
		tk.CustomerName = c.Name
	}
	if c.Email != nil {
		tk.CustomerEmail = c.Email
	}
	if c.Document != nil {
		doc := *c.Document
		if _, canonical, err := document.Normalize(doc); err == nil {
			doc = canonical
		} else {
			notes["invalid_document"] = err.Error()
		}
		tk.CustomerDocument = &doc
	}
	if c.Phone != nil {
		n, err := phone.Normalize(*c.Phone, t.DefaultCountryCode)
		if err != nil {
			notes["invalid_phone"] = cut(*c.Phone, 40) // the phone the ticket has, if any, stays
		} else {
			tk.CustomerPhone = &n.E164
		}
	}
	return notes
}

// matchCustomer links the ticket to the company with its CNPJ and the contact with its phone (or e-mail),
// creating them when missing.
func (s *Service) matchCustomer(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, now time.Time) error {
	if tk.CompanyID != nil && tk.ContactID != nil {
		return nil
	}
	// Two tickets of one new customer must not create it twice: serialise on the customer's keys.
	for _, k := range []*string{tk.CustomerDocument, tk.CustomerPhone} {
		if k == nil {
			continue
		}
		if err := s.serialise(ctx, tx, "customer|"+t.ID.String()+"|"+*k); err != nil {
			return err
		}
	}
	actor := tenant.Actor{TenantID: t.ID, CountryCode: t.DefaultCountryCode}
	cnpj := ""
	if tk.CustomerDocument != nil {
		if kind, canonical, err := document.Normalize(*tk.CustomerDocument); err == nil && kind == document.KindCNPJ {
			cnpj = canonical
		}
	}
	if cnpj != "" && tk.CompanyID == nil {
		id, found, err := crm.CompanyByCNPJ(ctx, tx, t.ID, cnpj)
		if err != nil {
			return fmt.Errorf("match company: %w", err)
		}
		if found {
			tk.CompanyID = &id
		}
	}
	var phoneID *uuid.UUID
	if tk.CustomerPhone != nil {
		n, err := phone.Normalize(*tk.CustomerPhone, t.DefaultCountryCode)
		if err == nil {
			p, created, err := crm.EnsurePhoneCreated(ctx, tx, t.ID, n, now)
			if err != nil {
				return err
			}
			phoneID = &p.ID
			if !created && (tk.ContactID == nil || tk.CompanyID == nil) {
				refs, err := crm.PhoneRecords(ctx, tx, t.ID, p.ID)
				if err != nil {
					return err
				}
				for _, r := range refs {
					id := r.ID
					if r.Type == crm.RecordContact && tk.ContactID == nil {
						tk.ContactID = &id
					}
					if r.Type == crm.RecordCompany && tk.CompanyID == nil && cnpj == "" {
						tk.CompanyID = &id
					}
				}
			}
		}
	}
	if tk.ContactID == nil && tk.CustomerEmail != nil {
		id, found, err := crm.ContactByEmail(ctx, tx, t.ID, *tk.CustomerEmail)
		if err != nil {
			return fmt.Errorf("match contact: %w", err)
		}
		if found {
			tk.ContactID = &id
		}
	}
	name := tk.CustomerName
	if name == nil {
		name = tk.CustomerPhone
	}
	if name == nil {
		name = tk.CustomerEmail
	}
	if cnpj != "" && tk.CompanyID == nil {
		legal := "CNPJ " + document.FormatCNPJ(cnpj)
		if tk.CustomerName != nil {
			legal = *tk.CustomerName
		}
		id, err := crm.CreateCompanyIn(ctx, tx, actor, crm.NewCompany{LegalName: legal, CNPJ: &cnpj}, now)
		if err != nil {
			return fmt.Errorf("create customer company: %w", err)
		}
		tk.CompanyID = &id
	}
	if tk.ContactID == nil && name != nil && (cnpj == "" || tk.CustomerPhone != nil || tk.CustomerEmail != nil) {
		in := crm.NewContact{Name: *name, Email: tk.CustomerEmail}
		if tk.CompanyID != nil {
			in.CompanyIDs = []uuid.UUID{*tk.CompanyID}
		}
		id, err := crm.CreateContactIn(ctx, tx, actor, in, now)
		if err != nil {
			return fmt.Errorf("create customer contact: %w", err)
		}
		tk.ContactID = &id
		if phoneID != nil {
			if err := crm.LinkNewRecordPhoneIn(ctx, tx, t.ID, *phoneID, crm.LinkTarget{Type: crm.RecordContact, ID: id}, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// update applies a newer event to a locked ticket.
func (s *Service) update(ctx context.Context, tx bun.Tx, t tenant.Tenant, ig Integration, tk *Ticket, ev Event, now time.Time, b *batchState) (string, error) {
	key, _ := ev.orderKey()
	w := newTimeline(tk, now)
	switch {
	case key < tk.SourceVersion:
		w.add(KindStaleEvent, fmt.Sprintf("Evento desatualizado ignorado (status %s): o chamado já reflete um evento mais recente.", ev.Status),
			nil, nil, map[string]any{"version": key, "ticket_version": tk.SourceVersion, "external_status": ev.Status})
		if b != nil {
			b.timeline = append(b.timeline, w.entries...)
			return OutcomeStale, nil
		}
		return OutcomeStale, w.flush(ctx, tx)
	case key == tk.SourceVersion:
		return OutcomeUnchanged, nil
	}
	tk.SourceVersion = key
	changed := []string{}
	set := func(field string, dst **string, v *string) {
		if v != nil && (*dst == nil || **dst != *v) {
			*dst = v
			changed = append(changed, field)
		}
	}
	set("process_number", &tk.ProcessNumber, ev.ProcessNumber)
	set("issued_at", &tk.IssuedAt, ev.IssuedAt)
	set("product_description", &tk.ProductDescription, ev.ProductDescription)
	set("problem", &tk.Problem, ev.Problem)
	before := *tk
	notes := s.setCustomer(tk, t, ev.Customer)
	for field, pair := range map[string][2]*string{
		"customer.document": {before.CustomerDocument, tk.CustomerDocument}, "customer.name": {before.CustomerName, tk.CustomerName},
		"customer.phone": {before.CustomerPhone, tk.CustomerPhone}, "customer.email": {before.CustomerEmail, tk.CustomerEmail},
	} {
		if (pair[0] == nil) != (pair[1] == nil) || (pair[0] != nil && *pair[0] != *pair[1]) {
			changed = append(changed, field)
		}
	}
	if ev.Extra != nil && !reflect.DeepEqual(jsonOf(ev.Extra), jsonOf(tk.Extra)) {
		tk.Extra = ev.Extra
		changed = append(changed, "extra")
	}
	if identityChanged(before, *tk) {
		// The ERP names another customer, or the same one by more: look again for what changed.
		if differ(before.CustomerDocument, tk.CustomerDocument) {
			tk.CompanyID = nil
		}
		if differ(before.CustomerPhone, tk.CustomerPhone) || differ(before.CustomerEmail, tk.CustomerEmail) {
			tk.ContactID = nil
		}
		if err := s.matchCustomer(ctx, tx, t, tk, now); err != nil {
			return "", err
		}
	}
	if len(changed) > 0 {
		data := map[string]any{"fields": changed, "version": key}
		for k, v := range notes {
			data[k] = v
		}
		w.add(KindUpdated, "Chamado atualizado pela integração: "+strings.Join(changed, ", ")+".", nil, nil, data)
	}
	mapped := ig.mapStatus(ev.Status)
	statusChanged := !equalFold(tk.ExternalStatus, ev.Status) || tk.Critical != mapped.Critical
	if statusChanged {
		text := fmt.Sprintf("Status na origem: %s → %s.", tk.ExternalStatus, ev.Status)
		if mapped.Critical {
			text += " Status crítico."
		}
		w.add(KindStatusChanged, text, nil, nil, map[string]any{"from": tk.ExternalStatus, "to": ev.Status, "status": mapped.Status, "critical": mapped.Critical})
		tk.ExternalStatus, tk.Critical = ev.Status, mapped.Critical
	}
	var err error
	switch {
	case mapped.Status == StatusClosed && tk.Status != StatusClosed:
		err = s.close(ctx, tx, t, tk, w, now, "Chamado encerrado na origem.", b)
	case mapped.Status != StatusClosed && tk.Status == StatusClosed:
		s.reopen(tk, mapped.Status, w, "Chamado reaberto na origem.")
	default:
		tk.Status = mapped.Status
	}
	if err != nil {
		return "", err
	}
	tk.UpdatedAt = now
	if b != nil {
		tk.Version++
		b.changed(tk, w)
		return OutcomeUpdated, s.emitTicket(ctx, tx, b, tk, outbound.TicketUpdated, now)
	}
	if err := s.saveTicket(ctx, tx, tk, w); err != nil {
		return "", err
	}
	return OutcomeUpdated, s.emitTicket(ctx, tx, nil, tk, outbound.TicketUpdated, now)
}

// emitTicket publishes a ticket event for outbound webhooks, in tx or, in a batch, at its end.
func (s *Service) emitTicket(ctx context.Context, tx bun.IDB, b *batchState, tk *Ticket, typ string, now time.Time) error {
	if s.outbox == nil {
		return nil
	}
	ev := outbound.Event{TenantID: tk.TenantID, Type: typ, At: now, Data: outbound.TicketData{TicketID: tk.ID,
		IntegrationID: tk.IntegrationID, ExternalCode: tk.ExternalCode, ExternalStatus: tk.ExternalStatus, Status: tk.Status,
		Critical: tk.Critical, CurrentTaskID: tk.CurrentTaskID, CompanyID: tk.CompanyID, ContactID: tk.ContactID, Version: tk.Version}}
	if b != nil {
		b.hooks = append(b.hooks, ev)
		return nil
	}
	return s.outbox.Publish(ctx, tx, ev)
}

// emitMessage publishes, in tx, that a message reached a status at a time; a failure carries the message's
// error.
func (s *Service) emitMessage(ctx context.Context, tx bun.IDB, m *Message, status string, at time.Time) error {
	return s.emitMessageError(ctx, tx, m, status, at, m.ErrorCode, m.ErrorMessage)
}

// emitMessageError publishes a message's status with the error it names, for statuses that report their own.
func (s *Service) emitMessageError(ctx context.Context, tx bun.IDB, m *Message, status string, at time.Time, code, msg *string) error {
	if s.outbox == nil {
		return nil
	}
	d := outbound.MessageStatusData{MessageID: m.ID, TicketID: m.TicketID, Template: m.Template, To: m.To, Status: status}
	if status == MessageFailed {
		d.ErrorCode, d.ErrorMessage = code, msg
	}
	return s.outbox.Publish(ctx, tx, outbound.Event{TenantID: m.TenantID, Type: outbound.MessageStatus, At: at, Data: d})
}

// jsonOf is v as encoding/json reads it back, so that free fields compare by value whatever their Go types.
func jsonOf(v map[string]any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

// differ tells whether two optional values differ.
func differ(a, b *string) bool { return (a == nil) != (b == nil) || (a != nil && *a != *b) }

// identityChanged tells whether what identifies the customer — document, phone, e-mail — changed, so that
// the ticket's company and contact are looked for again.
func identityChanged(before, after Ticket) bool {
	return differ(before.CustomerDocument, after.CustomerDocument) || differ(before.CustomerPhone, after.CustomerPhone) ||
		differ(before.CustomerEmail, after.CustomerEmail)
}

// ticketColumns are the columns a ticket's changes write.
var ticketColumns = []string{"process_number", "issued_at", "product_description", "problem",
	"customer_document", "customer_name", "customer_phone", "customer_email", "company_id", "contact_id",
	"external_status", "status", "critical", "current_task_id", "source_version", "extra", "closed_at",
	"version", "updated_at"}

// procedureTasks lists the tasks of the ticket's procedure, by position, with their templates' names.
func (s *Service) procedureTasks(ctx context.Context, db bun.IDB, tk *Ticket, b *batchState) ([]Task, error) {
	if tk.ProcedureID == nil {
		return nil, nil
	}
	if b != nil {
		if tasks, ok := b.tasks[*tk.ProcedureID]; ok {
			return tasks, nil
		}
	}
	var tasks []Task
	err := db.NewSelect().Model(&tasks).ColumnExpr("tk.*").
		ColumnExpr("mt.name AS template_name, mt.language AS template_language").
		Join("LEFT JOIN message_templates AS mt ON mt.tenant_id = tk.tenant_id AND mt.id = tk.template_id").
		Where("tk.tenant_id = ? AND tk.procedure_id = ?", tk.TenantID, *tk.ProcedureID).Order("tk.position").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("tasks of procedure: %w", err)
	}
	if b != nil {
		b.tasks[*tk.ProcedureID] = tasks
	}
	return tasks, nil
}

// close closes the ticket, entering its procedure's last task first unless it is there.
func (s *Service) close(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, w *timeline, now time.Time, text string, b *batchState) error {
	tasks, err := s.procedureTasks(ctx, tx, tk, b)
	if err != nil {
		return err
	}
	if n := len(tasks); n > 0 && idOf(tk.CurrentTaskID) != tasks[n-1].ID {
		if err := s.enterTask(ctx, tx, t, tk, &tasks[n-1], w, now, b); err != nil {
			return err
		}
	}
	tk.Status, tk.ClosedAt = StatusClosed, &now
	w.add(KindClosed, text, nil, nil, nil)
	return nil
}

func (s *Service) reopen(tk *Ticket, status string, w *timeline, text string) {
	tk.Status, tk.ClosedAt = status, nil
	w.add(KindReopened, text, nil, nil, map[string]any{"status": status})
}

// enterTask moves the ticket into a task and, when the task sends WhatsApp, writes its message in the
// outbox — once per (ticket, task), ever. In a batch (b) the message is written with the batch's others.
func (s *Service) enterTask(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, task *Task, w *timeline, now time.Time, b *batchState) error {
	tk.CurrentTaskID, tk.CurrentTask = &task.ID, task
	w.add(KindTaskEntered, fmt.Sprintf("Tarefa %d: %s.", task.Position, task.Name), nil, &task.ID, nil)
	if !task.SendWhatsApp || task.TemplateID == nil {
		return nil
	}
	tpl := Template{ID: *task.TemplateID}
	if task.TemplateName != nil && task.TemplateLanguage != nil {
		tpl.Name, tpl.Language = *task.TemplateName, *task.TemplateLanguage
	} else {
		var err error
		if tpl, err = templateOf(ctx, tx, tk.TenantID, *task.TemplateID); err != nil {
			return err
		}
	}
	s.decorate(t, tk)
	m := Message{TenantID: tk.TenantID, ID: newID(), TicketID: tk.ID, TaskID: task.ID, TemplateID: tpl.ID,
		Template: tpl.Name, Language: tpl.Language, Variables: s.render(tk, task.Variables), To: tk.CustomerPhone,
		Status: MessageQueued, NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now}
	if m.To == nil {
		m.Status, m.NextAttemptAt, m.FailedAt = MessageFailed, nil, &now
		code, msg := "no_phone", NoPhoneText
		m.ErrorCode, m.ErrorMessage = &code, &msg
	}
	// The entry that tells of the message, written only if the message is (it may have been, before).
	said := &timeline{tk: tk, now: now}
	if m.Status == MessageFailed {
		said.add(KindNoPhone, NoPhoneText, &m.ID, &task.ID, map[string]any{"template": tpl.Name})
	} else {
		said.add(KindMessageQueued, fmt.Sprintf("Mensagem WhatsApp %q na fila para %s.", tpl.Name, *m.To), &m.ID, &task.ID,
			map[string]any{"template": tpl.Name})
	}
	if b != nil {
		b.queue(m, said.entries[0])
		return nil
	}
	res, err := tx.NewInsert().Model(&m).On("CONFLICT (tenant_id, ticket_id, task_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("queue message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // this task's message was written before
	}
	s.metrics.outcome(m.Status)
	w.entries = append(w.entries, said.entries...)
	if m.Status == MessageFailed {
		return s.emitMessage(ctx, tx, &m, MessageFailed, now)
	}
	return nil
}

// render fills a task's template variables from the ticket.
func (s *Service) render(tk *Ticket, fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		var v string
		switch f {
		case FieldCustomerName:
			v = "Cliente"
			if tk.CustomerName != nil {
				v = *tk.CustomerName
			}
		case FieldProtocol:
			v = tk.Protocol()
		case FieldExternalCode:
			v = tk.ExternalCode
		case FieldProductDescription:
			v = deref(tk.ProductDescription)
		case FieldProblem:
			v = deref(tk.Problem)
		case FieldStatus:
			v = tk.ExternalStatus
		case FieldIssuedAt:
			if tk.IssuedAt != nil {
				if d, err := time.Parse(time.DateOnly, *tk.IssuedAt); err == nil {
					v = d.Format("02/01/2006")
				}
			}
		case FieldTrackingLink:
			v = tk.TrackingURL
		case FieldSurveyLink:
			v = deref(tk.SurveyURL)
		}
		out[i] = cut(v, 1024)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// decorate sets the ticket's public links from the tenant's URL templates.
func (s *Service) decorate(t tenant.Tenant, tk *Ticket) {
	if t.TrackingURLTemplate != nil {
		tk.TrackingURL = strings.ReplaceAll(*t.TrackingURLTemplate, "{token}", tk.PublicToken)
	} else {
		tk.TrackingURL = s.public + "/v1/public/tickets/" + tk.PublicToken
	}
	tk.SurveyURL = nil
	if t.SurveyURLTemplate != nil {
		u := strings.ReplaceAll(*t.SurveyURLTemplate, "{token}", tk.PublicToken)
		tk.SurveyURL = &u
	}
}

// timeline collects a ticket's new timeline entries and writes them in one statement.
type timeline struct {
	tk      *Ticket
	now     time.Time
	entries []TimelineEntry
}

func newTimeline(tk *Ticket, now time.Time) *timeline { return &timeline{tk: tk, now: now} }

func (w *timeline) add(kind, text string, messageID, taskID *uuid.UUID, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	w.entries = append(w.entries, TimelineEntry{TenantID: w.tk.TenantID, TicketID: w.tk.ID, ID: newID(), Kind: kind,
		Text: text, MessageID: messageID, TaskID: taskID, Data: data, At: w.now})
}

func (w *timeline) flush(ctx context.Context, db bun.IDB) error {
	if len(w.entries) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&w.entries).Exec(ctx); err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	w.entries = nil
	return nil
}
