# tokenpipe front door. `make` alone prints this help.
BUILD  ?= build
JOBS   ?= $(shell nproc)
MODULE ?=
WAVES  ?= 0
TOKENPIPE := $(BUILD)/app/tokenpipe
DEMO_PROMPT ?= The accelerator

.DEFAULT_GOAL := help
.PHONY: help deps configure build demo test lint synth synth-top synth-hier vivado sim waves bench clean

help: ## this list
	@echo "tokenpipe: FPGA LLM token pipeline (SystemVerilog + C++ golden model)"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12 | sed 's/^/  make /'
	@echo
	@echo "  make sim MODULE=tp_stream_register [WAVES=1]   one module's testbench (FST in $(BUILD)/waves/)"
	@echo "  make waves MODULE=tp_stream_register          gtkwave on that FST with the module's .gtkw layout"

deps: ## install missing Debian packages (scripts/install-deps.sh)
	@scripts/install-deps.sh --check 2>/dev/null || scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	@scripts/install-deps.sh --check 2>/dev/null || scripts/install-deps.sh
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

configure: deps $(BUILD)/CMakeCache.txt

build: configure ## build the golden library, the CLI and every testbench
	cmake --build $(BUILD) -j $(JOBS)

demo: configure ## generate text with the embedded default model (golden paths, then the verilated accelerator)
	cmake --build $(BUILD) -j $(JOBS) --target tokenpipe
	@for engine in float int8 int4; do \
	  echo "== tokenpipe generate --engine $$engine -t 0 (embedded default model)"; \
	  $(TOKENPIPE) generate --engine $$engine -t 0 || exit 1; \
	done
	@for quant in int8 int4; do \
	  echo "== tokenpipe generate --engine rtl --quant $$quant -t 0 -n 64 -i \"$(DEMO_PROMPT)\" (verilated tp_accel_top, taps checked)"; \
	  $(TOKENPIPE) generate --engine rtl --quant $$quant -t 0 -n 64 -i "$(DEMO_PROMPT)" 2>$(BUILD)/demo-$$quant.txt; \
	  status=$$?; cat $(BUILD)/demo-$$quant.txt >&2; \
	  if grep -q '^bit_exact: yes' $(BUILD)/demo-$$quant.txt; then echo "bit-exact with golden: yes"; \
	  else echo "bit-exact with golden: no"; fi; \
	  [ $$status -eq 0 ] || exit 1; \
	done

test: build ## every test: golden, CLI, RTL lint, testbenches, synthesis checks
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

lint: configure ## verilator --lint-only -Wall over rtl/files.f
	cmake --build $(BUILD) --target rtl_tables
	TP_TABLES_DIR=$(BUILD)/generated/tables scripts/lint.sh

synth: configure ## Yosys synth_xilinx per module with checked statistics
	cmake --build $(BUILD) -j $(JOBS) --target rtl_tables synth_check
	TP_TABLES_DIR=$(BUILD)/generated/tables SYNTH_CHECK=$(BUILD)/tb/synth_check scripts/synth.sh $(BUILD)/synth

synth-top: configure ## the top's units at the top's parameters (~25 min of Yosys; docs/accelerator.md "Resources")
	cmake --build $(BUILD) -j $(JOBS) --target rtl_tables synth_check
	TP_TABLES_DIR=$(BUILD)/generated/tables SYNTH_CHECK=$(BUILD)/tb/synth_check scripts/synth_top_units.sh $(BUILD)/synth-top

synth-hier: configure ## the whole top in one Yosys run, hierarchy kept (~55 min; docs/accelerator.md "Resources")
	cmake --build $(BUILD) -j $(JOBS) --target rtl_tables synth_check
	TP_TABLES_DIR=$(BUILD)/generated/tables SYNTH_CHECK=$(BUILD)/tb/synth_check scripts/synth_top_units.sh $(BUILD)/synth-hier whole

vivado: configure ## Vivado out-of-context synthesis of one module (needs vivado on PATH): make vivado MODULE=name
	@test -n "$(MODULE)" || { echo "usage: make vivado MODULE=<rtl module> [PART=xcvu9p-flga2104-2L-e]" >&2; exit 2; }
	@command -v vivado >/dev/null || { echo "vivado: not on PATH (source the Vivado settings script first)" >&2; exit 2; }
	cmake --build $(BUILD) --target rtl_tables
	mkdir -p $(BUILD)/vivado
	vivado -mode batch -nojournal -log $(BUILD)/vivado/$(MODULE).log -source scripts/vivado_synth.tcl \
	  -tclargs $(MODULE) $(BUILD)/generated/tables $(BUILD)/vivado $(PART)

sim: configure ## one module's testbench: make sim MODULE=name [WAVES=1]
	@test -n "$(MODULE)" || { echo "usage: make sim MODULE=<rtl module, e.g. tp_stream_register> [WAVES=1]" >&2; exit 2; }
	cmake --build $(BUILD) -j $(JOBS) --target $(MODULE)_test
	cd $(BUILD) && WAVES=$(WAVES) ./tb/$(MODULE)_test

waves: ## gtkwave on a module's trace: make waves MODULE=name
	@test -n "$(MODULE)" || { echo "usage: make waves MODULE=<rtl module>" >&2; exit 2; }
	$(MAKE) --no-print-directory sim MODULE=$(MODULE) WAVES=1
	scripts/waves.sh $(BUILD)/waves $(MODULE)

bench: configure ## golden float speed, matrix/attention-unit utilization, the accelerator top's decode and prefill targets
	cmake --build $(BUILD) -j $(JOBS) --target tokenpipe
	$(TOKENPIPE) bench float
	$(TOKENPIPE) bench matmul
	$(TOKENPIPE) bench attention
	$(TOKENPIPE) bench accel

clean: ## remove the build tree
	rm -rf $(BUILD)
