//! Exactness of the fast text paths: with every shortcut on and off, logits (fp32, logit
//! scale 100) agree within 1e-4 and the gradients to the context within 1e-5 relative, on
//! the tiny OpenAI fixtures and on random models with CLIP's text-tower shape.

use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use super::super::{Clip, ClipConfig, Precision, VisionConfig};
use super::{EotPositions, TextEncodeError, TextSpan};
use crate::clip::tokenizer::ClipTokenizer;

/// Logits bound (absolute, logit scale 100).
const LOGIT_TOL: f64 = 1e-4;
/// Gradient bound, relative to the largest entry.
const GRAD_TOL: f64 = 1e-5;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clip")
        .join(name)
}

/// The tensors OpenAI's code computed for the tiny `family` model (`make_clip.py`).
fn fixture_outputs(family: &str) -> std::collections::BTreeMap<String, Tensor> {
    Tensor::read_safetensors(fixture(&format!("tiny_{family}_ref.safetensors")))
        .unwrap()
        .into_iter()
        .collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    max_abs_diff(a, b) / b.abs().max().double_value(&[]).max(1e-30)
}

fn normalize(x: &Tensor) -> Tensor {
    x / x.linalg_norm(2.0, [-1i64].as_slice(), true, None::<Kind>)
}

/// `100 * normalise(img) @ normalise(txt).T`, CoOp's logits at CLIP's trained scale.
fn logits(img: &Tensor, txt: &Tensor) -> Tensor {
    normalize(img).matmul(&normalize(txt).tr()) * 100.0
}

/// A random fp32 model with the text tower of a released model and a tiny image tower.
fn random_text_model(released: &str, layers: Option<i64>, seed: i64) -> (VarStore, Clip) {
    let full = ClipConfig::released(released).unwrap();
    let cfg = ClipConfig {
        image_resolution: 32,
        vision: VisionConfig::Vit {
            layers: 1,
            width: 64,
            patch_size: 16,
        },
        transformer_layers: layers.unwrap_or(full.transformer_layers),
        ..full
    };
    let vs = VarStore::new(Device::Cpu);
    let clip = Clip::new(&vs.root(), &cfg, Precision::Fp32).unwrap();
    crate::clip::random::randomize(&vs, seed);
    (vs, clip)
}

/// CoOp-style prompts: token ids of "X X .. X <name>." and their embeddings.
struct Prompts {
    tokens: Tensor,
    embeddings: Tensor,
    name_lens: Vec<i64>,
}

const NAMES: [&str; 5] = [
    "cat",
    "golden retriever",
    "a very long class name with many words",
    "pizza",
    "x",
];

fn prompts(clip: &Clip, n_ctx: usize) -> Prompts {
    let tok = ClipTokenizer::new();
    let prefix = vec!["X"; n_ctx].join(" ");
    let texts: Vec<String> = NAMES.iter().map(|n| format!("{prefix} {n}.")).collect();
    let rows = tok.tokenize(&texts, 77, false).unwrap();
    let tokens = Tensor::from_slice(&rows.concat()).view([NAMES.len() as i64, -1]);
    let embeddings = tch::no_grad(|| clip.token_embedding(&tokens));
    let name_lens = NAMES.iter().map(|n| tok.encode(n).len() as i64).collect();
    Prompts {
        tokens,
        embeddings,
        name_lens,
    }
}

/// Features and the gradient of a cross-entropy loss to `ctx` for one way of encoding.
fn run(ctx: &Tensor, img: &Tensor, encode: impl Fn(&Tensor) -> Tensor) -> (Tensor, Tensor) {
    let ctx = ctx.detach().copy().set_requires_grad(true);
    let txt = encode(&ctx);
    let out = logits(img, &txt);
    let labels = Tensor::arange(img.size()[0], (Kind::Int64, Device::Cpu)).remainder(txt.size()[0]);
    out.cross_entropy_for_logits(&labels).backward();
    (out.detach(), ctx.grad().copy())
}

fn assert_close(what: &str, a: &(Tensor, Tensor), reference: &(Tensor, Tensor)) {
    let (dl, dg) = (
        max_abs_diff(&a.0, &reference.0),
        rel_err(&a.1, &reference.1),
    );
    eprintln!("{what}: logits {dl:.2e}, ctx gradient {dg:.2e} relative");
    assert!(dl < LOGIT_TOL, "{what}: logits differ by {dl:.3e}");
    assert!(dg < GRAD_TOL, "{what}: ctx gradients differ by {dg:.3e}");
}

/// CoOp's prompt assembly for each class-token position: `[N, 77, D]`.
fn assemble(p: &Prompts, ctx: &Tensor, n_ctx: i64, position: &str) -> Tensor {
    let n = p.tokens.size()[0];
    let ctx = if ctx.dim() == 2 {
        ctx.unsqueeze(0).expand([n, -1, -1], false)
    } else {
        ctx.shallow_clone()
    };
    let e = &p.embeddings;
    let sos = e.narrow(1, 0, 1);
    let suffix = e.narrow(1, 1 + n_ctx, 76 - n_ctx);
    if position == "end" {
        return Tensor::cat(&[&sos, &ctx, &suffix], 1);
    }
    let rows: Vec<Tensor> = (0..n)
        .map(|i| {
            let len = p.name_lens[i as usize];
            let s = suffix.narrow(0, i, 1);
            let (class, rest) = (s.narrow(1, 0, len), s.narrow(1, len, 76 - n_ctx - len));
            let c = ctx.narrow(0, i, 1);
            let half = n_ctx / 2;
            if position == "middle" {
                let (a, b) = (c.narrow(1, 0, half), c.narrow(1, half, n_ctx - half));
                Tensor::cat(&[&sos.narrow(0, i, 1), &a, &class, &b, &rest], 1)
            } else {
                Tensor::cat(&[&sos.narrow(0, i, 1), &class, &c, &rest], 1)
            }
        })
        .collect();
    Tensor::cat(&rows, 0)
}

/// Every CoOp prompt layout on one model: truncation for all, the shared prefix for the
/// generic context at the end and in the middle.
fn check_coop_layouts(clip: &Clip, label: &str) {
    tch::manual_seed(3);
    let n_ctx = 4;
    let p = prompts(clip, n_ctx as usize);
    let eot = EotPositions::of(&p.tokens);
    let n = p.tokens.size()[0];
    let width = clip.config().transformer_width;
    let img = Tensor::randn([3, clip.config().embed_dim], (Kind::Float, Device::Cpu));
    let full = |prompts: Tensor| clip.encode_prompts_over(&prompts, &eot, TextSpan::Full);
    let short = |prompts: Tensor| clip.encode_prompts(&prompts, &eot);
    let generic = Tensor::randn([n_ctx, width], (Kind::Float, Device::Cpu)) * 0.02;
    let csc = Tensor::randn([n, n_ctx, width], (Kind::Float, Device::Cpu)) * 0.02;
    for position in ["end", "middle", "front"] {
        for (kind, ctx) in [("generic", &generic), ("CSC", &csc)] {
            let what = format!("{label} {position} {kind}");
            let reference = run(ctx, &img, |c| full(assemble(&p, c, n_ctx, position)));
            let truncated = run(ctx, &img, |c| short(assemble(&p, c, n_ctx, position)));
            assert_close(&format!("{what} truncated"), &truncated, &reference);
            if kind == "CSC" || position == "front" {
                continue;
            }
            // Generic context: SOS plus the context before the class name is shared.
            let shared_len = if position == "end" {
                1 + n_ctx
            } else {
                1 + n_ctx / 2
            };
            let shared = run(ctx, &img, |c| {
                let all = assemble(&p, c, n_ctx, position);
                let prefix = all.narrow(0, 0, 1).narrow(1, 0, shared_len);
                let suffixes = all.narrow(1, shared_len, 77 - shared_len);
                clip.encode_text_shared_prefix(&prefix, &suffixes, &eot)
                    .unwrap()
            });
            assert_close(&format!("{what} shared prefix"), &shared, &reference);
        }
    }
}

#[test]
fn coop_layouts_are_exact_on_the_tiny_openai_models() {
    let _rng = crate::testing::torch_rng();
    for family in ["rn", "vit"] {
        let path = fixture(&format!("tiny_{family}.safetensors"));
        let (_vs, clip) = Clip::load(path, Device::Cpu, Precision::Fp32).unwrap();
        check_fixture_prompts(&clip, family);
    }
}

/// The fixtures' own CoOp prompts (`make_clip.py`: "X X X X <class>.", ids remapped into
/// their 1000-id vocabulary) with truncation on and off, and through the shared prefix.
fn check_fixture_prompts(clip: &Clip, family: &str) {
    let r = fixture_outputs(family);
    let tokens = &r["prompt_tokens"];
    let eot = EotPositions::of(tokens);
    assert!(eot.span() < 77, "the fixture prompts are padded");
    let img = tch::no_grad(|| clip.encode_image(&r["images"]));
    let embeddings = &r["prompts"];
    let n_ctx = 4;
    let ctx = embeddings.get(0).narrow(0, 1, n_ctx);
    let splice = |c: &Tensor| {
        let n = embeddings.size()[0];
        Tensor::cat(
            &[
                embeddings.narrow(1, 0, 1),
                c.unsqueeze(0).expand([n, -1, -1], false),
                embeddings.narrow(1, 1 + n_ctx, 76 - n_ctx),
            ],
            1,
        )
    };
    let reference = run(&ctx, &img, |c| {
        clip.encode_prompts_over(&splice(c), &eot, TextSpan::Full)
    });
    let truncated = run(&ctx, &img, |c| clip.encode_prompts(&splice(c), &eot));
    assert_close(&format!("tiny {family} truncated"), &truncated, &reference);
    let shared = run(&ctx, &img, |c| {
        let all = splice(c);
        clip.encode_text_shared_prefix(
            &all.narrow(0, 0, 1).narrow(1, 0, 1 + n_ctx),
            &all.narrow(1, 1 + n_ctx, 76 - n_ctx),
            &eot,
        )
        .unwrap()
    });
    assert_close(&format!("tiny {family} shared prefix"), &shared, &reference);
    // Token ids: encode_tokens stops at the last EOT, encode_text is OpenAI's computation.
    let _guard = tch::no_grad_guard();
    let txt = clip.encode_tokens(&r["tokens"]);
    let full = clip.encode_text(&r["tokens"]);
    let d = max_abs_diff(&logits(&img, &txt), &logits(&img, &full));
    eprintln!("tiny {family} encode_tokens: logits {d:.2e}");
    assert!(d < LOGIT_TOL, "tiny {family} encode_tokens: {d:.3e}");
}

/// In half precision the fast paths are off (they would round CoOp's fp16 numbers apart):
/// encode_prompts and encode_tokens are OpenAI's full computation, bit for bit.
#[test]
fn half_precision_encodes_every_position() {
    for family in ["rn", "vit"] {
        let path = fixture(&format!("tiny_{family}.safetensors"));
        let (_vs, clip) = Clip::load(path, Device::Cpu, Precision::Fp16).unwrap();
        assert!(!clip.text_fast_paths());
        let r = fixture_outputs(family);
        let tokens = &r["prompt_tokens"];
        let eot = EotPositions::of(tokens);
        let prompts = &r["prompts"];
        let _guard = tch::no_grad_guard();
        let full = clip.encode_prompts_over(prompts, &eot, TextSpan::Full);
        assert!(clip.encode_prompts(prompts, &eot).equal(&full), "{family}");
        assert!(
            clip.encode_tokens(&r["tokens"])
                .equal(&clip.encode_text(&r["tokens"])),
            "{family}"
        );
    }
}

#[test]
fn coop_layouts_are_exact_on_a_random_tiny_model() {
    let _rng = crate::testing::torch_rng();
    let (_vs, clip) = random_text_model("RN50", Some(2), 5);
    check_coop_layouts(&clip, "random RN50-text 2 layers");
}

#[test]
fn coop_layouts_are_exact_on_a_random_clip_shaped_text_tower() {
    let _rng = crate::testing::torch_rng();
    // RN50's and ViT-B/16's text tower (width 512, 8 heads), 6 of its 12 layers: depth
    // does not change what is exact, and each layer costs seconds on a small CPU.
    let (_vs, clip) = random_text_model("RN50", Some(6), 11);
    check_coop_layouts(&clip, "random RN50 (6 layers)");
}

/// CoCoOp: one context per image (`ctx + meta_net(image)`), every class name after it; the
/// shared-prefix path (one group per image) against the full prompts of every pair.
#[test]
fn cocoop_image_conditioned_prefixes_are_exact() {
    let _rng = crate::testing::torch_rng();
    let (_vs, clip) = random_text_model("ViT-B/16", Some(3), 21);
    tch::manual_seed(4);
    let n_ctx = 4;
    let p = prompts(&clip, n_ctx as usize);
    let eot = EotPositions::of(&p.tokens);
    let n = p.tokens.size()[0];
    let width = clip.config().transformer_width;
    let groups = 3;
    let bias = Tensor::randn([groups, 1, width], (Kind::Float, Device::Cpu)) * 0.02;
    let img = Tensor::randn(
        [groups, clip.config().embed_dim],
        (Kind::Float, Device::Cpu),
    );
    let ctx = Tensor::randn([n_ctx, width], (Kind::Float, Device::Cpu)) * 0.02;
    // Logits of image g against its own class prompts, as CoCoOp computes them.
    let per_image = |txt: Tensor| {
        let txt = txt.view([groups, n, -1]);
        let rows: Vec<Tensor> = (0..groups)
            .map(|g| logits(&img.narrow(0, g, 1), &txt.get(g)))
            .collect();
        Tensor::cat(&rows, 0)
    };
    let run_cocoop = |encode: &dyn Fn(&Tensor) -> Tensor| {
        let c = ctx.copy().set_requires_grad(true);
        let out = per_image(encode(&c));
        let labels = Tensor::from_slice(&[0i64, 2, 4]);
        out.cross_entropy_for_logits(&labels).backward();
        (out.detach(), c.grad().copy())
    };
    let shifted = |c: &Tensor| c.unsqueeze(0) + &bias; // [G, n_ctx, D]
    let sos = p.embeddings.narrow(1, 0, 1);
    let suffix = p.embeddings.narrow(1, 1 + n_ctx, 76 - n_ctx);
    let reference = run_cocoop(&|c: &Tensor| {
        let s = shifted(c);
        let all: Vec<Tensor> = (0..groups)
            .map(|g| {
                let ctx_g = s.get(g).unsqueeze(0).expand([n, -1, -1], false);
                Tensor::cat(&[&sos, &ctx_g, &suffix], 1)
            })
            .collect();
        let tokens = p.tokens.repeat([groups, 1]);
        clip.encode_prompts_over(
            &Tensor::cat(&all, 0),
            &EotPositions::of(&tokens),
            TextSpan::Full,
        )
    });
    let shared = run_cocoop(&|c: &Tensor| {
        let prefix = Tensor::cat(
            &[
                sos.narrow(0, 0, 1).expand([groups, 1, width], false),
                shifted(c),
            ],
            1,
        );
        clip.encode_text_shared_prefix(&prefix, &suffix, &eot)
            .unwrap()
    });
    assert_close("CoCoOp shared prefix", &shared, &reference);
}

#[test]
fn the_shared_prefix_refuses_prompts_that_do_not_share_it() {
    let _rng = crate::testing::torch_rng();
    let (_vs, clip) = random_text_model("RN50", Some(1), 1);
    let p = prompts(&clip, 2);
    let eot = EotPositions::of(&p.tokens);
    let e = &p.embeddings;
    // The shortest prompt's EOT ("X X x.") is at 5: a 6-position prefix would hold it.
    let err = clip
        .encode_text_shared_prefix(
            &e.narrow(0, 0, 1).narrow(1, 0, 6),
            &e.narrow(1, 6, 71),
            &eot,
        )
        .unwrap_err();
    assert!(
        matches!(err, TextEncodeError::EotInPrefix { prefix: 6, .. }),
        "{err}"
    );
    let err = clip
        .encode_text_shared_prefix(&e.narrow(0, 0, 1).narrow(1, 0, 3), &e.narrow(1, 3, 3), &eot)
        .unwrap_err();
    assert!(matches!(err, TextEncodeError::EotBeyondEnd { .. }), "{err}");
    let err = clip
        .encode_text_shared_prefix(
            &e.narrow(1, 0, 3),
            &e.narrow(0, 0, 2).narrow(1, 3, 74),
            &eot,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            TextEncodeError::Shape {
                what: "suffixes",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn eot_positions_are_read_once() {
    let tokens = Tensor::from_slice(&[1i64, 5, 9, 0, 1, 9, 0, 0]).view([2, 4]);
    let eot = EotPositions::of(&tokens);
    assert_eq!((eot.count(), eot.first(), eot.span()), (2, 1, 3));
    assert_eq!(Vec::<i64>::try_from(eot.index()).unwrap(), [2, 1]);
}
