#!/usr/bin/env bash
# OpenMP's wait policy (issue 15): a short demo-shaped sweep, `dassl run --sweep` with a
# toy world pretrained from scratch (STEPS steps, a fresh cache each time) and one CoOp run
# (ToyShapes, SHOTS shots, EPOCHS epochs, 2 loader workers), with OMP_WAIT_POLICY unset
# (libtorch's default: threads spin between parallel regions) and set to PASSIVE (what
# scripts/dassl sets). The two alternate, REPEATS times each; medians of wall seconds for
# the whole command and of the pretraining seconds the toy world records. Then the same
# command once more on the last (complete) output: a rerun reuses the world and skips runs.
#
#   REPEATS=3 STEPS=150 SHOTS=4 EPOCHS=5 scripts/bench/run_omp_bench.sh
#
# WORK (scratch folder). Writes $WORK/omp_bench.md and records it in results/benchmarks.md
# (RECORD=0 to skip).
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

REPEATS="${REPEATS:-3}"
STEPS="${STEPS:-150}"
SHOTS="${SHOTS:-4}"
EPOCHS="${EPOCHS:-5}"

sweep="$WORK/omp_bench.yaml"
cat >"$sweep" <<YAML
name: omp_bench
protocol: fewshot
toy_world: {seed: 1, steps: $STEPS}
output: $WORK/omp_out
datasets:
  - {key: toy_shapes, name: ToyShapes}
shots: [$SHOTS]
seeds: [1]
config: toy_vit
config_dir: CoOp
opts:
  DATALOADER.NUM_WORKERS: 2
trainers:
  CoOp:
    opts:
      OPTIM.MAX_EPOCH: $EPOCHS
      TRAINER.COOP.PREC: fp32
YAML
# One measurement: a fresh world cache, feature cache and output; prints "wall pretrain".
one() { # policy
    rm -rf "$WORK/omp_out" "$WORK/omp_cache" "$WORK/omp_features"
    local envs=(env -u OMP_WAIT_POLICY)
    [ "$1" = default ] || envs=(env OMP_WAIT_POLICY="$1")
    local wall pre
    wall="$(timed "$1" "$WORK/omp_$1.log" "${envs[@]}" DASSL_TOYWORLD_CACHE="$WORK/omp_cache" \
        DASSL_FEATURE_CACHE="$WORK/omp_features" "$DASSL" run --sweep "$sweep" --no-progress)"
    pre="$("$PY" -c 'import json, sys, glob
print("%.3f" % json.load(open(glob.glob(sys.argv[1] + "/*/toy_clip.json")[0]))["pretraining"]["seconds"])' "$WORK/omp_cache")"
    echo "$wall $pre"
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/omp_default.txt"
: >"$WORK/omp_passive.txt"
for _ in $(seq "$REPEATS"); do
    one default >>"$WORK/omp_default.txt"
    one PASSIVE >>"$WORK/omp_passive.txt"
done
rerun="$(timed rerun "$WORK/omp_rerun.log" env OMP_WAIT_POLICY=PASSIVE DASSL_TOYWORLD_CACHE="$WORK/omp_cache" \
    DASSL_FEATURE_CACHE="$WORK/omp_features" "$DASSL" run --sweep "$sweep" --no-progress)"
rerun_said="$(sed -n 's/^Time: [0-9]* s in all, //p' "$WORK/omp_rerun.log")"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
col() { cut -d' ' -f"$1" "$2" | median; }
every() { cut -d' ' -f"$1" "$2" | paste -sd' ' | sed 's/ /, /g'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
dw="$(col 1 "$WORK/omp_default.txt")"; pw="$(col 1 "$WORK/omp_passive.txt")"
dp="$(col 2 "$WORK/omp_default.txt")"; pp="$(col 2 "$WORK/omp_passive.txt")"
{
    echo "## Demo timing: OMP_WAIT_POLICY and a rerun (issue 15, cpu)"
    echo
    echo "A short demo-shaped sweep: \`dassl run --sweep\` pretraining a toy world from scratch"
    echo "($STEPS steps) and one CoOp run (ToyShapes, $SHOTS shots, $EPOCHS epochs, 2 loader workers),"
    echo "with OMP_WAIT_POLICY unset (libtorch's default) and PASSIVE (what scripts/dassl sets when"
    echo "the user has not), alternating, $REPEATS times each. Medians; every run in brackets."
    echo
    machine_lines
    echo "- Load average before/after: $load_before / $load_after"
    echo "- Command: \`REPEATS=$REPEATS STEPS=$STEPS SHOTS=$SHOTS EPOCHS=$EPOCHS scripts/bench/run_omp_bench.sh\`"
    echo "- Measured: $(date +%Y-%m-%d)"
    echo
    echo "| OMP_WAIT_POLICY | whole command, s | of which pretraining, s |"
    echo "|---|---:|---:|"
    echo "| unset | $dw ($(every 1 "$WORK/omp_default.txt")) | $dp ($(every 2 "$WORK/omp_default.txt")) |"
    echo "| PASSIVE | $pw ($(every 1 "$WORK/omp_passive.txt")) | $pp ($(every 2 "$WORK/omp_passive.txt")) |"
    echo "| unset / PASSIVE | $(ratio "$dw" "$pw") | $(ratio "$dp" "$pp") |"
    echo
    echo "The same command again on the complete output (PASSIVE): $rerun s; its summary says"
    echo "\"$rerun_said\""
} | tee "$WORK/omp_bench.md"
if [ "${RECORD:-1}" = 1 ]; then "$PY" scripts/bench/record.py results/benchmarks.md "$WORK/omp_bench.md"; fi
