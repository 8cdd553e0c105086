//! One training run with burn-train's learner, from prepared data to a complete artifact
//! directory: the entry points ([`train`], [`train_on_devices`], [`resume`]), the learner's
//! set-up (data loaders, optimizer, schedule, metrics, checkpointing, and the early-stopping and
//! checkpoint-keeping policies), and what a finished run reports.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoader;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::ModuleDisplay;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::train::checkpoint::{ComposedCheckpointingStrategy, KeepLastNCheckpoints};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, PerplexityMetric};
use burn::train::{ExecutionStrategy, Learner, MultiDeviceOptim, SupervisedTraining};
use serde::Serialize;
use transduce_data::{BatchPlan, Codec, Prepared};
use transduce_nn::Seq2Seq;
use transduce_nn::special::PAD;

use crate::artifact::Artifact;
use crate::artifact::{
    RunConfig, files, save_weights, write_atomic, write_inference_files, write_pairs,
};
use crate::best::Kept;
use crate::checkpoint::{AtomicFileCheckpointer, latest_complete};
use crate::config::{Schedule, TrainingConfig};
use crate::epoch::{EpochClock, EpochShuffled, epoch_seed};
use crate::metrics::{TranslationMetric, TranslationScore};
use crate::optim::FusedAdamConfig;
use crate::policies::{KeepBest, Monitor, Plateau, TimeBudget, lr_schedule};
use crate::pretrained::load_pretrained;
use crate::renderer::EpochLineRenderer;
use crate::score::BleuTokenize;
use crate::step::{BatchItem, TrainBatch, TrainBatcher};
use crate::{EvalReport, Seq2SeqTrainee, TrainError, best, history};

// These paths stay: they were defined here before the policies and the embedding loading moved
// to their own modules.
pub use crate::policies::{RunState, SavedScore};
pub use crate::pretrained::PretrainedReport;

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
    /// Seconds spent in the learner, over every session of a resumed run (as `metrics.csv`'s
    /// `elapsed_s` counts them).
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
    clear_learner_state(artifact_dir)?;
    write_inputs(config, data, artifact_dir)?;
    run(config, data, devices, artifact_dir, None, dashboard)
}

/// Removes what an earlier run's learner left in `dir` (its checkpoints, per-epoch logs and
/// metrics), so that a new run there cannot count the old run's epochs or keep its checkpoint.
/// Only [`resume`] continues from them.
pub(crate) fn clear_learner_state(dir: &Path) -> Result<(), TrainError> {
    for name in [files::CHECKPOINTS, "train", "valid"] {
        let path = dir.join(name);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|e| TrainError::artifact(&path, e))?;
        }
    }
    for name in [files::METRICS, "experiment.log"] {
        let path = dir.join(name);
        if path.is_file() {
            std::fs::remove_file(&path).map_err(|e| TrainError::artifact(&path, e))?;
        }
    }
    Ok(())
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
    let checkpoints = artifact_dir.join(files::CHECKPOINTS);
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
    write_inference_files(artifact_dir, config, &data.codec)?;
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

    // Batches are formed once; the training batches are visited in an order that depends only
    // on the seed and the epoch, so a resumed run sees exactly what an uninterrupted one would.
    let epoch = Arc::new(AtomicUsize::new(resume_from.unwrap_or(0)));
    let (train_loader, valid_loader) = loaders(data, training, epoch.clone());
    let optim = optimizer(training);
    let checkpoints = artifact_dir.join(files::CHECKPOINTS);
    let restored = match resume_from {
        Some(epoch) => RunState::load(&checkpoints, epoch)?,
        None => RunState::initial(),
    };
    // The wall time of the sessions before this one, so that a resumed run reports its whole.
    let elapsed_before = restored.elapsed_s.unwrap_or(0.0);
    let lr_scale = Arc::new(Mutex::new(restored.lr_scale));
    let keep_best = Arc::new(Mutex::new(RunState::unpack(restored.keep_best)));
    let plateau = training.schedule(&config.model) == Schedule::Plateau;
    let schedule = lr_schedule(
        training,
        training.schedule(&config.model),
        config.model.width(),
        &lr_scale,
    )?;

    let tokenize = training.bleu_tokenize(&config.data);
    // Keep the latest checkpoint and the best by validation BLEU (then loss).
    let checkpointing = ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(1))
        .add(KeepBest {
            best: keep_best.clone(),
        })
        .build();
    let mut supervised = with_metrics(
        SupervisedTraining::new(artifact_dir, train_loader, valid_loader),
        &data.codec,
        tokenize,
    )
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
        started: Instant::now(),
        elapsed_before,
    });
    let Launched {
        model: interrupted,
        train_seconds: this_session,
        budget_hit,
        stopped,
    } = launch(
        supervised,
        Learner::new(trainee, optim, schedule),
        training,
        dashboard,
        &stop_reason,
    )?;

    let train_seconds = elapsed_before + this_session;

    let epochs = history::write(artifact_dir)?;
    let Kept {
        best_epoch,
        name: kept,
        model,
    } = best::keep(
        &epochs,
        &checkpoints,
        budget_hit.then_some(interrupted),
        config,
        data,
        device,
    )?;
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
        best_epoch,
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

/// What [`launch`] hands back.
pub(crate) struct Launched<M> {
    /// The model as training left it (off the autodiff device).
    pub(crate) model: M,
    /// Wall time of the learner's loop, in seconds.
    pub(crate) train_seconds: f64,
    /// Whether the time budget stopped training.
    pub(crate) budget_hit: bool,
    /// Why training stopped before its last epoch, if it did.
    pub(crate) stopped: Option<String>,
}

/// Runs `learner` under `supervised` with what every run adds: the time budget's interrupter,
/// one line per epoch instead of the dashboard (asked for, or off a terminal), and the reason
/// it stopped early (the monitor's, written to `reason`, or the budget).
pub(crate) fn launch<M>(
    mut supervised: SupervisedTraining<Seq2SeqTrainee<M>>,
    learner: Learner<Seq2SeqTrainee<M>>,
    training: &TrainingConfig,
    dashboard: Dashboard,
    reason: &Mutex<Option<String>>,
) -> Result<Launched<M>, TrainError>
where
    M: Seq2Seq + Module + ModuleDisplay + 'static,
{
    let budget = training
        .time_budget
        .map(|seconds| TimeBudget::start(seconds, supervised.interrupter()));
    if dashboard == Dashboard::Lines || !std::io::stdout().is_terminal() {
        supervised = supervised.renderer(Box::new(EpochLineRenderer::default()));
    }
    let started = Instant::now();
    let result = supervised.launch(learner);
    let train_seconds = started.elapsed().as_secs_f64();
    let budget_hit = budget.is_some_and(|b| b.finish());
    if let Some(error) = result.error {
        return Err(TrainError::Training(error.to_string()));
    }
    drop(result.renderer);
    let mut stopped = reason.lock().expect("not poisoned").clone();
    if budget_hit {
        stopped = Some(format!(
            "time budget of {}s reached",
            training.time_budget.unwrap_or_default()
        ));
    }
    Ok(Launched {
        model: result.model.model,
        train_seconds,
        budget_hit,
        stopped,
    })
}

/// Training and validation batches as burn-train's data loaders: the training batches are formed
/// anew for each epoch from the seed and `epoch` (see [`BatchPlan`] and [`EpochShuffled`]); the
/// validation batches once, sorted by length.
pub(crate) fn loaders(
    data: &Prepared,
    training: &TrainingConfig,
    epoch: Arc<AtomicUsize>,
) -> (
    Arc<dyn DataLoader<TrainBatch>>,
    Arc<dyn DataLoader<TrainBatch>>,
) {
    let plan = BatchPlan {
        batch_size: training.batch_size,
        max_tokens: training.max_tokens,
        bucket: training.bucket,
        pool: training.bucket_pool,
    };
    let items = |pairs: &[transduce_data::Pair]| -> Vec<BatchItem> {
        let examples = data.codec.examples(pairs);
        examples
            .into_iter()
            .zip(pairs)
            .map(|(example, pair)| (example, pair.tgt.clone()))
            .collect()
    };
    let train = DataLoaderBuilder::new(TrainBatcher)
        .batch_size(1)
        .build(EpochShuffled::new(
            items(&data.splits.train),
            plan.clone(),
            training.seed,
            epoch,
        ));
    let valid_plan = BatchPlan { pool: None, ..plan };
    let examples = data.codec.examples(&data.splits.valid);
    let valid_items = items(&data.splits.valid);
    let valid: Vec<Vec<BatchItem>> = valid_plan
        .batches(&examples, training.seed)
        .into_iter()
        .map(|batch| batch.into_iter().map(|i| valid_items[i].clone()).collect())
        .collect();
    let valid = DataLoaderBuilder::new(TrainBatcher)
        .batch_size(1)
        .build(InMemDataset::new(valid));
    (train, valid)
}

/// Adam with the Transformer paper's betas and epsilon, and the configured gradient clipping.
pub(crate) fn optimizer(training: &TrainingConfig) -> ModuleOptimizer {
    let grad_clipping = (training.grad_clip > 0.0)
        .then_some(GradientClippingConfig::Norm(training.grad_clip as f32));
    FusedAdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.98)
        .with_epsilon(1e-9)
        .with_grad_clipping(grad_clipping)
        .init()
}

/// The metrics every run reports: loss, accuracy and perplexity on both splits, the learning
/// rate, and validation BLEU, chrF and exact match of greedy translations.
pub(crate) fn with_metrics<M>(
    supervised: SupervisedTraining<Seq2SeqTrainee<M>>,
    codec: &Codec,
    tokenize: BleuTokenize,
) -> SupervisedTraining<Seq2SeqTrainee<M>>
where
    M: Seq2Seq + Module + ModuleDisplay + 'static,
{
    let codec = Arc::new(codec.clone());
    let translation = |score| TranslationMetric::new(score, codec.clone(), tokenize);
    supervised
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_train_numeric(AccuracyMetric::new().with_pad_token(PAD))
        .metric_valid_numeric(AccuracyMetric::new().with_pad_token(PAD))
        .metric_train_numeric(PerplexityMetric::new().with_pad_token(PAD))
        .metric_valid_numeric(PerplexityMetric::new().with_pad_token(PAD))
        .metric_valid_numeric(translation(TranslationScore::Bleu))
        .metric_valid_numeric(translation(TranslationScore::Chrf))
        .metric_valid_numeric(translation(TranslationScore::ExactMatch))
        .metric_train_numeric(LearningRateMetric::new())
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
