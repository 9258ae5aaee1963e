#!/usr/bin/env bash
# Where one CoOp training step's time goes (issue 13), dassl-rs only: `bench_step
# --breakdown` times the image encoder's forward and the text encoder's forward and
# backward for CoOp's end-generic prompts through the shared prefix (CoOp's path), to the
# last EOT only (the path of front and CSC) and over all 77 positions (what Python CoOp
# computes, on the same libtorch), on random weights of each model's shape, fp32, CPU.
#
#   MODELS="RN50 ViT-B/16" CLASSES=100 BATCH=4 ITERS=2 THREADS=2 scripts/bench/run_step_breakdown.sh
#
# OMP_POLICY as in run_step_bench.sh (PASSIVE, or "default" to leave OMP_WAIT_POLICY
# unset); WORK (scratch folder). Writes $WORK/step_breakdown.md and records it in
# results/benchmarks.md (RECORD=0 to skip).
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

MODELS="${MODELS:-RN50 ViT-B/16}"
CLASSES="${CLASSES:-100}"
BATCH="${BATCH:-4}"
ITERS="${ITERS:-2}"
THREADS="${THREADS:-$(nproc)}"
OMP_POLICY="${OMP_POLICY:-PASSIVE}"
BIN="${BENCH_STEP_BIN:-$DASSL_ROOT/target/release/examples/bench_step}"
if [ -z "${BENCH_STEP_BIN:-}" ]; then
    say "building the bench program"
    nice cargo build --release -p dassl-trainers --example bench_step --quiet
fi
envs=(env -u OMP_WAIT_POLICY)
[ "$OMP_POLICY" = default ] || envs=(env OMP_WAIT_POLICY="$OMP_POLICY")

RESULTS="$WORK/step_breakdown.jsonl"
: >"$RESULTS"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for model in $MODELS; do
    "${envs[@]}" "$BIN" "$(random_weights "$model")" --breakdown --label "$model" \
        --classes "$CLASSES" --batch "$BATCH" --iters "$ITERS" --threads "$THREADS" | tee -a "$RESULTS"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
{
    echo "## Where a CoOp training step's time goes (issue 13, cpu)"
    echo
    echo "dassl-rs alone (\`bench_step --breakdown\`): the parts of one CoOp step with a generic"
    echo "context and the class token at the end, each timed alone on CLIP's own functions, fp32,"
    echo "random weights of each shape, random images, class names \"class 0\" .. \"class N-1\","
    echo "N_CTX 16, CLIP frozen; median of $ITERS calls, OMP_WAIT_POLICY ${OMP_POLICY/default/unset}, $THREADS threads. The"
    echo "text rows are forward and backward (the gradient reaches the context). \"All 77"
    echo "positions\" is the computation Python CoOp does at every step; \"shared prefix\" is"
    echo "dassl-rs's; the image encoder runs the same kernels on both sides."
    echo
    machine_lines
    echo "- Load average before/after: $load_before / $load_after"
    echo "- Command: \`MODELS=\"$MODELS\" CLASSES=$CLASSES BATCH=$BATCH ITERS=$ITERS THREADS=$THREADS OMP_POLICY=$OMP_POLICY scripts/bench/run_step_breakdown.sh\`"
    echo "- Measured: $(date +%Y-%m-%d)"
    echo
    "$PY" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| model | classes | batch | part | wall s | CPU s | CPU share of dassl-rs's step |")
print("|---|---:|---:|---|---:|---:|---:|")
by_model = {}
for r in rows:
    by_model.setdefault(r["model"], {})[r["part"]] = r
for model, parts in by_model.items():
    image = parts["image encoder, forward"]["cpu_s"]
    shared = parts["text encoder, shared prefix, forward + backward"]["cpu_s"]
    step = max(image + shared, 0.01)  # CPU time is counted in 10 ms ticks
    for part, r in parts.items():
        in_step = part in ("image encoder, forward", "text encoder, shared prefix, forward + backward")
        share = f"{100 * r['cpu_s'] / step:.0f}%" if in_step else "-"
        print(f"| {model} (random) | {r['classes']} | {r['batch']} | {part} | {r['median_s']:.3f} | {r['cpu_s']:.3f} | {share} |")
print()
for model, parts in by_model.items():
    full = parts["text encoder, all 77 positions, forward + backward"]["cpu_s"]
    shared = parts["text encoder, shared prefix, forward + backward"]["cpu_s"]
    image = parts["image encoder, forward"]["cpu_s"]
    shared = max(shared, 0.01)
    print(f"- {model}: the text encoder over all 77 positions takes {full / shared:.1f}x the CPU time of the"
          f" shared-prefix path; image encoder plus all 77 positions (Python CoOp's step, less the"
          f" optimizer) over image encoder plus shared prefix (dassl-rs's): {(image + full) / (image + shared):.1f}x.")
PY
} >"$WORK/step_breakdown.md"
cat "$WORK/step_breakdown.md"
if [ "${RECORD:-1}" = 1 ]; then "$PY" scripts/bench/record.py results/benchmarks.md "$WORK/step_breakdown.md"; fi
