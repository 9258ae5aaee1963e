#!/usr/bin/env bash
# Data pipeline benchmark: dassl-rs's DataLoader against torch.utils.data.DataLoader
# with torchvision transforms, on the same N generated JPEGs (500x375, quality 90),
# the same worker count and CoOp's train pipeline (RandomResizedCrop 224 bicubic,
# flip, to-tensor, CLIP normalisation, batch 32). One warm-up epoch, then EPOCHS
# timed epochs per side; each side runs REPEATS times, alternating, and the best
# run counts (other processes on a shared machine only ever slow a run down).
# Writes the "## Data pipeline (issue 4)" section of results/benchmarks.md.
#
#   N=512 WORKERS=2 EPOCHS=3 REPEATS=2 scripts/bench/run_loader_bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
activate_toolchain
cd "$DASSL_ROOT"

N="${N:-512}"
WORKERS="${WORKERS:-2}"
EPOCHS="${EPOCHS:-3}"
REPEATS="${REPEATS:-2}"
BATCH=32
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say "generating $N JPEGs (500x375, quality 90) in $WORK/images"
"$DASSL_PYTHON" - "$WORK/images" "$N" <<'EOF'
import os, sys
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
rng = np.random.default_rng(0)
for i in range(n):
    # Smooth low-frequency colour field + a few soft shapes + sensor-like noise:
    # close enough to photos for JPEG decode and resize costs.
    base = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((500, 375), Image.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, 450)), int(rng.integers(0, 330))
        x1, y1 = x0 + int(rng.integers(20, 200)), y0 + int(rng.integers(20, 150))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=fill)
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    arr = np.asarray(img).astype(np.int16) + rng.normal(0, 6, size=(375, 500, 3)).astype(np.int16)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
        os.path.join(out, f"{i:05d}.jpg"), quality=90
    )
EOF

say "building the bench program"
nice cargo build --release -p dassl-rs --example bench_loader --quiet
BIN="$DASSL_ROOT/target/release/examples/bench_loader"

RUST_CMD=("$BIN" "$WORK/images" --workers "$WORKERS" --batch "$BATCH" --epochs "$EPOCHS" --warmup 1)
TORCH_CMD=("$DASSL_PYTHON" scripts/bench/bench_loader.py "$WORK/images" --workers "$WORKERS" --batch "$BATCH" --epochs "$EPOCHS" --warmup 1)

best() { sort -g | tail -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
runs() { paste -sd' ' - | sed 's/ /, /g'; }
rate() { sed -n 's/^RESULT .*images_per_sec=\([0-9.]*\).*/\1/p'; }
: >"$WORK/rust" ; : >"$WORK/torch" ; : >"$WORK/torch_p"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPEATS"); do
    say "run $r/$REPEATS: dassl-rs"
    "${RUST_CMD[@]}" | tee /dev/stderr | rate >>"$WORK/rust"
    say "run $r/$REPEATS: PyTorch (Dassl's default: workers restart every epoch)"
    "${TORCH_CMD[@]}" | tee /dev/stderr | rate >>"$WORK/torch"
    say "run $r/$REPEATS: PyTorch with persistent_workers=True"
    "${TORCH_CMD[@]}" --persistent-workers | tee /dev/stderr | rate >>"$WORK/torch_p"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
say "per-stage profile, one thread"
PROF_RUST="$("$BIN" "$WORK/images" --profile | sed -n 's/^per image (ms, one thread): //p')"
PROF_TORCH="$("${TORCH_CMD[@]}" --profile | sed -n 's/^per image (ms, one thread): //p')"
echo "dassl-rs: $PROF_RUST" >&2
echo "PyTorch:  $PROF_TORCH" >&2
RUST="$(best <"$WORK/rust")"
TORCH="$(best <"$WORK/torch")"
TORCH_P="$(best <"$WORK/torch_p")"
RUST_MED="$(median <"$WORK/rust")"
TORCH_MED="$(median <"$WORK/torch")"
TORCH_P_MED="$(median <"$WORK/torch_p")"
RATIO_MED="$(awk -v a="$RUST_MED" -v b="$TORCH_MED" 'BEGIN { printf "%.2f", a / b }')"
RATIO="$(awk -v a="$RUST" -v b="$TORCH" 'BEGIN { printf "%.2f", a / b }')"
RATIO_P="$(awk -v a="$RUST" -v b="$TORCH_P" 'BEGIN { printf "%.2f", a / b }')"
printf 'dassl-rs %s images/s, PyTorch %s images/s (persistent workers %s): ratio %sx (%sx)\n' \
    "$RUST" "$TORCH" "$TORCH_P" "$RATIO" "$RATIO_P"

CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
# mozjpeg-sys builds libjpeg-turbo's SIMD code only when nasm was there (scripts/env.sh).
if command -v nasm >/dev/null; then NASM="SIMD: nasm $(nasm -v | awk '{print $3}') on PATH"; else NASM="no nasm: C code only"; fi
VERSIONS="$("$DASSL_PYTHON" -c 'import torch, torchvision, PIL; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__}")')"
SECTION="$WORK/section.md"
cat >"$SECTION" <<EOF
## Data pipeline (issue 4)

CoOp's training pipeline (decode JPEG, RandomResizedCrop 224 bicubic with scale (0.08, 1),
horizontal flip, to-tensor, CLIP normalisation, batches of $BATCH, RandomSampler, drop_last)
over $N generated 500x375 JPEGs (quality 90), $WORKERS workers on both sides, one warm-up
epoch then $EPOCHS timed epochs; best of $REPEATS alternating runs per side.

- Machine: $(nproc) cores, $CPU; load average before/after: $LOAD_BEFORE / $LOAD_AFTER
  (a shared machine: other jobs slow both sides)
- Software: $VERSIONS; dassl-rs release build (libjpeg-turbo's decoder via mozjpeg, $NASM; Pillow-exact decode and resize)
- Command: \`N=$N WORKERS=$WORKERS EPOCHS=$EPOCHS REPEATS=$REPEATS scripts/bench/run_loader_bench.sh\`
- Measured: $(date -u +%Y-%m-%d)

| loader | best images/s | median | every run | dassl-rs speed-up (best) |
|---|---:|---:|---|---:|
| dassl-rs \`DataLoader\` (rayon pool, 2-batch prefetch) | $RUST | $RUST_MED | $(runs <"$WORK/rust") | 1.00x |
| torch DataLoader, Dassl's settings (workers restart each epoch) | $TORCH | $TORCH_MED | $(runs <"$WORK/torch") | ${RATIO}x (median ${RATIO_MED}x) |
| torch DataLoader, \`persistent_workers=True\` | $TORCH_P | $TORCH_P_MED | $(runs <"$WORK/torch_p") | ${RATIO_P}x |

Where a sample's time goes, one thread, milliseconds per image (\`bench_loader --profile\`,
\`bench_loader.py --profile\`):

- dassl-rs: $PROF_RUST
- PyTorch/PIL: $PROF_TORCH

Reading: the ratio moves with the machine's load (these runs shared 2 cores with other
jobs; see the spread of every run). Per sample, JPEG decoding (libjpeg-turbo on both
sides, bit-identical output) and the Pillow-exact crop+resize cost no more than PIL's;
the speed-up comes from what surrounds them: no worker processes restarted each epoch, no
pickling or shared-memory hand-off and no collate copy (samples are written straight into
one float buffer per batch, which becomes one tensor), and to-tensor+normalise in one pass.
The next lever is SIMD in data/resize.rs: crop+resize is about half of a sample's time.
EOF

# Replace only our own section (up to the next "## " heading), keep the rest.
"$DASSL_PYTHON" - results/benchmarks.md "$SECTION" <<'EOF'
import os, re, sys
path, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n") + "\n"
head = "# Benchmarks\n\nPerformance measurements of dassl-rs against the Python originals.\n"
text = open(path).read() if os.path.exists(path) else head
pat = re.compile(r"^## Data pipeline \(issue 4\)\n.*?(?=^## |\Z)", re.S | re.M)
if pat.search(text):
    text = pat.sub(lambda m: section + ("\n" if m.group(0).endswith("\n\n") else ""), text, count=1)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
EOF
say "wrote results/benchmarks.md"
