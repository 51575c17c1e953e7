# karkas: make help lists the targets.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.8.2
BIN := bin/karkas
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: help build demo test test-short bench lint fuzz chaos clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/karkas
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/karkas

demo: build ## generate the demo agency's data and sync it into var/demo.db (embedded SQLite)
	$(GO) run ./cmd/demogen -out var/demo -scale 1
	./$(BIN) --config configs/demo.yaml sync
	@echo
	./$(BIN) --config configs/demo.yaml status
	@echo
	@echo "Бетта Строй's October hours report (its config says language: ru), the first lines:"
	@./$(BIN) --config configs/demo.yaml --log-level warn report hours --client betta --period 2026-10 | head -6
	@echo
	@./$(BIN) --config configs/demo.yaml --log-level warn users add demo --role admin --name "Demo admin" --generate-password --update | \
	  awk '/^password: / { pw = $$2 } END { print "The dashboard: run  ./$(BIN) --config configs/demo.yaml serve  and open http://127.0.0.1:8080"; \
	    print "sign in as demo with the password " pw " (made for this demo store now; make demo makes a new one)" }'

test: ## the whole suite: vet, then go test -race on SQLite, PostgreSQL and real mail servers, headless Chromium and systemd-analyze (each started or installed when missing), then a minute of fuzzing the mail parser
	$(GO) mod download
	$(GO) vet ./...
	scripts/dovecot.sh
	scripts/mailpit.sh
	scripts/chromium.sh
	scripts/systemd-analyze.sh
	@eval "$$(scripts/test-db.sh)" && trap scripts/drop-test-db.sh EXIT && \
	  echo "PostgreSQL test database: $${TEST_DATABASE_URL%%\?*}" && \
	  scripts/gotest.sh
	@echo "fuzzing the mail parser for $${FUZZTIME_TEST:-1m} (make fuzz runs longer):"
	$(GO) test ./connectors/email -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $${FUZZTIME_TEST:-1m}

test-short: ## go test without -race and without PostgreSQL, for quick loops
	$(GO) test -count=1 ./...

bench: build ## benchmarks: ingest (best of 3) and no-change re-sync of the 100x dataset on SQLite and PostgreSQL, the API pulls, the daemon (one event, idle evaluation, breach lag, idle requests, web pages), business calendar, SLA response evaluation (clocks/s on one core)
	@eval "$$(scripts/test-db.sh)" && trap scripts/drop-test-db.sh EXIT && \
	  $(GO) run ./cmd/karkas-bench
	@echo; echo "trello API pull (fake Trello, real limits, virtual time):"
	@$(GO) run ./cmd/karkas-bench -trello
	@echo; echo "everhour API backfill (fake Everhour, real limit, virtual time):"; $(GO) run ./cmd/karkas-bench -everhour
	@echo; echo "IMAP sync of 20,000 messages from a local Dovecot (messages/s, peak heap, no-change re-sync):"
	@scripts/dovecot.sh && $(GO) test -run '^$$' -bench BenchmarkIMAPSync -benchtime 1x ./connectors/email | grep -E '^Benchmark'
	@echo; echo "github API pull (fake GitHub, real limits, conditional requests, virtual time):"; $(GO) run ./cmd/karkas-bench -github
	@echo; echo "planfix API pull (fake PlanFix, one request a second, virtual time):"; $(GO) run ./cmd/karkas-bench -planfix
	@echo; echo "karkas serve (issue 18): one event and an idle evaluation on the 100x dataset, breach detection in the running service, an idle hour's API requests, the web UI's pages; SQLite and PostgreSQL (about 5 minutes):"
	@eval "$$(scripts/test-db.sh)" && trap scripts/drop-test-db.sh EXIT && \
	  $(GO) run ./cmd/karkas-bench -serve
	@echo; echo "business calendar (clocks/s per core; goal >= 1,000,000):"
	@$(GO) test -run '^$$' -bench 'Between$$|Add$$' -count 1 ./sla | grep -E '^Benchmark' 
	@echo
	@set -o pipefail; $(GO) test -run '^$$' -bench 'EvaluateResponse$$' -cpu 1 -count 3 ./sla | awk ' \
	  function commas(n,  s, out) { s = sprintf("%d", n); while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) } return s out } \
	  /^BenchmarkEvaluateResponse/ { for (i = 2; i < NF; i++) { \
	    if ($$(i + 1) == "clocks/s" && $$i > warm) warm = $$i; \
	    if ($$(i + 1) == "first-clocks/s" && $$i > first) first = $$i } } \
	  END { if (!warm) { print "BenchmarkEvaluateResponse: no result"; exit 1 } \
	    printf "SLA response evaluation: %s clocks/s on one core (goal >= 1,000,000; best of 3); first evaluation, page faults included: %s clocks/s\n", commas(warm), commas(first) }'

chaos: ## the fault suite's long pass: karkas processes against the fakes under kills, concurrent runs, 429 storms, 5xx, cut bodies, hanging and echoing servers and hostile input, on SQLite and PostgreSQL; prints scenario, runs, invariant violations (CHAOS_RUNS, default 5; CHAOS_SEED)
	@eval "$$(scripts/test-db.sh)" && trap scripts/drop-test-db.sh EXIT && \
	  table=$$(mktemp) && \
	  KARKAS_CHAOS_RUNS=$${CHAOS_RUNS:-5} KARKAS_CHAOS_SEED=$${CHAOS_SEED:-$$(date +%s)} KARKAS_CHAOS_TABLE=$$table \
	    $(GO) test -count=1 -timeout 80m -run '^TestChaos$$' ./cmd/karkas; rc=$$?; \
	  echo; cat $$table; rm -f $$table; exit $$rc

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fuzz: ## run the fuzz targets for longer (FUZZTIME, default 5m each)
	$(GO) test ./connectors/email -run '^$$' -fuzz FuzzParse -fuzztime $${FUZZTIME:-5m}

clean: ## remove build output and the demo store
	rm -rf bin var
