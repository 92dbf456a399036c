// Package calendar is a tenant's business calendar: which days are working days, which are holidays, and when
// working hours start, all in the tenant's time zone.
//
// It is pure domain code: the caller loads the tenant's settings and holidays and builds a Calendar with New.
// Days are civil dates read in the calendar's zone, whatever zone an argument carries; every returned instant is
// in UTC. Working hours follow the tenant's wall clock, through DST changes included.
//
// National holidays are the days off Brazilian law gives everyone, with rules from github.com/rickar/cal/v2:
// Ano Novo, Sexta-feira Santa, Tiradentes, Dia do Trabalhador, Independência, Nossa Senhora Aparecida, Finados,
// Proclamação da República, Consciência Negra (from 2024) and Natal. Carnaval and Corpus Christi are pontos
// facultativos, not holidays, so they are left out; a tenant that closes on them lists them among its own holidays.
package calendar

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidConfig is wrapped by every error Validate and New report about a Config.
var ErrInvalidConfig = errors.New("calendar: invalid config")

// searchDays bounds every search for a business day: a little over three years of civil dates.
const searchDays = 3 * 366

// TimeOfDay is a wall-clock time of day such as 08:00; 24:00 is allowed only as a closing time.
type TimeOfDay struct{ Hour, Minute int }

// String formats the time of day as HH:MM.
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// minutes returns the time of day in minutes after midnight.
func (t TimeOfDay) minutes() int { return t.Hour*60 + t.Minute }

// valid reports whether t lies between 00:00 and 24:00 inclusive.
func (t TimeOfDay) valid() bool {
	return t.Hour >= 0 && t.Minute >= 0 && t.Minute < 60 && t.minutes() <= 24*60
}

// Holiday is a tenant-defined day off.
type Holiday struct {
	// Date is the civil date of the day off: its year, month and day as read in Date's own location (00:00 UTC,
	// as a database DATE column scans, is the expected form). Its clock must read 00:00.
	Date time.Time
	Name string // what HolidayName reports for the date
}

// Config describes a tenant's calendar.
type Config struct {
	Location         *time.Location // tenant time zone; required
	WorkingDays      []time.Weekday // days of the week the tenant works; at least one
	Opens, Closes    TimeOfDay      // working hours on a business day, Opens inclusive and Closes exclusive
	NationalHolidays bool           // whether Brazilian national holidays are days off
	Holidays         []Holiday      // the tenant's own days off, on top of the national ones
}

// Default returns the calendar of a tenant in São Paulo working 08:00–18:00, Monday to Friday, off on national holidays.
//
// Location is nil when the host has no time zone data for America/Sao_Paulo; New then rejects the config.
func Default() Config {
	loc, _ := time.LoadLocation("America/Sao_Paulo") // nil on error, which New reports
	return Config{
		Location:         loc,
		WorkingDays:      []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Opens:            TimeOfDay{Hour: 8},
		Closes:           TimeOfDay{Hour: 18},
		NationalHolidays: true,
	}
}

// Calendar answers business-day questions for one tenant; it is immutable and safe for concurrent use.
type Calendar struct {
	loc         *time.Location
	workingDays [7]bool
	opens       TimeOfDay
	closes      TimeOfDay
	national    bool
	holidays    map[date]string
}

// Validate reports every problem that keeps cfg from describing a calendar; each wraps ErrInvalidConfig.
func (cfg Config) Validate() error {
	var problems []error
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if cfg.Location == nil {
		add("location is required (is time zone data installed?)")
	}
	if len(cfg.WorkingDays) == 0 {
		add("no working days")
	}
	for _, wd := range cfg.WorkingDays {
		if wd < time.Sunday || wd > time.Saturday {
			add("working day %d is not a day of the week", wd)
		}
	}
	switch {
	case !cfg.Opens.valid() || !cfg.Closes.valid():
		add("working hours %v–%v are not times of day between 00:00 and 24:00", cfg.Opens, cfg.Closes)
	case cfg.Opens.minutes() >= cfg.Closes.minutes():
		add("working hours open at %v, not before they close at %v", cfg.Opens, cfg.Closes)
	}
	for _, h := range cfg.Holidays {
		hh, mm, ss := h.Date.Clock()
		switch {
		case h.Date.IsZero():
			add("holiday %q has no date", h.Name)
		case hh != 0 || mm != 0 || ss != 0 || h.Date.Nanosecond() != 0:
			add("holiday %q on %v is an instant, not a civil date at 00:00", h.Name, h.Date)
		}
	}
	return errors.Join(problems...)
}

// New validates cfg and builds its Calendar.
func New(cfg Config) (*Calendar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Calendar{
		loc:      cfg.Location,
		opens:    cfg.Opens,
		closes:   cfg.Closes,
		national: cfg.NationalHolidays,
		holidays: make(map[date]string, len(cfg.Holidays)),
	}
	for _, wd := range cfg.WorkingDays {
		c.workingDays[wd] = true
	}
	for _, h := range cfg.Holidays {
		// A tenant naming the same date twice keeps the first name.
		if _, dup := c.holidays[dateOf(h.Date)]; !dup {
			c.holidays[dateOf(h.Date)] = h.Name
		}
	}
	return c, nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// IsBusinessDay reports whether the civil date of t, in the calendar's zone, is a working day that is not a holiday.
func (c *Calendar) IsBusinessDay(t time.Time) bool { return c.isBusinessDate(dateOf(t.In(c.loc))) }

// HolidayName returns the holiday on t's date in the calendar's zone, if any; a tenant holiday wins over a national one.
func (c *Calendar) HolidayName(t time.Time) (string, bool) { return c.holiday(dateOf(t.In(c.loc))) }

// NextBusinessDayAt returns the first business day strictly after from's date (in the calendar's zone) at the
// wall-clock time at, in UTC: "next business day at HH:MM in the tenant's zone".
//
// When at does not exist that day (DST gap) it returns the first instant after it that does, the moment the clocks
// jump; when it exists twice (DST fold) the first. ok is false when at is not between 00:00 and 23:59 or when no
// business day falls within three years of from.
func (c *Calendar) NextBusinessDayAt(from time.Time, at TimeOfDay) (next time.Time, ok bool) {
	if !at.valid() || at.minutes() >= 24*60 {
		return time.Time{}, false
	}
	d, ok := c.nextBusinessDate(dateOf(from.In(c.loc)))
	if !ok {
		return time.Time{}, false
	}
	first, _ := c.instants(d, at)
	return first, true
}

// IsOpen reports whether t falls inside working hours on a business day, judged by the wall clock in the calendar's zone.
func (c *Calendar) IsOpen(t time.Time) bool {
	local := t.In(c.loc)
	if !c.isBusinessDate(dateOf(local)) {
		return false
	}
	m := local.Hour()*60 + local.Minute()
	return c.opens.minutes() <= m && m < c.closes.minutes()
}

// NextOpen returns t itself (in UTC) if IsOpen(t), else the next instant working hours start; ok is false when no
// business day falls within three years of t.
//
// Working hours follow the wall clock, so on a day a DST change skips them whole the calendar stays closed, and
// on a day it repeats part of them it opens again when the clock turns back into them.
func (c *Calendar) NextOpen(t time.Time) (next time.Time, ok bool) {
	if c.IsOpen(t) {
		return t.UTC(), true
	}
	d := dateOf(t.In(c.loc))
	for i := 0; i <= searchDays; i++ {
		day := d.addDays(i)
		if !c.isBusinessDate(day) {
			continue
		}
		if opens, ok := c.opening(day, t); ok {
			return opens, true
		}
	}
	return time.Time{}, false
}

// opening returns the first instant on the business day d, after t, at which the calendar is open. The wall clock
// enters working hours either by reaching Opens (once, or twice in a fold; a gap over Opens resolves to the jump)
// or by an offset change turning it back into them, so those are the only candidates.
func (c *Calendar) opening(d date, t time.Time) (time.Time, bool) {
	dayStart, _ := c.instants(d, TimeOfDay{})
	dayEnd, _ := c.instants(d.addDays(1), TimeOfDay{})
	first, last := c.instants(d, c.opens)
	candidates := []time.Time{first, last}
	// Zones change offset a couple of times a year at most; four bounds the walk even for odd histories.
	for u, n := dayStart, 0; n < 4; n++ {
		_, end := u.In(c.loc).ZoneBounds()
		if end.IsZero() || !end.Before(dayEnd) {
			break
		}
		candidates = append(candidates, end.UTC())
		u = end
	}

	var best time.Time
	for _, cand := range candidates {
		if cand.After(t) && c.IsOpen(cand) && (best.IsZero() || cand.Before(best)) {
			best = cand
		}
	}
	return best, !best.IsZero()
}

// isBusinessDate reports whether d is a working day that is not a holiday.
func (c *Calendar) isBusinessDate(d date) bool {
	if !c.workingDays[d.weekday()] {
		return false
	}
	_, holiday := c.holiday(d)
	return !holiday
}

// holiday returns the name of the tenant or national holiday on d, if any.
func (c *Calendar) holiday(d date) (string, bool) {
	if name, ok := c.holidays[d]; ok {
		return name, true
	}
	if c.national {
		return nationalHoliday(d)
	}
	return "", false
}

// nextBusinessDate returns the first business day strictly after d, searching at most searchDays ahead.
func (c *Calendar) nextBusinessDate(d date) (date, bool) {
	for i := 1; i <= searchDays; i++ {
		if next := d.addDays(i); c.isBusinessDate(next) {
			return next, true
		}
	}
	return date{}, false
}

// instants returns the first and last instants, in UTC, at which the wall clock in the calendar's zone reads tod
// on d. They differ only in a fold; in a gap both are the instant the clocks jump past tod.
func (c *Calendar) instants(d date, tod TimeOfDay) (first, last time.Time) {
	// wall carries the local reading as if it were UTC; subtracting an offset turns it into a candidate instant.
	wall := time.Date(d.year, d.month, d.day, tod.Hour, tod.Minute, 0, 0, time.UTC)
	before, after := c.offsetAt(wall.Add(-24*time.Hour)), c.offsetAt(wall.Add(24*time.Hour))
	// Time zones change offset at most once a day, so the offsets a day either side are the only candidates.
	for _, offset := range [2]int{before, after} {
		t := wall.Add(-time.Duration(offset) * time.Second)
		if c.offsetAt(t) != offset {
			continue
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if last.IsZero() || t.After(last) {
			last = t
		}
	}
	if !first.IsZero() {
		return first, last
	}
	// A gap: read with the earlier offset, wall lands after the jump, in the zone period the jump started.
	t := wall.Add(-time.Duration(before) * time.Second)
	start, _ := t.In(c.loc).ZoneBounds()
	if start.IsZero() {
		return t, t
	}
	return start.UTC(), start.UTC()
}

// offsetAt returns the calendar zone's UTC offset, in seconds, at instant t.
func (c *Calendar) offsetAt(t time.Time) int {
	_, offset := t.In(c.loc).Zone()
	return offset
}

// date is a civil date with no zone.
type date struct {
	year  int
	month time.Month
	day   int
}

// dateOf returns the civil date of t in t's own location.
func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{year: y, month: m, day: d}
}

// addDays returns the civil date n days after d.
func (d date) addDays(n int) date {
	return dateOf(time.Date(d.year, d.month, d.day+n, 0, 0, 0, 0, time.UTC))
}

// weekday returns the day of the week of d.
func (d date) weekday() time.Weekday {
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC).Weekday()
}
