package main

import (
	"bytes"
	"strings"
	"testing"
	"text/template"
)

// The report's template renders from a run's figures: every figure it names is one a benchmark reports,
// missing ones show as "—", and targets say met or not.
func TestTheTemplateRendersARun(t *testing.T) {
	page, err := template.New("BENCHMARKS.md.tmpl").Funcs(funcs).ParseFiles("../../docs/BENCHMARKS.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	rep := &report{Date: "2026-11-23 10:00 UTC", Commit: "abc1234", Machine: "2 × CPU", Figures: map[string][]map[string]float64{}}
	rep.keep("BenchmarkAPILoad/postgres", "1 errors-% 500 half/s 1000 mixed-sat/s 1.5 p50-ms 20.5 p99-ms 40 p99.9-ms 2000 reads-sat/s 3.2 search-ms", "")
	rep.keep("BenchmarkAPILoad/sqlite", "0 errors-% 400 half/s 800 mixed-sat/s 1.2 p50-ms 60 p99-ms 90 p99.9-ms 900 reads-sat/s 350 search-ms", "")
	rep.keep("BenchmarkRouting/postgres", "700 overflowed/s 29 p50-ms 90 p99-ms 248 routed/s 9 waiting-p50-ms 21 waiting-p99-ms", "")
	rep.keep("BenchmarkRouting/postgres", "690 overflowed/s 29 p50-ms 86 p99-ms 249 routed/s 9 waiting-p50-ms 21 waiting-p99-ms", "")
	var out bytes.Buffer
	if err := page.Execute(&out, rep); err != nil {
		t.Fatal(err)
	}
	doc := out.String()
	for _, want := range []string{
		"commit abc1234",
		"| API, mixed load at half its saturation rate, PostgreSQL: p99 | < 50 ms | 20.5 ms | met |",
		"| API, same, errors | < 0.1% | 1.00% | **not met** |",
		"| API, mixed load at half its saturation rate, SQLite: p99 | < 50 ms | 60.0 ms | **not met** |",
		"| API, SQLite read rate ÷ PostgreSQL read rate (saturation) | ≥ 50% | 45% | **not met** |",
		"| PostgreSQL | 248–249 |",
		"690–700 conversations/s",
		"| Ticket intake, 32 senders, PostgreSQL: events/s | ≥ 1,000 | — | **not measured** |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(doc, "<no value>") || strings.Contains(doc, "NaN") {
		t.Error("the report shows <no value> or NaN")
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 248.4: "248", 20.54: "20.5", 1.234: "1.23", -1500: "-1,500"} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}
