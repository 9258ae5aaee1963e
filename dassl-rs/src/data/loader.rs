//! Batched image loading with Dassl's sampler and `drop_last` semantics.
//!
//! Dassl wraps each split in a `DatasetWrapper` and a PyTorch `DataLoader`
//! (`dassl/data/data_manager.py::build_data_loader`). This module does the same
//! job without Python: a [`Sampler`] orders the indices of an epoch, batches are
//! cut from that order (dropping the ragged tail only where Dassl does, see
//! [`dassl_drop_last`]), and every sample is decoded and transformed on a rayon
//! pool of `DATALOADER.NUM_WORKERS` threads. A producer thread assembles whole
//! batches ahead of the consumer through a bounded queue, so decoding overlaps
//! the training step.
//!
//! Order: every pass over a loader ([`DataLoader::epoch`]) draws from torch's global
//! CPU generator exactly as `iter(DataLoader)` does in Python, and `RandomSampler`
//! shuffles with torch's own permutation ([`super::torch_order`]), so a seeded run
//! visits its images in the order CoOp's run with the same seed does.
//! Augmentation: a sample's random transform depends only on `(seed, epoch, dataset
//! index)` (via [`sample_rng`]), so batches are bit-identical whatever the worker count.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use rayon::prelude::*;
use rayon::ThreadPool;
use tch::Tensor;

pub use super::decode::read_image;
use super::torch_order::{draw_global_seed, randperm};
use super::transforms::{sample_rng, Transform};
use super::Datum;
use crate::errors::DataError;

/// Sampler names this loader implements.
pub const SAMPLERS: &[&str] = &["RandomSampler", "SequentialSampler"];

/// Samplers Dassl has that this port does not (multi-domain and per-class
/// batching, unused by CoOp); named separately so the error can say so.
const DASSL_ONLY_SAMPLERS: &[&str] = &[
    "RandomDomainSampler",
    "SeqDomainSampler",
    "RandomClassSampler",
];

/// Batches assembled ahead of the consumer: enough to hide decode jitter
/// without holding many 224x224 float batches in memory.
pub const DEFAULT_PREFETCH: usize = 2;

/// How an epoch orders the data (`DATALOADER.*.SAMPLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sampler {
    /// torch `RandomSampler`: a fresh permutation every epoch.
    Random,
    /// torch `SequentialSampler`: file order.
    Sequential,
}

impl Sampler {
    /// Dassl's `build_sampler` by name; unknown names fail listing the valid ones.
    pub fn parse(name: &str) -> Result<Self, DataError> {
        match name {
            "RandomSampler" => Ok(Self::Random),
            "SequentialSampler" => Ok(Self::Sequential),
            _ => Err(DataError::UnknownSampler {
                name: name.to_string(),
                valid: SAMPLERS.join(", "),
                dassl_only: DASSL_ONLY_SAMPLERS.contains(&name),
            }),
        }
    }

    /// The Dassl name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "RandomSampler",
            Self::Sequential => "SequentialSampler",
        }
    }

    /// Begins one pass over `len` items as `iter(DataLoader)` and its sampler do: draws
    /// the loader's base seed, and for `RandomSampler` the sampler's seed, from torch's
    /// global CPU generator, and returns the order the pass visits.
    pub fn begin_pass(self, len: usize) -> Vec<usize> {
        let _base_seed = draw_global_seed();
        match self {
            Self::Random => randperm(len, draw_global_seed()),
            Self::Sequential => (0..len).collect(),
        }
    }
}

/// Dassl's rule: `drop_last = is_train and len(data_source) >= batch_size`, so a
/// training set smaller than one batch still yields one partial batch, and
/// evaluation never drops images.
pub fn dassl_drop_last(is_train: bool, len: usize, batch_size: usize) -> bool {
    is_train && len >= batch_size
}

/// How to build a [`DataLoader`] (the arguments of Dassl's `build_data_loader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderOptions {
    pub sampler: Sampler,
    pub batch_size: usize,
    /// Train loaders may drop the last partial batch ([`dassl_drop_last`]).
    pub is_train: bool,
    /// Decode threads (`DATALOADER.NUM_WORKERS`); 0 loads in the caller's
    /// thread with no prefetch, like torch's `num_workers=0`.
    pub num_workers: usize,
    /// `SEED`; negative draws an entropy seed once, at construction.
    pub seed: i64,
    /// Batches the producer may hold ready ahead of the consumer.
    pub prefetch: usize,
}

impl LoaderOptions {
    /// Inline loading (no workers), seed 0, default prefetch.
    pub fn new(sampler: Sampler, batch_size: usize, is_train: bool) -> Self {
        Self {
            sampler,
            batch_size,
            is_train,
            num_workers: 0,
            seed: 0,
            prefetch: DEFAULT_PREFETCH,
        }
    }
}

/// One batch, as Dassl's collated `{"img", "label", "index"}` dict.
#[derive(Debug)]
pub struct Batch {
    /// `[B, 3, H, W]` float32, transformed and normalised.
    pub images: Tensor,
    /// `[B]` int64 class labels.
    pub labels: Tensor,
    /// Dataset indices of the samples, in batch order.
    pub indices: Vec<usize>,
}

/// What the producer thread and the caller share.
#[derive(Debug)]
struct Shared {
    data: Vec<Datum>,
    transform: Transform,
    seed: u64,
}

impl Shared {
    /// Decodes and transforms one sample into its slot of a batch buffer.
    fn load_sample(&self, index: usize, epoch: u64, out: &mut [f32]) -> Result<i64, DataError> {
        let datum = &self.data[index];
        let img = read_image(&datum.impath)?;
        let mut rng = sample_rng(self.seed, epoch, index as u64);
        self.transform
            .apply_into(&img, &mut rng, out)
            .map_err(|source| DataError::Transform {
                path: datum.impath.clone(),
                source,
            })?;
        Ok(datum.label as i64)
    }

    /// Decodes and transforms a batch into `buf` (reused between batches),
    /// one sample per rayon task; returns the labels.
    fn fill(
        &self,
        pool: Option<&ThreadPool>,
        indices: &[usize],
        epoch: u64,
        buf: &mut Vec<f32>,
    ) -> Result<Vec<i64>, DataError> {
        let plane = self.plane();
        buf.resize(indices.len() * plane, 0.0);
        let work = |(slot, &i): (&mut [f32], &usize)| self.load_sample(i, epoch, slot);
        match pool {
            Some(pool) => pool.install(|| {
                buf.par_chunks_mut(plane)
                    .zip(indices.par_iter())
                    .map(work)
                    .collect()
            }),
            None => buf
                .chunks_mut(plane)
                .zip(indices.iter())
                .map(work)
                .collect(),
        }
    }

    /// Floats per sample.
    fn plane(&self) -> usize {
        let (h, w) = self.transform.output_size();
        3 * h * w
    }

    /// One tensor per batch from the filled buffer (the only copy of the pixels).
    fn to_batch(
        &self,
        indices: Vec<usize>,
        labels: Vec<i64>,
        buf: &[f32],
    ) -> Result<Batch, DataError> {
        let (h, w) = self.transform.output_size();
        let n = indices.len();
        let images = Tensor::f_from_slice(&buf[..n * self.plane()])?
            .f_view([n as i64, 3, h as i64, w as i64])?;
        let labels = Tensor::f_from_slice(&labels)?;
        Ok(Batch {
            images,
            labels,
            indices,
        })
    }

    fn load_batch(
        &self,
        pool: Option<&ThreadPool>,
        indices: Vec<usize>,
        epoch: u64,
        buf: &mut Vec<f32>,
    ) -> Result<Batch, DataError> {
        let labels = self.fill(pool, &indices, epoch, buf)?;
        self.to_batch(indices, labels, buf)
    }

    /// The producer thread's loop: while the pool decodes batch k, this
    /// thread turns batch k-1 into tensors and queues it, so the pool never
    /// waits on the copy (which matters once many workers make decoding fast).
    fn produce(
        &self,
        pool: &ThreadPool,
        batches: Vec<Vec<usize>>,
        epoch: u64,
        tx: &SyncSender<Result<Batch, DataError>>,
    ) {
        let (mut cur, mut prev) = (Vec::new(), Vec::new());
        let mut ready: Option<(Vec<usize>, Vec<i64>)> = None;
        let mut batches = batches.into_iter();
        loop {
            let next = batches.next();
            if next.is_none() && ready.is_none() {
                return;
            }
            let mut filled = None;
            let mut stop = false;
            pool.in_place_scope(|s| {
                if let Some(indices) = &next {
                    let (filled, cur) = (&mut filled, &mut cur);
                    s.spawn(move |_| *filled = Some(self.fill(Some(pool), indices, epoch, cur)));
                }
                if let Some((indices, labels)) = ready.take() {
                    let batch = self.to_batch(indices, labels, &prev);
                    // A closed channel means the consumer stopped early.
                    stop = batch.is_err() | tx.send(batch).is_err();
                }
            });
            match (next, filled) {
                _ if stop => return,
                (Some(indices), Some(Ok(labels))) => {
                    ready = Some((indices, labels));
                    std::mem::swap(&mut cur, &mut prev);
                }
                (_, Some(Err(e))) => {
                    let _ = tx.send(Err(e));
                    return;
                }
                _ => {}
            }
        }
    }
}

/// A Dassl data loader over a list of [`Datum`]s.
#[derive(Debug)]
pub struct DataLoader {
    shared: Arc<Shared>,
    pool: Option<Arc<ThreadPool>>,
    sampler: Sampler,
    batch_size: usize,
    drop_last: bool,
    prefetch: usize,
}

/// Builds the rayon pool the loaders decode on.
pub fn worker_pool(num_workers: usize) -> Result<Arc<ThreadPool>, DataError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(num_workers.max(1))
        .thread_name(|i| format!("dassl-loader-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| DataError::Workers(e.to_string()))
}

impl DataLoader {
    /// A loader with its own pool of `options.num_workers` threads.
    pub fn new(
        data: Vec<Datum>,
        transform: Transform,
        options: LoaderOptions,
    ) -> Result<Self, DataError> {
        let pool = match options.num_workers {
            0 => None,
            n => Some(worker_pool(n)?),
        };
        Self::with_pool(data, transform, options, pool)
    }

    /// A loader decoding on `pool` (shared between a run's loaders so idle
    /// loaders hold no threads of their own); `None` loads inline.
    /// `options.num_workers` is ignored.
    pub fn with_pool(
        data: Vec<Datum>,
        transform: Transform,
        options: LoaderOptions,
        pool: Option<Arc<ThreadPool>>,
    ) -> Result<Self, DataError> {
        if options.batch_size == 0 {
            return Err(DataError::InvalidLoader(
                "batch size must be positive, got 0".to_string(),
            ));
        }
        // Dassl asserts `len(data_loader) > 0`.
        if data.is_empty() {
            return Err(DataError::InvalidLoader(
                "a data loader over 0 images has no batches (Dassl asserts len(data_loader) > 0)"
                    .to_string(),
            ));
        }
        let seed = if options.seed < 0 {
            rand::random::<u64>()
        } else {
            options.seed as u64
        };
        let drop_last = dassl_drop_last(options.is_train, data.len(), options.batch_size);
        Ok(Self {
            shared: Arc::new(Shared {
                data,
                transform,
                seed,
            }),
            pool,
            sampler: options.sampler,
            batch_size: options.batch_size,
            drop_last,
            prefetch: options.prefetch.max(1),
        })
    }

    /// Batches per epoch (`len(data_loader)`).
    pub fn len(&self) -> usize {
        let n = self.shared.data.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// Never true for a built loader (Dassl refuses empty loaders); here for clippy.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Images in the data source (`len(data_loader.dataset)`).
    pub fn num_samples(&self) -> usize {
        self.shared.data.len()
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    pub fn drop_last(&self) -> bool {
        self.drop_last
    }

    pub fn sampler(&self) -> Sampler {
        self.sampler
    }

    /// The seed in use (the drawn one when `SEED < 0`).
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Decode threads (0 when loading inline).
    pub fn num_workers(&self) -> usize {
        self.pool.as_ref().map_or(0, |p| p.current_num_threads())
    }

    /// The data source.
    pub fn data(&self) -> &[Datum] {
        &self.shared.data
    }

    /// The per-sample transform.
    pub fn transform(&self) -> &Transform {
        &self.shared.transform
    }

    /// Begins a pass as Python's `for batch in loader` does, drawing from torch's global
    /// generator ([`Sampler::begin_pass`]), and returns the dataset indices of its
    /// batches after `drop_last`. Every pass Dassl makes must come through here (or
    /// [`Self::epoch`]), and nothing else, so later passes shuffle as Dassl's do.
    pub fn begin_pass(&self) -> Vec<Vec<usize>> {
        let order = self.sampler.begin_pass(self.shared.data.len());
        let mut batches = self.cut(&order);
        batches.truncate(self.len());
        batches
    }

    /// The batches in file order, drawing nothing: for work that is not one of Dassl's
    /// passes (filling the feature cache), so whether it runs cannot move the shuffle.
    pub fn file_order(&self) -> Vec<Vec<usize>> {
        self.cut(&(0..self.shared.data.len()).collect::<Vec<_>>())
    }

    /// `order` in batches of `batch_size` (the last one partial).
    fn cut(&self, order: &[usize]) -> Vec<Vec<usize>> {
        order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Loads one batch of the given dataset indices now, as epoch `epoch` would.
    pub fn load(&self, indices: &[usize], epoch: usize) -> Result<Batch, DataError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.shared.data.len()) {
            return Err(DataError::InvalidLoader(format!(
                "index {bad} out of range for a data source of {} images",
                self.shared.data.len()
            )));
        }
        self.shared.load_batch(
            self.pool.as_deref(),
            indices.to_vec(),
            epoch as u64,
            &mut Vec::new(),
        )
    }

    /// One pass of Python's `for batch in loader` ([`Self::begin_pass`]), augmenting as
    /// epoch `epoch`.
    pub fn epoch(&self, epoch: usize) -> EpochIter<'_> {
        self.batches(self.begin_pass(), epoch)
    }

    /// Loads the given batches (lists of dataset indices), augmenting as epoch `epoch`.
    /// With workers, a producer thread starts at once and stays up to `prefetch` batches
    /// ahead; dropping the iterator stops it. The first error ends the pass.
    pub fn batches(&self, batches: Vec<Vec<usize>>, epoch: usize) -> EpochIter<'_> {
        let epoch = epoch as u64;
        let remaining = batches.len();
        let source = match &self.pool {
            None => Source::Inline {
                shared: &self.shared,
                batches: batches.into_iter(),
                buf: Vec::new(),
            },
            Some(pool) => {
                let (tx, rx) = sync_channel(self.prefetch);
                let shared = Arc::clone(&self.shared);
                let pool = Arc::clone(pool);
                let spawned = std::thread::Builder::new()
                    .name("dassl-loader-producer".to_string())
                    .spawn(move || shared.produce(&pool, batches, epoch, &tx));
                match spawned {
                    Ok(handle) => Source::Prefetch {
                        rx: Some(rx),
                        handle: Some(handle),
                    },
                    Err(e) => Source::Failed(Some(DataError::Workers(format!(
                        "cannot start the producer thread: {e}"
                    )))),
                }
            }
        };
        EpochIter {
            source,
            epoch,
            remaining,
        }
    }
}

#[derive(Debug)]
enum Source<'a> {
    Inline {
        shared: &'a Shared,
        batches: std::vec::IntoIter<Vec<usize>>,
        buf: Vec<f32>,
    },
    Prefetch {
        rx: Option<Receiver<Result<Batch, DataError>>>,
        handle: Option<JoinHandle<()>>,
    },
    Failed(Option<DataError>),
}

/// The batches of one epoch, in sampler order.
#[derive(Debug)]
pub struct EpochIter<'a> {
    source: Source<'a>,
    epoch: u64,
    remaining: usize,
}

impl Iterator for EpochIter<'_> {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let item = match &mut self.source {
            Source::Inline {
                shared,
                batches,
                buf,
            } => {
                let indices = batches.next()?;
                shared.load_batch(None, indices, self.epoch, buf)
            }
            Source::Prefetch { rx, handle } => match rx.as_ref().map(Receiver::recv) {
                Some(Ok(item)) => item,
                // The producer ended before sending every batch: it panicked.
                _ => {
                    rx.take();
                    let why = match handle.take().map(JoinHandle::join) {
                        Some(Err(panic)) => panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".to_string()),
                        _ => "the producer thread stopped early".to_string(),
                    };
                    Err(DataError::Workers(why))
                }
            },
            Source::Failed(err) => Err(err
                .take()
                .unwrap_or_else(|| DataError::Workers("producer thread unavailable".to_string()))),
        };
        self.remaining = if item.is_ok() { self.remaining - 1 } else { 0 };
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl Drop for EpochIter<'_> {
    /// Closes the queue first so a producer blocked on a full queue wakes and
    /// exits, then waits for it so no decode work outlives the epoch.
    fn drop(&mut self) {
        if let Source::Prefetch { rx, handle } = &mut self.source {
            rx.take();
            if let Some(h) = handle.take() {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::transforms::TransformConfig;
    use image::codecs::jpeg::JpegEncoder;
    use image::{ImageFormat, Rgb, RgbImage};
    use std::path::Path;

    /// A 16x16 CLIP-style pipeline: small so tests run fast.
    fn tcfg(normalize: bool) -> TransformConfig {
        let mut c = TransformConfig {
            size: (16, 16),
            ..TransformConfig::coop_clip()
        };
        if !normalize {
            c.transforms.retain(|t| t != "normalize");
        }
        c
    }

    /// Image `i`: a gradient whose base colour encodes `i`, sizes vary,
    /// alternately PNG and JPEG.
    fn write_images(dir: &Path, n: usize) -> Vec<Datum> {
        (0..n)
            .map(|i| {
                let (w, h) = (24 + (i as u32 % 5) * 4, 20 + (i as u32 % 3) * 6);
                let img = RgbImage::from_fn(w, h, |x, y| {
                    Rgb([(i * 12) as u8, (x * 9) as u8, (y * 11 + i as u32) as u8])
                });
                let path = if i % 2 == 0 {
                    let p = dir.join(format!("img{i}.png"));
                    img.save_with_format(&p, ImageFormat::Png).unwrap();
                    p
                } else {
                    let p = dir.join(format!("img{i}.jpg"));
                    let f = std::fs::File::create(&p).unwrap();
                    JpegEncoder::new_with_quality(f, 90)
                        .encode_image(&img)
                        .unwrap();
                    p
                };
                Datum {
                    impath: path,
                    label: i % 3,
                    domain: 0,
                    classname: format!("c{}", i % 3),
                }
            })
            .collect()
    }

    /// Solid-colour images whose red channel is `40 * label`.
    fn write_solid(dir: &Path, labels: &[usize]) -> Vec<Datum> {
        labels
            .iter()
            .enumerate()
            .map(|(i, &label)| {
                let p = dir.join(format!("solid{i}.png"));
                RgbImage::from_pixel(30, 20, Rgb([(40 * label) as u8, 7, 200]))
                    .save(&p)
                    .unwrap();
                Datum {
                    impath: p,
                    label,
                    domain: 0,
                    classname: String::new(),
                }
            })
            .collect()
    }

    fn loader(
        data: Vec<Datum>,
        train: bool,
        sampler: Sampler,
        bs: usize,
        workers: usize,
        seed: i64,
    ) -> DataLoader {
        let cfg = tcfg(true);
        let t = if train {
            Transform::train(&cfg)
        } else {
            Transform::test(&cfg)
        }
        .unwrap();
        let opts = LoaderOptions {
            num_workers: workers,
            seed,
            ..LoaderOptions::new(sampler, bs, train)
        };
        DataLoader::new(data, t, opts).unwrap()
    }

    fn collect(l: &DataLoader, epoch: usize) -> Vec<Batch> {
        l.epoch(epoch).collect::<Result<Vec<_>, _>>().unwrap()
    }

    fn floats(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
    }

    fn longs(t: &Tensor) -> Vec<i64> {
        Vec::<i64>::try_from(t).unwrap()
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn drop_last_follows_dassl() {
        let _rng = crate::testing::torch_rng();
        assert!(dassl_drop_last(true, 5, 4));
        assert!(dassl_drop_last(true, 4, 4));
        assert!(!dassl_drop_last(true, 3, 4));
        assert!(!dassl_drop_last(false, 100, 4));

        let dir = tmp();
        let data = write_images(dir.path(), 5);
        // 5 images, batch 4, train: one full batch, the fifth image skipped.
        let l = loader(data.clone(), true, Sampler::Random, 4, 2, 1);
        assert!(l.drop_last());
        assert_eq!(l.len(), 1);
        let b = collect(&l, 0);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].images.size(), [4, 3, 16, 16]);
        // Test loader keeps the partial batch.
        let l = loader(data.clone(), false, Sampler::Sequential, 4, 2, 1);
        assert_eq!(l.len(), 2);
        let sizes: Vec<i64> = collect(&l, 0).iter().map(|b| b.images.size()[0]).collect();
        assert_eq!(sizes, [4, 1]);
        // 3 images, batch 4, train: one partial batch.
        let l = loader(data[..3].to_vec(), true, Sampler::Random, 4, 0, 1);
        assert!(!l.drop_last());
        assert_eq!(l.len(), 1);
        let b = collect(&l, 3);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].images.size(), [3, 3, 16, 16]);
        assert_eq!(b[0].labels.size(), [3]);
    }

    #[test]
    fn sequential_order_is_file_order() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let l = loader(
            write_images(dir.path(), 7),
            false,
            Sampler::Sequential,
            3,
            2,
            0,
        );
        for epoch in 0..2 {
            let idx: Vec<usize> = collect(&l, epoch)
                .into_iter()
                .flat_map(|b| b.indices)
                .collect();
            assert_eq!(idx, (0..7).collect::<Vec<_>>());
        }
    }

    /// Passes draw from torch's global generator as `iter(DataLoader)` does: after
    /// `torch.manual_seed(seed)`, three training epochs (each with a sequential evaluation
    /// pass after it where Dassl's best_val makes one) visit torch's batches, and leave
    /// the generator where torch leaves it (make_sampler.py).
    #[test]
    fn passes_visit_torchs_dataloader_order_and_leave_its_generator_state() {
        let _rng = crate::testing::torch_rng();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sampler/sampler.json"
        );
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let data = |n: usize| -> Vec<Datum> {
            (0..n)
                .map(|i| Datum {
                    impath: format!("never-read-{i}.png").into(),
                    label: 0,
                    domain: 0,
                    classname: String::new(),
                })
                .collect()
        };
        let t = Transform::test(&tcfg(false)).unwrap();
        for case in fixture["loaders"].as_array().unwrap() {
            let n = case["n"].as_u64().unwrap() as usize;
            let bs = case["batch_size"].as_u64().unwrap() as usize;
            let train = LoaderOptions::new(Sampler::Random, bs, true);
            let train = DataLoader::new(data(n), t.clone(), train).unwrap();
            let val = LoaderOptions::new(Sampler::Sequential, 2, false);
            let val = DataLoader::new(data(5), t.clone(), val).unwrap();
            tch::manual_seed(case["seed"].as_i64().unwrap());
            let mut epochs = Vec::new();
            for _ in 0..3 {
                epochs.push(train.begin_pass());
                if case["eval_each_epoch"].as_bool().unwrap() {
                    assert_eq!(val.begin_pass(), [vec![0, 1], vec![2, 3], vec![4]]);
                }
            }
            let theirs: Vec<Vec<Vec<usize>>> =
                serde_json::from_value(case["epochs"].clone()).unwrap();
            assert_eq!(epochs, theirs, "{case}");
            let next = super::draw_global_seed().to_string();
            assert_eq!(next, case["next_draw"].as_str().unwrap(), "{case}");
        }
    }

    #[test]
    fn a_pass_yields_exactly_its_planned_batches_and_file_order_draws_nothing() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let l = loader(write_images(dir.path(), 12), true, Sampler::Random, 4, 2, 5);
        tch::manual_seed(3);
        let planned = l.begin_pass();
        tch::manual_seed(3);
        let got: Vec<Vec<usize>> = collect(&l, 1).into_iter().map(|b| b.indices).collect();
        assert_eq!(got, planned);
        let mut all = planned.concat();
        all.sort_unstable();
        assert_eq!(all, (0..12).collect::<Vec<_>>());
        tch::manual_seed(3);
        assert_eq!(l.file_order().concat(), (0..12).collect::<Vec<_>>());
        assert_eq!(
            l.begin_pass(),
            planned,
            "file_order drew from the generator"
        );
    }

    #[test]
    fn batches_are_bit_identical_across_worker_counts() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let data = write_images(dir.path(), 10);
        let runs: Vec<Vec<Batch>> = [0, 1, 4]
            .iter()
            .map(|&w| {
                let l = loader(data.clone(), true, Sampler::Random, 4, w, 11);
                tch::manual_seed(11);
                collect(&l, 2)
            })
            .collect();
        for other in &runs[1..] {
            assert_eq!(other.len(), runs[0].len());
            for (a, b) in runs[0].iter().zip(other) {
                assert_eq!(a.indices, b.indices);
                assert_eq!(floats(&a.images), floats(&b.images));
                assert_eq!(longs(&a.labels), longs(&b.labels));
            }
        }
        // Augmentation differs between epochs of one loader.
        let l = loader(data, true, Sampler::Random, 4, 2, 11);
        let a = l.load(&[0, 1], 0).unwrap();
        let b = l.load(&[0, 1], 1).unwrap();
        assert_ne!(floats(&a.images), floats(&b.images));
        assert_eq!(
            floats(&a.images),
            floats(&l.load(&[0, 1], 0).unwrap().images)
        );
    }

    #[test]
    fn labels_line_up_with_images() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let labels = [0, 3, 1, 4, 2, 2, 0, 5, 1];
        let data = write_solid(dir.path(), &labels);
        let t = Transform::train(&tcfg(false)).unwrap();
        let opts = LoaderOptions {
            num_workers: 3,
            seed: 2,
            ..LoaderOptions::new(Sampler::Random, 4, true)
        };
        let l = DataLoader::new(data, t, opts).unwrap();
        let mut seen = 0;
        for batch in l.epoch(0) {
            let batch = batch.unwrap();
            let got = longs(&batch.labels);
            let px = floats(&batch.images);
            let plane = 3 * 16 * 16;
            for (k, &i) in batch.indices.iter().enumerate() {
                assert_eq!(got[k], labels[i] as i64);
                // Red plane of sample k: a constant 40 * label / 255.
                let red = &px[k * plane..k * plane + 256];
                let want = (40 * labels[i]) as f32 / 255.0;
                assert!(
                    red.iter().all(|v| (v - want).abs() <= 1.5 / 255.0),
                    "sample {i}"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 8);
    }

    #[test]
    fn test_batches_equal_the_test_transform_applied_directly() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let data = write_images(dir.path(), 5);
        let l = loader(data.clone(), false, Sampler::Sequential, 2, 2, 0);
        let t = Transform::test(&tcfg(true)).unwrap();
        let plane = 3 * 16 * 16;
        for batch in l.epoch(0) {
            let batch = batch.unwrap();
            let px = floats(&batch.images);
            for (k, &i) in batch.indices.iter().enumerate() {
                let img = read_image(&data[i].impath).unwrap();
                let want = t.apply(&img, &mut sample_rng(0, 0, 0)).unwrap();
                assert_eq!(&px[k * plane..(k + 1) * plane], &want.data[..], "image {i}");
            }
        }
    }

    #[test]
    fn corrupt_and_missing_images_fail_naming_the_file() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let mut data = write_images(dir.path(), 4);
        let bad = dir.path().join("broken.jpg");
        std::fs::write(&bad, b"\xff\xd8\xff\xe0 definitely not a jpeg").unwrap();
        data[2].impath = bad.clone();
        for workers in [0, 2] {
            let l = loader(data.clone(), false, Sampler::Sequential, 2, workers, 0);
            let results: Vec<_> = l.epoch(0).collect();
            assert!(results[0].is_ok());
            let err = results[1].as_ref().unwrap_err();
            assert!(matches!(err, DataError::BadImage { .. }), "{err:?}");
            assert!(
                err.to_string().contains(&bad.display().to_string()),
                "{err}"
            );
            assert_eq!(results.len(), 2, "the epoch ends at the first error");
        }
        let missing = dir.path().join("gone.png");
        data[2].impath = missing.clone();
        let l = loader(data, false, Sampler::Sequential, 4, 1, 0);
        let err = l.epoch(0).next().unwrap().unwrap_err();
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn unknown_sampler_names_the_valid_ones() {
        let _rng = crate::testing::torch_rng();
        let e = Sampler::parse("RandomSamplr").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("RandomSamplr") && msg.contains("RandomSampler, SequentialSampler"),
            "{msg}"
        );
        let msg = Sampler::parse("RandomDomainSampler")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("does not implement"), "{msg}");
        assert_eq!(
            Sampler::parse("SequentialSampler").unwrap(),
            Sampler::Sequential
        );
        assert_eq!(Sampler::Random.name(), "RandomSampler");
    }

    #[test]
    fn invalid_loaders_are_refused() {
        let _rng = crate::testing::torch_rng();
        let t = Transform::test(&tcfg(true)).unwrap();
        let e = DataLoader::new(
            vec![],
            t.clone(),
            LoaderOptions::new(Sampler::Sequential, 4, false),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no batches"), "{e}");
        let dir = tmp();
        let data = write_images(dir.path(), 2);
        assert!(DataLoader::new(
            data.clone(),
            t.clone(),
            LoaderOptions::new(Sampler::Sequential, 0, false)
        )
        .is_err());
        let l =
            DataLoader::new(data, t, LoaderOptions::new(Sampler::Sequential, 1, false)).unwrap();
        assert!(l.load(&[5], 0).is_err());
    }

    #[test]
    fn negative_seed_draws_an_entropy_seed() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let data = write_images(dir.path(), 2);
        let a = loader(data.clone(), true, Sampler::Random, 1, 0, -1);
        let b = loader(data, true, Sampler::Random, 1, 0, -1);
        assert_ne!(a.seed(), b.seed());
    }

    #[test]
    fn dropping_an_epoch_early_stops_the_producer() {
        let _rng = crate::testing::torch_rng();
        let dir = tmp();
        let l = loader(write_images(dir.path(), 12), true, Sampler::Random, 1, 2, 0);
        let mut it = l.epoch(0);
        assert!(it.next().unwrap().is_ok());
        drop(it);
        // The loader is still usable afterwards.
        assert_eq!(collect(&l, 1).len(), 12);
    }
}
