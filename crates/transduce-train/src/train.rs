//! One training run with burn-train's learner, from prepared data to a complete artifact directory.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::noam::NoamLrSchedulerConfig;
use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::AdamConfig;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use transduce_data::{BatchPlan, Example, Prepared, Seq2SeqBatcher, TokenizerKind, read_vectors};
use transduce_nn::special::PAD;
use transduce_nn::{Model, Side};

use crate::artifact::Artifact;
use crate::artifact::{RunConfig, files, load_record, save_weights, write_atomic, write_pairs};
use crate::checkpoint::{AtomicFileCheckpointer, latest_complete};
use crate::config::Schedule;
use crate::metrics::{TranslationMetric, TranslationScore};
use crate::plot::{Series, line_plot};
use crate::renderer::EpochLineRenderer;
use crate::{EvalReport, Seq2SeqTrainee, TrainError, Translator};

/// What a finished run reports (also written as `report.json`).
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Architecture name.
    pub arch: String,
    /// Trainable parameters.
    pub n_params: usize,
    /// Epochs completed.
    pub epochs: usize,
    /// Pretrained embeddings loaded into the model.
    pub pretrained: Vec<PretrainedReport>,
    /// Why training stopped before its last epoch, if it did.
    pub stopped: Option<String>,
    /// The epoch whose weights were kept (highest validation BLEU; the epoch in progress when a
    /// time budget ran out if that model validated better).
    pub best_epoch: usize,
    /// Seconds spent in the learner.
    pub train_seconds: f64,
    /// Exact match of greedy decoding on the held-out test split (or validation if there is no test split).
    pub test: EvalReport,
}

/// Trains `config.model` on `data` on `device` and fills `artifact_dir`.
///
/// `data.codec`'s vocabulary sizes must match the model config (the CLI sets them).
pub fn train(
    config: &RunConfig,
    data: &Prepared,
    device: &Device,
    artifact_dir: &Path,
) -> Result<TrainReport, TrainError> {
    train_on_devices(config, data, std::slice::from_ref(device), artifact_dir)
}

/// [`train`] with data parallelism over several devices (burn-train's multi-device strategy:
/// each batch's gradients are computed on the devices in turn and the optimizer runs on the
/// first). Evaluation and the kept model use the first device.
pub fn train_on_devices(
    config: &RunConfig,
    data: &Prepared,
    devices: &[Device],
    artifact_dir: &Path,
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
    run(config, data, devices, artifact_dir, None)
}

/// Continues an interrupted run in `artifact_dir` (Ctrl-C, `kill -9`, a time budget) from its
/// latest complete checkpoint, with the optimizer state and the schedule's step restored, up to
/// the configured number of epochs (`epochs` raises it).
pub fn resume(
    artifact_dir: &Path,
    device: &Device,
    epochs: Option<usize>,
) -> Result<TrainReport, TrainError> {
    let artifact = Artifact::open(artifact_dir)?;
    let mut config = artifact.config.clone();
    if let Some(epochs) = epochs {
        config.training.epochs = epochs;
    }
    config.training.validate()?;
    let checkpoints = artifact_dir.join("checkpoint");
    let epoch = latest_complete(&checkpoints).ok_or_else(|| {
        TrainError::artifact(
            &checkpoints,
            "no complete checkpoint (model, optim and scheduler) to resume from",
        )
    })?;
    if epoch >= config.training.epochs {
        return Err(TrainError::Input(format!(
            "the run already completed {epoch} of {} epochs; pass --epochs to train longer",
            config.training.epochs
        )));
    }
    // The same seed gives the same splits; the saved vocabularies and tokenizers are reused.
    let (splits, _) = config.data.load(config.training.seed)?;
    let data = Prepared {
        splits,
        codec: artifact.codec,
    };
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
) -> Result<TrainReport, TrainError> {
    let device = &devices[0];
    let training = &config.training;
    device.seed(training.seed);
    let train_device = device.clone().autodiff();
    let (model, pretrained) = load_pretrained(config, data, config.model.init(&train_device))?;
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
    let loader = |pairs: &[transduce_data::Pair], shuffle: bool| {
        let examples = data.codec.examples(pairs);
        let batches: Vec<Vec<Example>> = plan
            .batches(&examples, training.seed)
            .into_iter()
            .map(|batch| batch.into_iter().map(|i| examples[i].clone()).collect())
            .collect();
        let builder = DataLoaderBuilder::new(Seq2SeqBatcher).batch_size(1);
        let builder = if shuffle {
            builder.shuffle(training.seed)
        } else {
            builder
        };
        builder.build(InMemDataset::new(batches))
    };
    let train_loader = loader(&data.splits.train, true);
    let valid_loader = loader(&data.splits.valid, false);

    let grad_clipping = (training.grad_clip > 0.0)
        .then_some(GradientClippingConfig::Norm(training.grad_clip as f32));
    let optim = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.98)
        .with_epsilon(1e-9)
        .with_grad_clipping(grad_clipping)
        .init();
    // The Transformer follows the paper's schedule; recurrent models a constant rate that the
    // monitor halves when validation stops improving.
    let lr_scale = Arc::new(Mutex::new(1.0));
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

    let checkpoints = artifact_dir.join("checkpoint");
    let codec = Arc::new(data.codec.clone());
    let bleu = TranslationMetric::new(TranslationScore::Bleu, codec.clone());
    // Keep the latest checkpoint and the best by validation BLEU (then loss).
    let checkpointing = ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(1))
        .add(KeepBest::default())
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
            ))
            .metric_valid_numeric(TranslationMetric::new(TranslationScore::ExactMatch, codec))
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
        best: None,
        reason: stop_reason.clone(),
        plateau: plateau.then(|| Plateau {
            patience: training.plateau_patience,
            factor: training.plateau_factor,
            scale: lr_scale.clone(),
            since: 0,
        }),
    });
    let budget = training
        .time_budget
        .map(|seconds| TimeBudget::start(seconds, supervised.interrupter()));
    if !std::io::stdout().is_terminal() {
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
    let translator = |model| Translator {
        model,
        codec: data.codec.clone(),
        device: device.clone(),
        batch_size: 256,
        beam_width: 1,
    };
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
            best.epoch,
            load_record(trainee, &checkpoint_of(best.epoch))?.model,
        ));
    }
    if budget_hit {
        candidates.push((epochs.len() + 1, result.model.model));
    }
    let (best_epoch, model) = match candidates.len() {
        0 => {
            return Err(TrainError::Training(
                "no epoch completed and no checkpoint was kept".into(),
            ));
        }
        1 => candidates.pop().expect("one candidate"),
        _ => {
            // Compare them on the validation split by decoding.
            let mut scored = Vec::new();
            for (epoch, model) in candidates {
                let t = translator(model);
                let (r, _) = t.evaluate(&data.splits.valid)?;
                scored.push(((r.bleu, r.chrf, r.exact_match), epoch, t.model));
            }
            let best = scored
                .into_iter()
                .reduce(|a, b| if b.0 > a.0 { b } else { a })
                .expect("two candidates");
            (best.1, best.2)
        }
    };
    save_weights(&model, &artifact_dir.join(files::MODEL))?;
    let translator = translator(model);
    let held_out = if data.splits.test.is_empty() {
        &data.splits.valid
    } else {
        &data.splits.test
    };
    let (test, _) = translator.evaluate(held_out)?;
    let report = TrainReport {
        arch: config.model.arch().to_string(),
        n_params,
        pretrained,
        epochs: epochs.len(),
        best_epoch,
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
                "pretrained word embeddings need the word tokenizer (--tokenizer word)".into(),
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

/// Keeps the checkpoint of the best epoch so far by validation BLEU, then validation loss.
#[derive(Default)]
struct KeepBest {
    best: Option<(usize, (f64, f64))>,
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
        match self.best {
            Some((_, best)) if !better(score, best) => Vec::new(),
            previous => {
                self.best = Some((epoch, score));
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
    best: Option<(usize, (f64, f64))>,
    reason: Arc<Mutex<Option<String>>>,
    plateau: Option<Plateau>,
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
        let stop = reason.is_some();
        if stop {
            *self.reason.lock().expect("not poisoned") = reason;
        }
        stop
    }
}

impl Monitor {
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
                    "the {name} loss became {loss} in epoch {epoch}; the best earlier checkpoint is kept (try a lower --lr)"
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
