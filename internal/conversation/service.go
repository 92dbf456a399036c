package conversation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/phone"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Service holds the conversation rules.
type Service struct {
	db             *store.DB
	crm            *crm.Service
	clock          clock.Clock
	statusHandlers []StatusHandler
	qualified      []QualifiedHandler
	created        []CreatedHandler
	outbox         outbound.Publisher
}

// Arrival is what atende knows of a new conversation as it arrives: the records sharing its phone, and the
// team Plinx named, if any.
type Arrival struct {
	Records []crm.RecordRef
	Team    *string
}

// CreatedHandler runs, inside the transaction that stores a new open conversation, to route it; it may
// change the conversation's routing fields, and writes them itself. An error undoes the delivery.
type CreatedHandler func(ctx context.Context, tx bun.Tx, c *Conversation, a Arrival) error

// OnCreated registers a handler run when a new open conversation is stored.
func (s *Service) OnCreated(h CreatedHandler) { s.created = append(s.created, h) }

// QualifiedHandler runs, inside the qualifying transaction, after an agent (or a supervisor) qualified a
// conversation; an error undoes the qualification.
type QualifiedHandler func(ctx context.Context, tx bun.Tx, actor tenant.Actor, c Conversation) error

// OnQualified registers a handler run when a conversation is qualified.
func (s *Service) OnQualified(h QualifiedHandler) { s.qualified = append(s.qualified, h) }

// SetOutbox makes the service publish conversation events to outbound webhooks through p.
func (s *Service) SetOutbox(p outbound.Publisher) { s.outbox = p }

// emit publishes a conversation event in tx; e164 is the conversation's number when the caller has it at
// hand (it is read otherwise), and more adds to the event's data.
func (s *Service) emit(ctx context.Context, tx bun.Tx, typ string, c *Conversation, e164 string, now time.Time, more func(*outbound.ConversationData)) error {
	if s.outbox == nil {
		return nil
	}
	if e164 == "" {
		p, err := crm.PhoneByID(ctx, tx, c.TenantID, c.PhoneID)
		if err != nil {
			return fmt.Errorf("read the conversation's phone: %w", err)
		}
		e164 = p.E164
	}
	d := outbound.ConversationData{ConversationID: c.ID, PlinxConversationID: c.PlinxID, Phone: e164, Status: c.Status,
		CompanyID: c.CompanyID, ContactID: c.ContactID, LeadID: c.LeadID, AssignedTo: c.AssignedTo, TeamID: c.TeamID}
	if more != nil {
		more(&d)
	}
	return s.outbox.Publish(ctx, tx, outbound.Event{TenantID: c.TenantID, Type: typ, At: now, Data: d})
}

// NewService returns a Service on db.
func NewService(db *store.DB, records *crm.Service, clk clock.Clock) *Service {
	return &Service{db: db, crm: records, clock: clk}
}

// OnUnknownMessageStatus registers a handler for status events about messages that are not conversation
// messages (template messages other subjects sent).
func (s *Service) OnUnknownMessageStatus(h StatusHandler) {
	s.statusHandlers = append(s.statusHandlers, h)
}

// Conversation returns one conversation with its phone and linked records named.
func (s *Service) Conversation(ctx context.Context, tenantID, id uuid.UUID) (Conversation, error) {
	out, _, err := s.List(ctx, tenantID, func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where("cv.id = ?", id) },
		store.Page{Limit: 1})
	if err != nil {
		return Conversation{}, err
	}
	if len(out) == 0 {
		return Conversation{}, ErrNotFound
	}
	return out[0], nil
}

// Filter narrows a conversation list.
type Filter struct {
	Status    *string
	Phone     *string
	CompanyID *uuid.UUID
	ContactID *uuid.UUID
	LeadID    *uuid.UUID
	Qualified *bool
	// AssignedTo, TeamID and Routing narrow by who has the conversation and where routing put it.
	AssignedTo *uuid.UUID
	TeamID     *uuid.UUID
	Routing    *string
}

// Conversations pages through conversations, newest first.
func (s *Service) Conversations(ctx context.Context, actor tenant.Actor, f Filter, p store.Page) ([]Conversation, string, error) {
	var numbers []string
	if f.Phone != nil {
		n, err := phone.Normalize(*f.Phone, actor.CountryCode)
		if err != nil {
			return nil, "", validate.Field("phone", "is not a valid phone number")
		}
		numbers = phone.Variants(n.E164)
	}
	p.Desc = true
	return s.List(ctx, actor.TenantID, func(q *bun.SelectQuery) *bun.SelectQuery {
		if f.Status != nil {
			q = q.Where("cv.status = ?", *f.Status)
		}
		if numbers != nil {
			q = q.Where("cv.phone_id IN (SELECT id FROM phones WHERE tenant_id = ? AND e164 IN (?))", actor.TenantID, bun.In(numbers))
		}
		if f.Routing != nil {
			q = q.Where("cv.routing = ?", *f.Routing)
		}
		for col, v := range map[string]*uuid.UUID{"company_id": f.CompanyID, "contact_id": f.ContactID, "lead_id": f.LeadID,
			"assigned_to": f.AssignedTo, "team_id": f.TeamID} {
			if v != nil {
				q = q.Where("cv.? = ?", bun.Ident(col), *v)
			}
		}
		if f.Qualified != nil {
			if *f.Qualified {
				q = q.Where("cv.qualified_at IS NOT NULL")
			} else {
				q = q.Where("cv.qualified_at IS NULL")
			}
		}
		return q
	}, p)
}

// RecordConversations pages through the conversations linked to a record, newest first.
func (s *Service) RecordConversations(ctx context.Context, actor tenant.Actor, rt crm.RecordType, id uuid.UUID, p store.Page) ([]Conversation, string, error) {
	ok, err := s.crm.RecordExists(ctx, s.db, actor.TenantID, rt, id)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", ErrNotFound
	}
	var f Filter
	switch rt {
	case crm.RecordCompany:
		f.CompanyID = &id
	case crm.RecordContact:
		f.ContactID = &id
	default:
		f.LeadID = &id
	}
	return s.Conversations(ctx, actor, f, p)
}

// List loads a page of the tenant's conversations narrowed by filter (oldest first, or newest first with
// p.Desc), with their phones and linked records named.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, filter func(*bun.SelectQuery) *bun.SelectQuery, p store.Page) ([]Conversation, string, error) {
	var out []Conversation
	q := filter(s.db.NewSelect().Model(&out).Where("cv.tenant_id = ?", tenantID))
	if err := p.Apply(q, "cv.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list conversations: %w", err)
	}
	out, next := store.Trim(p, out, func(c Conversation) uuid.UUID { return c.ID })
	if err := s.describe(ctx, s.db, tenantID, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// ReleaseTeam takes the conversations of a team being deleted out of it: those queued in it become unrouted
// (an admin or supervisor assigns them); those offered to portfolio owners stay on their waiting lists,
// with no team to overflow to.
func ReleaseTeam(ctx context.Context, db bun.IDB, tenantID, teamID uuid.UUID, now time.Time) error {
	_, err := db.NewUpdate().Model((*Conversation)(nil)).
		Set("routing = CASE WHEN routing = ? THEN ? ELSE routing END", RoutingQueued, RoutingUnrouted).
		Set("overflow_at = NULL").Set("team_id = NULL").Set("version = version + 1").Set("updated_at = ?", now).
		Where("tenant_id = ? AND team_id = ?", tenantID, teamID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release the team's conversations: %w", err)
	}
	return nil
}

// describe loads the phones and names the linked records of conversations.
func (s *Service) describe(ctx context.Context, db bun.IDB, tenantID uuid.UUID, convs []Conversation) error {
	if len(convs) == 0 {
		return nil
	}
	phoneIDs := make([]uuid.UUID, 0, len(convs))
	ids := map[crm.RecordType][]uuid.UUID{}
	for _, c := range convs {
		phoneIDs = append(phoneIDs, c.PhoneID)
		for rt, id := range map[crm.RecordType]*uuid.UUID{crm.RecordCompany: c.CompanyID, crm.RecordContact: c.ContactID, crm.RecordLead: c.LeadID} {
			if id != nil {
				ids[rt] = append(ids[rt], *id)
			}
		}
	}
	var phones []crm.Phone
	if err := db.NewSelect().Model(&phones).Where("ph.tenant_id = ? AND ph.id IN (?)", tenantID, bun.In(phoneIDs)).Scan(ctx); err != nil {
		return fmt.Errorf("load phones: %w", err)
	}
	byPhone := map[uuid.UUID]crm.Phone{}
	for _, p := range phones {
		byPhone[p.ID] = p
	}
	names := map[uuid.UUID]crm.RecordRef{}
	for rt, list := range ids {
		refs, err := crm.RecordRefs(ctx, db, tenantID, rt, list)
		if err != nil {
			return err
		}
		for _, r := range refs {
			names[r.ID] = r
		}
	}
	ref := func(id *uuid.UUID) *crm.RecordRef {
		if id == nil {
			return nil
		}
		if r, ok := names[*id]; ok {
			return &r
		}
		return nil
	}
	for i := range convs {
		c := &convs[i]
		c.Phone = byPhone[c.PhoneID]
		c.Company, c.Contact, c.Lead = ref(c.CompanyID), ref(c.ContactID), ref(c.LeadID)
	}
	return nil
}

// Messages pages through a conversation's messages, oldest first.
func (s *Service) Messages(ctx context.Context, tenantID, id uuid.UUID, p store.Page) ([]Message, string, error) {
	if _, err := s.Conversation(ctx, tenantID, id); err != nil {
		return nil, "", err
	}
	var out []Message
	q := s.db.NewSelect().Model(&out).Where("cm.tenant_id = ? AND cm.conversation_id = ?", tenantID, id)
	if err := p.Apply(q, "cm.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	out, next := store.Trim(p, out, func(m Message) uuid.UUID { return m.ID })
	return out, next, nil
}

// Related is what the "related records" view shows: every record on the conversation's phone and the link.
type Related struct {
	Conversation Conversation
	Records      []crm.RecordRef
}

// Related lists the records linked to the conversation's phone.
func (s *Service) Related(ctx context.Context, tenantID, id uuid.UUID) (Related, error) {
	c, err := s.Conversation(ctx, tenantID, id)
	if err != nil {
		return Related{}, err
	}
	records, err := crm.PhoneRecords(ctx, s.db, tenantID, c.PhoneID)
	if err != nil {
		return Related{}, err
	}
	return Related{Conversation: c, Records: records}, nil
}

// History lists the changes of a conversation's link, oldest first.
func (s *Service) History(ctx context.Context, tenantID, id uuid.UUID) ([]LinkChange, error) {
	if _, err := s.Conversation(ctx, tenantID, id); err != nil {
		return nil, err
	}
	var out []LinkChange
	err := s.db.NewSelect().Model(&out).Where("lc.tenant_id = ? AND lc.conversation_id = ?", tenantID, id).
		OrderExpr("lc.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list link changes: %w", err)
	}
	return out, nil
}

// Target is a record to link: an existing one by id, or a new one to create (exactly one is set).
type Target[T any] struct {
	ID  *uuid.UUID
	New *T
}

// Relink is a new link for a conversation. A nil target means no record of that kind; a nil Phone keeps the
// conversation's phone.
type Relink struct {
	Company *Target[crm.NewCompany]
	Contact *Target[crm.NewContact]
	Lead    *Target[crm.NewLead]
	Phone   *Target[string]
}

// Relink changes what a conversation is recorded against, before it is qualified, creating the new records
// asked for in the same transaction: they are linked to this conversation and its phone, nothing else.
func (s *Service) Relink(ctx context.Context, actor tenant.Actor, id uuid.UUID, in Relink, ifVersion *int64) (Conversation, error) {
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var c Conversation
		if err := tx.NewSelect().Model(&c).Where("cv.tenant_id = ? AND cv.id = ?", actor.TenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		switch {
		case ifVersion != nil && *ifVersion != c.Version:
			return ErrStale
		case c.QualifiedAt != nil:
			return ErrQualified
		case actor.Role == tenant.RoleAgent && c.AssignedTo != nil && *c.AssignedTo != actor.UserID:
			return ErrNotYours
		}
		now := s.clock.Now()
		from := c.link()
		if in.Phone != nil {
			phoneID, err := s.phoneTarget(ctx, tx, actor, *in.Phone, now)
			if err != nil {
				return err
			}
			c.PhoneID = phoneID
		}
		var err error
		if c.CompanyID, err = target(ctx, tx, actor, in.Company, crm.RecordCompany, "company", crm.CreateCompanyIn, now); err != nil {
			return err
		}
		if c.ContactID, err = target(ctx, tx, actor, in.Contact, crm.RecordContact, "contact", crm.CreateContactIn, now); err != nil {
			return err
		}
		if c.LeadID, err = target(ctx, tx, actor, in.Lead, crm.RecordLead, "lead", crm.CreateLeadIn, now); err != nil {
			return err
		}
		// New records belong to the conversation's phone.
		for _, t := range []struct {
			created bool
			rt      crm.RecordType
			id      *uuid.UUID
		}{
			{in.Company != nil && in.Company.New != nil, crm.RecordCompany, c.CompanyID},
			{in.Contact != nil && in.Contact.New != nil, crm.RecordContact, c.ContactID},
			{in.Lead != nil && in.Lead.New != nil, crm.RecordLead, c.LeadID},
		} {
			if t.created {
				if err := crm.LinkPhoneIn(ctx, tx, actor.TenantID, c.PhoneID, crm.LinkTarget{Type: t.rt, ID: *t.id}, now); err != nil {
					return err
				}
			}
		}
		expected := c.Version
		c.Version++
		c.UpdatedAt = now
		res, err := tx.NewUpdate().Model(&c).Column("phone_id", "company_id", "contact_id", "lead_id", "version", "updated_at").
			Where("cv.tenant_id = ? AND cv.id = ? AND cv.version = ?", actor.TenantID, id, expected).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		change := LinkChange{TenantID: actor.TenantID, ID: newID(), ConversationID: id, Reason: ReasonManual,
			ActorID: &actor.UserID, CreatedAt: now}
		change.setFrom(from)
		change.setTo(c.link())
		if _, err := tx.NewInsert().Model(&change).Exec(ctx); err != nil {
			return fmt.Errorf("record link change: %w", err)
		}
		return s.emit(ctx, tx, outbound.ConversationLinked, &c, "", now, nil)
	})
	if err != nil {
		return Conversation{}, err
	}
	return s.Conversation(ctx, actor.TenantID, id)
}

// target resolves one link target: an existing live record, or a new one created through create.
func target[T any](ctx context.Context, tx bun.Tx, actor tenant.Actor, t *Target[T], rt crm.RecordType, field string,
	create func(context.Context, bun.IDB, tenant.Actor, T, time.Time) (uuid.UUID, error), now time.Time) (*uuid.UUID, error) {
	switch {
	case t == nil:
		return nil, nil
	case (t.ID == nil) == (t.New == nil):
		return nil, validate.Field(field, "give exactly one of id and new")
	case t.ID != nil:
		ok, err := crm.RecordRefs(ctx, tx, actor.TenantID, rt, []uuid.UUID{*t.ID})
		if err != nil {
			return nil, err
		}
		if len(ok) == 0 {
			return nil, validate.Field(field+".id", "no such %s", rt)
		}
		return t.ID, nil
	}
	id, err := create(ctx, tx, actor, *t.New, now)
	if errs, ok := validate.As(err); ok {
		prefixed := make(validate.Errors, len(errs))
		for i, e := range errs {
			prefixed[i] = validate.FieldError{Field: field + ".new." + e.Field, Message: e.Message}
		}
		return nil, prefixed
	}
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func (s *Service) phoneTarget(ctx context.Context, tx bun.Tx, actor tenant.Actor, t Target[string], now time.Time) (uuid.UUID, error) {
	switch {
	case (t.ID == nil) == (t.New == nil):
		return uuid.Nil, validate.Field("phone", "give exactly one of id and new")
	case t.ID != nil:
		p, err := crm.PhoneByID(ctx, tx, actor.TenantID, *t.ID)
		if errors.Is(err, crm.ErrNotFound) {
			return uuid.Nil, validate.Field("phone.id", "no such phone")
		}
		return p.ID, err
	}
	n, err := phone.Normalize(*t.New, actor.CountryCode)
	if err != nil {
		return uuid.Nil, validate.Field("phone.new", "is not a valid phone number")
	}
	p, err := crm.EnsurePhone(ctx, tx, actor.TenantID, n, now)
	return p.ID, err
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Qualification closes an attendance with a result.
type Qualification struct {
	ResultID   uuid.UUID
	Notes      *string
	FollowUpAt *time.Time
}

// Qualify records the interaction (origin whatsapp) on the linked records, and the follow-up when asked,
// and freezes the link.
func (s *Service) Qualify(ctx context.Context, actor tenant.Actor, id uuid.UUID, q Qualification) (Conversation, crm.Interaction, error) {
	var it crm.Interaction
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var c Conversation
		if err := tx.NewSelect().Model(&c).Where("cv.tenant_id = ? AND cv.id = ?", actor.TenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		result, err := crm.ResultByID(ctx, tx, actor.TenantID, q.ResultID)
		if errors.Is(err, crm.ErrNotFound) {
			return validate.Field("result_id", "is not a result of the catalog")
		}
		if err != nil {
			return err
		}
		if c.QualifiedAt != nil {
			return ErrQualified
		}
		if c.CompanyID == nil && c.ContactID == nil && c.LeadID == nil {
			return ErrNotLinked
		}
		now := s.clock.Now()
		in := crm.NewInteraction{
			Channel: "whatsapp", Origin: crm.OriginWhatsApp, Result: result.Code, Notes: q.Notes,
			Records:        crm.Records{CompanyID: c.CompanyID, ContactID: c.ContactID, LeadID: c.LeadID},
			ConversationID: &c.ID,
		}
		if actor.Role != tenant.RoleAgent && c.AssignedTo != nil {
			in.AgentID = c.AssignedTo
		}
		if q.FollowUpAt != nil {
			phoneID := c.PhoneID
			in.FollowUp = &crm.FollowUpSpec{DueAt: *q.FollowUpAt, PhoneID: &phoneID}
		}
		if it, err = crm.RecordInteraction(ctx, tx, actor, in, now); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*Conversation)(nil)).
			Set("qualified_at = ?", now).Set("qualified_by = ?", actor.UserID).Set("interaction_id = ?", it.ID).
			Set("version = version + 1").Set("updated_at = ?", now).
			Where("tenant_id = ? AND id = ? AND qualified_at IS NULL", actor.TenantID, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("qualify conversation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrQualified
		}
		for _, h := range s.qualified {
			if err := h(ctx, tx, actor, c); err != nil {
				return err
			}
		}
		return s.emit(ctx, tx, outbound.ConversationQualified, &c, "", now, func(d *outbound.ConversationData) {
			d.InteractionID, d.ResultID = &it.ID, &result.ID
		})
	})
	if err != nil {
		return Conversation{}, crm.Interaction{}, err
	}
	c, err := s.Conversation(ctx, actor.TenantID, id)
	return c, it, err
}
