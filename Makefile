# hmsbackup: `make run` tries the product, `make test` runs every test.
GO ?= go

.PHONY: run build test vet bench

run:
	$(GO) run ./cmd/hmsbackup serve

build:
	$(GO) build -o bin/hmsbackup ./cmd/hmsbackup

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

# Installs MariaDB (server + clients) if missing, then runs all tests,
# including those against a real mariadbd started in a temp dir, with the
# race detector on (about 3 minutes on 2 CPUs).
test: vet
	./scripts/install-deps
	$(GO) test -race -count=1 -timeout 20m ./...

bench:
	./bench/run.sh
