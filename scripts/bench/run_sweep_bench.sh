#!/usr/bin/env bash
# A toy few-shot sweep (issue 13): `dassl run` on a sweep file against CoOp's bash loop
# (scripts/coop/main.sh's shape: one `python train.py` per run, here through
# scripts/compare/python_coop.py), the same runs on both sides: CoOp on the toy world's
# ToyShapes, SHOTS x SEEDS x class-token positions (4 x 3 x 2 = 24 runs by default), EPOCHS
# epochs each, then the test split (as main.sh). Both sides run one run at a time; the
# dassl side starts with an empty feature cache. Whole wall time of each side.
#
#   COOP_DIR=... DASSL_DIR=... PYTHONPATH=... scripts/bench/run_sweep_bench.sh
#
# SHOTS "1 2 4 8"; SEEDS "1 2 3"; POSITIONS "end middle"; EPOCHS 10; WORKERS 2; DEVICE
# cpu|cuda; WORK. Writes $WORK/sweep_bench.md.
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

SHOTS="${SHOTS:-1 2 4 8}"
SEEDS="${SEEDS:-1 2 3}"
POSITIONS="${POSITIONS:-end middle}"
EPOCHS="${EPOCHS:-10}"
WORKERS="${WORKERS:-2}"
DEVICE="${DEVICE:-cpu}"

world="$("$DASSL" data toy-world 2>/dev/null | sed -n 's/^toy CLIP weights: //p')"
root="$(dirname "$world")/data"
[ -f "$world" ] || { say "error: no toy world"; exit 2; }
use_cuda=False
[ "$DEVICE" = cuda ] && use_cuda=True
list() { echo "$1" | tr ' ' ','; }
n_runs=$(( $(wc -w <<<"$SHOTS") * $(wc -w <<<"$SEEDS") * $(wc -w <<<"$POSITIONS") ))
sweep="$WORK/sweep_bench.yaml"
cat >"$sweep" <<YAML
name: sweep_bench
protocol: fewshot
root: $root
output: $WORK/sweep_rust
datasets:
  - {key: toy_shapes, name: ToyShapes}
shots: [$(list "$SHOTS")]
seeds: [$(list "$SEEDS")]
config: rn50
config_dir: CoOp
opts:
  INPUT.SIZE: "(32, 32)"
  INPUT.TRANSFORMS: "['normalize']"
  MODEL.BACKBONE.NAME: $world
  DATALOADER.NUM_WORKERS: $WORKERS
  OPTIM.LR: 0.02
  OPTIM.MAX_EPOCH: $EPOCHS
  TRAINER.COOP.PREC: fp32
  USE_CUDA: $use_cuda
trainers:
  CoOp:
    variants:
      TRAINER.COOP.N_CTX: [16]
      TRAINER.COOP.CSC: [False]
      TRAINER.COOP.CLASS_TOKEN_POSITION: [$(list "$POSITIONS")]
YAML
rm -rf "$WORK/sweep_rust" "$WORK/sweep_python" "$WORK/sweep_feature_cache"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
rust="$(timed rust "$WORK/sweep_rust.log" env DASSL_FEATURE_CACHE="$WORK/sweep_feature_cache" \
    nice "$DASSL" run --sweep "$sweep")"
python_loop() {
    for shots in $SHOTS; do for seed in $SEEDS; do for pos in $POSITIONS; do
        nice "$PY" scripts/compare/python_coop.py --root "$root" --seed "$seed" --trainer CoOp \
            --config-file "$COOP_DIR/configs/trainers/CoOp/rn50.yaml" \
            --output-dir "$WORK/sweep_python/${shots}shots/$pos/seed$seed" \
            DATASET.NAME ToyShapes DATASET.NUM_SHOTS "$shots" MODEL.BACKBONE.NAME "$world" \
            INPUT.SIZE "(32, 32)" INPUT.TRANSFORMS "['normalize']" OPTIM.LR 0.02 \
            OPTIM.MAX_EPOCH "$EPOCHS" TRAINER.COOP.PREC fp32 TRAINER.COOP.N_CTX 16 \
            TRAINER.COOP.CSC False TRAINER.COOP.CLASS_TOKEN_POSITION "$pos" \
            DATALOADER.NUM_WORKERS "$WORKERS" USE_CUDA "$use_cuda" || return 1
    done; done; done
}
python="skipped (set COOP_DIR, DASSL_DIR and PYTHONPATH for CoOp's train.py)"
if python_coop_ready; then
    python="$(timed python "$WORK/sweep_python.log" python_loop)"
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
# Mean test accuracy over the runs of each side, from each run's log.
mean_acc() {
    find "$1" -name log.txt -print0 2>/dev/null | xargs -0 -r sed -n 's/^\* accuracy: \([0-9.]*\)%/\1/p' \
        | awk '{ s += $1; n++ } END { if (n) printf "%.2f%% (%d runs)", s / n, n; else print "-" }'
}
ratio() { awk -v p="$1" -v r="$2" 'BEGIN { if (p + 0 > 0) printf "%.1fx", p / r; else print "-" }'; }
{
    echo "## Toy few-shot sweep (issue 13, $DEVICE)"
    echo
    echo "CoOp on the toy world's ToyShapes (its pretrained toy CLIP, 32 px), shots $SHOTS x seeds"
    echo "$SEEDS x class token $POSITIONS ($n_runs runs, $EPOCHS epochs, then the test split): CoOp's"
    echo "bash loop of \`train.py\` (one Python process per run, as scripts/coop/main.sh) against"
    echo "one \`dassl run --sweep\` (one run at a time, starting with an empty feature cache)."
    echo
    machine_lines
    echo "- Load average before/after: $load_before / $load_after"
    echo "- Command: \`SHOTS=\"$SHOTS\" SEEDS=\"$SEEDS\" POSITIONS=\"$POSITIONS\" EPOCHS=$EPOCHS WORKERS=$WORKERS DEVICE=$DEVICE scripts/bench/run_sweep_bench.sh\`"
    echo "- Measured: $(date +%Y-%m-%d)"
    echo
    echo "| side | runs | wall seconds | mean test accuracy | speed-up |"
    echo "|---|---:|---:|---:|---:|"
    echo "| CoOp's bash loop of train.py (Python) | $n_runs | $python | $(mean_acc "$WORK/sweep_python") | 1.0x |"
    echo "| dassl run --sweep | $n_runs | $rust | $(mean_acc "$WORK/sweep_rust") | $(ratio "$python" "$rust") |"
} | tee "$WORK/sweep_bench.md"
if [ "${RECORD:-1}" = 1 ]; then "$PY" scripts/bench/record.py results/benchmarks.md "$WORK/sweep_bench.md"; fi
