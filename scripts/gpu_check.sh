#!/usr/bin/env bash
# Issue 13's benchmarks on a CUDA machine in one go (about 7 minutes on one GPU), printed
# as one table: one CoOp training step (RN50 / ViT-B/16 shapes, 100 classes, end, middle,
# front, CSC; one point at 1000 classes), a CoCoOp step (batch 1, 100 classes) with peak
# memory, evaluation of a 1000-image split (first and repeated), and a 24-run toy sweep;
# each against the Python side in the same run.
#
# On the build machine (Rust toolchain):   scripts/gpu_check.sh --build
#   builds and strips target/release/dassl and target/release/examples/bench_step.
# On the CUDA machine, from the repository root:   scripts/gpu_check.sh [OUT]
#   uses those binaries with the machine's own torch (python3, or BENCH_PYTHON) and writes
#   OUT/gpu_check.md (default gpu_check_output/); record it here with
#   scripts/bench/record.py results/benchmarks.md OUT/gpu_check.md
# The Python side needs OpenAI's clip (clip-anytorch, or COOP_DIR naming a CoOp checkout:
# it bundles clip/); COOP_DIR, DASSL_DIR and Dassl's packages (yacs, tabulate, ...) on
# PYTHONPATH add the Python sides of the evaluation and sweep rows (skipped without them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = --build ]; then
    source scripts/env.sh
    activate_toolchain
    cargo build --release --quiet
    cargo build --release -p dassl-trainers --example bench_step --quiet
    strip target/release/dassl target/release/examples/bench_step
    ls -la target/release/dassl target/release/examples/bench_step
    exit 0
fi
OUT="$(mkdir -p "${1:-gpu_check_output}" && cd "${1:-gpu_check_output}" && pwd)"
export BENCH_PYTHON="${BENCH_PYTHON:-python3}"
export DASSL_BIN="$ROOT/target/release/dassl" BENCH_STEP_BIN="$ROOT/target/release/examples/bench_step"
for b in "$DASSL_BIN" "$BENCH_STEP_BIN"; do
    [ -x "$b" ] || { echo "missing $b: run scripts/gpu_check.sh --build on the build machine" >&2; exit 2; }
done
# The binaries load this machine's libtorch (searched before the build machine's RUNPATH).
TORCH_LIB="$("$BENCH_PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
"$BENCH_PYTHON" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"'
"$DASSL_BIN" doctor | tee "$OUT/doctor.txt"
export WORK="$OUT/work" DEVICE=cuda RECORD=0 DASSL_TOYWORLD_CACHE="$OUT/toyworld"
mkdir -p "$WORK"
t0=$(date +%s)
# fp32: dassl-rs's text-encoder shortcuts are off in half precision (they would round
# CoOp's fp16 numbers apart, docs/SPEED.md); PREC=fp16, CoOp's default, times the same
# full computation on both sides.
PREC="${PREC:-fp32}" BATCH=32 ITERS=5 WARMUP=2 scripts/bench/run_step_bench.sh >"$OUT/step.log" 2>&1 \
    || echo "step benchmark failed: see $OUT/step.log" >&2
scripts/bench/run_eval_bench.sh >"$OUT/eval.log" 2>&1 || echo "eval benchmark failed: see $OUT/eval.log" >&2
EPOCHS="${EPOCHS:-5}" WORKERS=4 scripts/bench/run_sweep_bench.sh >"$OUT/sweep.log" 2>&1 \
    || echo "sweep benchmark failed: see $OUT/sweep.log" >&2
{
    echo "## GPU check (issue 13)"
    echo
    echo "\`scripts/gpu_check.sh\` on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $(( $(date +%s) - t0 )) s in all."
    for part in step_bench eval_bench sweep_bench; do
        if [ -f "$WORK/$part.md" ]; then
            echo
            sed '1s/^## /### /' "$WORK/$part.md"
        fi
    done
} >"$OUT/gpu_check.md"
cat "$OUT/gpu_check.md"
