package tenant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/calendar"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// Defaults of a new tenant's business hours.
const (
	DefaultWorkingDays = "monday,tuesday,wednesday,thursday,friday"
	DefaultOpensAt     = "08:00"
	DefaultClosesAt    = "18:00"
)

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// BusinessHours are the days and hours a tenant works, in its time zone.
type BusinessHours struct {
	Days   []time.Weekday
	Opens  calendar.TimeOfDay
	Closes calendar.TimeOfDay
}

func (b BusinessHours) check(errs *validate.Errors) {
	if len(b.Days) == 0 {
		errs.Add("business_hours.days", "must list at least one day")
	}
	if b.Opens.Hour*60+b.Opens.Minute >= b.Closes.Hour*60+b.Closes.Minute {
		errs.Add("business_hours.closes", "must be after opens")
	}
}

// BusinessHours returns the tenant's working days and hours.
func (t Tenant) BusinessHours() BusinessHours {
	var b BusinessHours
	for _, d := range strings.Split(t.WorkingDays, ",") {
		if wd, ok := weekdays[d]; ok {
			b.Days = append(b.Days, wd)
		}
	}
	b.Opens, _ = ParseTimeOfDay(t.OpensAt)
	b.Closes, _ = ParseTimeOfDay(t.ClosesAt)
	return b
}

// SetBusinessHours stores b on the tenant.
func (t *Tenant) SetBusinessHours(b BusinessHours) {
	days := slices.Clone(b.Days)
	slices.Sort(days)
	names := make([]string, 0, len(days))
	for _, d := range slices.Compact(days) {
		names = append(names, strings.ToLower(d.String()))
	}
	t.WorkingDays = strings.Join(names, ",")
	t.OpensAt, t.ClosesAt = b.Opens.String(), b.Closes.String()
}

// ParseTimeOfDay reads HH:MM.
func ParseTimeOfDay(s string) (calendar.TimeOfDay, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return calendar.TimeOfDay{}, fmt.Errorf("must be HH:MM")
	}
	return calendar.TimeOfDay{Hour: t.Hour(), Minute: t.Minute()}, nil
}

// ParseWeekday reads a lower-case English weekday name.
func ParseWeekday(s string) (time.Weekday, bool) {
	d, ok := weekdays[s]
	return d, ok
}

// Holiday is a tenant's own day off, on top of the national holidays.
type Holiday struct {
	bun.BaseModel `bun:"table:holidays,alias:ho"`

	TenantID  uuid.UUID `bun:"tenant_id,pk"`
	ID        uuid.UUID `bun:"id,pk"`
	Date      string    `bun:"date"` // YYYY-MM-DD
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
}

// ErrHolidayTaken is returned for a second holiday on one date.
var ErrHolidayTaken = fmt.Errorf("the tenant already has a holiday on this date")

// CreateHoliday adds a tenant holiday.
func (s *Service) CreateHoliday(ctx context.Context, tenantID uuid.UUID, date time.Time, name string) (Holiday, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Holiday{}, validate.Field("name", "must not be blank")
	}
	h := Holiday{TenantID: tenantID, ID: newID(), Date: date.Format(time.DateOnly), Name: name, CreatedAt: s.clock.Now()}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&h).Exec(ctx)
		return err
	})
	if err != nil {
		if store.IsUniqueViolation(err) {
			return Holiday{}, ErrHolidayTaken
		}
		return Holiday{}, fmt.Errorf("insert holiday: %w", err)
	}
	return h, nil
}

// DeleteHoliday removes a tenant holiday.
func (s *Service) DeleteHoliday(ctx context.Context, tenantID, id uuid.UUID) error {
	res, err := s.db.NewDelete().Model((*Holiday)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete holiday: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DayOff is a holiday as listed: a tenant's own (with its id) or a national one.
type DayOff struct {
	Date     time.Time
	Name     string
	National bool
	Holiday  *Holiday
}

// HolidaysOf lists the tenant's and the national holidays of a year, by date.
func (s *Service) HolidaysOf(ctx context.Context, tenantID uuid.UUID, year int) ([]DayOff, error) {
	var own []Holiday
	err := s.db.NewSelect().Model(&own).
		Where("ho.tenant_id = ? AND ho.date >= ? AND ho.date <= ?", tenantID, fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list holidays: %w", err)
	}
	var out []DayOff
	for _, h := range calendar.NationalHolidays(year) {
		out = append(out, DayOff{Date: h.Date, Name: h.Name, National: true})
	}
	for i := range own {
		d, _ := time.Parse(time.DateOnly, own[i].Date)
		out = append(out, DayOff{Date: d, Name: own[i].Name, Holiday: &own[i]})
	}
	slices.SortStableFunc(out, func(a, b DayOff) int { return a.Date.Compare(b.Date) })
	return out, nil
}

// Calendar builds the tenant's business calendar: its zone, hours, national and own holidays.
func (s *Service) Calendar(ctx context.Context, tenantID uuid.UUID) (*calendar.Calendar, error) {
	t, err := getTenant(ctx, s.db, tenantID)
	if err != nil {
		return nil, err
	}
	return s.calendarOf(ctx, s.db, t)
}

func (s *Service) calendarOf(ctx context.Context, db bun.IDB, t Tenant) (*calendar.Calendar, error) {
	loc, err := time.LoadLocation(t.Timezone)
	if err != nil {
		return nil, fmt.Errorf("tenant time zone: %w", err)
	}
	var own []Holiday
	if err := db.NewSelect().Model(&own).Where("ho.tenant_id = ?", t.ID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load holidays: %w", err)
	}
	b := t.BusinessHours()
	cfg := calendar.Config{Location: loc, WorkingDays: b.Days, Opens: b.Opens, Closes: b.Closes, NationalHolidays: true}
	for _, h := range own {
		d, err := time.Parse(time.DateOnly, h.Date)
		if err == nil {
			cfg.Holidays = append(cfg.Holidays, calendar.Holiday{Date: d, Name: h.Name})
		}
	}
	return calendar.New(cfg)
}

// ZoneAndHolidays returns a tenant's time zone and its own holidays, read through db (the pool or a
// transaction), for calendars built elsewhere (calling windows).
func ZoneAndHolidays(ctx context.Context, db bun.IDB, tenantID uuid.UUID) (*time.Location, []calendar.Holiday, error) {
	t, err := getTenant(ctx, db, tenantID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := time.LoadLocation(t.Timezone)
	if err != nil {
		return nil, nil, fmt.Errorf("tenant time zone: %w", err)
	}
	var own []Holiday
	if err := db.NewSelect().Model(&own).Where("ho.tenant_id = ?", tenantID).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("load holidays: %w", err)
	}
	out := make([]calendar.Holiday, 0, len(own))
	for _, h := range own {
		if d, err := time.Parse(time.DateOnly, h.Date); err == nil {
			out = append(out, calendar.Holiday{Date: d, Name: h.Name})
		}
	}
	return loc, out, nil
}
