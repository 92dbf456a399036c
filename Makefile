# atende — build, test and generate. `make help` lists the targets.

GO       ?= go
BIN      := bin/atende
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PG_URL   ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
REDOC_VERSION := 2.5.4

.PHONY: help build run test test-postgres test-faults-long test-postgres-restart generate verify fmt vet lint clean docs-assets bench bench-import bench-webhooks bench-intake bench-outbound bench-portfolios bench-routing bench-load bench-dialer bench-dialer-memory

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

build: ## build bin/atende
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/atende

run: build ## serve on 127.0.0.1:8080 with the embedded SQLite database under ./var
	./$(BIN) serve

test: ## run every test (SQLite always; PostgreSQL too when ATENDE_TEST_POSTGRES_URL is set)
	$(GO) test -count=1 ./...

test-postgres: ## run every test on SQLite and on the local PostgreSQL, which must be up
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test -count=1 ./...

bench: ## run every benchmark on the local PostgreSQL (API ones on SQLite too) and rewrite docs/BENCHMARKS.md (about 15 minutes)
	$(GO) run ./cmd/atende-bench -postgres '$(PG_URL)'

bench-import: ## benchmark contact imports on SQLite and the local PostgreSQL (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/crm/ -run '^$$' -bench ImportContacts -benchtime 1x -count 2

bench-webhooks: ## benchmark Plinx webhook intake on SQLite and the local PostgreSQL (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/httpapi/ -run '^$$' -bench PlinxWebhookIntake -benchtime 5000x -count 2

bench-intake: ## benchmark signed ERP ticket events on SQLite and the local PostgreSQL (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/httpapi/ -run '^$$' -bench IntakeEvents -benchtime 1x -count 2

bench-outbound: ## benchmark one worker process delivering outbound webhooks on SQLite and the local PostgreSQL (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/httpapi/ -run '^$$' -bench WebhookDelivery -benchtime 1x -count 2

bench-portfolios: ## time adding 100,000 contacts to a portfolio and bulk-deleting 1,000 portfolios on the local PostgreSQL (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/httpapi/ -run '^$$' -bench Portfolios -benchtime 1x -count 2

bench-routing: ## benchmark routing new conversations to portfolio owners at 100,000 contacts on SQLite and the local PostgreSQL (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/httpapi/ -run '^$$' -bench Routing -benchtime 5000x -count 2 -timeout 30m

bench-load: ## API under open-model load on 1,000,000 contacts, SQLite and the local PostgreSQL, with the echo and pgbench references (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test ./internal/httpapi/ -run '^$$' -bench APILoad -benchtime 1x -count 2 -timeout 40m

bench-dialer: ## benchmark draining the dial queue on the local PostgreSQL against plain SQL claims (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 ATENDE_BENCH_DIALER_ENTRIES=20000 ATENDE_BENCH_DIALER_AGENTS=1000 \
		$(GO) test ./internal/app/ -run '^$$' -bench DialerDrain -benchtime 1x -count 2 -timeout 30m

bench-dialer-memory: ## drain 1,000,000 dial entries on the local PostgreSQL and report peak memory (docs/BENCHMARKS.md)
	ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 ATENDE_BENCH_DIALER_ENTRIES=1000000 ATENDE_BENCH_DIALER_AGENTS=1000 \
		$(GO) test ./internal/app/ -run '^$$' -bench 'DialerDrain/check_0ms' -benchtime 1x -timeout 60m

test-faults-long: ## the fault tests at length (a 20 s database outage, ten worker kills over 20,000 entries) on the local PostgreSQL
	ATENDE_FAULT_LONG=1 ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test -count=1 -timeout 30m \
		-run 'TestDatabaseOutage|TestFullPool|TestWorkerKilledRepeatedly|TestKilledWorker|TestDialerWithASlowPlinx|TestDialerNeverDials' \
		./internal/httpapi/ ./cmd/atende/

test-postgres-restart: ## stop and start the local PostgreSQL cluster under write load (alone: it breaks every other test meanwhile)
	ATENDE_FAULT_RESTART_POSTGRES=1 ATENDE_TEST_POSTGRES_URL='$(PG_URL)' ATENDE_TEST_REQUIRE_POSTGRES=1 $(GO) test -count=1 \
		-run TestDatabaseOutageAnswers503AndRecovers ./internal/httpapi/

generate: ## regenerate gen/ from api/*.yaml
	$(GO) tool oapi-codegen -config api/codegen-server.yaml api/openapi.yaml
	$(GO) tool oapi-codegen -config api/codegen-client.yaml api/openapi.yaml
	$(GO) tool oapi-codegen -config api/codegen-plinx.yaml api/plinx.yaml

verify: generate ## fail when generated code is stale or Go code is not gofmt'ed
	@git diff --exit-code -- gen/ || (echo "gen/ is stale: run 'make generate' and commit it" >&2; exit 1)
	@test -z "$$(git status --porcelain -- gen/)" || (echo "gen/ has untracked generated files: commit them" >&2; git status --porcelain -- gen/; exit 1)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:" >&2; gofmt -l $$(git ls-files '*.go'); exit 1)

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet
	$(GO) vet ./...

lint: tools/redocly/node_modules/.package-lock.json ## lint api/openapi.yaml and api/plinx.yaml with the pinned Redocly CLI (needs npm)
	cd tools/redocly && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true \
	  npx --no-install redocly lint --config $(CURDIR)/api/redocly.yaml $(CURDIR)/api/openapi.yaml $(CURDIR)/api/plinx.yaml

tools/redocly/node_modules/.package-lock.json: tools/redocly/package.json tools/redocly/package-lock.json
	cd tools/redocly && npm ci --no-audit --no-fund

docs-assets: ## refresh the embedded Redoc bundle served at /docs (needs npm)
	cd $$(mktemp -d) && npm pack redoc@$(REDOC_VERSION) >/dev/null && tar xzf redoc-$(REDOC_VERSION).tgz && \
	  cp package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt $(CURDIR)/internal/httpapi/docs/ && \
	  cp package/LICENSE $(CURDIR)/internal/httpapi/docs/REDOC_LICENSE

.PHONY: test-docs
test-docs: ## render /docs in headless Chromium (.ci/install-chromium) and rewrite docs/screenshots/api-docs.png
	ATENDE_TEST_REQUIRE_CHROMIUM=1 ATENDE_DOCS_SCREENSHOT_OUT=docs/screenshots/api-docs.png $(GO) test -count=1 \
		-run '^TestDocsRenderInChromium$$' -v ./internal/httpapi/

.PHONY: sdk-ts check-ts

sdk-ts: ## install the TypeScript client's pinned packages and regenerate clients/typescript/src/schema.ts from the contract (needs npm)
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate

check-ts: clients/typescript/node_modules/.package-lock.json ## fail when the TypeScript client's schema is stale; type-check and build the client and examples/frontend (needs npm)
	cd clients/typescript && npm run check && npm run build && npm run build:example

clients/typescript/node_modules/.package-lock.json: clients/typescript/package.json clients/typescript/package-lock.json
	cd clients/typescript && npm ci --no-audit --no-fund

clean: ## remove build output and the local database
	rm -rf bin var
