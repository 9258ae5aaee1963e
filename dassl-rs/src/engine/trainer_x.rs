//! Dassl's `SimpleTrainer` + `TrainerX` loop, generic over a [`Learner`] that supplies
//! the model-specific parts (CoOp's `build_model`, `forward_backward`, `model_inference`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{Device, Tensor};

use super::checkpoint::{rolling, Progress};
use super::meters::{py_exp4, timedelta, AverageMeter, MetricMeter};
use super::registered::{self, Registered, ResumePoint, Stamp};
use super::result::RunResult;
use super::tensorboard::EventWriter;
use super::Trainer;
use crate::config::Config;
use crate::data::loader::{Batch, DataLoader};
use crate::data::manager::DataManager;
use crate::errors::EngineError;
use crate::evaluation::EvaluatorEntry;
use crate::evaluation::{EvalReport, Evaluator};
use crate::features::cache::{CacheSetting, FeatureCache, CONFIG_KEY};
use crate::features::{loader_features, FrozenEncoder};
use crate::log_println;
use crate::registry::RegistryEntry;

/// Where a training step is: 0-based epoch and batch, and the epoch's batch count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub epoch: usize,
    pub batch_idx: usize,
    pub num_batches: usize,
}

impl Step {
    /// CoOp's trainers call `update_lr()` inside `forward_backward` on an epoch's last batch.
    pub fn is_last_batch(&self) -> bool {
        self.batch_idx + 1 == self.num_batches
    }
}

/// The model-specific half of a trainer.
pub trait Learner {
    /// One training step on a batch; returns the scalars to log (`loss`, `acc`, ...). Like
    /// CoOp's trainers it steps its schedulers itself on the epoch's last batch.
    fn forward_backward(
        &mut self,
        batch: &Batch,
        step: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError>;
    /// Logits `[B, num_classes]` for a batch of images on the device.
    fn inference(&mut self, images: &Tensor) -> Result<Tensor, EngineError>;
    /// Learning rate of the first registered optimizer (0 when nothing trains).
    fn current_lr(&self) -> f64 {
        0.0
    }
    /// `set_model_mode`.
    fn set_train(&mut self, _train: bool) {}
    /// Before an evaluation's batches: computes once what does not depend on the image
    /// (CoOp's class text features), for every batch to reuse.
    fn begin_eval(&mut self) -> Result<(), EngineError> {
        Ok(())
    }
    /// After an evaluation: drops what [`Learner::begin_eval`] computed.
    fn end_eval(&mut self) {}
    /// The learner split at its frozen image encoder, when its logits see the images only
    /// through it: the evaluation then takes the features from the feature cache.
    fn frozen_encoder(&mut self) -> Option<&mut dyn FrozenEncoder> {
        None
    }
    /// The models it registered (`register_model`), lent for checkpoints; none by default.
    fn registered(&mut self) -> Vec<Registered<'_>> {
        Vec::new()
    }
    /// Saves every registered model (Dassl's `save_model`); `epoch` is 0-based.
    fn save(
        &mut self,
        dir: &Path,
        epoch: usize,
        val_result: Option<f64>,
        is_best: bool,
        stamp: Stamp<'_>,
    ) -> Result<(), EngineError> {
        registered::save_model(self.registered(), dir, epoch, val_result, is_best, stamp)
    }
    /// Saves the rolling last-epoch checkpoint (checkpoint/rolling.rs); `epoch` is 0-based.
    fn save_last_epoch(
        &mut self,
        dir: &Path,
        epoch: usize,
        stamp: Stamp<'_>,
    ) -> Result<(), EngineError> {
        registered::save_last_epoch(self.registered(), dir, epoch, stamp)
    }
    /// `resume_model_if_exist`: where to start (epoch 0 when there is no checkpoint); with
    /// an identity, only its own checkpoints are resumed.
    fn resume(&mut self, dir: &Path, identity: Option<&str>) -> Result<ResumePoint, EngineError> {
        registered::resume_model_if_exist(self.registered(), dir, identity)
    }
    /// `load_model(directory, epoch)` for evaluation.
    fn load(&mut self, dir: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        registered::load_model(self.registered(), dir, epoch)
    }
}

/// Set (to anything) to keep a completed run's rolling last-epoch checkpoint.
pub const KEEP_LAST_EPOCH_ENV: &str = "DASSL_KEEP_LAST_EPOCH";

/// Where a stop request (SIGINT, SIGTERM: sweep/signals.rs) ends the loop: before the next
/// batch, so the last complete epoch's checkpoint is where the run resumes.
fn stop_point(epoch: usize, batch_idx: usize, num_batches: usize) -> Result<(), EngineError> {
    match crate::sweep::signals::stop_requested() {
        Some(signal) => Err(EngineError::Stopped {
            signal: signal as i32,
            name: signal.as_str(),
            epoch: epoch + 1,
            batch: batch_idx,
            num_batches,
        }),
        None => Ok(()),
    }
}

/// Picks `cuda:0` when CUDA is available and USE_CUDA, as Dassl does.
pub fn select_device(cfg: &Config) -> Result<Device, EngineError> {
    Ok(if cfg.bool("USE_CUDA")? && tch::Cuda::is_available() {
        Device::Cuda(0)
    } else {
        Device::Cpu
    })
}

/// Human-readable device for result.json.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        Device::Cpu => "cpu".into(),
        other => format!("{other:?}"),
    }
}

/// A runnable trainer: data, evaluator, loop state and the learner.
pub struct Engine<L: Learner> {
    cfg: Config,
    pub dm: DataManager,
    pub learner: L,
    evaluator: Box<dyn Evaluator>,
    device: Device,
    start_epoch: usize,
    max_epoch: usize,
    output_dir: PathBuf,
    best_result: f64,
    epochs_run: usize,
    epoch: usize,
    time_start: Instant,
    writer: Option<EventWriter>,
    /// The run identity its checkpoints carry.
    identity: Option<String>,
    /// Where frozen image features are cached (`TEST.FEATURE_CACHE`, `DASSL_FEATURE_CACHE`).
    feature_cache: Option<FeatureCache>,
}

/// Dassl's `test(split)`: the val loader when asked for and present, else the test one.
fn split_loader<'a>(
    cfg: &Config,
    dm: &'a DataManager,
    split: Option<&str>,
) -> Result<(&'static str, &'a DataLoader), EngineError> {
    let requested = match split {
        Some(s) => s,
        None => cfg.str("TEST.SPLIT")?,
    };
    Ok(match dm.val_loader() {
        Some(val) if requested == "val" => ("val", val),
        _ => ("test", dm.test_loader()),
    })
}

impl<L: Learner> std::fmt::Debug for Engine<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("device", &self.device)
            .field("max_epoch", &self.max_epoch)
            .finish_non_exhaustive()
    }
}

impl<L: Learner> Engine<L> {
    /// `SimpleTrainer.__init__` once the data manager and the learner exist.
    pub fn new(
        cfg: &Config,
        dm: DataManager,
        learner: L,
        device: Device,
    ) -> Result<Self, EngineError> {
        let name = cfg.str("TEST.EVALUATOR")?;
        let entry = EvaluatorEntry::get(name)?;
        if cfg.bool("VERBOSE")? {
            log_println!("Loading evaluator: {}", entry.name);
        }
        let evaluator = (entry.build)(cfg, dm.lab2cname())?;
        Ok(Engine {
            cfg: cfg.clone(),
            dm,
            learner,
            evaluator,
            device,
            start_epoch: 0,
            max_epoch: usize::try_from(cfg.int("OPTIM.MAX_EPOCH")?.max(0)).unwrap_or(0),
            output_dir: PathBuf::from(cfg.str("OUTPUT_DIR")?),
            best_result: f64::NEG_INFINITY,
            epochs_run: 0,
            epoch: 0,
            time_start: Instant::now(),
            writer: None,
            identity: cfg.identity().map(str::to_string),
            feature_cache: CacheSetting::from_config_value(cfg.str(CONFIG_KEY)?).cache(),
        })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The feature cache of the run, unless it is off.
    pub fn feature_cache(&self) -> Option<&FeatureCache> {
        self.feature_cache.as_ref()
    }

    fn run_epoch(&mut self, epoch: usize) -> Result<(), EngineError> {
        self.learner.set_train(true);
        let print_freq = usize::try_from(self.cfg.int("TRAIN.PRINT_FREQ")?.max(1)).unwrap_or(1);
        let loader = self.dm.train_loader_x();
        let num_batches = loader.len();
        let mut losses = MetricMeter::default();
        let mut batch_time = AverageMeter::default();
        let mut data_time = AverageMeter::default();
        let mut end = Instant::now();
        // A live bar for people watching a terminal; logs and pipes get only Dassl's lines.
        let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::io::IsTerminal::is_terminal(&std::io::stdout())
        {
            let bar = indicatif::ProgressBar::new(num_batches as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{}", epoch + 1, self.max_epoch));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        for (batch_idx, batch) in loader.epoch(epoch).enumerate() {
            stop_point(epoch, batch_idx, num_batches)?;
            let batch = batch?;
            data_time.update(end.elapsed().as_secs_f64());
            let step = Step {
                epoch,
                batch_idx,
                num_batches,
            };
            let loss_summary = self.learner.forward_backward(&batch, step)?;
            batch_time.update(end.elapsed().as_secs_f64());
            losses.update(&loss_summary);
            let n_iter = (epoch * num_batches + batch_idx) as i64;
            let lr = self.learner.current_lr();
            if let Some(w) = self.writer.as_mut() {
                // Dassl writes each meter's running average over the epoch so far.
                for (name, avg) in losses.averages() {
                    let _ = w.scalar(&format!("train/{name}"), avg as f32, n_iter);
                }
                let _ = w.scalar("train/lr", lr as f32, n_iter);
            }
            bar.set_message(losses.to_string());
            bar.inc(1);
            if (batch_idx + 1) % print_freq == 0 || num_batches < print_freq {
                let remaining =
                    num_batches - batch_idx - 1 + (self.max_epoch - epoch - 1) * num_batches;
                let eta = timedelta((batch_time.avg() * remaining as f64) as u64);
                bar.suspend(|| {
                log_println!(
                        "epoch [{}/{}] batch [{}/{}] time {:.3} ({:.3}) data {:.3} ({:.3}) {} lr {} eta {}",
                        epoch + 1,
                        self.max_epoch,
                        batch_idx + 1,
                        num_batches,
                        batch_time.val,
                        batch_time.avg(),
                        data_time.val,
                        data_time.avg(),
                        losses,
                        py_exp4(self.learner.current_lr()),
                        eta
                    );
                });
            }
            end = Instant::now();
        }
        bar.finish_and_clear();
        Ok(())
    }

    fn after_epoch(&mut self, epoch: usize) -> Result<(), EngineError> {
        let last_epoch = epoch + 1 == self.max_epoch;
        let freq = self.cfg.int("TRAIN.CHECKPOINT_FREQ")?;
        let meet_freq = freq > 0 && (epoch as i64 + 1) % freq == 0;
        if self.selects_on_val()? {
            let report = self.evaluate(Some("val"))?.1;
            if report.accuracy > self.best_result {
                self.best_result = report.accuracy;
                let dir = self.output_dir.clone();
                let stamp = Stamp {
                    identity: self.identity.as_deref(),
                    progress: None,
                };
                self.learner
                    .save(&dir, epoch, Some(report.accuracy), true, stamp)?;
            }
        }
        if meet_freq || last_epoch {
            let dir = self.output_dir.clone();
            let stamp = Stamp {
                identity: self.identity.as_deref(),
                progress: None,
            };
            self.learner.save(&dir, epoch, None, false, stamp)?;
        }
        // Whatever CHECKPOINT_FREQ says, a kill loses at most the epoch in progress.
        let progress = Progress {
            best_result: self.best_result.is_finite().then_some(self.best_result),
            sampler_seed: self.dm.train_loader_x().seed(),
        };
        let dir = self.output_dir.clone();
        let stamp = Stamp {
            identity: self.identity.as_deref(),
            progress: Some(progress),
        };
        self.learner.save_last_epoch(&dir, epoch, stamp)?;
        Ok(())
    }

    /// Whether `after_epoch` evaluates on val (Dassl's best_val model selection).
    fn selects_on_val(&self) -> Result<bool, EngineError> {
        Ok(!self.cfg.bool("TEST.NO_TEST")? && self.cfg.str("TEST.FINAL_MODEL")? == "best_val")
    }

    /// Runs the evaluation loop; returns the split used and the report.
    fn evaluate(&mut self, split: Option<&str>) -> Result<(String, EvalReport), EngineError> {
        self.learner.set_train(false);
        self.evaluator.reset();
        let (split, loader) = split_loader(&self.cfg, &self.dm, split)?;
        log_println!("Evaluate on the *{split}* set");
        let num_classes = self.dm.num_classes();
        let evaluator = &mut self.evaluator;
        let mut process = |logits: Tensor, labels: &[usize]| -> Result<(), EngineError> {
            let scores: Vec<f32> = Vec::<f32>::try_from(
                logits
                    .to_kind(tch::Kind::Float)
                    .to_device(Device::Cpu)
                    .flatten(0, -1),
            )?;
            evaluator.process(&scores, num_classes, labels);
            Ok(())
        };
        self.learner.begin_eval()?;
        let device = self.device;
        match (self.feature_cache.as_ref(), self.learner.frozen_encoder()) {
            (Some(cache), Some(frozen)) => {
                let what = format!("the {} {split} split", self.cfg.str("DATASET.NAME")?);
                let encode = |images: &Tensor| frozen.encode_images(images);
                let identity = frozen.identity();
                let features = loader_features(Some(cache), &identity, loader, &what, &encode)?;
                let data = loader.data();
                // The pass Dassl makes over the split, features or not (see `DataLoader::begin_pass`).
                for indices in loader.begin_pass() {
                    let rows: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
                    let batch = features
                        .index_select(0, &Tensor::from_slice(&rows))
                        .to_device(device);
                    let logits = tch::no_grad(|| frozen.logits_from_features(&batch))?;
                    let labels: Vec<usize> = indices.iter().map(|&i| data[i].label).collect();
                    process(logits, &labels)?;
                }
            }
            _ => {
                for batch in loader.epoch(0) {
                    let batch = batch?;
                    let logits = tch::no_grad(|| {
                        let images = batch.images.to_device(device);
                        self.learner.inference(&images)
                    })?;
                    let labels: Vec<i64> = Vec::<i64>::try_from(&batch.labels)?;
                    let labels: Vec<usize> = labels.into_iter().map(|l| l as usize).collect();
                    process(logits, &labels)?;
                }
            }
        }
        self.learner.end_eval();
        let report = self.evaluator.evaluate();
        log_println!("{}", report.text().trim_end());
        let epoch = self.epoch as i64;
        if let Some(w) = self.writer.as_mut() {
            let _ = w.scalar(&format!("{split}/accuracy"), report.accuracy as f32, epoch);
            let _ = w.scalar(
                &format!("{split}/error_rate"),
                report.error_rate as f32,
                epoch,
            );
            let _ = w.scalar(&format!("{split}/macro_f1"), report.macro_f1 as f32, epoch);
        }
        Ok((split.to_string(), report))
    }

    /// The final evaluation: prints the result block, writes result.json (and the
    /// confusion matrix when asked).
    fn final_test(&mut self, split: Option<&str>) -> Result<f64, EngineError> {
        let (_, report) = self.evaluate(split)?;
        let io = |path: PathBuf| move |source| EngineError::Io { path, source };
        if let Some(csv) = report.cmat_csv() {
            let path = self.output_dir.join("cmat.csv");
            crate::fsutil::write_atomic(&path, csv.as_bytes()).map_err(io(path.clone()))?;
            log_println!("Confusion matrix is saved to {}", path.display());
        }
        let result = RunResult::new(
            &self.cfg,
            &report,
            self.epochs_run,
            self.time_start.elapsed().as_secs_f64(),
            &device_name(self.device),
        );
        result
            .write(&self.output_dir)
            .map_err(io(self.output_dir.join(super::result::RESULT_FILE)))?;
        Ok(report.accuracy)
    }
}

impl<L: Learner> Trainer for Engine<L> {
    fn train(&mut self) -> Result<(), EngineError> {
        // before_train
        let resume_dir = match self.cfg.str("RESUME")? {
            "" => self.output_dir.clone(),
            dir => PathBuf::from(dir),
        };
        let point = self.learner.resume(&resume_dir, self.identity.as_deref())?;
        self.start_epoch = point.start_epoch;
        if let Some(p) = point.progress {
            if let Some(best) = p.best_result {
                self.best_result = best;
            }
            if p.sampler_seed != self.dm.train_loader_x().seed() {
                log_println!(
                    "The resumed epochs augment with another seed than the first ones (SEED is negative): the result differs from an uninterrupted run's"
                );
            }
        }
        // torch's generator is where the first process had it after building the model;
        // make the draws its finished epochs made, so the resumed ones shuffle as an
        // uninterrupted run's do. (Dassl's own resume restarts the stream instead.)
        let val_each_epoch = self.selects_on_val()?;
        for _ in 0..self.start_epoch {
            self.dm.train_loader_x().begin_pass();
            if val_each_epoch {
                split_loader(&self.cfg, &self.dm, Some("val"))?
                    .1
                    .begin_pass();
            }
        }
        let tb = self.output_dir.join("tensorboard");
        self.writer =
            Some(EventWriter::create(&tb).map_err(|source| EngineError::Io { path: tb, source })?);
        self.time_start = Instant::now();
        for epoch in self.start_epoch..self.max_epoch {
            stop_point(epoch, 0, self.dm.train_loader_x().len())?;
            self.epoch = epoch;
            self.run_epoch(epoch)?;
            self.epochs_run += 1;
            self.after_epoch(epoch)?;
        }
        // after_train
        log_println!("Finish training");
        if !self.cfg.bool("TEST.NO_TEST")? {
            if self.cfg.str("TEST.FINAL_MODEL")? == "best_val" {
                log_println!("Deploy the model with the best val performance");
                let dir = self.output_dir.clone();
                self.learner.load(&dir, None)?;
            } else {
                log_println!("Deploy the last-epoch model");
            }
            self.final_test(None)?;
        }
        if std::env::var_os(KEEP_LAST_EPOCH_ENV).is_none() {
            rolling::remove(&self.output_dir)?;
        }
        log_println!(
            "Elapsed: {}",
            timedelta(self.time_start.elapsed().as_secs_f64().round() as u64)
        );
        Ok(())
    }

    fn test(&mut self, split: Option<&str>) -> Result<f64, EngineError> {
        self.final_test(split)
    }

    fn load_model(&mut self, directory: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        if directory.as_os_str().is_empty() {
            log_println!("Note that load_model() is skipped as no pretrained model is given");
            return Ok(());
        }
        self.learner.load(directory, epoch)
    }
}
