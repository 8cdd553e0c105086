//! One training run with burn-train's learner, from prepared data to a complete artifact directory.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::{Dataset, DatasetError, InMemDataset};
use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::noam::NoamLrSchedulerConfig;
use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;
use burn::prelude::*;
use burn::train::checkpoint::{
    CheckpointingAction, CheckpointingStrategy, ComposedCheckpointingStrategy, KeepLastNCheckpoints,
};
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, PerplexityMetric};
use burn::train::{
    EarlyStoppingStrategy, ExecutionStrategy, Interrupter, Learner, MultiDeviceOptim,
    SupervisedTraining,
};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use transduce_data::{BatchPlan, Prepared, TokenizerKind, read_vectors};
use transduce_nn::special::PAD;
use transduce_nn::{Model, Side};

use crate::artifact::Artifact;
use crate::artifact::{RunConfig, files, load_record, save_weights, write_atomic, write_pairs};
use crate::checkpoint::{AtomicFileCheckpointer, latest_complete};
use crate::config::Schedule;
use crate::metrics::{TranslationMetric, TranslationScore};
use crate::optim::FusedAdamConfig;
use crate::plot::{Series, line_plot};
use crate::renderer::EpochLineRenderer;
use crate::step::{BatchItem, TrainBatcher};
use crate::{EvalReport, Seq2SeqTrainee, TrainError, Translator};

/// What a finished run reports (also written as `report.json`).
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Architecture name.
    pub arch: String,
    /// Trainable parameters.
    pub n_params: usize,
    /// Sentence pairs per split, after filtering.
    pub pairs: SplitSizes,
    /// Epochs completed.
    pub epochs: usize,
    /// Pretrained embeddings loaded into the model.
    pub pretrained: Vec<PretrainedReport>,
    /// Why training stopped before its last epoch, if it did.
    pub stopped: Option<String>,
    /// The completed epoch with the best validation BLEU (then loss); none if no epoch completed.
    pub best_epoch: Option<usize>,
    /// Which model `model.bpk` holds: `epoch N` (the best completed epoch), or
    /// `interrupted epoch N (partial)` when a time budget stopped training and that model
    /// validated better.
    pub kept: String,
    /// Seconds spent in the learner.
    pub train_seconds: f64,
    /// Greedy decoding of the held-out test split (or validation if there is no test split) with
    /// the saved `model.bpk`, computed exactly as `transduce eval` computes it.
    pub test: EvalReport,
}

/// How training shows its progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dashboard {
    /// burn-train's terminal dashboard when stdout is a terminal, one line per epoch otherwise.
    #[default]
    Auto,
    /// One line of metrics per epoch, even at a terminal.
    Lines,
}

/// The number of sentence pairs in each split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SplitSizes {
    /// Training pairs (after `max_sentence_len`).
    pub train: usize,
    /// Validation pairs.
    pub valid: usize,
    /// Test pairs.
    pub test: usize,
}

/// Trains `config.model` on `data` on `device` and fills `artifact_dir`.
///
/// `data.codec`'s vocabulary sizes must match the model config ([`RunConfig::prepare`] sets them).
pub fn train(
    config: &RunConfig,
    data: &Prepared,
    device: &Device,
    artifact_dir: &Path,
) -> Result<TrainReport, TrainError> {
    train_on_devices(
        config,
        data,
        std::slice::from_ref(device),
        artifact_dir,
        Dashboard::Auto,
    )
}

/// [`train`] with data parallelism over several devices (burn-train's multi-device strategy:
/// each batch's gradients are computed on the devices in turn and the optimizer runs on the
/// first). Evaluation and the kept model use the first device.
pub fn train_on_devices(
    config: &RunConfig,
    data: &Prepared,
    devices: &[Device],
    artifact_dir: &Path,
    dashboard: Dashboard,
) -> Result<TrainReport, TrainError> {
    if devices.is_empty() {
        return Err(TrainError::Input("no device to train on".into()));
    }
    config.model.validate()?;
    config.training.validate()?;
    if let Some(max_len) = config.model.max_len() {
        check_lengths(data, max_len)?;
    }
    std::fs::create_dir_all(artifact_dir).map_err(|e| TrainError::artifact(artifact_dir, e))?;
    write_inputs(config, data, artifact_dir)?;
    run(config, data, devices, artifact_dir, None, dashboard)
}

/// Continues an interrupted run in `artifact_dir` (Ctrl-C, `kill -9`, a time budget) from its
/// latest complete checkpoint, with the optimizer state and the schedule's step restored, up to
/// the configured number of epochs (`epochs` raises it).
pub fn resume(
    artifact_dir: &Path,
    device: &Device,
    epochs: Option<usize>,
    dashboard: Dashboard,
) -> Result<TrainReport, TrainError> {
    let artifact = Artifact::open(artifact_dir)?;
    let mut config = artifact.config.clone();
    if let Some(epochs) = epochs {
        config.training.epochs = epochs;
    }
    config.training.validate()?;
    config.data.validate()?;
    config.model.validate().map_err(|e| {
        TrainError::artifact(
            artifact_dir.join(files::CONFIG),
            format!("the saved model config is invalid: {e}"),
        )
    })?;
    let checkpoints = artifact_dir.join("checkpoint");
    let epoch = latest_complete(&checkpoints).ok_or_else(|| {
        TrainError::artifact(
            &checkpoints,
            "no complete checkpoint (model, optim and scheduler) to resume from",
        )
    })?;
    if epoch >= config.training.epochs {
        return Err(TrainError::Input(format!(
            "the run already completed {epoch} of {} epochs; raise the number of epochs to train longer",
            config.training.epochs
        )));
    }
    // The same seed gives the same splits, filtered exactly as the original run filtered them
    // with its saved tokenizers and vocabularies.
    let (data, _) = config
        .data
        .prepare_with_codec(config.training.seed, artifact.codec)?;
    if let Some(max_len) = config.model.max_len() {
        check_lengths(&data, max_len)?;
    }
    write_atomic(
        &artifact_dir.join(files::CONFIG),
        serde_json::to_string_pretty(&config).expect("configs serialise"),
    )?;
    run(
        &config,
        &data,
        std::slice::from_ref(device),
        artifact_dir,
        Some(epoch),
        dashboard,
    )
}

/// Writes the config, vocabularies, tokenizers and held-out pairs of a new run.
fn write_inputs(
    config: &RunConfig,
    data: &Prepared,
    artifact_dir: &Path,
) -> Result<(), TrainError> {
    let config_json = serde_json::to_string_pretty(config).expect("configs serialise");
    write_atomic(&artifact_dir.join(files::CONFIG), config_json)?;
    let codec = &data.codec;
    codec.src_vocab.save(&artifact_dir.join(files::SRC_VOCAB))?;
    codec.tgt_vocab.save(&artifact_dir.join(files::TGT_VOCAB))?;
    codec
        .src_tokenizer
        .save(&artifact_dir.join(files::SRC_TOKENIZER))?;
    codec
        .tgt_tokenizer
        .save(&artifact_dir.join(files::TGT_TOKENIZER))?;
    write_pairs(&artifact_dir.join(files::VALID), &data.splits.valid)?;
    write_pairs(&artifact_dir.join(files::TEST), &data.splits.test)?;
    Ok(())
}

/// Trains from scratch, or from the checkpoint of epoch `resume_from`, and finishes the artifact directory.
fn run(
    config: &RunConfig,
    data: &Prepared,
    devices: &[Device],
    artifact_dir: &Path,
    resume_from: Option<usize>,
    dashboard: Dashboard,
) -> Result<TrainReport, TrainError> {
    let device = &devices[0];
    let training = &config.training;
    device.seed(training.seed);
    let train_device = device.clone().autodiff();
    let (model, pretrained) = load_pretrained(config, data, config.model.init(&train_device))?;
    // Dropout draws from a stream that restarts at every epoch from (seed, epoch).
    train_device.seed(epoch_seed(training.seed, resume_from.unwrap_or(0)));
    let n_params = model.num_params();
    let trainee = Seq2SeqTrainee {
        model,
        label_smoothing: training.label_smoothing,
        teacher_forcing: training.teacher_forcing,
    };

    let plan = BatchPlan {
        batch_size: training.batch_size,
        max_tokens: training.max_tokens,
        bucket: training.bucket,
    };
    // Batches are formed once; the loader shuffles their order every epoch.
    // Batches are formed once; the training batches are visited in an order that depends only
    // on the seed and the epoch, so a resumed run sees exactly what an uninterrupted one would.
    let epoch = Arc::new(AtomicUsize::new(resume_from.unwrap_or(0)));
    let batches = |pairs: &[transduce_data::Pair]| -> Vec<Vec<BatchItem>> {
        let examples = data.codec.examples(pairs);
        plan.batches(&examples, training.seed)
            .into_iter()
            .map(|batch| {
                batch
                    .into_iter()
                    .map(|i| (examples[i].clone(), pairs[i].tgt.clone()))
                    .collect()
            })
            .collect()
    };
    let train_loader =
        DataLoaderBuilder::new(TrainBatcher)
            .batch_size(1)
            .build(EpochShuffled::new(
                batches(&data.splits.train),
                training.seed,
                epoch.clone(),
            ));
    let valid_loader = DataLoaderBuilder::new(TrainBatcher)
        .batch_size(1)
        .build(InMemDataset::new(batches(&data.splits.valid)));

    let grad_clipping = (training.grad_clip > 0.0)
        .then_some(GradientClippingConfig::Norm(training.grad_clip as f32));
    let optim = FusedAdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.98)
        .with_epsilon(1e-9)
        .with_grad_clipping(grad_clipping)
        .init();
    // The Transformer follows the paper's schedule; recurrent models a constant rate that the
    // monitor halves when validation stops improving.
    let checkpoints = artifact_dir.join("checkpoint");
    let restored = match resume_from {
        Some(epoch) => RunState::load(&checkpoints, epoch)?,
        None => RunState {
            monitor_best: None,
            plateau_since: 0,
            lr_scale: 1.0,
            keep_best: None,
        },
    };
    let lr_scale = Arc::new(Mutex::new(restored.lr_scale));
    let keep_best = Arc::new(Mutex::new(RunState::unpack(restored.keep_best)));
    let plateau = training.schedule(&config.model) == Schedule::Plateau;
    let schedule: ModuleLrScheduler = if plateau {
        PlateauLr {
            lr: training.lr,
            scale: lr_scale.clone(),
        }
        .into()
    } else {
        let d_model = config.model.width();
        NoamLrSchedulerConfig::new(training.noam_factor(d_model))
            .with_warmup_steps(training.warmup_steps)
            .with_model_size(d_model)
            .init()
            .map_err(TrainError::Training)?
    };

    let codec = Arc::new(data.codec.clone());
    let tokenize = training.bleu_tokenize(&config.data);
    let bleu = TranslationMetric::new(TranslationScore::Bleu, codec.clone(), tokenize);
    // Keep the latest checkpoint and the best by validation BLEU (then loss).
    let checkpointing = ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(1))
        .add(KeepBest {
            best: keep_best.clone(),
        })
        .build();
    let mut supervised =
        SupervisedTraining::<Seq2SeqTrainee>::new(artifact_dir, train_loader, valid_loader)
            .metric_train_numeric(LossMetric::new())
            .metric_valid_numeric(LossMetric::new())
            .metric_train_numeric(AccuracyMetric::new().with_pad_token(PAD))
            .metric_valid_numeric(AccuracyMetric::new().with_pad_token(PAD))
            .metric_train_numeric(PerplexityMetric::new().with_pad_token(PAD))
            .metric_valid_numeric(PerplexityMetric::new().with_pad_token(PAD))
            .metric_valid_numeric(bleu.clone())
            .metric_valid_numeric(TranslationMetric::new(
                TranslationScore::Chrf,
                codec.clone(),
                tokenize,
            ))
            .metric_valid_numeric(TranslationMetric::new(
                TranslationScore::ExactMatch,
                codec,
                tokenize,
            ))
            .metric_train_numeric(LearningRateMetric::new())
            .with_custom_checkpointers(
                AtomicFileCheckpointer::new(&checkpoints, "model"),
                AtomicFileCheckpointer::new(&checkpoints, "optim"),
                AtomicFileCheckpointer::new(&checkpoints, "scheduler"),
            )
            .with_checkpointing_strategy(checkpointing)
            .num_epochs(training.epochs);
    if devices.len() > 1 {
        let devices = devices.iter().map(|d| d.clone().autodiff()).collect();
        supervised = supervised.with_training_strategy(
            ExecutionStrategy::multi(devices, MultiDeviceOptim::OptimMainDevice).into(),
        );
    }
    if let Some(epoch) = resume_from {
        supervised = supervised.checkpoint(epoch);
    }
    let stop_reason = Arc::new(Mutex::new(None));
    supervised = supervised.early_stopping(Monitor {
        patience: training.patience,
        best: RunState::unpack(restored.monitor_best),
        reason: stop_reason.clone(),
        plateau: plateau.then(|| Plateau {
            patience: training.plateau_patience,
            factor: training.plateau_factor,
            scale: lr_scale.clone(),
            since: restored.plateau_since,
        }),
        keep_best,
        state_dir: Some(checkpoints.clone()),
        epoch: Some(EpochClock {
            epoch: epoch.clone(),
            device: train_device.clone(),
            seed: training.seed,
        }),
    });
    let budget = training
        .time_budget
        .map(|seconds| TimeBudget::start(seconds, supervised.interrupter()));
    if dashboard == Dashboard::Lines || !std::io::stdout().is_terminal() {
        supervised = supervised.renderer(Box::new(EpochLineRenderer::default()));
    }
    let started = Instant::now();
    let result = supervised.launch(Learner::new(trainee, optim, schedule));
    let train_seconds = started.elapsed().as_secs_f64();
    let budget_hit = budget.is_some_and(|b| b.finish());
    if let Some(error) = result.error {
        return Err(TrainError::Training(error.to_string()));
    }
    drop(result.renderer);
    let mut stopped = stop_reason.lock().expect("not poisoned").clone();
    if budget_hit {
        stopped = Some(format!(
            "time budget of {}s reached",
            training.time_budget.unwrap_or_default()
        ));
    }

    let epochs = write_metrics_csv(artifact_dir)?;
    // The best epoch among the checkpoints kept, in the order `KeepBest` uses.
    let checkpoint_of = |epoch: usize| {
        artifact_dir
            .join("checkpoint")
            .join(format!("model-{epoch}.bpk"))
    };
    let best = epochs
        .iter()
        .filter(|e| checkpoint_of(e.epoch).is_file())
        .fold(None, |best: Option<&EpochMetrics>, e| match best {
            Some(b) if !better((e.valid_bleu, e.valid_loss), (b.valid_bleu, b.valid_loss)) => {
                Some(b)
            }
            _ => Some(e),
        });
    let translator = |model| Translator::for_run(model, data.codec.clone(), device.clone(), config);
    // Candidates: the best checkpoint, and the model where a time budget interrupted training
    // (its last, partial epoch was neither validated nor checkpointed).
    let mut candidates = Vec::new();
    if let Some(best) = best {
        let trainee = Seq2SeqTrainee {
            model: config.model.init(device),
            label_smoothing: training.label_smoothing,
            teacher_forcing: training.teacher_forcing,
        };
        candidates.push((
            format!("epoch {}", best.epoch),
            load_record(trainee, &checkpoint_of(best.epoch))?.model,
        ));
    }
    if budget_hit {
        candidates.push((
            format!("interrupted epoch {} (partial)", epochs.len() + 1),
            result.model.model,
        ));
    }
    let (kept, model) = match candidates.len() {
        0 => {
            return Err(TrainError::Training(
                "no epoch completed and no checkpoint was kept".into(),
            ));
        }
        1 => candidates.pop().expect("one candidate"),
        _ => {
            // Compare them on the validation split by decoding.
            let mut scored = Vec::new();
            for (name, model) in candidates {
                let t = translator(model);
                let (r, _) = t.evaluate(&data.splits.valid)?;
                scored.push(((r.bleu, r.chrf, r.exact_match), name, t.model));
            }
            let best = scored
                .into_iter()
                .reduce(|a, b| if b.0 > a.0 { b } else { a })
                .expect("two candidates");
            (best.1, best.2)
        }
    };
    save_weights(&model, &artifact_dir.join(files::MODEL))?;
    drop(model);
    // The report describes the saved model, read back and scored by the code `eval` runs.
    let artifact = Artifact::open(artifact_dir)?;
    let (test, _) = artifact
        .translator(device)?
        .evaluate(&artifact.held_out()?.1)?;
    let report = TrainReport {
        arch: config.model.arch().to_string(),
        n_params,
        pairs: SplitSizes {
            train: data.splits.train.len(),
            valid: data.splits.valid.len(),
            test: data.splits.test.len(),
        },
        pretrained,
        epochs: epochs.len(),
        best_epoch: best.map(|b| b.epoch),
        kept,
        stopped,
        train_seconds,
        test,
    };
    write_atomic(
        &artifact_dir.join(files::REPORT),
        serde_json::to_string_pretty(&report).expect("reports serialise"),
    )?;
    Ok(report)
}

/// What loading pretrained vectors found.
#[derive(Clone, Debug, Serialize)]
pub struct PretrainedReport {
    /// `source` or `target`.
    pub side: String,
    /// The vectors file.
    pub path: std::path::PathBuf,
    /// Vocabulary words found in it.
    pub found: usize,
    /// Vocabulary words missing from it (they keep their random initialisation).
    pub missing: usize,
    /// Whether the table stays fixed during training.
    pub frozen: bool,
}

/// Loads `training.src_embeddings` / `tgt_embeddings` into the model (word tokenizer only).
fn load_pretrained(
    config: &RunConfig,
    data: &Prepared,
    mut model: Model,
) -> Result<(Model, Vec<PretrainedReport>), TrainError> {
    let training = &config.training;
    let sides = [
        (
            Side::Source,
            "source",
            &training.src_embeddings,
            &data.codec.src_vocab,
        ),
        (
            Side::Target,
            "target",
            &training.tgt_embeddings,
            &data.codec.tgt_vocab,
        ),
    ];
    let mut reports = Vec::new();
    for (side, name, path, vocab) in sides {
        let Some(path) = path else { continue };
        if data.codec.src_tokenizer.kind() != TokenizerKind::Word {
            return Err(TrainError::Input(
                "pretrained word embeddings need the word tokenizer (data.tokenizer = word)".into(),
            ));
        }
        let vectors = read_vectors(path, vocab, model.embedding_width(side))?;
        model = model.load_embeddings(side, &vectors.rows, training.freeze_embeddings)?;
        log::info!(
            "{name} embeddings: {} words from {}, {} missing",
            vectors.rows.len(),
            path.display(),
            vectors.missing
        );
        reports.push(PretrainedReport {
            side: name.to_string(),
            path: path.clone(),
            found: vectors.rows.len(),
            missing: vectors.missing,
            frozen: training.freeze_embeddings,
        });
    }
    Ok((model, reports))
}

/// With a learned position table, every source and target (with `<sos>`) must fit in it.
fn check_lengths(data: &Prepared, max_len: usize) -> Result<(), TrainError> {
    let splits = [
        ("train", &data.splits.train),
        ("valid", &data.splits.valid),
        ("test", &data.splits.test),
    ];
    for (name, pairs) in splits {
        for (i, example) in data.codec.examples(pairs).iter().enumerate() {
            let len = example.src.len().max(example.tgt.len() + 1);
            if len > max_len {
                return Err(TrainError::Input(format!(
                    "{name} pair {} needs {len} positions, more than the model's max_len of {max_len}; raise max_len or filter long pairs",
                    i + 1
                )));
            }
        }
    }
    Ok(())
}

/// Whether validation `(BLEU, loss)` `a` beats `b`: higher BLEU, then lower loss; NaN never wins.
///
/// BLEU is 0 on corpora of one-word sentences (such as the digit tasks), so the loss decides there.
fn better(a: (f64, f64), b: (f64, f64)) -> bool {
    let key = |(bleu, loss): (f64, f64)| {
        let bleu = if bleu.is_nan() {
            f64::NEG_INFINITY
        } else {
            bleu
        };
        let loss = if loss.is_nan() { f64::INFINITY } else { loss };
        (bleu, loss)
    };
    let (a, b) = (key(a), key(b));
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// An epoch and its validation `(BLEU, loss)`.
type Scored = (usize, (f64, f64));

/// Keeps the checkpoint of the best epoch so far by validation BLEU, then validation loss.
#[derive(Default)]
struct KeepBest {
    best: Arc<Mutex<Option<Scored>>>,
}

impl CheckpointingStrategy for KeepBest {
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let read = |name: &str| {
            store
                .find_metric(name, epoch, Aggregate::Mean, &Split::Valid)
                .unwrap_or(f64::NAN)
        };
        let score = (read(TranslationScore::Bleu.name()), read("Loss"));
        let mut best = self.best.lock().expect("not poisoned");
        match *best {
            Some((_, b)) if !better(score, b) => Vec::new(),
            previous => {
                *best = Some((epoch, score));
                let mut actions = vec![CheckpointingAction::Save];
                if let Some((old, _)) = previous {
                    actions.insert(0, CheckpointingAction::Delete(old));
                }
                actions
            }
        }
    }
}

/// After each epoch: stops on a non-finite loss (the best checkpoint so far stays the result)
/// and, with `patience`, when validation `(BLEU, loss)` has not improved for that many epochs.
#[derive(Clone)]
struct Monitor {
    patience: Option<usize>,
    best: Option<Scored>,
    reason: Arc<Mutex<Option<String>>>,
    plateau: Option<Plateau>,
    /// The best checkpoint that [`KeepBest`] tracks, saved with the monitor's own state.
    keep_best: Arc<Mutex<Option<Scored>>>,
    /// Where the state of each epoch is written (`state-<epoch>.json`), for `--resume`.
    state_dir: Option<std::path::PathBuf>,
    /// Moves the batch order and the dropout stream on to the next epoch.
    epoch: Option<EpochClock>,
}

/// What changes from one epoch to the next: the training batches' order and the dropout stream,
/// both derived from (seed, epoch) only.
#[derive(Clone)]
struct EpochClock {
    epoch: Arc<AtomicUsize>,
    device: Device,
    seed: u64,
}

/// The seed of an epoch's random stream.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    splitmix(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// SplitMix64: a well-mixed 64-bit value from any input.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Training batches in an order that depends only on the seed and the epoch (burn's own shuffle
/// continues a random stream, which a resumed run would restart).
struct EpochShuffled {
    batches: Vec<Vec<BatchItem>>,
    seed: u64,
    epoch: Arc<AtomicUsize>,
    order: Mutex<(usize, Vec<usize>)>,
}

impl EpochShuffled {
    fn new(batches: Vec<Vec<BatchItem>>, seed: u64, epoch: Arc<AtomicUsize>) -> Self {
        EpochShuffled {
            batches,
            seed,
            epoch,
            order: Mutex::new((usize::MAX, Vec::new())),
        }
    }

    /// A Fisher-Yates permutation of the batches for `epoch` (0-based).
    fn permutation(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.batches.len()).collect();
        let mut state = epoch_seed(self.seed, epoch);
        for i in (1..order.len()).rev() {
            state = splitmix(state);
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        order
    }
}

impl Dataset<Vec<BatchItem>> for EpochShuffled {
    fn get(&self, index: usize) -> Result<Vec<BatchItem>, DatasetError> {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut order = self.order.lock().expect("not poisoned");
        if order.0 != epoch {
            *order = (epoch, self.permutation(epoch));
        }
        // Out of range panics, as the `Dataset` contract says.
        Ok(self.batches[order.1[index]].clone())
    }

    fn len(&self) -> usize {
        self.batches.len()
    }
}

/// An epoch and its validation `(BLEU, loss)` as saved (`null` for NaN).
pub type SavedScore = Option<(usize, (Option<f64>, Option<f64>))>;

/// What burn-train's checkpoints do not hold and a resumed run needs to continue exactly: the
/// early-stopping monitor's best epoch, the reduce-on-plateau count and scale, and the best
/// checkpoint. Written after every epoch as `checkpoint/state-<epoch>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct RunState {
    /// The monitor's best epoch and its validation `(BLEU, loss)` (null for NaN).
    pub monitor_best: SavedScore,
    /// Epochs since the plateau schedule last saw an improvement or reduced the rate.
    pub plateau_since: usize,
    /// The factor the plateau schedule applies to the learning rate.
    pub lr_scale: f64,
    /// The best checkpoint's epoch and validation `(BLEU, loss)`.
    pub keep_best: SavedScore,
}

impl RunState {
    /// The path of epoch `epoch`'s state in a checkpoint directory.
    pub fn path(dir: &Path, epoch: usize) -> std::path::PathBuf {
        dir.join(format!("state-{epoch}.json"))
    }

    fn pack(s: Option<Scored>) -> SavedScore {
        let finite = |x: f64| (!x.is_nan()).then_some(x);
        s.map(|(e, (b, l))| (e, (finite(b), finite(l))))
    }

    fn unpack(s: SavedScore) -> Option<Scored> {
        s.map(|(e, (b, l))| (e, (b.unwrap_or(f64::NAN), l.unwrap_or(f64::NAN))))
    }

    /// Reads epoch `epoch`'s state.
    pub fn load(dir: &Path, epoch: usize) -> Result<Self, TrainError> {
        let path = Self::path(dir, epoch);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::artifact(&path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::artifact(&path, e))
    }
}

/// Reduce-on-plateau: multiplies the learning rate by `factor` after `patience` epochs without
/// validation improvement.
#[derive(Clone)]
struct Plateau {
    patience: usize,
    factor: f64,
    scale: Arc<Mutex<f64>>,
    since: usize,
}

/// A constant learning rate times a scale that [`Plateau`] lowers.
#[derive(Clone)]
struct PlateauLr {
    lr: f64,
    scale: Arc<Mutex<f64>>,
}

impl LrScheduler for PlateauLr {
    fn step(&mut self) -> LearningRate {
        self.lr * *self.scale.lock().expect("not poisoned")
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new()
    }

    fn load_record(&mut self, _record: LrSchedulerRecord) {}
}

impl EarlyStoppingStrategy for Monitor {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let read =
            |name: &str, split: Split| store.find_metric(name, epoch, Aggregate::Mean, &split);
        let reason = self.observe(
            epoch,
            read("Loss", Split::Train),
            read("Loss", Split::Valid),
            read(TranslationScore::Bleu.name(), Split::Valid),
        );
        if let Some(clock) = &self.epoch {
            clock.epoch.store(epoch, Ordering::Relaxed);
            clock.device.seed(epoch_seed(clock.seed, epoch));
        }
        if let Some(dir) = &self.state_dir {
            let state = serde_json::to_string_pretty(&self.state()).expect("states serialise");
            if let Err(e) = write_atomic(&RunState::path(dir, epoch), state) {
                log::error!("cannot save the training state of epoch {epoch}: {e}");
            }
        }
        let stop = reason.is_some();
        if stop {
            *self.reason.lock().expect("not poisoned") = reason;
        }
        stop
    }
}

impl Monitor {
    /// The state to save after an epoch.
    fn state(&self) -> RunState {
        RunState {
            monitor_best: RunState::pack(self.best),
            plateau_since: self.plateau.as_ref().map_or(0, |p| p.since),
            lr_scale: self
                .plateau
                .as_ref()
                .map_or(1.0, |p| *p.scale.lock().expect("not poisoned")),
            keep_best: RunState::pack(*self.keep_best.lock().expect("not poisoned")),
        }
    }

    /// Takes an epoch's losses and validation BLEU; returns why training must stop, if it must.
    fn observe(
        &mut self,
        epoch: usize,
        train_loss: Option<f64>,
        valid_loss: Option<f64>,
        bleu: Option<f64>,
    ) -> Option<String> {
        for (loss, name) in [(train_loss, "training"), (valid_loss, "validation")] {
            if let Some(loss) = loss.filter(|l| !l.is_finite()) {
                return Some(format!(
                    "the {name} loss became {loss} in epoch {epoch}; the best earlier checkpoint is kept (try a lower learning rate)"
                ));
            }
        }
        let score = (bleu.unwrap_or(f64::NAN), valid_loss.unwrap_or(f64::NAN));
        match self.best {
            Some((_, best)) if !better(score, best) => {
                if let Some(plateau) = &mut self.plateau {
                    plateau.since += 1;
                    if plateau.since >= plateau.patience {
                        *plateau.scale.lock().expect("not poisoned") *= plateau.factor;
                        plateau.since = 0;
                    }
                }
            }
            _ => {
                self.best = Some((epoch, score));
                if let Some(plateau) = &mut self.plateau {
                    plateau.since = 0;
                }
            }
        }
        let since = epoch - self.best.map_or(epoch, |(e, _)| e);
        match self.patience {
            Some(patience) if since >= patience => Some(format!(
                "no validation improvement for {patience} epochs (early stopping)"
            )),
            _ => None,
        }
    }
}

/// Stops training through the learner's interrupter once `seconds` have passed.
struct TimeBudget {
    done: Arc<AtomicBool>,
    hit: Arc<AtomicBool>,
}

impl TimeBudget {
    fn start(seconds: f64, interrupter: Interrupter) -> Self {
        let (done, hit) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (d, h) = (done.clone(), hit.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + std::time::Duration::from_secs_f64(seconds);
            while !d.load(Ordering::Relaxed) {
                if Instant::now() >= deadline {
                    h.store(true, Ordering::Relaxed);
                    interrupter.stop(Some("time budget reached"));
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        TimeBudget { done, hit }
    }

    /// Ends the timer; whether the budget stopped training.
    fn finish(self) -> bool {
        self.done.store(true, Ordering::Relaxed);
        self.hit.load(Ordering::Relaxed)
    }
}

/// One row of `metrics.csv`.
#[derive(Clone, Debug)]
struct EpochMetrics {
    epoch: usize,
    train_loss: f64,
    train_accuracy: f64,
    valid_loss: f64,
    valid_accuracy: f64,
    train_perplexity: f64,
    valid_perplexity: f64,
    valid_bleu: f64,
    valid_chrf: f64,
    valid_exact_match: f64,
    learning_rate: f64,
}

/// Collects burn-train's per-epoch metric logs into `metrics.csv` and returns the rows.
fn write_metrics_csv(dir: &Path) -> Result<Vec<EpochMetrics>, TrainError> {
    let mut rows = Vec::new();
    for epoch in 1.. {
        let read = |split: &str, name: &str| epoch_value(dir, split, epoch, name);
        let Some(valid_loss) = read("valid", "Loss") else {
            break;
        };
        rows.push(EpochMetrics {
            epoch,
            train_loss: read("train", "Loss").unwrap_or(f64::NAN),
            train_accuracy: read("train", "Accuracy").unwrap_or(f64::NAN),
            valid_loss,
            valid_accuracy: read("valid", "Accuracy").unwrap_or(f64::NAN),
            train_perplexity: read("train", "Perplexity").unwrap_or(f64::NAN),
            valid_perplexity: read("valid", "Perplexity").unwrap_or(f64::NAN),
            valid_bleu: read("valid", "BLEU").unwrap_or(f64::NAN),
            valid_chrf: read("valid", "chrF").unwrap_or(f64::NAN),
            valid_exact_match: read("valid", "Exact_Match").unwrap_or(f64::NAN),
            learning_rate: read("train", "Learning_Rate").unwrap_or(f64::NAN),
        });
    }
    let mut csv = String::from(
        "epoch,train_loss,train_accuracy,train_perplexity,valid_loss,valid_accuracy,valid_perplexity,valid_bleu,valid_chrf,valid_exact_match,learning_rate\n",
    );
    for r in &rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.epoch,
            r.train_loss,
            r.train_accuracy,
            r.train_perplexity,
            r.valid_loss,
            r.valid_accuracy,
            r.valid_perplexity,
            r.valid_bleu,
            r.valid_chrf,
            r.valid_exact_match,
            r.learning_rate
        ));
    }
    write_atomic(&dir.join(files::METRICS), csv)?;
    let series = |name, value: fn(&EpochMetrics) -> f64| Series {
        name,
        points: rows.iter().map(|r| (r.epoch as f64, value(r))).collect(),
    };
    line_plot(
        &dir.join(files::LOSS_PLOT),
        "loss per epoch",
        "cross-entropy (label-smoothed)",
        &[
            series("train", |r| r.train_loss),
            series("validation", |r| r.valid_loss),
        ],
    )?;
    line_plot(
        &dir.join(files::SCORE_PLOT),
        "validation scores per epoch (greedy decoding)",
        "score (0-100)",
        &[
            series("BLEU", |r| r.valid_bleu),
            series("chrF", |r| r.valid_chrf),
            series("exact match %", |r| r.valid_exact_match),
        ],
    )?;
    Ok(rows)
}

/// The epoch value burn-train logged for a metric: the last line of its log, `value,final`.
fn epoch_value(dir: &Path, split: &str, epoch: usize, name: &str) -> Option<f64> {
    let path = dir
        .join(split)
        .join(format!("epoch-{epoch}"))
        .join(format!("{name}.log"));
    let text = std::fs::read_to_string(path).ok()?;
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let (value, kind) = last.split_once(',')?;
    (kind.trim() == "final")
        .then(|| value.trim().parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitor_reduces_the_rate_on_plateaus_and_stops_on_patience_and_nan() {
        let scale = Arc::new(Mutex::new(1.0));
        let mut monitor = Monitor {
            patience: Some(3),
            best: None,
            reason: Arc::new(Mutex::new(None)),
            plateau: Some(Plateau {
                patience: 2,
                factor: 0.5,
                scale: scale.clone(),
                since: 0,
            }),
            keep_best: Arc::default(),
            state_dir: None,
            epoch: None,
        };
        let lr = || *scale.lock().unwrap();
        assert_eq!(monitor.observe(1, Some(2.0), Some(2.0), Some(10.0)), None);
        assert_eq!(monitor.observe(2, Some(1.5), Some(1.9), Some(12.0)), None);
        assert_eq!(monitor.observe(3, Some(1.4), Some(1.9), Some(11.0)), None);
        assert_eq!(lr(), 1.0);
        assert_eq!(monitor.observe(4, Some(1.3), Some(1.9), Some(11.5)), None);
        assert_eq!(lr(), 0.5, "two epochs without improvement halve the rate");
        let stop = monitor
            .observe(5, Some(1.2), Some(1.9), Some(11.9))
            .unwrap();
        assert!(
            stop.contains("no validation improvement for 3 epochs"),
            "{stop}"
        );

        let mut monitor = Monitor {
            patience: None,
            best: None,
            reason: Arc::new(Mutex::new(None)),
            plateau: None,
            keep_best: Arc::default(),
            state_dir: None,
            epoch: None,
        };
        let stop = monitor
            .observe(1, Some(f64::NAN), Some(1.0), Some(0.0))
            .unwrap();
        assert!(
            stop.contains("training loss became NaN in epoch 1"),
            "{stop}"
        );
        assert!(
            monitor
                .observe(1, Some(1.0), Some(f64::INFINITY), None)
                .unwrap()
                .contains("validation loss became inf")
        );
    }

    #[test]
    fn checkpoints_are_ranked_by_bleu_then_loss() {
        assert!(better((30.0, 2.0), (20.0, 1.0)));
        assert!(
            better((0.0, 1.0), (0.0, 2.0)),
            "equal BLEU: lower loss wins"
        );
        assert!(
            !better((0.0, 2.0), (0.0, 2.0)),
            "ties keep the earlier epoch"
        );
        assert!(!better((f64::NAN, 0.1), (0.0, 5.0)));
        assert!(better((0.0, 5.0), (f64::NAN, f64::NAN)));
    }
}

#[cfg(test)]
mod schedule_tests {
    use crate::TrainingConfig;
    use burn::lr_scheduler::noam::NoamLrSchedulerConfig;

    #[test]
    fn the_noam_schedule_peaks_at_lr_after_warmup() {
        // lr(step) = factor · d^-0.5 · min(step^-0.5, step · warmup^-1.5), factor = lr · sqrt(d · warmup):
        // lr(1) = lr / warmup, lr(warmup) = lr, lr(10 · warmup) = lr / sqrt(10).
        let config = TrainingConfig::new().with_lr(0.002).with_warmup_steps(100);
        let d_model = 64;
        let mut schedule = NoamLrSchedulerConfig::new(config.noam_factor(d_model))
            .with_warmup_steps(config.warmup_steps)
            .with_model_size(d_model)
            .init()
            .unwrap();
        let lrs: Vec<f64> = (1..=1000).map(|_| schedule.step().base()).collect();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.max(1.0) + 1e-12;
        assert!(close(lrs[0], 0.002 / 100.0), "step 1: {}", lrs[0]);
        assert!(close(lrs[99], 0.002), "warmup: {}", lrs[99]);
        assert!(
            close(lrs[999], 0.002 / 10f64.sqrt()),
            "10 warmup: {}",
            lrs[999]
        );
        assert!(lrs.iter().all(|&lr| lr <= 0.002 + 1e-12));
    }
}
