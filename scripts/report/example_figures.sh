#!/usr/bin/env bash
# Draws the example figures of docs/SWEEPS.md from the CoOp output tree of the report test
# (dassl-rs/tests/fixtures/report/coop_output, made by make_coop_tree.py) with the
# published numbers beside them: docs/figures/example_fewshot.png (CoOp's Figure 3
# layout) and docs/figures/example_fewshot_base2new.png (the base-to-new bar chart).
# Usage: scripts/report/example_figures.sh [path/to/dassl]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DASSL="${1:-target/release/dassl}"
"$DASSL" report dassl-rs/tests/fixtures/report/coop_output \
    --paper results/paper/coop_fewshot.csv \
    --paper results/paper/cocoop_base2new.csv \
    --plot docs/figures/example_fewshot.png > /dev/null
