// Command atende-bench runs atende's benchmarks against a real server on the local PostgreSQL (and the API
// ones on SQLite too), shows their progress as they go, and rewrites docs/BENCHMARKS.md from
// docs/BENCHMARKS.md.tmpl with the figures of this run: the machine, the date, the commit, each figure with
// its method, its ratio to the reference measured in the same run, and whether its target was met.
//
//	go run ./cmd/atende-bench                 # everything (make bench)
//	go run ./cmd/atende-bench -only routing   # one group, for a quick look (the report is not written)
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
)

// run is one `go test -bench` invocation of the report.
type run struct {
	group     string
	pkg       string
	bench     string
	benchtime string
	env       []string
}

// runs are the benchmarks of the report, in the order they run.
var runs = []run{
	{group: "import", pkg: "./internal/crm/", bench: "ImportContacts", benchtime: "1x"},
	{group: "webhooks", pkg: "./internal/httpapi/", bench: "PlinxWebhookIntake", benchtime: "5000x"},
	{group: "intake", pkg: "./internal/httpapi/", bench: "IntakeEvents", benchtime: "1x", env: []string{"ATENDE_BENCH_INTAKE_CONCURRENCY=32"}},
	{group: "outbound", pkg: "./internal/httpapi/", bench: "WebhookDelivery", benchtime: "1x"},
	{group: "portfolios", pkg: "./internal/httpapi/", bench: "Portfolios", benchtime: "1x"},
	{group: "routing", pkg: "./internal/httpapi/", bench: "Routing", benchtime: "5000x"},
	{group: "dialer", pkg: "./internal/app/", bench: "DialerDrain", benchtime: "1x",
		env: []string{"ATENDE_BENCH_DIALER_ENTRIES=20000", "ATENDE_BENCH_DIALER_AGENTS=1000"}},
	{group: "dialer-memory", pkg: "./internal/app/", bench: "DialerDrain/check_0ms", benchtime: "1x",
		env: []string{"ATENDE_BENCH_DIALER_ENTRIES=250000", "ATENDE_BENCH_DIALER_AGENTS=1000"}},
	{group: "load", pkg: "./internal/httpapi/", bench: "APILoad", benchtime: "1x"},
}

func main() {
	pgURL := flag.String("postgres", envOr("ATENDE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"the PostgreSQL the benchmarks create their databases in")
	tmpl := flag.String("template", "docs/BENCHMARKS.md.tmpl", "the report's template")
	out := flag.String("out", "docs/BENCHMARKS.md", "the report to write")
	only := flag.String("only", "", "run only this group (import, webhooks, intake, outbound, portfolios, routing, dialer, dialer-memory, load); the report is not written")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := benchmark(ctx, *pgURL, *tmpl, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "atende-bench:", err)
		os.Exit(1)
	}
}

func benchmark(ctx context.Context, pgURL, tmplPath, outPath, only string) error {
	page, err := template.New("BENCHMARKS.md.tmpl").Funcs(funcs).ParseFiles(tmplPath)
	if err != nil {
		return err
	}
	started := time.Now()
	rep := &report{Figures: map[string][]map[string]float64{}, Date: started.UTC().Format("2006-01-02 15:04 UTC")}
	if err := rep.describeMachine(ctx, pgURL); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "atende-bench: %s, commit %s, PostgreSQL %s\n", rep.Machine, rep.Commit, rep.Postgres)
	for _, r := range runs {
		if only != "" && r.group != only {
			continue
		}
		if err := rep.run(ctx, r, pgURL, started); err != nil {
			return fmt.Errorf("%s: %w", r.group, err)
		}
	}
	rep.Took = time.Since(started).Round(time.Second).String()
	if only != "" {
		fmt.Fprintf(os.Stderr, "atende-bench: done in %s (one group: %s not written)\n", rep.Took, outPath)
		return nil
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, rep); err != nil {
		return fmt.Errorf("render the report: %w", err)
	}
	if err := os.WriteFile(outPath, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "atende-bench: wrote %s in %s\n", outPath, rep.Took)
	return nil
}

// report is what the template renders.
type report struct {
	Date, Took, Commit, Machine, OS, Go, Postgres string
	// Figures holds, per benchmark name, one map of unit to value per run of it.
	Figures map[string][]map[string]float64
	// Raw is every benchmark result line, as go test printed it.
	Raw []string
	mu  sync.Mutex
}

func (rep *report) describeMachine(ctx context.Context, pgURL string) error {
	rep.Go = runtime.Version()
	cpu, mem := "unknown CPU", ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
			cpu = strings.TrimSpace(string(m[1]))
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^MemTotal:\s*(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.ParseFloat(string(m[1]), 64)
			mem = fmt.Sprintf(", %.0f GiB", kb/(1<<20))
		}
	}
	rep.Machine = fmt.Sprintf("%d × %s%s", runtime.NumCPU(), cpu, mem)
	if b, err := exec.CommandContext(ctx, "uname", "-sr").Output(); err == nil {
		rep.OS = strings.TrimSpace(string(b))
	}
	commit, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return fmt.Errorf("read the commit: %w", err)
	}
	rep.Commit = strings.TrimSpace(string(commit))
	if dirty, _ := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); len(bytes.TrimSpace(dirty)) > 0 {
		rep.Commit += " with uncommitted changes"
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s: %w", pgURL, err)
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, "SHOW server_version").Scan(&rep.Postgres)
}

// resultLine matches a benchmark result: name, iterations, then value-unit pairs.
var resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.+)$`)

// run runs one benchmark group, echoing its output with the time since the start, and keeps its figures.
func (rep *report) run(ctx context.Context, r run, pgURL string, started time.Time) error {
	args := []string{"test", r.pkg, "-run", "^$", "-bench", r.bench, "-benchtime", r.benchtime, "-count", "1", "-timeout", "40m"}
	fmt.Fprintf(os.Stderr, "\n[%s] %s: go %s\n", since(started), r.group, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "ATENDE_TEST_POSTGRES_URL="+pgURL, "ATENDE_TEST_REQUIRE_POSTGRES=1")
	cmd.Env = append(cmd.Env, r.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	var tail []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > 40 {
			tail = tail[1:]
		}
		if m := resultLine.FindStringSubmatch(line); m != nil {
			name := m[1]
			if r.group == "dialer-memory" {
				name += "#memory" // the same benchmark as the dialer group's, at another size
			}
			rep.keep(name, m[2], line)
			fmt.Fprintf(os.Stderr, "[%s]   %s\n", since(started), line)
		} else if strings.HasPrefix(line, "  ") && !strings.HasPrefix(strings.TrimSpace(line), "load_bench") {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", since(started), line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%w; the last lines:\n%s", err, strings.Join(tail, "\n"))
	}
	return nil
}

func (rep *report) keep(name, pairs, line string) {
	fields := strings.Fields(pairs)
	fig := map[string]float64{}
	for i := 0; i+1 < len(fields); i += 2 {
		if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
			fig[fields[i+1]] = v
		}
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	rep.Figures[name] = append(rep.Figures[name], fig)
	rep.Raw = append(rep.Raw, line)
}

func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
