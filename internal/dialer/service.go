package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/phone"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Checker asks Plinx whether a customer is in an active WhatsApp conversation. Any error means Plinx could
// not answer: the dialer then does not dial.
type Checker interface {
	Active(ctx context.Context, tenantID uuid.UUID, e164 string) (bool, error)
}

// Service holds the dialer's rules.
type Service struct {
	db        *store.DB
	tenants   *tenant.Service
	clock     clock.Clock
	checker   Checker
	telephony telephony.Port
	hub       *events.Hub
	logger    *slog.Logger
	metrics   *Metrics
	outbox    outbound.Publisher
}

// Deps are what the dialer works with.
type Deps struct {
	DB        *store.DB
	Tenants   *tenant.Service
	Clock     clock.Clock
	Checker   Checker
	Telephony telephony.Port
	Hub       *events.Hub
	Logger    *slog.Logger
	Metrics   *Metrics
	// Outbox receives the dialer's events for outbound webhooks (prompts, calls); nil publishes none.
	Outbox outbound.Publisher
}

// NewService returns the dialer.
func NewService(d Deps) *Service {
	return &Service{db: d.DB, tenants: d.Tenants, clock: d.Clock, checker: d.Checker, telephony: d.Telephony,
		hub: d.Hub, logger: d.Logger, metrics: d.Metrics, outbox: d.Outbox}
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Settings returns the tenant's dialer settings (the defaults until changed).
func (s *Service) Settings(ctx context.Context, tenantID uuid.UUID) (Settings, error) {
	return settingsOf(ctx, s.db, tenantID)
}

func settingsOf(ctx context.Context, db bun.IDB, tenantID uuid.UUID) (Settings, error) {
	var st Settings
	err := db.NewSelect().Model(&st).Where("ds.tenant_id = ?", tenantID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(tenantID), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read dialer settings: %w", err)
	}
	return st, nil
}

// SettingsPatch lists the settings to change.
type SettingsPatch struct {
	DialActiveWhatsApp   *bool
	PromptTimeoutMS      *int
	CheckTimeoutMS       *int
	UnavailableBackoffMS *int
	TelephonyAdapter     *string
	TelephonyURL         *string
	TelephonySecret      *string
	ClearTelephonySecret bool
}

// UpdateSettings changes the tenant's dialer settings if they are still at version ifVersion (when given).
func (s *Service) UpdateSettings(ctx context.Context, tenantID uuid.UUID, p SettingsPatch, ifVersion *int64) (Settings, error) {
	var st Settings
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if st, err = settingsOf(ctx, tx, tenantID); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != st.Version {
			return ErrStale
		}
		setIf(&st.DialActiveWhatsApp, p.DialActiveWhatsApp)
		setIf(&st.PromptTimeoutMS, p.PromptTimeoutMS)
		setIf(&st.CheckTimeoutMS, p.CheckTimeoutMS)
		setIf(&st.UnavailableBackoffMS, p.UnavailableBackoffMS)
		setIf(&st.TelephonyAdapter, p.TelephonyAdapter)
		if p.TelephonyURL != nil {
			st.TelephonyURL = p.TelephonyURL
		}
		if p.TelephonySecret != nil {
			st.TelephonySecret = p.TelephonySecret
		}
		if p.ClearTelephonySecret {
			st.TelephonySecret = nil
		}
		if st.TelephonyAdapter == "webhook" && (st.TelephonyURL == nil || st.TelephonySecret == nil) {
			return validate.Field("telephony_url", "the webhook adapter needs a telephony URL and secret")
		}
		expected := st.Version
		st.Version++
		st.UpdatedAt = s.clock.Now()
		if expected == 0 {
			_, err = tx.NewInsert().Model(&st).Exec(ctx)
		} else {
			var res sql.Result
			res, err = tx.NewUpdate().Model(&st).WherePK().Where("version = ?", expected).Exec(ctx)
			if err == nil {
				if n, _ := res.RowsAffected(); n != 1 {
					err = ErrStale
				}
			}
		}
		return err
	})
	return st, err
}

// NewCampaign describes a campaign.
type NewCampaign struct {
	Name           string
	WindowDays     []time.Weekday
	WindowStart    string
	WindowEnd      string
	MaxAttempts    int
	RetryNoAnswerS int
	RetryBusyS     int
	RetryFailedS   int
	RetryWhatsAppS int
	Priority       int
}

func (in NewCampaign) check() error {
	var errs validate.Errors
	if strings.TrimSpace(in.Name) == "" {
		errs.Add("name", "must not be blank")
	}
	if len(in.WindowDays) == 0 {
		errs.Add("window.days", "must list at least one day")
	}
	start, err1 := parseTime(in.WindowStart)
	end, err2 := parseTime(in.WindowEnd)
	if err1 != nil || err2 != nil || start.Hour*60+start.Minute >= end.Hour*60+end.Minute {
		errs.Add("window.end", "must be after window.start")
	}
	return errs.Err()
}

func weekdayList(days []time.Weekday) string {
	names := make([]string, 0, len(days))
	seen := map[time.Weekday]bool{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		for _, x := range days {
			if x == d && !seen[d] {
				seen[d] = true
				names = append(names, strings.ToLower(d.String()))
			}
		}
	}
	return strings.Join(names, ",")
}

// CreateCampaign stores a campaign in draft.
func (s *Service) CreateCampaign(ctx context.Context, tenantID uuid.UUID, in NewCampaign) (Campaign, error) {
	if err := in.check(); err != nil {
		return Campaign{}, err
	}
	now := s.clock.Now()
	c := Campaign{
		TenantID: tenantID, ID: newID(), Name: strings.TrimSpace(in.Name), Status: CampaignDraft,
		WindowDays: weekdayList(in.WindowDays), WindowStart: in.WindowStart, WindowEnd: in.WindowEnd,
		MaxAttempts: in.MaxAttempts, RetryNoAnswerS: in.RetryNoAnswerS, RetryBusyS: in.RetryBusyS,
		RetryFailedS: in.RetryFailedS, RetryWhatsAppS: in.RetryWhatsAppS, Priority: in.Priority,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := s.db.NewInsert().Model(&c).Exec(ctx); err != nil {
		return Campaign{}, fmt.Errorf("insert campaign: %w", err)
	}
	return c, nil
}

// Campaign returns one campaign.
func (s *Service) Campaign(ctx context.Context, tenantID, id uuid.UUID) (Campaign, error) {
	return campaignOf(ctx, s.db, tenantID, id)
}

func campaignOf(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Campaign, error) {
	var c Campaign
	if err := db.NewSelect().Model(&c).Where("cp.tenant_id = ? AND cp.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Campaign{}, notFound(err)
	}
	return c, nil
}

// Campaigns pages through the tenant's campaigns, oldest first.
func (s *Service) Campaigns(ctx context.Context, tenantID uuid.UUID, status *string, p store.Page) ([]Campaign, string, error) {
	var out []Campaign
	q := s.db.NewSelect().Model(&out).Where("cp.tenant_id = ?", tenantID)
	if status != nil {
		q = q.Where("cp.status = ?", *status)
	}
	if err := p.Apply(q, "cp.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list campaigns: %w", err)
	}
	out, next := store.Trim(p, out, func(c Campaign) uuid.UUID { return c.ID })
	return out, next, nil
}

// CampaignPatch lists campaign fields to change; nil fields keep their value.
type CampaignPatch struct {
	Name           *string
	WindowDays     *[]time.Weekday
	WindowStart    *string
	WindowEnd      *string
	MaxAttempts    *int
	RetryNoAnswerS *int
	RetryBusyS     *int
	RetryFailedS   *int
	RetryWhatsAppS *int
	Priority       *int
}

// UpdateCampaign changes a campaign's settings if it is still at version ifVersion (when given).
func (s *Service) UpdateCampaign(ctx context.Context, tenantID, id uuid.UUID, p CampaignPatch, ifVersion *int64) (Campaign, error) {
	var c Campaign
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if c, err = campaignOf(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != c.Version {
			return ErrStale
		}
		in := NewCampaign{Name: c.Name, WindowDays: c.Days(), WindowStart: c.WindowStart, WindowEnd: c.WindowEnd,
			MaxAttempts: c.MaxAttempts, RetryNoAnswerS: c.RetryNoAnswerS, RetryBusyS: c.RetryBusyS,
			RetryFailedS: c.RetryFailedS, RetryWhatsAppS: c.RetryWhatsAppS, Priority: c.Priority}
		setIf(&in.Name, p.Name)
		setIf(&in.WindowDays, p.WindowDays)
		setIf(&in.WindowStart, p.WindowStart)
		setIf(&in.WindowEnd, p.WindowEnd)
		setIf(&in.MaxAttempts, p.MaxAttempts)
		setIf(&in.RetryNoAnswerS, p.RetryNoAnswerS)
		setIf(&in.RetryBusyS, p.RetryBusyS)
		setIf(&in.RetryFailedS, p.RetryFailedS)
		setIf(&in.RetryWhatsAppS, p.RetryWhatsAppS)
		setIf(&in.Priority, p.Priority)
		if err := in.check(); err != nil {
			return err
		}
		c.Name, c.WindowDays, c.WindowStart, c.WindowEnd = strings.TrimSpace(in.Name), weekdayList(in.WindowDays), in.WindowStart, in.WindowEnd
		c.MaxAttempts, c.RetryNoAnswerS, c.RetryBusyS = in.MaxAttempts, in.RetryNoAnswerS, in.RetryBusyS
		c.RetryFailedS, c.RetryWhatsAppS, c.Priority = in.RetryFailedS, in.RetryWhatsAppS, in.Priority
		return s.saveCampaign(ctx, tx, &c)
	})
	return c, err
}

func (s *Service) saveCampaign(ctx context.Context, tx bun.IDB, c *Campaign) error {
	expected := c.Version
	c.Version++
	c.UpdatedAt = s.clock.Now()
	res, err := tx.NewUpdate().Model(c).WherePK().Where("version = ?", expected).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update campaign: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrStale
	}
	return nil
}

// SetCampaignStatus starts, pauses or stops a campaign. Stopping closes its open entries.
func (s *Service) SetCampaignStatus(ctx context.Context, tenantID, id uuid.UUID, status string) (Campaign, error) {
	var c Campaign
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if c, err = campaignOf(ctx, tx, tenantID, id); err != nil {
			return err
		}
		allowed := map[string][]string{
			CampaignRunning: {CampaignDraft, CampaignPaused},
			CampaignPaused:  {CampaignRunning},
			CampaignStopped: {CampaignDraft, CampaignRunning, CampaignPaused},
		}
		ok := c.Status == status
		for _, from := range allowed[status] {
			ok = ok || c.Status == from
		}
		if !ok {
			return ErrCampaignState
		}
		if c.Status == status {
			return nil
		}
		c.Status = status
		if err := s.saveCampaign(ctx, tx, &c); err != nil {
			return err
		}
		if status == CampaignStopped {
			now := s.clock.Now()
			_, err := tx.NewUpdate().Model((*Entry)(nil)).
				Set("status = ?", EntryClosed).Set("close_reason = ?", CloseCampaignStopped).
				Set("lease_owner = NULL").Set("lease_until = NULL").Set("updated_at = ?", now).
				Where("tenant_id = ? AND campaign_id = ? AND status = ?", tenantID, id, EntryQueued).Exec(ctx)
			if err != nil {
				return fmt.Errorf("close queued entries: %w", err)
			}
		}
		return nil
	})
	return c, err
}

// Target names what to call: a record (its phones) or a phone.
type Target struct {
	CompanyID *uuid.UUID
	ContactID *uuid.UUID
	LeadID    *uuid.UUID
	PhoneID   *uuid.UUID
	Number    *string
	DueAt     *time.Time
}

// AddEntries queues customers in a campaign. A record is called on its first phone. It reports the
// entries created and, for targets that could not be queued, why (by position).
func (s *Service) AddEntries(ctx context.Context, actor tenant.Actor, campaignID uuid.UUID, targets []Target) ([]Entry, validate.Errors, error) {
	var (
		out     []Entry
		rejects validate.Errors
	)
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		c, err := campaignOf(ctx, tx, actor.TenantID, campaignID)
		if err != nil {
			return err
		}
		if c.Status == CampaignStopped {
			return ErrCampaignState
		}
		now := s.clock.Now()
		for i, t := range targets {
			e, err := s.resolve(ctx, tx, actor, c, t, now)
			if fe, ok := validate.As(err); ok {
				for _, f := range fe {
					rejects.Add(fmt.Sprintf("entries.%d.%s", i, f.Field), "%s", f.Message)
				}
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		if len(out) == 0 {
			return nil
		}
		_, err = tx.NewInsert().Model(&out).Exec(ctx)
		return err
	})
	return out, rejects, err
}

// resolve turns a target into an entry: the record's phone (its first linked one) or the phone given.
func (s *Service) resolve(ctx context.Context, tx bun.Tx, actor tenant.Actor, c Campaign, t Target, now time.Time) (Entry, error) {
	e := Entry{TenantID: actor.TenantID, ID: newID(), CampaignID: c.ID, CompanyID: t.CompanyID, ContactID: t.ContactID,
		LeadID: t.LeadID, Status: EntryQueued, DueAt: now, Priority: c.Priority, Version: 1, CreatedAt: now, UpdatedAt: now}
	if t.DueAt != nil {
		e.DueAt = t.DueAt.UTC().Truncate(time.Microsecond)
	}
	var p crm.Phone
	var err error
	switch {
	case t.PhoneID != nil:
		if p, err = crm.PhoneByID(ctx, tx, actor.TenantID, *t.PhoneID); errors.Is(err, crm.ErrNotFound) {
			return Entry{}, validate.Field("phone_id", "no such phone")
		}
	case t.Number != nil:
		n, perr := phone.Normalize(*t.Number, actor.CountryCode)
		if perr != nil {
			return Entry{}, validate.Field("number", "is not a valid phone number")
		}
		p, err = crm.EnsurePhone(ctx, tx, actor.TenantID, n, now)
	default:
		var rt crm.RecordType
		var id uuid.UUID
		switch {
		case t.ContactID != nil:
			rt, id = crm.RecordContact, *t.ContactID
		case t.CompanyID != nil:
			rt, id = crm.RecordCompany, *t.CompanyID
		case t.LeadID != nil:
			rt, id = crm.RecordLead, *t.LeadID
		default:
			return Entry{}, validate.Field("contact_id", "name a contact, company, lead, phone or number")
		}
		var ok bool
		if p, ok, err = firstPhone(ctx, tx, actor.TenantID, rt, id); err == nil && !ok {
			return Entry{}, validate.Field(string(rt)+"_id", "no such %s, or it has no phone", rt)
		}
	}
	if err != nil {
		return Entry{}, err
	}
	e.PhoneID, e.E164 = p.ID, p.E164
	return e, nil
}

// firstPhone is the oldest phone linked to a live record.
func firstPhone(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt crm.RecordType, id uuid.UUID) (crm.Phone, bool, error) {
	refs, err := crm.RecordRefs(ctx, db, tenantID, rt, []uuid.UUID{id})
	if err != nil || len(refs) == 0 {
		return crm.Phone{}, false, err
	}
	var p crm.Phone
	err = db.NewSelect().Model(&p).
		Join("JOIN phone_links AS pl ON pl.tenant_id = ph.tenant_id AND pl.phone_id = ph.id").
		Where("pl.tenant_id = ? AND pl.record_id = ?", tenantID, id).OrderExpr("pl.created_at, ph.id").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Phone{}, false, nil
	}
	return p, err == nil, err
}

// EntryFilter narrows an entry list.
type EntryFilter struct {
	Status *string
}

// Entries pages through a campaign's entries, oldest first.
func (s *Service) Entries(ctx context.Context, tenantID, campaignID uuid.UUID, f EntryFilter, p store.Page) ([]Entry, string, error) {
	if _, err := s.Campaign(ctx, tenantID, campaignID); err != nil {
		return nil, "", err
	}
	var out []Entry
	q := s.db.NewSelect().Model(&out).Where("de.tenant_id = ? AND de.campaign_id = ?", tenantID, campaignID)
	if f.Status != nil {
		q = q.Where("de.status = ?", *f.Status)
	}
	if err := p.Apply(q, "de.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list entries: %w", err)
	}
	out, next := store.Trim(p, out, func(e Entry) uuid.UUID { return e.ID })
	return out, next, nil
}

// Entry returns one entry of a campaign.
func (s *Service) Entry(ctx context.Context, tenantID, campaignID, id uuid.UUID) (Entry, error) {
	var e Entry
	err := s.db.NewSelect().Model(&e).Where("de.tenant_id = ? AND de.campaign_id = ? AND de.id = ?", tenantID, campaignID, id).Scan(ctx)
	return e, notFound(err)
}

// RemoveEntry takes a queued entry out of the queue (it closes as removed; its history stays).
func (s *Service) RemoveEntry(ctx context.Context, tenantID, campaignID, id uuid.UUID) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		var e Entry
		err := tx.NewSelect().Model(&e).Where("de.tenant_id = ? AND de.campaign_id = ? AND de.id = ?", tenantID, campaignID, id).Scan(ctx)
		if err != nil {
			return notFound(err)
		}
		switch e.Status {
		case EntryClosed:
			return nil
		case EntryQueued:
			return a.close(ctx, tx, &e, CloseRemoved, s.clock.Now())
		}
		return ErrCampaignNotEmpty
	})
}

// DialEvents lists an entry's transitions, oldest first.
func (s *Service) DialEvents(ctx context.Context, tenantID, entryID uuid.UUID) ([]DialEvent, error) {
	var out []DialEvent
	err := s.db.NewSelect().Model(&out).Where("dv.tenant_id = ? AND dv.entry_id = ?", tenantID, entryID).OrderExpr("dv.id").Scan(ctx)
	return out, err
}

// AddDNC puts a number on the do-not-call list.
func (s *Service) AddDNC(ctx context.Context, actor tenant.Actor, number string, reason *string) (DNC, error) {
	n, err := phone.Normalize(number, actor.CountryCode)
	if err != nil {
		return DNC{}, validate.Field("number", "is not a valid phone number")
	}
	d := DNC{TenantID: actor.TenantID, ID: newID(), E164: n.E164, Reason: reason, CreatedBy: &actor.UserID, CreatedAt: s.clock.Now()}
	if _, err := s.db.NewInsert().Model(&d).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return DNC{}, ErrDNCTaken
		}
		return DNC{}, fmt.Errorf("insert dnc: %w", err)
	}
	return d, nil
}

// DNCs pages through the do-not-call list; with number, only that number (in any format).
func (s *Service) DNCs(ctx context.Context, actor tenant.Actor, number *string, p store.Page) ([]DNC, string, error) {
	var out []DNC
	q := s.db.NewSelect().Model(&out).Where("dn.tenant_id = ?", actor.TenantID)
	if number != nil {
		n, err := phone.Normalize(*number, actor.CountryCode)
		if err != nil {
			return nil, "", validate.Field("number", "is not a valid phone number")
		}
		q = q.Where("dn.e164 IN (?)", bun.In(phone.Variants(n.E164)))
	}
	if err := p.Apply(q, "dn.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list dnc: %w", err)
	}
	out, next := store.Trim(p, out, func(d DNC) uuid.UUID { return d.ID })
	return out, next, nil
}

// RemoveDNC takes a number off the do-not-call list.
func (s *Service) RemoveDNC(ctx context.Context, tenantID, id uuid.UUID) error {
	res, err := s.db.NewDelete().Model((*DNC)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete dnc: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func onDNC(ctx context.Context, db bun.IDB, tenantID uuid.UUID, e164 string) (bool, error) {
	return db.NewSelect().Model((*DNC)(nil)).Where("tenant_id = ? AND e164 IN (?)", tenantID, bun.In(phone.Variants(e164))).Exists(ctx)
}

// dncAmong tells which entries' numbers are on their tenant's do-not-call list, with one query per tenant.
// Both sides hold the canonical E.164 (phone.Normalize), so the forms of one line match exactly.
func dncAmong(ctx context.Context, db bun.IDB, entries []Entry) (map[uuid.UUID]bool, error) {
	byTenant := map[uuid.UUID][]string{}
	for _, e := range entries {
		byTenant[e.TenantID] = append(byTenant[e.TenantID], e.E164)
	}
	listed := map[[2]string]bool{}
	for tenantID, numbers := range byTenant {
		var found []string
		q := db.NewSelect().Model((*DNC)(nil)).Column("e164").Where("tenant_id = ?", tenantID)
		if db.Dialect().Name() == dialect.PG {
			q = q.Where("e164 = ANY(?::text[])", pgdialect.Array(numbers))
		} else {
			q = q.Where("e164 IN (?)", bun.In(numbers))
		}
		if err := q.Scan(ctx, &found); err != nil {
			return nil, fmt.Errorf("check the do-not-call list: %w", err)
		}
		for _, n := range found {
			listed[[2]string{tenantID.String(), n}] = true
		}
	}
	out := map[uuid.UUID]bool{}
	for _, e := range entries {
		if listed[[2]string{e.TenantID.String(), e.E164}] {
			out[e.ID] = true
		}
	}
	return out, nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
