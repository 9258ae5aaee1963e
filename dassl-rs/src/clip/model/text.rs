//! The text tower, doing only the work that reaches the output.
//!
//! CLIP's text transformer is causal and CLIP reads one row per prompt, the one at its EOT
//! token. So positions after the last EOT of a batch never influence any output: the
//! tower runs over the shortest prefix that holds every EOT ([`TextSpan::ToLastEot`]).
//! And when every prompt of a batch starts with the same embeddings (CoOp's generic
//! context with the class token at the end: `[SOS] ctx_1..ctx_M`), those positions have
//! the same hidden states in every prompt at every layer: [`Clip::encode_text_shared_prefix`]
//! computes them once and lets each prompt's own tokens attend to them, as a key/value
//! cache does; the gradient flows back through the shared part once. Both are exact up to
//! floating-point summation order (tested against the full computation in this module).

use tch::{Device, Kind, Tensor};

use super::deep::Replace;
use super::{attend, Clip, Precision, ResidualAttentionBlock};

/// A prompt batch that the shared-prefix path cannot encode.
#[derive(Debug, thiserror::Error)]
pub enum TextEncodeError {
    /// A tensor does not have the shape the call needs.
    #[error("{what} must be {expected}, got shape {got:?}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// The shape it needs, in words.
        expected: String,
        /// Its shape.
        got: Vec<i64>,
    },
    /// Some prompt's EOT falls inside the shared prefix, so the prompts do not share it.
    #[error("a prompt's EOT is at position {eot}, inside the shared prefix of {prefix} positions")]
    EotInPrefix {
        /// The earliest EOT position.
        eot: i64,
        /// Prefix length.
        prefix: i64,
    },
    /// Some prompt's EOT lies beyond the positions given or the model's context length.
    #[error("a prompt's EOT is at position {eot}, beyond the {length} positions available")]
    EotBeyondEnd {
        /// The last EOT position.
        eot: i64,
        /// Prefix plus suffix length (or the context length, if smaller).
        length: i64,
    },
}

/// Where each prompt's EOT token is: CLIP's `tokens.argmax(-1)` (the EOT id is the
/// vocabulary's largest). Built once per prompt set, so encoding the same prompts at
/// every step reads nothing back from the device.
#[derive(Debug)]
pub struct EotPositions {
    /// `[N]` int64 positions, on the tokens' device.
    index: Tensor,
    /// The earliest and the latest position (host copies).
    first: i64,
    last: i64,
}

impl EotPositions {
    /// The EOT positions of token ids `[N, L]` (one read back to the host).
    pub fn of(tokens: &Tensor) -> EotPositions {
        let index = tokens.argmax(-1, false);
        let host = index.to_device(Device::Cpu);
        let (first, last) = if index.numel() == 0 {
            (0, 0)
        } else {
            (host.min().int64_value(&[]), host.max().int64_value(&[]))
        };
        EotPositions { index, first, last }
    }

    /// `[N]` int64 positions.
    pub fn index(&self) -> &Tensor {
        &self.index
    }

    /// Number of prompts.
    pub fn count(&self) -> i64 {
        self.index.size()[0]
    }

    /// The earliest EOT position.
    pub fn first(&self) -> i64 {
        self.first
    }

    /// Positions needed to reach every EOT: the latest position plus one.
    pub fn span(&self) -> i64 {
        self.last + 1
    }

    /// The same positions on `device`.
    pub fn to_device(&self, device: Device) -> EotPositions {
        EotPositions {
            index: self.index.to_device(device),
            first: self.first,
            last: self.last,
        }
    }
}

/// How much of each prompt the text transformer runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSpan {
    /// Up to the batch's last EOT: what [`Clip::encode_prompts`] does in fp32.
    ToLastEot,
    /// Every position given: OpenAI's computation, kept as the reference for checks and
    /// benchmarks.
    Full,
}

/// Additive causal mask `[rows, keys]` for queries that are the last `rows` of `keys`
/// positions: the first `keys - rows` columns are all visible, the rest causally.
fn causal_mask(rows: i64, keys: i64, kind: Kind, device: Device) -> Tensor {
    Tensor::full([rows, keys], f64::NEG_INFINITY, (Kind::Float, device))
        .triu(keys - rows + 1)
        .to_kind(kind)
}

impl Clip {
    /// Whether the fast paths (stopping at the last EOT, a shared prefix) may stand in for
    /// the full computation: only when the text tower computes in fp32. In half precision
    /// (PREC fp16; amp's autocast on a GPU) they are equal only up to rounding: fewer
    /// positions change how kernels block their sums, and fp16 rounds the results apart
    /// (a context gradient one fp16 ulp off, then a different SGD step), where the full
    /// computation matches CoOp's bit for bit.
    pub fn text_fast_paths(&self) -> bool {
        self.precision() == Precision::Fp32
    }

    /// The span [`Clip::encode_prompts`] runs over: up to the last EOT when
    /// [`Clip::text_fast_paths`], else every position.
    pub(super) fn text_span(&self) -> TextSpan {
        if self.text_fast_paths() {
            TextSpan::ToLastEot
        } else {
            TextSpan::Full
        }
    }

    /// Text features `[N, embed_dim]` of token ids `[N, L]`, over the positions up to the
    /// last EOT in fp32 (one read of the EOT positions back to the host).
    pub fn encode_tokens(&self, tokens: &Tensor) -> Tensor {
        let eot = EotPositions::of(tokens);
        let tokens = match self.text_span() {
            TextSpan::ToLastEot => tokens.narrow(1, 0, eot.span().min(tokens.size()[1])),
            TextSpan::Full => tokens.shallow_clone(),
        };
        self.encode_prompts(&self.token_embedding(&tokens), &eot)
    }

    /// Text features `[N, embed_dim]` of prompt embeddings `[N, L, width]` whose EOTs are
    /// at `eot`, over the positions up to the last EOT in fp32 (every position in half
    /// precision, [`Clip::text_fast_paths`]).
    pub fn encode_prompts(&self, prompts: &Tensor, eot: &EotPositions) -> Tensor {
        self.encode_prompts_over(prompts, eot, self.text_span())
    }

    /// [`Clip::encode_prompts`] over the given span.
    pub fn encode_prompts_over(
        &self,
        prompts: &Tensor,
        eot: &EotPositions,
        span: TextSpan,
    ) -> Tensor {
        self.encode_prompts_replacing(prompts, eot, span, &[])
    }

    /// [`Clip::encode_prompts_over`] with `deep[i]`, when given, replacing the context
    /// tokens that enter layer `i` ([`Clip::encode_prompts_deep`]).
    pub(super) fn encode_prompts_replacing(
        &self,
        prompts: &Tensor,
        eot: &EotPositions,
        span: TextSpan,
        deep: &[Option<Tensor>],
    ) -> Tensor {
        let given = prompts.size()[1];
        let l = match span {
            TextSpan::Full => given,
            TextSpan::ToLastEot => eot.span().min(given),
        };
        let dtype = self.dtype();
        let x = prompts.narrow(1, 0, l).to_kind(dtype)
            + self.positional_embedding.narrow(0, 0, l).to_kind(dtype);
        let mask = causal_mask(l, l, dtype, x.device());
        let x = self
            .transformer
            .forward_replacing(&x.permute([1, 0, 2]), Some(&mask), deep, Replace::Text)
            .permute([1, 0, 2]);
        self.eot_features(&x, &eot.index().to_device(x.device()))
    }

    /// `ln_final`, then each row's EOT position of `x` `[N, L, width]`, projected (the
    /// order OpenAI's `encode_text` uses).
    fn eot_features(&self, x: &Tensor, eot: &Tensor) -> Tensor {
        let x = self.ln_final.forward(x).to_kind(self.dtype());
        let rows = Tensor::arange(x.size()[0], (Kind::Int64, x.device()));
        x.index(&[Some(rows), Some(eot.shallow_clone())])
            .matmul(&self.text_projection)
    }

    /// Text features of prompts that start with a shared prefix, in `[G * N, embed_dim]`
    /// (row `g * N + i` is prefix `g` followed by suffix `i`).
    ///
    /// `prefix` `[G, P, width]`: the first P embeddings of every prompt of group g (CoOp's
    /// SOS and generic context: G = 1; CoCoOp's image-conditioned context: one group per
    /// image). `suffixes` `[N, S, width]`: every prompt's remaining embeddings (class name,
    /// ".", EOT, padding). `eot`: the N prompts' EOT positions in the whole sequence.
    /// Equal, up to summation order, to [`Clip::encode_prompts`] on the concatenated
    /// prompts; the prefix's hidden states are computed once per group, not per prompt.
    pub fn encode_text_shared_prefix(
        &self,
        prefix: &Tensor,
        suffixes: &Tensor,
        eot: &EotPositions,
    ) -> Result<Tensor, TextEncodeError> {
        let width = self.config.transformer_width;
        let shape = |what, expected: String, t: &Tensor| TextEncodeError::Shape {
            what,
            expected,
            got: t.size(),
        };
        let (g, p, pd) = prefix
            .size3()
            .map_err(|_| shape("prefix", format!("[groups, positions, {width}]"), prefix))?;
        let (n, s_given, sd) = suffixes.size3().map_err(|_| {
            shape(
                "suffixes",
                format!("[prompts, positions, {width}]"),
                suffixes,
            )
        })?;
        if pd != width || p < 1 || g < 1 {
            return Err(shape(
                "prefix",
                format!("[groups, positions, {width}]"),
                prefix,
            ));
        }
        if sd != width || n != eot.count() {
            return Err(shape(
                "suffixes",
                format!("[{} prompts, positions, {width}]", eot.count()),
                suffixes,
            ));
        }
        if eot.first() < p {
            return Err(TextEncodeError::EotInPrefix {
                eot: eot.first(),
                prefix: p,
            });
        }
        let length = (p + s_given).min(self.config.context_length);
        if eot.span() > length {
            return Err(TextEncodeError::EotBeyondEnd {
                eot: eot.span() - 1,
                length,
            });
        }
        let s = eot.span() - p;
        let dtype = self.dtype();
        let device = suffixes.device();
        let pos = &self.positional_embedding;
        // Sequence-first, as the blocks take them: [P, G, D] and [S, G*N, D].
        let xp = (prefix.to_kind(dtype) + pos.narrow(0, 0, p).to_kind(dtype)).permute([1, 0, 2]);
        let xs = suffixes.narrow(1, 0, s).to_kind(dtype) + pos.narrow(0, p, s).to_kind(dtype);
        let xs = if g > 1 {
            xs.unsqueeze(0)
                .expand([g, n, s, width], false)
                .reshape([g * n, s, width])
        } else {
            xs
        };
        let mut xs = xs.permute([1, 0, 2]);
        let mut xp = xp;
        let mask_p = causal_mask(p, p, dtype, device);
        let mask_s = causal_mask(s, p + s, dtype, device);
        // Each prompt's EOT within the suffixes, `[G * N]`.
        let local = (eot.index().to_device(device) - p).repeat([g]);
        let blocks = &self.transformer.resblocks;
        let Some((last, inner)) = blocks.split_last() else {
            return Ok(self.eot_features(&xs.permute([1, 0, 2]), &local));
        };
        for block in inner {
            let (p_out, s_out) = block.forward_shared(&xp, &xs, n, &mask_p, &mask_s);
            xp = p_out;
            xs = s_out;
        }
        // The last block's output is read at the EOT rows only: run its queries, attention
        // output and MLP for those rows alone (the prefix's output is not read at all).
        let x_eot = last.forward_shared_eot(&xp, &xs, n, &local, dtype);
        Ok(self.eot_features(&x_eot.permute([1, 0, 2]), &local.zeros_like()))
    }
}

impl ResidualAttentionBlock {
    /// Keys and values of the suffixes' attention `[P + S, G * N, D]`: the prefix's
    /// (broadcast to the N prompts of its group) followed by the suffixes' own.
    fn shared_keys(kp: &Tensor, ks: &Tensor, n: i64) -> Tensor {
        let (p, g, d) = kp.size3().expect("prefix keys are [P, G, D]");
        let per_prompt = kp
            .unsqueeze(2)
            .expand([p, g, n, d], false)
            .reshape([p, g * n, d]);
        Tensor::cat(&[per_prompt, ks.shallow_clone()], 0)
    }

    /// One block over a shared prefix `[P, G, D]` and the suffixes `[S, G * N, D]` that
    /// follow it (N per group). The suffixes' queries see the prefix's keys and values
    /// (broadcast to the N prompts of its group) and their own, causally. Returns the
    /// prefix's output and the suffixes'.
    fn forward_shared(
        &self,
        xp: &Tensor,
        xs: &Tensor,
        n: i64,
        mask_p: &Tensor,
        mask_s: &Tensor,
    ) -> (Tensor, Tensor) {
        let [qp, kp, vp] = self.attn.project(&self.ln_1.forward(xp));
        let [qs, ks, vs] = self.attn.project(&self.ln_1.forward(xs));
        let k = Self::shared_keys(&kp, &ks, n);
        let v = Self::shared_keys(&vp, &vs, n);
        let heads = self.attn.heads;
        let out_s = attend(&qs, &k, &v, heads, Some(mask_s));
        let xs = self.mlp_residual(&(xs + self.attn.out_proj.forward(&out_s)));
        let out_p = attend(&qp, &kp, &vp, heads, Some(mask_p));
        let xp = self.mlp_residual(&(xp + self.attn.out_proj.forward(&out_p)));
        (xp, xs)
    }

    /// [`Self::forward_shared`]'s suffix output at one row per prompt, `[1, G * N, D]`:
    /// row `eot[j]` of prompt j (a position within the suffixes). Keys and values come
    /// from every row, as in the full block; the query, attention output and MLP only
    /// from that one, which sees the prefix and the suffix up to itself. Row-wise equal
    /// to the full block.
    fn forward_shared_eot(
        &self,
        xp: &Tensor,
        xs: &Tensor,
        n: i64,
        eot: &Tensor,
        dtype: Kind,
    ) -> Tensor {
        let (p, _, _) = xp.size3().expect("prefix is [P, G, D]");
        let (s, rows, d) = xs.size3().expect("suffixes are [S, G * N, D]");
        let [_, kp, vp] = self.attn.project(&self.ln_1.forward(xp));
        let [qs, ks, vs] = self.attn.project(&self.ln_1.forward(xs));
        let k = Self::shared_keys(&kp, &ks, n);
        let v = Self::shared_keys(&vp, &vs, n);
        let at = eot.view([1, rows, 1]).expand([1, rows, d], false);
        let q = qs.gather(0, &at, false);
        let x = xs.gather(0, &at, false);
        // Prompt j's query sees keys 0 ..= P + eot[j]: [G * N, 1, 1, P + S], over heads.
        let keys = Tensor::arange(p + s, (Kind::Int64, xs.device()));
        let hidden = keys.unsqueeze(0).gt_tensor(&(eot + p).unsqueeze(1));
        let mask = Tensor::zeros([rows, p + s], (dtype, xs.device()))
            .masked_fill(&hidden, f64::NEG_INFINITY)
            .view([rows, 1, 1, p + s]);
        let out = attend(&q, &k, &v, self.attn.heads, Some(&mask));
        self.mlp_residual(&(x + self.attn.out_proj.forward(&out)))
    }
}

#[cfg(test)]
mod tests;
