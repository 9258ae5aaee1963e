//! CoOp's `interpret_prompt.py`: the vocabulary words nearest to each learned context vector.
//!
//! Learned context vectors live in CLIP's word-embedding space but need not be words; the
//! nearest rows of `token_embedding.weight` by Euclidean distance (`torch.cdist`, sorted
//! ascending, first `topk`) are CoOp's way of reading them.

use std::fmt::Write as _;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::clip::tokenizer::ClipTokenizer;
use crate::engine::checkpoint;
use crate::errors::EngineError;

/// For each row of `ctx` (`[n_ctx, D]`), the `topk` nearest rows of `token_embedding`
/// (`[vocab, D]`) as `(vocabulary string, Euclidean distance)`, nearest first. Both are compared
/// in fp32, as CoOp does (`ctx.float()`; its CLIP token embedding is fp32).
pub fn interpret(ctx: &Tensor, token_embedding: &Tensor, topk: usize) -> Vec<Vec<(String, f64)>> {
    let tok = ClipTokenizer::new();
    let ctx = ctx
        .to_kind(Kind::Float)
        .to_device(Device::Cpu)
        .reshape([-1, ctx.size().last().copied().unwrap_or(0)]);
    let emb = token_embedding.to_kind(Kind::Float).to_device(Device::Cpu);
    // torch.cdist's default compute mode, so the distances match CoOp's to the last digit.
    let distance = Tensor::cdist(&ctx, &emb, 2.0, None);
    let k = (topk as i64).min(distance.size()[1]);
    let sorted = distance.argsort(1, false).narrow(1, 0, k);
    (0..distance.size()[0])
        .map(|m| {
            (0..k)
                .map(|j| {
                    let id = sorted.int64_value(&[m, j]);
                    // CoOp prints `tokenizer.decoder[id]`, the raw BPE string ("photo</w>").
                    // An id outside CLIP's vocabulary (a non-CLIP embedding) still gets a name.
                    let word = tok
                        .token_str(id)
                        .map_or_else(|| format!("<{id}>"), str::to_string);
                    (word, distance.double_value(&[m, id]))
                })
                .collect()
        })
        .collect()
}

/// The `ctx` tensor of a prompt-learner checkpoint (`model.pth.tar-N`,
/// `model-best.pth.tar`: dassl-rs's, CoOp's released ones, or dassl-rs 0.1's), read as
/// CoOp's `interpret_prompt.py` does: `torch.load(fpath)["state_dict"]["ctx"]`.
pub fn load_context(path: &Path) -> Result<Tensor, EngineError> {
    let loaded = checkpoint::load_file(path).map_err(|e| EngineError::Invalid(e.to_string()))?;
    loaded
        .tensors
        .into_iter()
        .find(|(k, _)| k == "ctx")
        .map(|(_, t)| t)
        .ok_or_else(|| {
            EngineError::Invalid(format!(
                "{} holds no `ctx` tensor (not a CoOp/CoCoOp prompt learner)",
                path.display()
            ))
        })
}

/// `dassl interpret`: reads the checkpoint and CLIP's `token_embedding.weight` and returns
/// CoOp's printout (`m: [words] [distances]`, one line per context vector).
pub fn run(checkpoint: &Path, backbone: &str, topk: usize) -> Result<String, EngineError> {
    let clip_err = |e: crate::clip::weights::ClipError| EngineError::Invalid(e.to_string());
    let mut out = String::new();
    let _ = writeln!(out, "Return the top-{topk} matched words");
    let weights_path = crate::clip::resolve_weights(backbone).map_err(clip_err)?;
    let weights =
        crate::clip::weights::WeightMap::load(&weights_path, Device::Cpu).map_err(clip_err)?;
    let token_embedding = weights.get("token_embedding.weight").map_err(clip_err)?;
    let _ = writeln!(out, "Size of token embedding: {:?}", token_embedding.size());
    let ctx = load_context(checkpoint)?;
    let _ = writeln!(out, "Size of context: {:?}", ctx.size());
    if ctx.dim() != 2 {
        // CoOp raises NotImplementedError for class-specific (CSC) contexts too.
        return Err(EngineError::Invalid(format!(
            "{}: ctx has shape {:?}; only a generic context [n_ctx, D] can be interpreted (class-specific contexts are not, as in CoOp)",
            checkpoint.display(),
            ctx.size()
        )));
    }
    if ctx.size()[1] != token_embedding.size()[1] {
        return Err(EngineError::Invalid(format!(
            "ctx width {} does not match {backbone}'s token embedding width {}; pass the backbone the prompt was trained with",
            ctx.size()[1],
            token_embedding.size()[1]
        )));
    }
    let _ = writeln!(
        out,
        "Size of distance matrix: [{}, {}]",
        ctx.size()[0],
        token_embedding.size()[0]
    );
    for (m, row) in interpret(&ctx, token_embedding, topk).iter().enumerate() {
        let words: Vec<String> = row.iter().map(|(w, _)| py_repr(w)).collect();
        let dists: Vec<String> = row.iter().map(|(_, d)| format!("'{d:.4}'")).collect();
        let _ = writeln!(
            out,
            "{}: [{}] [{}]",
            m + 1,
            words.join(", "),
            dists.join(", ")
        );
    }
    Ok(out)
}

/// Python's `repr` of a str (single quotes unless the text holds one and no double
/// quote), so the lines read like CoOp's printed lists.
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five 2-d "word" vectors; ids 0..4 are CLIP's byte tokens `!`, `"`, `#`, `$`, `%`.
    fn embedding() -> Tensor {
        Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0, 0.0, 1.0, 3.0, 3.0, -2.0, 0.0]).view([5, 2])
    }

    #[test]
    fn nearest_words_by_euclidean_distance() {
        let ctx = Tensor::from_slice(&[0.9f32, 0.1, 2.5, 3.0]).view([2, 2]);
        let got = interpret(&ctx, &embedding(), 3);
        let words: Vec<Vec<&str>> = got
            .iter()
            .map(|r| r.iter().map(|(w, _)| w.as_str()).collect())
            .collect();
        assert_eq!(words, [vec!["\"", "!", "#"], vec!["$", "#", "\""]]);
        let want = [
            [0.02f64.sqrt(), 0.82f64.sqrt(), 1.62f64.sqrt()],
            [0.5, 10.25f64.sqrt(), 11.25f64.sqrt()],
        ];
        for (row, want_row) in got.iter().zip(want) {
            for ((_, d), w) in row.iter().zip(want_row) {
                assert!((d - w).abs() < 1e-6, "{d} vs {w}");
            }
        }
        // topk larger than the vocabulary returns the whole vocabulary; fp16 input is fine.
        assert_eq!(
            interpret(&ctx.to_kind(Kind::Half), &embedding(), 10)[0].len(),
            5
        );
    }

    #[test]
    fn load_context_reads_a_safetensors_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.pth.tar-2");
        let ctx = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([2, 2]);
        let prefix = Tensor::zeros([3, 1, 2], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("ctx", &ctx), ("token_prefix", &prefix)], &path).unwrap();
        assert!(load_context(&path).unwrap().equal(&ctx));
        Tensor::write_safetensors(&[("token_prefix", &prefix)], &path).unwrap();
        assert!(load_context(&path).is_err());
    }

    #[test]
    fn run_prints_one_line_per_context_vector() {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("model.pth.tar-1");
        let ctx = Tensor::from_slice(&[0.9f32, 0.1, 2.5, 3.0]).view([2, 2]);
        Tensor::write_safetensors(&[("ctx", &ctx)], &ckpt).unwrap();
        let clip = dir.path().join("clip.safetensors");
        Tensor::write_safetensors(&[("token_embedding.weight", &embedding())], &clip).unwrap();
        let out = run(&ckpt, clip.to_str().unwrap(), 2).unwrap();
        assert!(out.contains("1: ['\"', '!'] ['0.1414', '0.9055']"), "{out}");
        assert!(out.contains("2: ['$', '#'] ['0.5000', '3.2016']"), "{out}");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\\b\u{b}"), "'a\\\\b\\x0b'");
    }

    /// CoOp's `interpret_prompt.py` (lines 36-60, the CLIP download replaced by a given
    /// embedding) on a checkpoint `engine::checkpoint::save` wrote prints what `run` prints.
    /// Ids 0..94 are the printable ASCII byte tokens; the vocabulary strings of the other
    /// ids are compared with `SimpleTokenizer.decoder` by the tokenizer's own test.
    const INTERPRET_PROMPT: &str = r#"
import sys, torch
from clip.simple_tokenizer import SimpleTokenizer
fpath, emb_path, topk = sys.argv[1], sys.argv[2], 5
tokenizer = SimpleTokenizer()
token_embedding = torch.load(emb_path)["token_embedding.weight"]
prompt_learner = torch.load(fpath, map_location="cpu")["state_dict"]
ctx = prompt_learner["ctx"]
ctx = ctx.float()
if ctx.dim() == 2:
    distance = torch.cdist(ctx, token_embedding)
    sorted_idxs = torch.argsort(distance, dim=1)
    sorted_idxs = sorted_idxs[:, :topk]
    for m, idxs in enumerate(sorted_idxs):
        words = [tokenizer.decoder[idx.item()] for idx in idxs]
        dist = [f"{distance[m, idx].item():.4f}" for idx in idxs]
        print(f"{m+1}: {words} {dist}")
"#;

    #[test]
    fn interpret_prompt_py_reads_our_checkpoints_and_agrees() {
        let _rng = crate::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        tch::manual_seed(7);
        let ctx = Tensor::randn([3, 4], (Kind::Float, Device::Cpu));
        let emb = Tensor::randn([94, 4], (Kind::Float, Device::Cpu));
        let tensors = [
            ("ctx".to_string(), ctx.shallow_clone()),
            (
                "token_prefix".to_string(),
                Tensor::zeros([2, 1, 4], (Kind::Half, Device::Cpu)),
            ),
        ];
        let ckpt = checkpoint::Checkpoint {
            epoch: 50,
            tensors: &tensors,
            optimizer: None,
            scheduler: None,
            scaler: None,
            val_result: None,
            identity: None,
            progress: None,
        };
        let path = checkpoint::save(&dir.path().join("prompt_learner"), &ckpt, false).unwrap();
        assert!(load_context(&path).unwrap().equal(&ctx));
        let clip = dir.path().join("clip.safetensors");
        Tensor::write_safetensors(&[("token_embedding.weight", &emb)], &clip).unwrap();
        let ours = run(&path, clip.to_str().unwrap(), 5).unwrap();
        let ours: Vec<&str> = ours
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(ours.len(), 3, "{ours:?}");
        let emb_file = dir.path().join("emb.pt");
        let mut storages = crate::torchfile::Storages::new();
        let value = crate::torchfile::Value::str_dict([(
            "token_embedding.weight",
            storages.tensor(&emb).unwrap(),
        )]);
        crate::torchfile::save(&emb_file, &value, &storages).unwrap();
        let Some(theirs) =
            crate::torchfile::tests::run_python(INTERPRET_PROMPT, &[&path, &emb_file])
        else {
            return;
        };
        assert_eq!(theirs.lines().collect::<Vec<_>>(), ours);
    }
}
