#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job on the embedded default.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
activate_toolchain
build_release
cd "$DASSL_ROOT"
DASSL="$DASSL_ROOT/target/release/dassl"
set -x
"$DASSL" doctor
"$DASSL" list trainers
"$DASSL" list backbones
"$DASSL" config show --dataset-config-file configs/datasets/eurosat.yaml \
    --config-file configs/trainers/CoOp/rn50_ep50.yaml TRAINER.COOP.N_CTX 4
