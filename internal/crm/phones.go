package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/phone"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// normalisePhones parses the numbers a user typed for a record; field names the input list in errors.
func normalisePhones(numbers []string, countryCode, field string) ([]phone.Number, error) {
	var errs validate.Errors
	out := make([]phone.Number, 0, len(numbers))
	seen := map[string]bool{}
	for i, n := range numbers {
		p, err := phone.Normalize(n, countryCode)
		if err != nil {
			errs.Add(fmt.Sprintf("%s.%d", field, i), "%s", phoneReason(err))
			continue
		}
		if !seen[p.E164] {
			seen[p.E164] = true
			out = append(out, p)
		}
	}
	return out, errs.Err()
}

func phoneReason(err error) string {
	return "is not a valid phone number: " + strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": ")
}

// attachPhones finds or creates each number and links it to the record.
func attachPhones(ctx context.Context, db bun.IDB, tenantID uuid.UUID, numbers []phone.Number, rt RecordType, recordID uuid.UUID, now time.Time) error {
	if len(numbers) == 0 {
		return nil
	}
	phones := make([]Phone, len(numbers))
	for i, n := range numbers {
		phones[i] = Phone{TenantID: tenantID, ID: newID(), E164: n.E164, Type: string(n.Type), Version: 1, CreatedAt: now, UpdatedAt: now}
	}
	if _, err := db.NewInsert().Model(&phones).On("CONFLICT (tenant_id, e164) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("insert phones: %w", err)
	}
	e164s := make([]string, len(numbers))
	for i, n := range numbers {
		e164s[i] = n.E164
	}
	var ids []uuid.UUID
	err := db.NewSelect().Model((*Phone)(nil)).Column("id").
		Where("tenant_id = ? AND e164 IN (?)", tenantID, bun.In(e164s)).Scan(ctx, &ids)
	if err != nil {
		return fmt.Errorf("find phones: %w", err)
	}
	links := make([]PhoneLink, len(ids))
	for i, id := range ids {
		links[i] = PhoneLink{TenantID: tenantID, PhoneID: id, RecordType: rt, RecordID: recordID, CreatedAt: now}
	}
	if _, err := db.NewInsert().Model(&links).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("link phones: %w", err)
	}
	return nil
}

// phonesOf loads the phones of records, by record id.
func phonesOf(ctx context.Context, db bun.IDB, tenantID uuid.UUID, recordIDs []uuid.UUID) (map[uuid.UUID][]Phone, error) {
	out := map[uuid.UUID][]Phone{}
	if len(recordIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		Phone
		RecordID uuid.UUID `bun:"record_id"`
	}
	err := db.NewSelect().Model((*Phone)(nil)).
		ColumnExpr("ph.*").ColumnExpr("pl.record_id").
		Join("JOIN phone_links AS pl ON pl.tenant_id = ph.tenant_id AND pl.phone_id = ph.id").
		Where("pl.tenant_id = ? AND pl.record_id IN (?)", tenantID, bun.In(recordIDs)).
		OrderExpr("ph.id").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("load phones: %w", err)
	}
	for _, r := range rows {
		out[r.RecordID] = append(out[r.RecordID], r.Phone)
	}
	return out, nil
}

// withPhones loads the phones of records in one query and gives each record its own.
func withPhones[T any](ctx context.Context, db bun.IDB, tenantID uuid.UUID, records []T, id func(*T) uuid.UUID, set func(*T, []Phone)) error {
	ids := make([]uuid.UUID, len(records))
	for i := range records {
		ids[i] = id(&records[i])
	}
	phones, err := phonesOf(ctx, db, tenantID, ids)
	if err != nil {
		return err
	}
	for i := range records {
		set(&records[i], phones[ids[i]])
	}
	return nil
}

func companyID(c *Company) uuid.UUID         { return c.ID }
func setCompanyPhones(c *Company, p []Phone) { c.Phones = p }
func leadID(l *Lead) uuid.UUID               { return l.ID }
func setLeadPhones(l *Lead, p []Phone)       { l.Phones = p }

// linksOf loads, by phone id, the records each phone belongs to, hiding deleted records.
func linksOf(ctx context.Context, db bun.IDB, tenantID uuid.UUID, phoneIDs []uuid.UUID) (map[uuid.UUID][]RecordRef, error) {
	out := map[uuid.UUID][]RecordRef{}
	if len(phoneIDs) == 0 {
		return out, nil
	}
	var links []PhoneLink
	err := db.NewSelect().Model(&links).Where("pl.tenant_id = ? AND pl.phone_id IN (?)", tenantID, bun.In(phoneIDs)).
		OrderExpr("pl.created_at, pl.record_id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load phone links: %w", err)
	}
	byType := map[RecordType][]uuid.UUID{}
	for _, l := range links {
		byType[l.RecordType] = append(byType[l.RecordType], l.RecordID)
	}
	refs := map[uuid.UUID]RecordRef{}
	for rt, ids := range byType {
		found, err := recordRefs(ctx, db, tenantID, rt, ids)
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			refs[r.ID] = r
		}
	}
	for _, l := range links {
		if r, ok := refs[l.RecordID]; ok {
			out[l.PhoneID] = append(out[l.PhoneID], r)
		}
	}
	return out, nil
}

// recordRefs names the records of one type among ids that exist (and are not deleted).
func recordRefs(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt RecordType, ids []uuid.UUID) ([]RecordRef, error) {
	table, nameCol := recordTable(rt)
	var rows []struct {
		ID         uuid.UUID  `bun:"id"`
		Name       string     `bun:"name"`
		ArchivedAt *time.Time `bun:"archived_at"`
	}
	err := db.NewSelect().TableExpr("? AS r", bun.Ident(table)).
		ColumnExpr("r.id, r.? AS name, r.archived_at", bun.Ident(nameCol)).
		Where("r.tenant_id = ? AND r.id IN (?) AND r.deleted_at IS NULL", tenantID, bun.In(ids)).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("name %s records: %w", rt, err)
	}
	out := make([]RecordRef, len(rows))
	for i, r := range rows {
		out[i] = RecordRef{Type: rt, ID: r.ID, Name: r.Name, Archived: r.ArchivedAt != nil}
	}
	return out, nil
}

func recordTable(rt RecordType) (table, nameColumn string) {
	switch rt {
	case RecordCompany:
		return "companies", "legal_name"
	case RecordContact:
		return "contacts", "name"
	default:
		return "leads", "name"
	}
}

// recordExists reports whether a record of the tenant exists and is not deleted.
func recordExists(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt RecordType, id uuid.UUID) (bool, error) {
	table, _ := recordTable(rt)
	return db.NewSelect().TableExpr("?", bun.Ident(table)).
		Where("tenant_id = ? AND id = ? AND deleted_at IS NULL", tenantID, id).Exists(ctx)
}

// EnsurePhone finds the tenant's phone with this number (in any of its forms) or creates it, unlinked,
// inside the caller's transaction.
func EnsurePhone(ctx context.Context, db bun.IDB, tenantID uuid.UUID, n phone.Number, now time.Time) (Phone, error) {
	p, _, err := EnsurePhoneCreated(ctx, db, tenantID, n, now)
	return p, err
}

// EnsurePhoneCreated is EnsurePhone, also telling whether it created the phone (which then has no links).
func EnsurePhoneCreated(ctx context.Context, db bun.IDB, tenantID uuid.UUID, n phone.Number, now time.Time) (Phone, bool, error) {
	p := Phone{TenantID: tenantID, ID: newID(), E164: n.E164, Type: string(n.Type), Version: 1, CreatedAt: now, UpdatedAt: now}
	res, err := db.NewInsert().Model(&p).On("CONFLICT (tenant_id, e164) DO NOTHING").Exec(ctx)
	if err != nil {
		return Phone{}, false, fmt.Errorf("insert phone: %w", err)
	}
	if inserted, _ := res.RowsAffected(); inserted == 1 {
		return p, true, nil
	}
	var found Phone
	err = db.NewSelect().Model(&found).
		Where("ph.tenant_id = ? AND ph.e164 IN (?)", tenantID, bun.In(phone.Variants(n.E164))).
		OrderExpr("ph.e164 = ? DESC, ph.id", n.E164).Limit(1).Scan(ctx)
	if err != nil {
		return Phone{}, false, fmt.Errorf("find phone: %w", err)
	}
	return found, false, nil
}

// PhoneByID returns one phone of the tenant inside the caller's transaction.
func PhoneByID(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Phone, error) {
	var p Phone
	if err := db.NewSelect().Model(&p).Where("ph.tenant_id = ? AND ph.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Phone{}, notFound(err)
	}
	return p, nil
}

// PhoneRecords lists the live records a phone belongs to.
func PhoneRecords(ctx context.Context, db bun.IDB, tenantID, phoneID uuid.UUID) ([]RecordRef, error) {
	links, err := linksOf(ctx, db, tenantID, []uuid.UUID{phoneID})
	if err != nil {
		return nil, err
	}
	return links[phoneID], nil
}

// LinkPhoneIn links a phone to a record inside the caller's transaction; linking twice changes nothing.
func LinkPhoneIn(ctx context.Context, db bun.IDB, tenantID, phoneID uuid.UUID, target LinkTarget, now time.Time) error {
	return linkPhone(ctx, db, tenantID, phoneID, target, now)
}

// LinkNewRecordPhoneIn links a phone to a record the caller has just created in its transaction, so it
// need not look the record up.
func LinkNewRecordPhoneIn(ctx context.Context, db bun.IDB, tenantID, phoneID uuid.UUID, target LinkTarget, now time.Time) error {
	link := PhoneLink{TenantID: tenantID, PhoneID: phoneID, RecordType: target.Type, RecordID: target.ID, CreatedAt: now}
	if _, err := db.NewInsert().Model(&link).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("link phone: %w", err)
	}
	return nil
}

// RecordRefs names live records of one type.
func RecordRefs(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt RecordType, ids []uuid.UUID) ([]RecordRef, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return recordRefs(ctx, db, tenantID, rt, ids)
}

// NewPhone describes a phone to create.
type NewPhone struct {
	Number     string
	Type       *string
	WhatsAppID *string
	Links      []LinkTarget
}

// LinkTarget names a record to link a phone to.
type LinkTarget struct {
	Type RecordType
	ID   uuid.UUID
}

// CreatePhone stores a new number of the tenant, linked to the records given.
func (s *Service) CreatePhone(ctx context.Context, actor tenant.Actor, in NewPhone) (Phone, error) {
	n, err := phone.Normalize(in.Number, actor.CountryCode)
	if err != nil {
		return Phone{}, validate.Field("number", "%s", phoneReason(err))
	}
	now := s.clock.Now()
	p := Phone{TenantID: actor.TenantID, ID: newID(), E164: n.E164, Type: string(n.Type), WhatsAppID: in.WhatsAppID,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Type != nil {
		p.Type = *in.Type
	}
	if in.WhatsAppID != nil {
		p.WhatsAppConfirmedAt = &now
	}
	err = store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&p).On("CONFLICT (tenant_id, e164) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert phone: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var existing Phone
			if err := tx.NewSelect().Model(&existing).Column("id").
				Where("ph.tenant_id = ? AND ph.e164 = ?", actor.TenantID, p.E164).Scan(ctx); err != nil {
				return fmt.Errorf("find existing phone: %w", err)
			}
			return PhoneTakenError{ID: existing.ID}
		}
		for i, l := range in.Links {
			if err := linkPhone(ctx, tx, actor.TenantID, p.ID, l, now); err != nil {
				if errors.Is(err, ErrNotFound) {
					return validate.Field(fmt.Sprintf("links.%d.record_id", i), "no such %s", l.Type)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Phone{}, err
	}
	return s.Phone(ctx, actor.TenantID, p.ID)
}

// PhoneByNumber finds the tenant's phone with this number (in any of its forms).
func (s *Service) PhoneByNumber(ctx context.Context, actor tenant.Actor, number string) (Phone, error) {
	n, err := phone.Normalize(number, actor.CountryCode)
	if err != nil {
		return Phone{}, validate.Field("number", "%s", phoneReason(err))
	}
	var p Phone
	err = s.db.NewSelect().Model(&p).
		Where("ph.tenant_id = ? AND ph.e164 IN (?)", actor.TenantID, bun.In(phone.Variants(n.E164))).
		OrderExpr("ph.id").Limit(1).Scan(ctx)
	if err != nil {
		return Phone{}, notFound(err)
	}
	return p, nil
}

func linkPhone(ctx context.Context, db bun.IDB, tenantID, phoneID uuid.UUID, l LinkTarget, now time.Time) error {
	ok, err := recordExists(ctx, db, tenantID, l.Type, l.ID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	link := PhoneLink{TenantID: tenantID, PhoneID: phoneID, RecordType: l.Type, RecordID: l.ID, CreatedAt: now}
	if _, err := db.NewInsert().Model(&link).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("link phone: %w", err)
	}
	return nil
}

// Phone returns one phone with its links.
func (s *Service) Phone(ctx context.Context, tenantID, id uuid.UUID) (Phone, error) {
	var p Phone
	if err := s.db.NewSelect().Model(&p).Where("ph.tenant_id = ? AND ph.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Phone{}, notFound(err)
	}
	links, err := linksOf(ctx, s.db, tenantID, []uuid.UUID{id})
	if err != nil {
		return Phone{}, err
	}
	p.Links = links[id]
	return p, nil
}

// Phones pages through the tenant's phones with their links; with number, it returns the phones that are
// that number in any of its forms.
func (s *Service) Phones(ctx context.Context, actor tenant.Actor, number *string, p store.Page) ([]Phone, string, error) {
	var phones []Phone
	q := s.db.NewSelect().Model(&phones).Where("ph.tenant_id = ?", actor.TenantID)
	if number != nil {
		n, err := phone.Normalize(*number, actor.CountryCode)
		if err != nil {
			return nil, "", validate.Field("number", "%s", phoneReason(err))
		}
		q = q.Where("ph.e164 IN (?)", bun.In(phone.Variants(n.E164)))
	}
	if err := p.Apply(q, "ph.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list phones: %w", err)
	}
	phones, next := store.Trim(p, phones, func(p Phone) uuid.UUID { return p.ID })
	ids := make([]uuid.UUID, len(phones))
	for i := range phones {
		ids[i] = phones[i].ID
	}
	links, err := linksOf(ctx, s.db, actor.TenantID, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range phones {
		phones[i].Links = links[phones[i].ID]
	}
	return phones, next, nil
}

// PhonePatch lists the phone fields to change. A nil field keeps its value; a set Clear* empties it.
type PhonePatch struct {
	Type                *string
	WhatsAppID          Optional[string]
	WhatsAppConfirmedAt Optional[time.Time]
}

// UpdatePhone changes a phone's type or WhatsApp identity.
func (s *Service) UpdatePhone(ctx context.Context, tenantID, id uuid.UUID, patch PhonePatch, ifVersion *int64) (Phone, error) {
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var p Phone
		if err := tx.NewSelect().Model(&p).Where("ph.tenant_id = ? AND ph.id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != p.Version {
			return ErrStale
		}
		if patch.Type != nil {
			p.Type = *patch.Type
		}
		patch.WhatsAppID.apply(&p.WhatsAppID)
		patch.WhatsAppConfirmedAt.apply(&p.WhatsAppConfirmedAt)
		if patch.WhatsAppID.Set && patch.WhatsAppID.Value != nil && !patch.WhatsAppConfirmedAt.Set {
			now := s.clock.Now()
			p.WhatsAppConfirmedAt = &now
		}
		return updateVersioned(ctx, tx, &p, &p.Version, &p.UpdatedAt, s.clock.Now(),
			"ph.tenant_id = ? AND ph.id = ?", tenantID, id)
	})
	if err != nil {
		return Phone{}, err
	}
	return s.Phone(ctx, tenantID, id)
}

// DeletePhone removes a phone and its links.
func (s *Service) DeletePhone(ctx context.Context, tenantID, id uuid.UUID) error {
	res, err := s.db.NewDelete().Model((*Phone)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete phone: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// LinkPhone links a phone to a record; linking twice changes nothing.
func (s *Service) LinkPhone(ctx context.Context, tenantID, phoneID uuid.UUID, target LinkTarget) (Phone, error) {
	if _, err := s.Phone(ctx, tenantID, phoneID); err != nil {
		return Phone{}, err
	}
	if err := linkPhone(ctx, s.db, tenantID, phoneID, target, s.clock.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Phone{}, validate.Field("record_id", "no such %s", target.Type)
		}
		return Phone{}, err
	}
	return s.Phone(ctx, tenantID, phoneID)
}

// UnlinkPhone removes a phone's link to a record.
func (s *Service) UnlinkPhone(ctx context.Context, tenantID, phoneID, recordID uuid.UUID) error {
	if _, err := s.Phone(ctx, tenantID, phoneID); err != nil {
		return err
	}
	_, err := s.db.NewDelete().Model((*PhoneLink)(nil)).
		Where("tenant_id = ? AND phone_id = ? AND record_id = ?", tenantID, phoneID, recordID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("unlink phone: %w", err)
	}
	return nil
}
