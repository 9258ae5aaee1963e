"""PyTorch side of the data pipeline benchmark (scripts/bench/run_loader_bench.sh).

Times what Dassl does for CoOp's train_x loader: a Dataset reading each file with
PIL and convert("RGB") (dassl.utils.read_image), torchvision's
RandomResizedCrop(224, scale=(0.08, 1), bicubic) + RandomHorizontalFlip +
ToTensor + Normalize(CLIP), and torch.utils.data.DataLoader with RandomSampler,
drop_last as Dassl decides it, and num_workers worker processes.

    python bench_loader.py DIR [--workers 2] [--batch 32] [--epochs 3] [--warmup 1]
        [--persistent-workers]

Prints one "RESULT torch images_per_sec=..." line for the driver.
"""

import argparse
import os
import time

import torch
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


class Folder(Dataset):
    """ImageFolder-like: every image in one folder, label = index % 10."""

    def __init__(self, root, transform):
        names = sorted(
            n for n in os.listdir(root) if n.lower().endswith((".jpg", ".jpeg", ".png"))
        )
        self.items = [(os.path.join(root, n), i % 10) for i, n in enumerate(names)]
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        path, label = self.items[idx]
        img = Image.open(path).convert("RGB")
        return {"img": self.transform(img), "label": label, "index": idx}


def profile(ds, tfm):
    """Single-threaded time per stage, as a DataLoader worker runs it."""
    torch.set_num_threads(1)  # what torch sets in each worker process
    rrc, flip, to_tensor, norm = tfm.transforms
    acc = dict.fromkeys(["decode", "crop+resize", "flip", "to-tensor", "normalise"], 0.0)
    for path, _ in ds.items:
        t0 = time.perf_counter()
        img = Image.open(path).convert("RGB")
        t1 = time.perf_counter()
        img = rrc(img)
        t2 = time.perf_counter()
        img = flip(img)
        t3 = time.perf_counter()
        x = to_tensor(img)
        t4 = time.perf_counter()
        norm(x)
        t5 = time.perf_counter()
        for k, dt in zip(acc, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            acc[k] += dt
    n = len(ds.items)
    parts = ", ".join(f"{k} {v * 1000 / n:.3f}" for k, v in acc.items())
    print(f"per image (ms, one thread): {parts}; total {sum(acc.values()) * 1000 / n:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--persistent-workers", action="store_true")
    ap.add_argument("--profile", action="store_true", help="per-stage time, one thread")
    args = ap.parse_args()

    tfm = T.Compose(
        [
            T.RandomResizedCrop(
                224, scale=(0.08, 1.0), interpolation=T.InterpolationMode.BICUBIC
            ),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )
    ds = Folder(args.dir, tfm)
    if args.profile:
        profile(ds, tfm)
        return
    torch.manual_seed(0)
    loader = DataLoader(
        ds,
        batch_size=args.batch,
        shuffle=True,
        num_workers=args.workers,
        drop_last=len(ds) >= args.batch,
        pin_memory=False,
        persistent_workers=args.persistent_workers and args.workers > 0,
    )
    per_epoch = len(loader) * min(args.batch, len(ds))

    def run():
        t0 = time.perf_counter()
        n = 0
        for batch in loader:
            n += batch["img"].shape[0]
        assert n == per_epoch, (n, per_epoch)
        return time.perf_counter() - t0

    for e in range(args.warmup):
        print(f"warm-up epoch {e}: {run():.3f} s", flush=True)
    total = 0.0
    for e in range(args.epochs):
        s = run()
        total += s
        print(f"epoch {e}: {s:.3f} s ({per_epoch / s:.1f} images/s)", flush=True)
    ips = per_epoch * args.epochs / total
    mode = "persistent" if args.persistent_workers else "default"
    print(
        f"RESULT torch images_per_sec={ips:.1f} images={len(ds)} batch={args.batch} "
        f"workers={args.workers} epochs={args.epochs} workers_mode={mode}"
    )


if __name__ == "__main__":
    main()
