package calendar

import (
	"sort"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/br"
)

// conscienciaNegra is the Dia Nacional de Zumbi e da Consciência Negra, a national holiday since Lei 14.759/2023.
// rickar/cal's br package (v2.1.13) predates the law, so it is defined here with the library's own rule type.
var conscienciaNegra = &cal.Holiday{
	Name:      "Dia Nacional de Zumbi e da Consciência Negra",
	Type:      cal.ObservancePublic,
	StartYear: 2024,
	Month:     time.November,
	Day:       20,
	Func:      cal.CalcDayOfMonth,
}

// nationalHolidays are the days off the whole country keeps. br.Holidays is not used as is: it also lists
// Carnaval and Corpus Christi, which federal law leaves as pontos facultativos (each employer decides), and it
// lacks Consciência Negra. Sexta-feira Santa is kept: Lei 9.093/1995 names it among the religious holidays and
// it is observed nationwide. A tenant that closes on Carnaval or Corpus Christi lists them as its own holidays.
var nationalHolidays = []*cal.Holiday{
	br.AnoNovo,
	br.SextaFeiraSanta,
	br.Tiradentes,
	br.Trabalhador,
	br.Independencia,
	br.NossaSenhoraAparecida,
	br.Finados,
	br.Republica,
	conscienciaNegra,
	br.Natal,
}

// nationalHoliday returns the name of the national holiday on the civil date d, if any.
func nationalHoliday(d date) (string, bool) {
	for _, h := range nationalHolidays {
		actual, _ := h.Calc(d.year)
		if actual.IsZero() {
			continue
		}
		// The library builds its dates in cal.DefaultLoc; only the civil date matters here.
		if dateOf(actual) == d {
			return h.Name, true
		}
	}
	return "", false
}

// NationalHolidays lists the Brazilian national holidays of a year, by date (00:00 UTC of each civil date).
func NationalHolidays(year int) []Holiday {
	out := make([]Holiday, 0, len(nationalHolidays))
	for _, h := range nationalHolidays {
		actual, _ := h.Calc(year)
		if actual.IsZero() {
			continue
		}
		d := dateOf(actual)
		out = append(out, Holiday{Date: time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC), Name: h.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}
