#!/usr/bin/env bash
# CoOp base-to-new on the toy world, dassl-rs against CoOp's own train.py, seed for seed.
#
#   COOP_DIR=... DASSL_DIR=... scripts/compare/base2new_vs_python.sh [SIDE] [SEEDS] [OUT]
#
# SIDE: rust, python or both (default); SEEDS: "1 2 ... 20" (default 1-20); OUT: work folder
# (default compare_output/base2new). Each side trains CoOp (CTX_INIT "a photo of a", fp32,
# normalisation only, as the demo) on the base half of ToyShapes20 at 16 shots, then
# evaluates that model on the new half (CoCoOp's protocol). Accuracies go to
# OUT/<side>.csv; scripts/compare/summarize.py writes the comparison table.
# Needs the Python side's extra packages (yacs, tabulate, gdown, tensorboard, tqdm, scipy) on
# PYTHONPATH; CoOp and Dassl are not vendored (clone KaiyangZhou/CoOp and Dassl.pytorch).
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
activate_toolchain
cd "$DASSL_ROOT"
SIDE="${1:-both}"
SEEDS="${2:-$(seq -s ' ' 1 20)}"
OUT="${3:-compare_output/base2new}"
EPOCHS="${EPOCHS:-20}"
DATASET="${DATASET:-ToyShapes20}"
mkdir -p "$OUT"
world="$(target/release/dassl data toy-world 2>/dev/null | sed -n 's/^toy CLIP weights: //p')"
root="$(dirname "$world")/data"
[ -f "$world" ] || { say "error: no toy world"; exit 2; }
common=(DATASET.NAME "$DATASET" DATASET.NUM_SHOTS 16 MODEL.BACKBONE.NAME "$world"
    INPUT.SIZE "(32, 32)" INPUT.TRANSFORMS "['normalize']" OPTIM.LR 0.02
    OPTIM.MAX_EPOCH "$EPOCHS" TRAINER.COOP.PREC fp32 DATALOADER.NUM_WORKERS 0)
cfg="$DASSL_ROOT/configs/trainers/CoOp/vit_b16_ctxv1.yaml"
run_side() {
    local side="$1" seed="$2" dir="$OUT/$1/seed$2"
    local cmd
    if [ "$side" = rust ]; then cmd=(target/release/dassl train)
    else cmd=("$DASSL_PYTHON" scripts/compare/python_coop.py); fi
    rm -rf "$dir"
    "${cmd[@]}" --root "$root" --seed "$seed" --trainer CoOp --config-file "$cfg" \
        --output-dir "$PWD/$dir/base" "${common[@]}" DATASET.SUBSAMPLE_CLASSES base \
        >/dev/null 2>"$dir.err" || { say "$side seed $seed: base training failed (see $dir.err)"; return 1; }
    "${cmd[@]}" --root "$root" --seed "$seed" --trainer CoOp --config-file "$cfg" \
        --output-dir "$PWD/$dir/new" --eval-only --model-dir "$PWD/$dir/base" --load-epoch "$EPOCHS" \
        "${common[@]}" DATASET.SUBSAMPLE_CLASSES new \
        >/dev/null 2>>"$dir.err" || { say "$side seed $seed: new-class evaluation failed"; return 1; }
    local base new
    base="$(sed -n 's/^\* accuracy: \([0-9.]*\)%/\1/p' "$dir/base/log.txt" | tail -1)"
    new="$(sed -n 's/^\* accuracy: \([0-9.]*\)%/\1/p' "$dir/new/log.txt" | tail -1)"
    echo "$seed,$base,$new" >>"$OUT/$side.csv"
    say "$side seed $seed: base $base new $new"
}
for side in rust python; do
    [ "$SIDE" = both ] || [ "$SIDE" = "$side" ] || continue
    echo "seed,base,new" >"$OUT/$side.csv"
    for seed in $SEEDS; do mkdir -p "$OUT/$side"; run_side "$side" "$seed"; done
done
