"""CPU throughput of CLIP's image and text encoders under PyTorch (issue 3 item 7).

The reference side of scripts/bench/run_clip_bench.sh: loads the same .safetensors
as dassl-rs's bench_clip example into OpenAI's `clip.model.build_model` (clip-anytorch),
fp32, eval, and times encode_image / encode_text exactly as the Rust side does
(same batch sizes, warm-up, median of the timed iterations).

Usage: bench_clip.py WEIGHTS.safetensors [--label NAME] [--image-batch B]
       [--text-batch T] [--iters N] [--warmup W] [--threads K]
"""
import argparse
import json
import struct
import time

import numpy as np
import torch


def load_safetensors(path):
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        pass
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64,
              "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=dtypes[info["dtype"]], count=(end - start) // np.dtype(dtypes[info["dtype"]]).itemsize, offset=start)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def time_it(warmup, iters, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights")
    p.add_argument("--label", default="model")
    p.add_argument("--image-batch", type=int, default=8)
    p.add_argument("--text-batch", type=int, default=100)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    import clip
    from clip.model import build_model

    model = build_model(load_safetensors(a.weights)).float().eval()
    res = model.visual.input_resolution
    prompts = [f"a photo of a class{i}." for i in range(a.text_batch)]
    tokens = clip.tokenize(prompts, context_length=model.context_length)
    images = torch.randn(a.image_batch, 3, res, res)

    def report(encoder, batch, secs):
        print(json.dumps({"side": "pytorch", "model": a.label, "encoder": encoder,
                          "batch": batch, "iters": a.iters, "median_s": round(secs, 6),
                          "per_s": round(batch / secs, 3)}, separators=(",", ":")), flush=True)

    with torch.no_grad():
        report("image", a.image_batch, time_it(a.warmup, a.iters, lambda: model.encode_image(images)))
        report("text", a.text_batch, time_it(a.warmup, a.iters, lambda: model.encode_text(tokens)))


if __name__ == "__main__":
    main()
