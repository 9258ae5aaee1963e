"""Runs CoOp's own train.py (KaiyangZhou/CoOp + Dassl.pytorch, not vendored) on dassl-rs's
toy world, so the Rust port can be compared with the Python original run for run.

    COOP_DIR=/path/to/CoOp DASSL_DIR=/path/to/Dassl.pytorch \
        python scripts/compare/python_coop.py <train.py arguments>

What it adds to CoOp, and nothing else (besides two shims for torch 2.11: dropping
the `verbose` argument Dassl's warmup scheduler passes, and `weights_only=False` when Dassl
loads the checkpoints it wrote):
- the toy datasets ToyShapes/ToyShapes20 (read through CoOp's split-file path, exactly as
  OxfordPets reads its split, with the same few-shot sampling and base/new subsampling;
  the few-shot pickle cache is skipped so the Rust side's cache folder is left alone);
- MODEL.BACKBONE.NAME may be a weights file (OpenAI-key safetensors, as `dassl clip random`
  and the toy world write them): CoOp's load_clip_to_cpu only knows OpenAI's download names.
"""
import json
import os
import runpy
import sys

import numpy as np
import torch

COOP_DIR = os.environ["COOP_DIR"]
sys.path.insert(0, os.environ["DASSL_DIR"])
sys.path.insert(0, COOP_DIR)
os.chdir(COOP_DIR)

# Dassl's warmup schedulers pass `verbose` positionally, which torch >= 2.7 no longer takes;
# drop it (it only controls printing).
_lrs_init = torch.optim.lr_scheduler.LRScheduler.__init__


def _lrs_init_compat(self, optimizer, last_epoch=-1, verbose=None):
    _lrs_init(self, optimizer, last_epoch)


torch.optim.lr_scheduler.LRScheduler.__init__ = _lrs_init_compat

# Dassl's checkpoints pickle the warmup scheduler's successor object, which torch >= 2.6's
# default `weights_only=True` refuses; these are files this script just wrote.
_torch_load = torch.load


def _torch_load_trusted(*args, **kwargs):
    kwargs.setdefault("weights_only", False)
    return _torch_load(*args, **kwargs)


torch.load = _torch_load_trusted

from dassl.data.datasets import DATASET_REGISTRY, DatasetBase  # noqa: E402
from datasets.oxford_pets import OxfordPets  # noqa: E402
from clip import clip  # noqa: E402  (CoOp's bundled copy of OpenAI's clip)
import trainers.coop  # noqa: E402
import trainers.cocoop  # noqa: E402
import trainers.zsclip  # noqa: E402

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=_DTYPES[info["dtype"]])
        out[key] = t.reshape(info["shape"]).clone()
    return out


def load_clip_to_cpu(cfg):
    name = cfg.MODEL.BACKBONE.NAME
    if name in clip._MODELS:
        path = clip._download(clip._MODELS[name])
    else:
        path = name
    if path.endswith(".safetensors"):
        return clip.build_model(read_safetensors(path))
    try:
        model = torch.jit.load(path, map_location="cpu").eval()
        return clip.build_model(model.state_dict())
    except RuntimeError:
        return clip.build_model(torch.load(path, map_location="cpu"))


for module in (trainers.coop, trainers.cocoop, trainers.zsclip):
    module.load_clip_to_cpu = load_clip_to_cpu


def toy_dataset(name, folder):
    class Toy(DatasetBase):
        dataset_dir = folder

        def __init__(self, cfg):
            root = os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT))
            self.dataset_dir = os.path.join(root, folder)
            image_dir = os.path.join(self.dataset_dir, "images")
            split = os.path.join(self.dataset_dir, f"split_zhou_{name}.json")
            train, val, test = OxfordPets.read_split(split, image_dir)
            shots = cfg.DATASET.NUM_SHOTS
            if shots >= 1:
                train = self.generate_fewshot_dataset(train, num_shots=shots)
                val = self.generate_fewshot_dataset(val, num_shots=min(shots, 4))
            train, val, test = OxfordPets.subsample_classes(
                train, val, test, subsample=cfg.DATASET.SUBSAMPLE_CLASSES
            )
            super().__init__(train_x=train, val=val, test=test)

    Toy.__name__ = name
    DATASET_REGISTRY.register(Toy)


toy_dataset("ToyShapes", "toy_shapes")
toy_dataset("ToyShapes20", "toy_shapes20")

sys.argv = [os.path.join(COOP_DIR, "train.py")] + sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
