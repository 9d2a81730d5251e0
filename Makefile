# Build, test and publish srlib and its book. `make` alone lists the targets.
#
# Every target that needs Python first creates the virtual environment $(VENV) if it
# is missing, and reinstalls it when requirements.txt or pyproject.toml changes.
# Notebooks are jupytext py:percent sources in notebooks/; executed copies and all
# other build products go under $(BUILD_DIR)/ only.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.SECONDEXPANSION:

# Interpreter that creates the virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed

BUILD_DIR ?= _build
NOTEBOOK_DIR := notebooks
# Parameter files for `make book`, one NN_name.yaml per notebook (optional).
PARAMS_DIR ?= $(NOTEBOOK_DIR)/params/book
# jupytext conversions of the py:percent sources, the input to papermill.
CONVERTED_DIR := $(BUILD_DIR)/jupytext
# papermill writes here and the notebook moves to EXECUTED_DIR once it succeeds, so
# a failed run leaves its partly executed notebook here and is rerun next time.
EXECUTING_DIR := $(BUILD_DIR)/executing
EXECUTED_DIR := $(BUILD_DIR)/notebooks
# Each notebook writes its figures and results.json to OUTPUT_DIR/NN_name.
OUTPUT_DIR := $(BUILD_DIR)/outputs
# Jupyter Book source tree assembled from book/, _config.yml and executed notebooks.
BOOK_SRC := $(BUILD_DIR)/book-src
# Jupyter Book writes its doctrees and HTML under JB_OUTPUT/_build/.
JB_OUTPUT := $(BUILD_DIR)/jupyter-book
HTML_DIR ?= $(BUILD_DIR)/html

KERNEL ?= python3
# Threads per notebook kernel for torch and numpy. The networks here are too small
# to gain from more, and two kernels of `make -j2` with two threads each on two
# cores ran several times slower than with one.
NOTEBOOK_THREADS ?= 1
# Without this, an inherited MPLBACKEND=Agg leaves the executed notebooks without
# figures, because Agg draws nothing into cell outputs.
NOTEBOOK_MPLBACKEND := module://matplotlib_inline.backend_inline
# Extra papermill arguments for `make notebook`, e.g. PAPERMILL_ARGS='-p seed 3'.
PAPERMILL_ARGS ?=
# Extra papermill arguments for every notebook of `make book`.
BOOK_PAPERMILL_ARGS ?=
# Where `make reproduce` runs the training chapter's repeats: serial, dask-local or
# the address of a Dask scheduler, such as tcp://host:8786.
EXECUTOR ?= dask-local
# `make notebook` inputs: notebook name, parameter file and run folder.
NB ?=
PARAMS ?=
RUN_DIR ?= $(BUILD_DIR)/runs/$(NB)

PYTEST_ARGS ?=
LINT_PATHS := $(wildcard srlib tests notebooks benchmarks book/_ext)

REMOTE ?=
BRANCH ?= gh-pages
# Path of the ghp-import script (a file, because publish depends on it).
GHP_IMPORT ?= $(BIN)/ghp-import
PUBLISH_MESSAGE ?= Publish book from $(shell git rev-parse --short HEAD 2>/dev/null || echo "a repository without commits")

NOTEBOOKS := $(sort $(basename $(notdir $(wildcard $(NOTEBOOK_DIR)/[0-9]*.py))))
EXECUTED_NOTEBOOKS := $(NOTEBOOKS:%=$(EXECUTED_DIR)/%.ipynb)
SRLIB_SOURCES := $(wildcard srlib/*.py srlib/*/*.py)
# Records PARAMS_DIR, so that switching it reruns the notebooks.
PARAMS_STAMP := $(EXECUTED_DIR)/.params-dir

.PHONY: help venv book notebooks html stage notebook test lint format sync publish reproduce \
	clean distclean FORCE

help:
	@echo "Targets:"
	@echo "  make venv       create or update the virtual environment $(VENV)"
	@echo "  make book       execute the notebooks and build the HTML book in $(HTML_DIR)"
	@echo "  make notebooks  execute the notebooks with $(PARAMS_DIR)/ into $(EXECUTED_DIR)/"
	@echo "  make html       stage and build the HTML from the executed notebooks only"
	@echo "  make notebook NB=01_toy_gaussian [PARAMS=my.yaml] [PAPERMILL_ARGS='-p seed 3']"
	@echo "                  rerun one notebook with your parameters into $(BUILD_DIR)/runs/NB/"
	@echo "  make reproduce [EXECUTOR=dask-local|serial|tcp://host:8786]"
	@echo "                  build the book at the paper's sizes into $(BUILD_DIR)/paper/ (hours)"
	@echo "  make test       run pytest (extra arguments: PYTEST_ARGS='-k toy')"
	@echo "  make lint       ruff check and ruff format --check"
	@echo "  make format     ruff format and ruff check --fix"
	@echo "  make sync       pair notebooks/*.py with notebooks/*.ipynb through jupytext"
	@echo "  make publish REMOTE=<git url or path> [BRANCH=gh-pages]"
	@echo "                  push $(HTML_DIR) to that branch with ghp-import"
	@echo "  make clean      remove $(BUILD_DIR)/ and tool caches"
	@echo "  make distclean  also remove $(VENV)/"
	@echo "Notebooks found: $(or $(NOTEBOOKS),none)"

# --- environment -------------------------------------------------------------------

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

# --- notebooks ---------------------------------------------------------------------

# Convert $(1) (py:percent) and execute it with papermill into $(2), with parameter
# file $(3) (may be empty), output_dir $(4) and extra papermill arguments $(5). The
# kernel starts in the repository root, so relative paths in notebooks start there.
define execute_notebook
mkdir -p $(CONVERTED_DIR) $(dir $(2)) $(4)
$(BIN)/jupytext --quiet --to ipynb --set-kernel $(KERNEL) --output $(CONVERTED_DIR)/$(notdir $(2)) $(1)
MPLBACKEND=$(NOTEBOOK_MPLBACKEND) OMP_NUM_THREADS=$(NOTEBOOK_THREADS) $(BIN)/papermill --kernel $(KERNEL) --cwd $(CURDIR) \
	$(if $(3),--parameters_file $(3)) -p output_dir $(4) $(5) \
	$(CONVERTED_DIR)/$(notdir $(2)) $(2) \
	|| { echo "papermill failed; the partly executed notebook is $(2)" >&2; exit 1; }
endef

notebooks: $(EXECUTED_NOTEBOOKS)

# A notebook reruns when its source, its parameter file, srlib or PARAMS_DIR changes.
$(EXECUTED_DIR)/%.ipynb: $(NOTEBOOK_DIR)/%.py $$(wildcard $(PARAMS_DIR)/$$*.yaml) \
		$(SRLIB_SOURCES) $(PARAMS_STAMP) $(VENV_STAMP)
	$(call execute_notebook,$<,$(EXECUTING_DIR)/$*.ipynb,$(wildcard $(PARAMS_DIR)/$*.yaml),$(OUTPUT_DIR)/$*,$(BOOK_PAPERMILL_ARGS))
	mkdir -p $(EXECUTED_DIR)
	mv $(EXECUTING_DIR)/$*.ipynb $@

# Chapters 03 and 04 reuse the networks that 02_hh4b_training trains into the shared
# results folder, and 06_results reads every other chapter's results.json. These
# orders, and the one of 07_performance below, also hold under `make -j`.
$(EXECUTED_DIR)/03_eta_sensitivity.ipynb $(EXECUTED_DIR)/04_baseline_comparison.ipynb: \
	$(EXECUTED_DIR)/02_hh4b_training.ipynb
$(EXECUTED_DIR)/06_results.ipynb: \
	$(filter-out $(EXECUTED_DIR)/06_results.ipynb,$(EXECUTED_NOTEBOOKS))
# 07_performance times the machine, so it waits until the chapters that train have
# finished and left the cores free.
$(EXECUTED_DIR)/07_performance.ipynb: $(filter-out \
	$(EXECUTED_DIR)/06_results.ipynb $(EXECUTED_DIR)/07_performance.ipynb,$(EXECUTED_NOTEBOOKS))

$(PARAMS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo "$(PARAMS_DIR)" | cmp -s - $@ || echo "$(PARAMS_DIR)" > $@

# Rerun one notebook with the user's parameters. The run folder receives the
# executed notebook and, as output_dir, its figures and results.json.
notebook: $(VENV_STAMP)
	@test -n "$(NB)" || { echo "NB is not set: use make notebook NB=<name>, one of: $(NOTEBOOKS)" >&2; exit 2; }
	@test -f $(NOTEBOOK_DIR)/$(NB).py || { echo "$(NOTEBOOK_DIR)/$(NB).py not found; notebooks: $(NOTEBOOKS)" >&2; exit 2; }
	@test -z "$(PARAMS)" || test -f "$(PARAMS)" || { echo "PARAMS file $(PARAMS) not found" >&2; exit 2; }
	$(call execute_notebook,$(NOTEBOOK_DIR)/$(NB).py,$(RUN_DIR)/$(NB).ipynb,$(PARAMS),$(RUN_DIR),$(PAPERMILL_ARGS))
	@echo "Executed notebook and outputs: $(RUN_DIR)/"

# Pair each py:percent source with an .ipynb beside it (git ignores the .ipynb) and
# bring both up to date with whichever changed last. notebooks/jupytext.toml sets
# the pairing.
sync: $(VENV_STAMP)
	$(if $(NOTEBOOKS),$(BIN)/jupytext --sync $(NOTEBOOKS:%=$(NOTEBOOK_DIR)/%.py),@echo "No notebooks in $(NOTEBOOK_DIR)/")

# --- book --------------------------------------------------------------------------

# html does not depend on the notebooks, so that `make html` alone never executes
# them. A sub-make keeps the order with -j too.
book: notebooks
	$(MAKE) html

# The staged tree is flat, because _toc.yml entries are paths relative to the book
# root $(BOOK_SRC)/:
#   _config.yml                 copied from the repository root
#   _toc.yml, *.md, _ext/, ...  everything in book/
#   notebooks/NN_name.ipynb     the executed notebooks from $(EXECUTED_DIR)/
stage: $(VENV_STAMP)
	rm -rf $(BOOK_SRC)
	mkdir -p $(BOOK_SRC)/notebooks
	cp _config.yml $(BOOK_SRC)/
	cp -R book/. $(BOOK_SRC)/
	$(if $(wildcard $(EXECUTED_NOTEBOOKS)),cp $(wildcard $(EXECUTED_NOTEBOOKS)) $(BOOK_SRC)/notebooks/)

# -W turns warnings into errors and -n reports every unresolved reference. Jupyter
# Book does not execute anything (execute_notebooks: off in _config.yml).
html: stage
	$(BIN)/jupyter-book build $(BOOK_SRC) --path-output $(JB_OUTPUT) --builder html \
		-W -n --keep-going
	rm -rf $(HTML_DIR)
	cp -R $(JB_OUTPUT)/_build/html $(HTML_DIR)
	@echo "Book: $(HTML_DIR)/index.html"

# The book at the paper's sizes (n up to 1e6, 10 repeats), in its own build tree so
# that the default book stays as it is. Hours on a CPU; with a GPU the notebooks'
# device="auto" takes it. Chapters without a file in notebooks/params/paper/ run
# with the book's parameters. Chapters with an `executor` parameter run their repeats
# on EXECUTOR; the others ignore it.
reproduce: $(VENV_STAMP)
	@case "$(EXECUTOR)" in serial|dask-local|*://*) ;; \
		*) echo "EXECUTOR=$(EXECUTOR) is invalid: use serial, dask-local or a scheduler address such as tcp://host:8786" >&2; exit 2;; esac
	$(MAKE) book PARAMS_DIR=$(NOTEBOOK_DIR)/params/paper BUILD_DIR=$(BUILD_DIR)/paper \
		BOOK_PAPERMILL_ARGS='-p executor $(EXECUTOR)'

# --- checks ------------------------------------------------------------------------

# pytest exits with 5 when it collects no tests. That is an error here, because the
# suite is never empty on purpose.
test: $(VENV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { status=$$?; \
		if [ $$status -eq 5 ]; then echo "pytest collected no tests (PYTEST_ARGS='$(PYTEST_ARGS)')" >&2; fi; \
		exit $$status; }

lint: $(VENV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(VENV_STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

# --- publishing --------------------------------------------------------------------

# ghp-import commits $(HTML_DIR) to the local branch $(BRANCH), adds .nojekyll (-n)
# and pushes that branch to $(REMOTE) (-p). The push is not forced, so it fails if
# $(REMOTE) has commits on $(BRANCH) that the local branch lacks.
publish: $(GHP_IMPORT)
	@test -n "$(REMOTE)" || { echo "REMOTE is not set: use make publish REMOTE=<git url or path> [BRANCH=gh-pages]" >&2; exit 2; }
	@test -f $(HTML_DIR)/index.html || { echo "$(HTML_DIR)/index.html not found: run make book first" >&2; exit 2; }
	$(GHP_IMPORT) -n -p -r $(REMOTE) -b $(BRANCH) -m "$(PUBLISH_MESSAGE)" $(HTML_DIR)

# The default ghp-import comes with the environment. An overridden GHP_IMPORT that
# already exists needs no environment.
$(BIN)/ghp-import: $(VENV_STAMP)
	@:

# --- cleaning ----------------------------------------------------------------------

clean:
	rm -rf $(BUILD_DIR) .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)

FORCE:
