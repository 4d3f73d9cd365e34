# flowconx — the two README commands are `make demo` and `make test`.
# libtorch is fetched once into ~/.cache/flowconx by `make setup` (see scripts/setup-libtorch.sh).
CARGO ?= cargo
SAMPLES := data/samples
DEMO_OUT := outputs/demo

.PHONY: setup build demo test bench clean-demo

setup:
	@bash scripts/setup-libtorch.sh

build: setup
	$(CARGO) build --release

test: setup
	$(CARGO) test --release

demo: build
	@mkdir -p $(DEMO_OUT)
	bash scripts/demo.sh $(DEMO_OUT)

bench: setup
	bash scripts/bench-prepare.sh
