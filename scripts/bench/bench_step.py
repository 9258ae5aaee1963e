"""One CoOp or CoCoOp training step (forward, backward, SGD) under PyTorch: the Python side
of scripts/bench/run_step_bench.sh (issue 13).

CoOp's `PromptLearner`, `TextEncoder` and `CustomCLIP` (trainers/coop.py) and CoCoOp's
(trainers/cocoop.py), re-implemented line for line on OpenAI's CLIP (clip-anytorch's
`clip.model.build_model`, the same random weights as the dassl-rs side), with Dassl's
training step: SGD (momentum 0.9, weight decay 5e-4) over the prompt learner, zero_grad,
backward, step, then `loss.item()` (and CoOp's accuracy), as `forward_backward` does.
Images are random; class names are "class 0" .. "class N-1" on both sides.

Usage: bench_step.py WEIGHTS.safetensors --trainer CoOp|CoCoOp [--classes 100]
       [--batch 32] [--position end] [--csc] [--n-ctx 16] [--prec fp32] [--device cpu]
       [--iters 3] [--warmup 1] [--threads 2] [--label NAME]
Prints one JSON line: median wall and CPU (process_time) seconds per step, peak resident
memory (ru_maxrss) and, on CUDA, torch.cuda.max_memory_allocated; or, when an allocation
fails, "error": "out of memory" and the peak memory reached.
"""
import argparse
import json
import os
import resource
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from bench_clip import load_safetensors


class TextEncoder(nn.Module):
    def __init__(self, clip_model):
        super().__init__()
        self.transformer = clip_model.transformer
        self.positional_embedding = clip_model.positional_embedding
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection
        self.dtype = clip_model.dtype

    def forward(self, prompts, tokenized_prompts):
        x = prompts + self.positional_embedding.type(self.dtype)
        x = x.permute(1, 0, 2)
        x = self.transformer(x)
        x = x.permute(1, 0, 2)
        x = self.ln_final(x).type(self.dtype)
        x = x[torch.arange(x.shape[0]), tokenized_prompts.argmax(dim=-1)] @ self.text_projection
        return x


def prompt_buffers(module, clip_model, classnames, prompt_prefix, n_ctx):
    import clip
    from clip.simple_tokenizer import SimpleTokenizer

    dtype = clip_model.dtype
    tok = SimpleTokenizer()
    classnames = [name.replace("_", " ") for name in classnames]
    module.name_lens = [len(tok.encode(name)) for name in classnames]
    prompts = [prompt_prefix + " " + name + "." for name in classnames]
    device = clip_model.token_embedding.weight.device
    tokenized = torch.cat([clip.tokenize(p) for p in prompts]).to(device)
    with torch.no_grad():
        embedding = clip_model.token_embedding(tokenized).type(dtype)
    module.register_buffer("token_prefix", embedding[:, :1, :])
    module.register_buffer("token_suffix", embedding[:, 1 + n_ctx:, :])
    module.n_cls = len(classnames)
    module.n_ctx = n_ctx
    module.tokenized_prompts = tokenized


class CoOpPromptLearner(nn.Module):
    def __init__(self, a, classnames, clip_model):
        super().__init__()
        dtype = clip_model.dtype
        ctx_dim = clip_model.ln_final.weight.shape[0]
        shape = (len(classnames), a.n_ctx, ctx_dim) if a.csc else (a.n_ctx, ctx_dim)
        ctx_vectors = torch.empty(*shape, dtype=dtype)
        nn.init.normal_(ctx_vectors, std=0.02)
        self.ctx = nn.Parameter(ctx_vectors.to(clip_model.token_embedding.weight.device))
        prompt_buffers(self, clip_model, classnames, " ".join(["X"] * a.n_ctx), a.n_ctx)
        self.class_token_position = a.position

    def forward(self):
        ctx = self.ctx
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(self.n_cls, -1, -1)
        prefix = self.token_prefix
        suffix = self.token_suffix
        if self.class_token_position == "end":
            return torch.cat([prefix, ctx, suffix], dim=1)
        prompts = []
        half_n_ctx = self.n_ctx // 2
        for i in range(self.n_cls):
            name_len = self.name_lens[i]
            prefix_i = prefix[i : i + 1, :, :]
            class_i = suffix[i : i + 1, :name_len, :]
            suffix_i = suffix[i : i + 1, name_len:, :]
            if self.class_token_position == "middle":
                ctx_i_half1 = ctx[i : i + 1, :half_n_ctx, :]
                ctx_i_half2 = ctx[i : i + 1, half_n_ctx:, :]
                prompt = torch.cat([prefix_i, ctx_i_half1, class_i, ctx_i_half2, suffix_i], dim=1)
            else:
                ctx_i = ctx[i : i + 1, :, :]
                prompt = torch.cat([prefix_i, class_i, ctx_i, suffix_i], dim=1)
            prompts.append(prompt)
        return torch.cat(prompts, dim=0)


class CoOpCustomCLIP(nn.Module):
    def __init__(self, a, classnames, clip_model):
        super().__init__()
        self.prompt_learner = CoOpPromptLearner(a, classnames, clip_model)
        self.tokenized_prompts = self.prompt_learner.tokenized_prompts
        self.image_encoder = clip_model.visual
        self.text_encoder = TextEncoder(clip_model)
        self.logit_scale = clip_model.logit_scale
        self.dtype = clip_model.dtype

    def forward(self, image):
        image_features = self.image_encoder(image.type(self.dtype))
        prompts = self.prompt_learner()
        text_features = self.text_encoder(prompts, self.tokenized_prompts)
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        logit_scale = self.logit_scale.exp()
        return logit_scale * image_features @ text_features.t()


class CoCoOpPromptLearner(nn.Module):
    def __init__(self, a, classnames, clip_model):
        super().__init__()
        dtype = clip_model.dtype
        ctx_dim = clip_model.ln_final.weight.shape[0]
        vis_dim = clip_model.visual.output_dim
        device = clip_model.token_embedding.weight.device
        ctx_vectors = torch.empty(a.n_ctx, ctx_dim, dtype=dtype)
        nn.init.normal_(ctx_vectors, std=0.02)
        self.ctx = nn.Parameter(ctx_vectors.to(device))
        self.meta_net = nn.Sequential(OrderedDict([
            ("linear1", nn.Linear(vis_dim, vis_dim // 16)),
            ("relu", nn.ReLU(inplace=True)),
            ("linear2", nn.Linear(vis_dim // 16, ctx_dim)),
        ])).to(device)
        if a.prec == "fp16":
            self.meta_net.half()
        prompt_buffers(self, clip_model, classnames, " ".join(["X"] * a.n_ctx), a.n_ctx)

    def forward(self, im_features):
        prefix = self.token_prefix
        suffix = self.token_suffix
        bias = self.meta_net(im_features).unsqueeze(1)
        ctx_shifted = self.ctx.unsqueeze(0) + bias
        prompts = []
        for ctx_shifted_i in ctx_shifted:
            ctx_i = ctx_shifted_i.unsqueeze(0).expand(self.n_cls, -1, -1)
            prompts.append(torch.cat([prefix, ctx_i, suffix], dim=1))
        return torch.stack(prompts)


class CoCoOpCustomCLIP(nn.Module):
    def __init__(self, a, classnames, clip_model):
        super().__init__()
        self.prompt_learner = CoCoOpPromptLearner(a, classnames, clip_model)
        self.tokenized_prompts = self.prompt_learner.tokenized_prompts
        self.image_encoder = clip_model.visual
        self.text_encoder = TextEncoder(clip_model)
        self.logit_scale = clip_model.logit_scale
        self.dtype = clip_model.dtype

    def forward(self, image, label=None):
        logit_scale = self.logit_scale.exp()
        image_features = self.image_encoder(image.type(self.dtype))
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        prompts = self.prompt_learner(image_features)
        logits = []
        for pts_i, imf_i in zip(prompts, image_features):
            text_features = self.text_encoder(pts_i, self.tokenized_prompts)
            text_features = text_features / text_features.norm(dim=-1, keepdim=True)
            logits.append(logit_scale * imf_i @ text_features.t())
        logits = torch.stack(logits)
        if self.prompt_learner.training:
            return F.cross_entropy(logits, label)
        return logits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights")
    p.add_argument("--trainer", default="CoOp", choices=["CoOp", "CoCoOp"])
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--position", default="end", choices=["end", "middle", "front"])
    p.add_argument("--csc", action="store_true")
    p.add_argument("--n-ctx", type=int, default=16)
    p.add_argument("--prec", default="fp32", choices=["fp16", "fp32", "amp"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--label", default="model")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    try:
        import clip  # noqa: F401  (clip-anytorch, or CoOp's bundled copy below)
    except ImportError:
        if not os.environ.get("COOP_DIR"):
            sys.exit("bench_step.py needs OpenAI's clip: pip's clip-anytorch, or COOP_DIR "
                     "naming a CoOp checkout (it bundles clip/)")
        sys.path.insert(0, os.environ["COOP_DIR"])
    from clip.model import build_model

    device = torch.device(a.device)
    # build_model converts to fp16 (OpenAI's convert_weights); CoOp calls .float() for fp32/amp.
    clip_model = build_model(load_safetensors(a.weights))
    if a.prec in ("fp32", "amp"):
        clip_model.float()
    clip_model = clip_model.to(device)
    classnames = [f"class {i}" for i in range(a.classes)]
    cls = CoOpCustomCLIP if a.trainer == "CoOp" else CoCoOpCustomCLIP
    model = cls(a, classnames, clip_model).to(device)
    for name, param in model.named_parameters():
        if "prompt_learner" not in name:
            param.requires_grad_(False)
    optim = torch.optim.SGD(model.prompt_learner.parameters(), lr=0.002, momentum=0.9,
                            weight_decay=5e-4, dampening=0, nesterov=False)
    scaler = torch.amp.GradScaler("cuda") if a.prec == "amp" else None
    res = clip_model.visual.input_resolution
    torch.manual_seed(0)
    images = torch.randn(a.batch, 3, res, res).to(device)
    labels = torch.randint(a.classes, (a.batch,)).to(device)

    def step():
        # CoOp's / CoCoOp's forward_backward.
        if a.trainer == "CoOp":
            if scaler is not None:
                with torch.autocast("cuda"):
                    output = model(images)
                    loss = F.cross_entropy(output, labels)
                optim.zero_grad()
                scaler.scale(loss).backward()
                scaler.step(optim)
                scaler.update()
            else:
                output = model(images)
                loss = F.cross_entropy(output, labels)
                optim.zero_grad()
                loss.backward()
                optim.step()
            loss.item()
            (output.argmax(1) == labels).float().mean().item()
        else:
            if scaler is not None:
                with torch.autocast("cuda"):
                    loss = model(images, labels)
                optim.zero_grad()
                scaler.scale(loss).backward()
                scaler.step(optim)
                scaler.update()
            else:
                loss = model(images, labels)
                optim.zero_grad()
                loss.backward()
                optim.step()
            loss.item()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times = [], []
    out = {"side": "pytorch", "trainer": a.trainer, "model": a.label, "classes": a.classes,
           "batch": a.batch, "position": a.position, "csc": a.csc, "prec": a.prec,
           "device": device.type, "iters": a.iters}
    try:
        for i in range(a.warmup + a.iters):
            t, c = time.perf_counter(), time.process_time()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= a.warmup:
                times.append(time.perf_counter() - t)
                cpu_times.append(time.process_time() - c)
    except (RuntimeError, MemoryError) as e:
        # An allocation refused under the caller's memory limit (run_step_bench.sh's
        # BIG_MEM_GB): recorded as such, not as a time.
        if "memory" not in str(e).lower():
            raise
        out["error"] = "out of memory"
    if not out.get("error"):
        out["median_s"] = round(float(np.median(times)), 6)
        out["cpu_s"] = round(float(np.median(cpu_times)), 6)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if device.type == "cuda":
        out["cuda_peak_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(out, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
