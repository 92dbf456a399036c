package calendar_test

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones below must load on hosts without /usr/share/zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/calendar"
)

var (
	saoPaulo = mustLoad("America/Sao_Paulo")
	manaus   = mustLoad("America/Manaus")
	newYork  = mustLoad("America/New_York")

	everyDay = []time.Weekday{
		time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday,
	}
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is the instant the wall clock in loc reads the given date and time; tests use it only for times that
// exist exactly once.
func at(loc *time.Location, year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, loc)
}

// utc parses an RFC 3339 instant.
func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// civil returns a holiday date as a DATE column scans: 00:00 UTC.
func civil(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// setup builds the default São Paulo calendar after edit changes its config.
func setup(t *testing.T, edit func(*calendar.Config)) *calendar.Calendar {
	t.Helper()
	cfg := calendar.Default()
	if edit != nil {
		edit(&cfg)
	}
	c, err := calendar.New(cfg)
	require.NoError(t, err)
	return c
}

// inZone moves the calendar to loc and, when days is not nil, to those working days. Brazilian national
// holidays stay on in Brazilian zones only, so New York cases show the zone and nothing else.
func inZone(loc *time.Location, days []time.Weekday) func(*calendar.Config) {
	return func(cfg *calendar.Config) {
		cfg.Location = loc
		cfg.NationalHolidays = loc != newYork
		if days != nil {
			cfg.WorkingDays = days
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		edit    func(*calendar.Config)
		wantErr string
	}{
		{name: "default", edit: func(*calendar.Config) {}},
		{name: "round the clock", edit: func(c *calendar.Config) {
			c.Opens, c.Closes = calendar.TimeOfDay{}, calendar.TimeOfDay{Hour: 24}
		}},
		{name: "no location", edit: func(c *calendar.Config) { c.Location = nil }, wantErr: "location is required"},
		{name: "no working days", edit: func(c *calendar.Config) { c.WorkingDays = nil }, wantErr: "no working days"},
		{name: "not a weekday", edit: func(c *calendar.Config) { c.WorkingDays = []time.Weekday{7} }, wantErr: "working day 7"},
		{name: "opens at closing", edit: func(c *calendar.Config) { c.Opens = c.Closes }, wantErr: "not before they close"},
		{name: "opens after closing", edit: func(c *calendar.Config) {
			c.Opens, c.Closes = calendar.TimeOfDay{Hour: 18}, calendar.TimeOfDay{Hour: 8}
		}, wantErr: "not before they close"},
		{name: "past midnight", edit: func(c *calendar.Config) { c.Closes = calendar.TimeOfDay{Hour: 24, Minute: 30} }, wantErr: "between 00:00 and 24:00"},
		{name: "minute 60", edit: func(c *calendar.Config) { c.Opens = calendar.TimeOfDay{Hour: 8, Minute: 60} }, wantErr: "between 00:00 and 24:00"},
		{name: "negative", edit: func(c *calendar.Config) { c.Opens = calendar.TimeOfDay{Hour: -1} }, wantErr: "between 00:00 and 24:00"},
		{name: "holiday without date", edit: func(c *calendar.Config) {
			c.Holidays = []calendar.Holiday{{Name: "Recesso"}}
		}, wantErr: `holiday "Recesso" has no date`},
		{name: "holiday at an instant", edit: func(c *calendar.Config) {
			c.Holidays = []calendar.Holiday{{Name: "Recesso", Date: utc("2026-12-24T15:00:00Z")}}
		}, wantErr: "not a civil date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := calendar.Default()
			tt.edit(&cfg)
			c, err := calendar.New(cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorIs(t, err, calendar.ErrInvalidConfig)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, c)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()

	err := calendar.Config{Opens: calendar.TimeOfDay{Hour: 9}}.Validate()
	require.ErrorIs(t, err, calendar.ErrInvalidConfig)
	for _, want := range []string{"location is required", "no working days", "not before they close"} {
		require.ErrorContains(t, err, want)
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()

	cfg := calendar.Default()
	require.Equal(t, "America/Sao_Paulo", cfg.Location.String())
	require.Equal(t, []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, cfg.WorkingDays)
	require.Equal(t, calendar.TimeOfDay{Hour: 8}, cfg.Opens)
	require.Equal(t, calendar.TimeOfDay{Hour: 18}, cfg.Closes)
	require.True(t, cfg.NationalHolidays)
	require.Empty(t, cfg.Holidays)

	c := setup(t, nil)
	require.Equal(t, saoPaulo.String(), c.Location().String())
}

func TestHolidayName(t *testing.T) {
	t.Parallel()

	c := setup(t, func(cfg *calendar.Config) {
		cfg.Holidays = []calendar.Holiday{
			{Date: civil(2026, time.March, 19), Name: "São José"},
			{Date: civil(2026, time.December, 25), Name: "Recesso de fim de ano"},
			// A date given at midnight in another zone still means that civil date.
			{Date: time.Date(2026, time.January, 25, 0, 0, 0, 0, saoPaulo), Name: "Aniversário de São Paulo"},
		}
	})

	tests := []struct {
		name string
		t    time.Time
		want string // empty when t is no holiday
	}{
		{"ano novo", at(saoPaulo, 2026, time.January, 1, 12, 0), "Ano Novo"},
		{"sexta-feira santa", at(saoPaulo, 2026, time.April, 3, 12, 0), "Sexta-feira Santa"},
		{"tiradentes", at(saoPaulo, 2026, time.April, 21, 0, 0), "Tiradentes"},
		{"dia do trabalhador", at(saoPaulo, 2026, time.May, 1, 12, 0), "Dia do Trabalhador"},
		{"independência", at(saoPaulo, 2026, time.September, 7, 12, 0), "Independência do Brasil"},
		{"aparecida", at(saoPaulo, 2026, time.October, 12, 12, 0), "Nossa Senhora Aparecida"},
		{"finados", at(saoPaulo, 2026, time.November, 2, 12, 0), "Finados"},
		{"república", at(saoPaulo, 2026, time.November, 15, 12, 0), "Proclamação da República"},
		{"consciência negra", at(saoPaulo, 2026, time.November, 20, 23, 59), "Dia Nacional de Zumbi e da Consciência Negra"},
		{"consciência negra 2024", at(saoPaulo, 2024, time.November, 20, 12, 0), "Dia Nacional de Zumbi e da Consciência Negra"},
		{"consciência negra before the law", at(saoPaulo, 2023, time.November, 20, 12, 0), ""},
		{"tenant name wins over natal", at(saoPaulo, 2026, time.December, 25, 12, 0), "Recesso de fim de ano"},
		{"tenant holiday", at(saoPaulo, 2026, time.March, 19, 12, 0), "São José"},
		{"tenant holiday given in local midnight", at(saoPaulo, 2026, time.January, 25, 12, 0), "Aniversário de São Paulo"},
		{"carnaval is ponto facultativo", at(saoPaulo, 2026, time.February, 17, 12, 0), ""},
		{"corpus christi is ponto facultativo", at(saoPaulo, 2026, time.June, 4, 12, 0), ""},
		{"ordinary day", at(saoPaulo, 2026, time.April, 22, 12, 0), ""},
		{"utc date after, local date on tiradentes", utc("2026-04-22T02:30:00Z"), "Tiradentes"},
		{"utc date on, local date before tiradentes", utc("2026-04-21T02:30:00Z"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, ok := c.HolidayName(tt.t)
			require.Equal(t, tt.want != "", ok)
			require.Equal(t, tt.want, name)
			require.Equal(t, !ok && tt.t.In(saoPaulo).Weekday() != time.Saturday && tt.t.In(saoPaulo).Weekday() != time.Sunday,
				c.IsBusinessDay(tt.t))
		})
	}

	t.Run("without national holidays", func(t *testing.T) {
		t.Parallel()
		c := setup(t, func(cfg *calendar.Config) { cfg.NationalHolidays = false })
		_, ok := c.HolidayName(at(saoPaulo, 2026, time.April, 21, 12, 0))
		require.False(t, ok)
		require.True(t, c.IsBusinessDay(at(saoPaulo, 2026, time.April, 21, 12, 0)))
	})
}

func TestNextBusinessDayAt(t *testing.T) {
	t.Parallel()

	nine := calendar.TimeOfDay{Hour: 9}
	tenantHolidays := func(cfg *calendar.Config) {
		cfg.Holidays = []calendar.Holiday{
			{Date: civil(2026, time.March, 19), Name: "São José"},
			{Date: civil(2026, time.December, 24), Name: "Véspera de Natal"},
			{Date: civil(2026, time.December, 28), Name: "Férias coletivas"},
			{Date: civil(2026, time.December, 29), Name: "Férias coletivas"},
			{Date: civil(2026, time.December, 30), Name: "Férias coletivas"},
			{Date: civil(2026, time.December, 31), Name: "Férias coletivas"},
		}
	}
	mondayToSaturday := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}

	tests := []struct {
		name string
		edit func(*calendar.Config)
		from time.Time
		at   calendar.TimeOfDay
		want time.Time
	}{
		// São Paulo, UTC-3 all year since 2019.
		{"thursday to friday", nil, at(saoPaulo, 2026, time.January, 8, 10, 0), nine, utc("2026-01-09T12:00:00Z")},
		{"friday evening to monday", nil, at(saoPaulo, 2026, time.January, 9, 20, 0), nine, utc("2026-01-12T12:00:00Z")},
		{"friday early morning still to monday", nil, at(saoPaulo, 2026, time.January, 9, 6, 0), nine, utc("2026-01-12T12:00:00Z")},
		{"saturday to monday", nil, at(saoPaulo, 2026, time.January, 10, 10, 0), nine, utc("2026-01-12T12:00:00Z")},
		{"sunday to monday", nil, at(saoPaulo, 2026, time.January, 11, 23, 59), nine, utc("2026-01-12T12:00:00Z")},
		{"minutes kept", nil, at(saoPaulo, 2026, time.January, 8, 10, 0), calendar.TimeOfDay{Hour: 14, Minute: 45}, utc("2026-01-09T17:45:00Z")},
		{"midnight", nil, at(saoPaulo, 2026, time.January, 8, 10, 0), calendar.TimeOfDay{}, utc("2026-01-09T03:00:00Z")},
		{"skips tiradentes", nil, at(saoPaulo, 2026, time.April, 20, 10, 0), nine, utc("2026-04-22T12:00:00Z")},
		{"skips sexta-feira santa", nil, at(saoPaulo, 2026, time.April, 2, 10, 0), nine, utc("2026-04-06T12:00:00Z")},
		{"skips consciência negra", nil, at(saoPaulo, 2026, time.November, 19, 10, 0), nine, utc("2026-11-23T12:00:00Z")},
		{"consciência negra was a working day in 2023", nil, at(saoPaulo, 2023, time.November, 17, 10, 0), nine, utc("2023-11-20T12:00:00Z")},
		{"skips natal", nil, at(saoPaulo, 2026, time.December, 24, 10, 0), nine, utc("2026-12-28T12:00:00Z")},
		{"skips ano novo", nil, at(saoPaulo, 2026, time.December, 31, 10, 0), nine, utc("2027-01-04T12:00:00Z")},
		{"carnaval tuesday is a business day", nil, at(saoPaulo, 2026, time.February, 16, 10, 0), nine, utc("2026-02-17T12:00:00Z")},
		{"corpus christi is a business day", nil, at(saoPaulo, 2026, time.June, 3, 10, 0), nine, utc("2026-06-04T12:00:00Z")},
		{"skips a tenant holiday", tenantHolidays, at(saoPaulo, 2026, time.March, 18, 10, 0), nine, utc("2026-03-20T12:00:00Z")},
		{"christmas and new year chain", tenantHolidays, at(saoPaulo, 2026, time.December, 23, 10, 0), nine, utc("2027-01-04T12:00:00Z")},
		{"national holidays off", func(cfg *calendar.Config) { cfg.NationalHolidays = false }, at(saoPaulo, 2026, time.April, 20, 10, 0), nine, utc("2026-04-21T12:00:00Z")},
		{"monday to saturday: friday to saturday", inZone(saoPaulo, mondayToSaturday), at(saoPaulo, 2026, time.January, 9, 20, 0), nine, utc("2026-01-10T12:00:00Z")},
		{"monday to saturday: saturday to monday", inZone(saoPaulo, mondayToSaturday), at(saoPaulo, 2026, time.January, 10, 20, 0), nine, utc("2026-01-12T12:00:00Z")},

		// from given in UTC: the date that counts is the local one.
		{"utc friday is still thursday in são paulo", nil, utc("2026-01-09T02:00:00Z"), nine, utc("2026-01-09T12:00:00Z")},
		{"utc friday is friday in são paulo an hour later", nil, utc("2026-01-09T03:00:00Z"), nine, utc("2026-01-12T12:00:00Z")},
		{"manaus: utc friday is still thursday", inZone(manaus, nil), utc("2026-01-09T03:30:00Z"), nine, utc("2026-01-09T13:00:00Z")},
		{"manaus: friday evening to monday", inZone(manaus, nil), at(manaus, 2026, time.January, 9, 20, 0), nine, utc("2026-01-12T13:00:00Z")},

		// New York: spring forward 2026-03-08 02:00 EST → 03:00 EDT, fall back 2026-11-01 02:00 EDT → 01:00 EST.
		{"new york: friday before spring forward to monday in EDT", inZone(newYork, nil), at(newYork, 2026, time.March, 6, 20, 0), nine, utc("2026-03-09T13:00:00Z")},
		{"new york: saturday in EST", inZone(newYork, everyDay), at(newYork, 2026, time.March, 6, 20, 0), nine, utc("2026-03-07T14:00:00Z")},
		{"new york: spring-forward day after the gap", inZone(newYork, everyDay), at(newYork, 2026, time.March, 7, 20, 0), nine, utc("2026-03-08T13:00:00Z")},
		{"new york: spring-forward day before the gap", inZone(newYork, everyDay), at(newYork, 2026, time.March, 7, 20, 0), calendar.TimeOfDay{Hour: 1, Minute: 30}, utc("2026-03-08T06:30:00Z")},
		{"new york: 02:30 in the gap becomes 03:00 EDT", inZone(newYork, everyDay), at(newYork, 2026, time.March, 7, 20, 0), calendar.TimeOfDay{Hour: 2, Minute: 30}, utc("2026-03-08T07:00:00Z")},
		{"new york: 02:00 in the gap becomes 03:00 EDT", inZone(newYork, everyDay), at(newYork, 2026, time.March, 7, 20, 0), calendar.TimeOfDay{Hour: 2}, utc("2026-03-08T07:00:00Z")},
		{"new york: 03:00 just after the gap", inZone(newYork, everyDay), at(newYork, 2026, time.March, 7, 20, 0), calendar.TimeOfDay{Hour: 3}, utc("2026-03-08T07:00:00Z")},
		{"new york: friday before fall back to monday in EST", inZone(newYork, nil), at(newYork, 2026, time.October, 30, 20, 0), nine, utc("2026-11-02T14:00:00Z")},
		{"new york: fall-back day after the fold", inZone(newYork, everyDay), at(newYork, 2026, time.October, 31, 20, 0), nine, utc("2026-11-01T14:00:00Z")},
		{"new york: 01:30 in the fold is the first, EDT", inZone(newYork, everyDay), at(newYork, 2026, time.October, 31, 20, 0), calendar.TimeOfDay{Hour: 1, Minute: 30}, utc("2026-11-01T05:30:00Z")},
		{"new york: 00:59 before the fold", inZone(newYork, everyDay), at(newYork, 2026, time.October, 31, 20, 0), calendar.TimeOfDay{Minute: 59}, utc("2026-11-01T04:59:00Z")},
		{"new york: 02:00 after the fold", inZone(newYork, everyDay), at(newYork, 2026, time.October, 31, 20, 0), calendar.TimeOfDay{Hour: 2}, utc("2026-11-01T07:00:00Z")},

		// São Paulo kept DST until 2019: 2018-11-04 00:00 -03 → 01:00 -02, 2019-02-17 00:00 -02 → 2019-02-16 23:00 -03.
		{"são paulo 2018: midnight in the gap becomes 01:00", inZone(saoPaulo, everyDay), at(saoPaulo, 2018, time.November, 3, 20, 0), calendar.TimeOfDay{}, utc("2018-11-04T03:00:00Z")},
		{"são paulo 2018: 00:30 in the gap becomes 01:00", inZone(saoPaulo, everyDay), at(saoPaulo, 2018, time.November, 3, 20, 0), calendar.TimeOfDay{Minute: 30}, utc("2018-11-04T03:00:00Z")},
		{"são paulo 2018: 09:00 in summer time", inZone(saoPaulo, everyDay), at(saoPaulo, 2018, time.November, 3, 20, 0), nine, utc("2018-11-04T11:00:00Z")},
		{"são paulo 2019: 23:30 in the fold is the first, -02", inZone(saoPaulo, everyDay), at(saoPaulo, 2019, time.February, 15, 20, 0), calendar.TimeOfDay{Hour: 23, Minute: 30}, utc("2019-02-17T01:30:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t, tt.edit)
			got, ok := c.NextBusinessDayAt(tt.from, tt.at)
			require.True(t, ok)
			require.Equal(t, tt.want, got)
			require.Equal(t, time.UTC, got.Location())
			require.True(t, c.IsBusinessDay(got))
		})
	}
}

func TestNextBusinessDayAtRejectsTimesOutsideADay(t *testing.T) {
	t.Parallel()

	c := setup(t, nil)
	from := at(saoPaulo, 2026, time.January, 8, 10, 0)
	for _, tod := range []calendar.TimeOfDay{{Hour: 24}, {Hour: 25}, {Hour: -1}, {Minute: 60}} {
		got, ok := c.NextBusinessDayAt(from, tod)
		require.False(t, ok, tod)
		require.True(t, got.IsZero(), tod)
	}
}

// TestNeverOpen checks that a calendar with no business day in reach gives up instead of looping.
func TestNeverOpen(t *testing.T) {
	t.Parallel()

	cfg := calendar.Default()
	cfg.WorkingDays = []time.Weekday{time.Sunday}
	for d := civil(2026, time.January, 4); d.Year() < 2030; d = d.AddDate(0, 0, 7) {
		cfg.Holidays = append(cfg.Holidays, calendar.Holiday{Date: d, Name: "Fechado"})
	}
	c, err := calendar.New(cfg)
	require.NoError(t, err)

	from := at(saoPaulo, 2026, time.January, 1, 10, 0)
	next, ok := c.NextBusinessDayAt(from, calendar.TimeOfDay{Hour: 9})
	require.False(t, ok)
	require.True(t, next.IsZero())
	next, ok = c.NextOpen(from)
	require.False(t, ok)
	require.True(t, next.IsZero())

	// Past the tenant's list the calendar opens again: the first Sunday of 2030.
	next, ok = c.NextOpen(at(saoPaulo, 2029, time.December, 31, 10, 0))
	require.True(t, ok)
	require.Equal(t, utc("2030-01-06T11:00:00Z"), next)
}

func TestIsOpen(t *testing.T) {
	t.Parallel()

	c := setup(t, nil)
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"before opening", at(saoPaulo, 2026, time.January, 9, 7, 59), false},
		{"at opening", at(saoPaulo, 2026, time.January, 9, 8, 0), true},
		{"midday", at(saoPaulo, 2026, time.January, 9, 12, 0), true},
		{"last second", time.Date(2026, time.January, 9, 17, 59, 59, 999999999, saoPaulo), true},
		{"at closing", at(saoPaulo, 2026, time.January, 9, 18, 0), false},
		{"saturday", at(saoPaulo, 2026, time.January, 10, 12, 0), false},
		{"sunday", at(saoPaulo, 2026, time.January, 11, 12, 0), false},
		{"tiradentes", at(saoPaulo, 2026, time.April, 21, 12, 0), false},
		{"natal", at(saoPaulo, 2026, time.December, 25, 12, 0), false},
		{"opening given in utc", utc("2026-01-09T11:00:00Z"), true},
		{"closing given in utc", utc("2026-01-09T21:00:00Z"), false},
		{"utc says friday 08:00, são paulo says 05:00", utc("2026-01-09T08:00:00Z"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, c.IsOpen(tt.t))
		})
	}

	t.Run("round the clock closes only on days off", func(t *testing.T) {
		t.Parallel()
		c := setup(t, func(cfg *calendar.Config) {
			cfg.Opens, cfg.Closes = calendar.TimeOfDay{}, calendar.TimeOfDay{Hour: 24}
		})
		require.True(t, c.IsOpen(at(saoPaulo, 2026, time.January, 9, 0, 0)))
		require.True(t, c.IsOpen(time.Date(2026, time.January, 9, 23, 59, 59, 0, saoPaulo)))
		require.False(t, c.IsOpen(at(saoPaulo, 2026, time.January, 10, 0, 0)))
	})
}

func TestNextOpen(t *testing.T) {
	t.Parallel()

	earlyHours := func(loc *time.Location, opens, closes calendar.TimeOfDay) func(*calendar.Config) {
		return func(cfg *calendar.Config) {
			cfg.Location, cfg.WorkingDays, cfg.NationalHolidays = loc, everyDay, false
			cfg.Opens, cfg.Closes = opens, closes
		}
	}

	tests := []struct {
		name string
		edit func(*calendar.Config)
		t    time.Time
		want time.Time
	}{
		{"open now is now, in utc", nil, time.Date(2026, time.January, 9, 10, 15, 30, 42, saoPaulo), time.Date(2026, time.January, 9, 13, 15, 30, 42, time.UTC)},
		{"before opening", nil, at(saoPaulo, 2026, time.January, 9, 7, 0), utc("2026-01-09T11:00:00Z")},
		{"just after midnight", nil, at(saoPaulo, 2026, time.January, 9, 0, 0), utc("2026-01-09T11:00:00Z")},
		{"at closing to next day", nil, at(saoPaulo, 2026, time.January, 8, 18, 0), utc("2026-01-09T11:00:00Z")},
		{"friday at closing to monday", nil, at(saoPaulo, 2026, time.January, 9, 18, 0), utc("2026-01-12T11:00:00Z")},
		{"saturday to monday", nil, at(saoPaulo, 2026, time.January, 10, 7, 0), utc("2026-01-12T11:00:00Z")},
		{"sunday to monday", nil, at(saoPaulo, 2026, time.January, 11, 23, 0), utc("2026-01-12T11:00:00Z")},
		{"evening before tiradentes", nil, at(saoPaulo, 2026, time.April, 20, 19, 0), utc("2026-04-22T11:00:00Z")},
		{"morning of tiradentes", nil, at(saoPaulo, 2026, time.April, 21, 7, 0), utc("2026-04-22T11:00:00Z")},
		{"utc friday is thursday night in são paulo", nil, utc("2026-01-09T02:00:00Z"), utc("2026-01-09T11:00:00Z")},
		{"manaus opens an hour later in utc", inZone(manaus, nil), utc("2026-01-09T11:30:00Z"), utc("2026-01-09T12:00:00Z")},

		{"new york: opening in the gap opens at the jump", earlyHours(newYork, calendar.TimeOfDay{Hour: 2, Minute: 30}, calendar.TimeOfDay{Hour: 5}),
			utc("2026-03-08T06:30:00Z"), utc("2026-03-08T07:00:00Z")},
		{"new york: before an opening in the fold, first occurrence", earlyHours(newYork, calendar.TimeOfDay{Hour: 1, Minute: 45}, calendar.TimeOfDay{Hour: 2, Minute: 45}),
			utc("2026-11-01T05:00:00Z"), utc("2026-11-01T05:45:00Z")},
		{"new york: back to 01:00 EST, opens again at the second 01:45", earlyHours(newYork, calendar.TimeOfDay{Hour: 1, Minute: 45}, calendar.TimeOfDay{Hour: 2, Minute: 45}),
			utc("2026-11-01T06:00:00Z"), utc("2026-11-01T06:45:00Z")},
		{"new york: hours inside the gap skip the day", earlyHours(newYork, calendar.TimeOfDay{Hour: 2, Minute: 15}, calendar.TimeOfDay{Hour: 2, Minute: 45}),
			utc("2026-03-08T06:30:00Z"), utc("2026-03-09T06:15:00Z")},
		{"são paulo 2019: clocks turned back into working hours", earlyHours(saoPaulo, calendar.TimeOfDay{Hour: 22}, calendar.TimeOfDay{Hour: 23, Minute: 45}),
			utc("2019-02-17T01:50:00Z"), utc("2019-02-17T02:00:00Z")},
		{"são paulo 2018: midnight opening in the gap opens at 01:00", earlyHours(saoPaulo, calendar.TimeOfDay{}, calendar.TimeOfDay{Hour: 8}),
			at(saoPaulo, 2018, time.November, 3, 22, 0), utc("2018-11-04T03:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t, tt.edit)
			got, ok := c.NextOpen(tt.t)
			require.True(t, ok)
			require.Equal(t, tt.want, got)
			require.Equal(t, time.UTC, got.Location())
			require.True(t, c.IsOpen(got))
		})
	}
}

// TestNextOpenIsTheFirstOpenMinute walks across DST transitions minute by minute and checks NextOpen against the
// first minute IsOpen accepts; every opening in these zones falls on a whole minute.
func TestNextOpenIsTheFirstOpenMinute(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name          string
		loc           *time.Location
		days          []time.Weekday
		opens, closes calendar.TimeOfDay
		from, to      time.Time
	}{
		{"new york office hours, spring", newYork, nil, calendar.TimeOfDay{Hour: 9}, calendar.TimeOfDay{Hour: 17},
			utc("2026-03-05T00:00:00Z"), utc("2026-03-11T00:00:00Z")},
		{"new york small hours, spring", newYork, everyDay, calendar.TimeOfDay{Hour: 1, Minute: 45}, calendar.TimeOfDay{Hour: 2, Minute: 45},
			utc("2026-03-06T00:00:00Z"), utc("2026-03-10T00:00:00Z")},
		{"new york small hours, autumn", newYork, everyDay, calendar.TimeOfDay{Hour: 1, Minute: 45}, calendar.TimeOfDay{Hour: 2, Minute: 45},
			utc("2026-10-30T00:00:00Z"), utc("2026-11-03T00:00:00Z")},
		{"são paulo midnight opening, 2018", saoPaulo, everyDay, calendar.TimeOfDay{}, calendar.TimeOfDay{Hour: 1},
			utc("2018-11-02T00:00:00Z"), utc("2018-11-06T00:00:00Z")},
		{"new york hours inside the gap", newYork, everyDay, calendar.TimeOfDay{Hour: 2, Minute: 15}, calendar.TimeOfDay{Hour: 2, Minute: 45},
			utc("2026-03-06T00:00:00Z"), utc("2026-03-10T00:00:00Z")},
		{"são paulo late hours, fold reopens at the second 23:15", saoPaulo, everyDay, calendar.TimeOfDay{Hour: 23, Minute: 15}, calendar.TimeOfDay{Hour: 23, Minute: 45},
			utc("2019-02-14T00:00:00Z"), utc("2019-02-19T00:00:00Z")},
		{"são paulo evening hours, fold jumps back into them", saoPaulo, everyDay, calendar.TimeOfDay{Hour: 22}, calendar.TimeOfDay{Hour: 23, Minute: 45},
			utc("2019-02-14T00:00:00Z"), utc("2019-02-19T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t, func(cfg *calendar.Config) {
				cfg.Location, cfg.Opens, cfg.Closes, cfg.NationalHolidays = tt.loc, tt.opens, tt.closes, false
				if tt.days != nil {
					cfg.WorkingDays = tt.days
				}
			})
			// firstOpen[i] is the index of the first open minute at or after minute i of the walk.
			const lookahead = 5 * 24 * 60
			minutes := int(tt.to.Sub(tt.from)/time.Minute) + lookahead
			firstOpen := make([]int, minutes+1)
			firstOpen[minutes] = -1
			for i := minutes - 1; i >= 0; i-- {
				firstOpen[i] = firstOpen[i+1]
				if c.IsOpen(tt.from.Add(time.Duration(i) * time.Minute)) {
					firstOpen[i] = i
				}
			}
			for i := 0; i < minutes-lookahead; i += 7 {
				start := tt.from.Add(time.Duration(i) * time.Minute)
				require.GreaterOrEqual(t, firstOpen[i], 0, "no open minute within five days of %v", start)
				got, ok := c.NextOpen(start)
				require.True(t, ok)
				require.Equal(t, tt.from.Add(time.Duration(firstOpen[i])*time.Minute), got, "NextOpen(%v)", start)
			}
		})
	}
}

func BenchmarkNextBusinessDayAt(b *testing.B) {
	cfg := calendar.Default()
	cfg.Holidays = []calendar.Holiday{{Date: civil(2026, time.January, 25), Name: "Aniversário de São Paulo"}}
	c, err := calendar.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	nine := calendar.TimeOfDay{Hour: 9}
	// Every evening of 2026, so weekends and holidays weigh as they do in a year.
	froms := make([]time.Time, 365)
	for i := range froms {
		froms[i] = at(saoPaulo, 2026, time.January, 1+i, 19, 0)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := c.NextBusinessDayAt(froms[i%len(froms)], nine); !ok {
			b.Fatal("no business day")
		}
	}
}
