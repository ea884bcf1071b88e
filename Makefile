# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pezo-setup

.PHONY: demo test test-fast bench bench-hw board setup clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pezo demo

# The whole suite: unit, co-simulation (Icarus) and synthesis (YoWASP) tests.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP)
	$(PY) -m pytest -m "not cosim and not synth"

# Figures (printed and saved under out/bench/); not tests, never asserted. The hardware, training
# and explore benchmarks run their jobs on a local Dask cluster (docs/explore.md).
bench: $(STAMP)
	$(PY) benchmarks/golden_throughput.py
	$(PY) benchmarks/golden_engine.py
	$(PY) benchmarks/cosim_speed.py
	$(PY) benchmarks/engine_stats.py
	$(PY) benchmarks/engine_synth.py
	$(PY) benchmarks/engine_options.py
	$(PY) benchmarks/update_cycles.py
	$(PY) benchmarks/update_train.py
	$(PY) benchmarks/perturbation_cost.py
	$(PY) benchmarks/uart_margin.py
	$(PY) benchmarks/board.py
	$(PY) benchmarks/training.py
	$(PY) benchmarks/rademacher_paired.py
	$(PY) benchmarks/explore.py --space configs/explore/quick.toml --workers 2

# The headline benchmark: PeZO engines against Gaussian sources, both targets, results cached
# in out/cache (a rerun is instant); writes docs/results/hardware.md.
bench-hw: $(STAMP)
	$(PY) benchmarks/hardware.py

# The iCEBreaker bitstream of the default configuration (out/board/icebreaker/); BOARD=ulx3s-25f
# for the ULX3S. Load it with `.venv/bin/pezo board program --board $(BOARD)`.
BOARD ?= icebreaker
board: $(STAMP)
	$(PY) -m pezo.app.cli board build --board $(BOARD)

clean:
	rm -rf out .pytest_cache
