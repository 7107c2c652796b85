# Build, test and try palyra. Run "make help" for the targets.

GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test test-go quickstart help

all: build

## build: build ./bin/palyra and ./bin/palyra-extra (scripts/build.sh: static, stamped with its version)
build:
	scripts/build.sh -o bin/palyra

## test: the whole test suite, exactly what CI runs (scripts/test.sh)
test:
	scripts/test.sh

## test-go: only go test -race ./... (no Secret Service, no Wine)
test-go:
	$(GO) test -race ./...

## quickstart: build, then set, get, list and delete a secret in a throwaway vault
quickstart:
	scripts/quickstart.sh

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
