//! OpenAI CLIP: the released backbones, the tokenizer and (with later modules) the model.

pub mod fetch;
pub mod init_replay;
pub mod interpret;
pub mod model;
pub mod random;
pub mod tokenizer;
pub mod weights;

/// A CLIP backbone released by OpenAI (`MODEL.BACKBONE.NAME`).
#[derive(Debug)]
pub struct BackboneEntry {
    pub name: &'static str,
    /// OpenAI's download address; its second-to-last segment is the file's SHA-256.
    pub url: &'static str,
}

crate::registry::registry_entry!(BackboneEntry, "BACKBONE");

impl BackboneEntry {
    /// The SHA-256 that OpenAI's address carries.
    pub fn sha256(&self) -> &'static str {
        self.url.rsplit('/').nth(1).unwrap_or("")
    }

    /// File name in the cache folder (`~/.cache/clip/RN50.pt`), as Python's clip names it.
    pub fn file_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.name)
    }
}

/// OpenAI's `_MODELS` table (clip/clip.py): name and download address.
macro_rules! openai_backbones {
    ($($name:literal => $url:literal,)*) => {
        $(inventory::submit! { BackboneEntry { name: $name, url: $url } })*
    };
}

openai_backbones! {
    "RN50" => "https://openaipublic.azureedge.net/clip/models/afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt",
    "RN101" => "https://openaipublic.azureedge.net/clip/models/8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599/RN101.pt",
    "RN50x4" => "https://openaipublic.azureedge.net/clip/models/7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd/RN50x4.pt",
    "RN50x16" => "https://openaipublic.azureedge.net/clip/models/52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa/RN50x16.pt",
    "RN50x64" => "https://openaipublic.azureedge.net/clip/models/be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c/RN50x64.pt",
    "ViT-B/32" => "https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
    "ViT-B/16" => "https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt",
    "ViT-L/14" => "https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
    "ViT-L/14@336px" => "https://openaipublic.azureedge.net/clip/models/3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt",
}

/// Where CLIP weights are looked up: Python clip's `~/.cache/clip`, so downloads made
/// by the Python tools are reused; `DASSL_CLIP_CACHE` overrides it.
pub fn cache_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("DASSL_CLIP_CACHE") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    std::path::Path::new(&home).join(".cache").join("clip")
}

use std::path::{Path, PathBuf};

use crate::registry::RegistryEntry;
use weights::ClipError;

/// `MODEL.BACKBONE.NAME` to a weights file: an OpenAI name is looked up in the cache
/// folder (as Python's clip does), anything else must be a path to an existing file.
pub fn resolve_weights(name_or_path: &str) -> Result<PathBuf, ClipError> {
    if let Ok(entry) = BackboneEntry::get(name_or_path) {
        let path = cache_dir().join(entry.file_name());
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ClipError::MissingModel {
                name: name_or_path.to_string(),
                path,
            })
        };
    }
    let path = Path::new(name_or_path);
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    Err(ClipError::UnknownModel {
        name: name_or_path.to_string(),
        available: BackboneEntry::names().join(", "),
    })
}

/// What `dassl clip info` prints: the architecture inferred from the weights.
pub fn describe(weights: &weights::WeightMap) -> Result<String, ClipError> {
    use std::fmt::Write as _;
    let c = model::ClipConfig::from_weights(weights)?;
    let params: i64 = weights
        .tensors
        .values()
        .filter(|t| t.dim() > 0)
        .map(|t| t.numel() as i64)
        .sum();
    let mut s = String::new();
    let _ = writeln!(s, "weights: {}", weights.source.display());
    match &c.vision {
        model::VisionConfig::ResNet { layers, width } => {
            let _ = writeln!(
                s,
                "vision: ModifiedResNet layers {layers:?} width {width} heads {}",
                c.vision_heads()
            );
        }
        model::VisionConfig::Vit {
            layers,
            width,
            patch_size,
        } => {
            let _ = writeln!(s, "vision: VisionTransformer layers {layers} width {width} patch {patch_size} heads {}", c.vision_heads());
        }
    }
    let _ = writeln!(s, "image resolution: {}", c.image_resolution);
    let _ = writeln!(
        s,
        "text: width {} heads {} layers {}",
        c.transformer_width, c.transformer_heads, c.transformer_layers
    );
    let _ = writeln!(s, "context length: {}", c.context_length);
    let _ = writeln!(s, "vocabulary: {}", c.vocab_size);
    let _ = writeln!(s, "embedding dimension: {}", c.embed_dim);
    let _ = writeln!(s, "parameters: {params}");
    Ok(s)
}
