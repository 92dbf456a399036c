package main

import (
	"math"
	"strconv"
	"strings"
	"text/template"
)

// funcs are what the report template may call on a *report.
var funcs = template.FuncMap{
	"ratio":  ratio,
	"check":  check,
	"format": format,
	"list":   func(xs ...string) []string { return xs },
	"num": func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN()
		}
		return v
	},
	"dbname": func(d string) string {
		if d == "sqlite" {
			return "SQLite"
		}
		return "PostgreSQL"
	},
	"div": func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	},
}

// Fig formats a benchmark's figure in a unit: one value, or the range over several runs; "—" when the run
// did not produce it.
func (rep *report) Fig(name, unit string) string {
	vs := rep.values(name, unit)
	if len(vs) == 0 {
		return "—"
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if format(lo) == format(hi) {
		return format(lo)
	}
	return format(lo) + "–" + format(hi)
}

// Num is a benchmark's figure in a unit (the mean over its runs), NaN when missing.
func (rep *report) Num(name, unit string) float64 {
	vs := rep.values(name, unit)
	if len(vs) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

func (rep *report) values(name, unit string) []float64 {
	var out []float64
	for _, fig := range rep.Figures[name] {
		if v, ok := fig[unit]; ok {
			out = append(out, v)
		}
	}
	return out
}

// ratio formats a / b as a percentage.
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return strconv.FormatFloat(100*a/b, 'f', 0, 64) + "%"
}

// check says whether v meets a target: op is "<", "<=", ">" or ">=".
func check(v float64, op string, target float64) string {
	if math.IsNaN(v) {
		return "**not measured**"
	}
	ok := false
	switch op {
	case "<":
		ok = v < target
	case "<=":
		ok = v <= target
	case ">":
		ok = v > target
	case ">=":
		ok = v >= target
	}
	if ok {
		return "met"
	}
	return "**not met**"
}

// format writes v with thousands separators and the decimals its size deserves.
func format(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	decimals := 0
	switch a := math.Abs(v); {
	case a < 10:
		decimals = 2
	case a < 100:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
