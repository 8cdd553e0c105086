//! Training any model that implements [`Seq2Seq`]: a model of your own gets the learner's
//! loop, the loss, the metrics and the schedules that the built-in architectures get.
//!
//! [`train`](crate::train()) trains one of the four built-in architectures from a
//! [`RunConfig`](crate::artifact::RunConfig) and writes an artifact directory that `translate`,
//! `eval` and [`Artifact`](crate::artifact::Artifact) reopen. [`fit`] is the same loop for a
//! model that is not one of them: it takes the model itself, trains it on prepared data with a
//! [`TrainingConfig`], and hands it back trained; greedy and beam search
//! ([`transduce_decode`]) and [`decode_limit`](crate::evaluate::decode_limit) work on it as
//! they do on the built-in ones. What it does not do is write an artifact (there is no config
//! that could rebuild the model), keep checkpoints or resume: save the returned model with
//! burn's recorders if you need it later.
//!
//! Per epoch it logs, as `train` does, loss, accuracy, perplexity, the learning rate, and
//! validation BLEU, chrF and exact match of greedy translations, into `dir` (burn-train's logs,
//! then `metrics.csv` and the loss and score plots).

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::module::ModuleDisplay;
use burn::prelude::*;
use burn::train::{Learner, SupervisedTraining};
use transduce_data::{Prepared, TokenizerKind};
use transduce_nn::Seq2Seq;

use crate::artifact::files;
use crate::config::{Schedule, TrainingConfig};
use crate::epoch::{EpochClock, epoch_seed};
use crate::policies::{Monitor, Plateau, lr_schedule};
use crate::score::BleuTokenize;
use crate::train::{Dashboard, clear_learner_state, launch, loaders, optimizer, with_metrics};
use crate::{Seq2SeqTrainee, TrainError, history};

/// What [`fit`] hands back.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The trained model, off the autodiff device (dropout off): ready to decode.
    pub model: M,
    /// Epochs run.
    pub epochs: usize,
    /// Why training stopped before `training.epochs`, if it did (patience, time budget).
    pub stopped: Option<String>,
    /// Wall time of the training loop, in seconds.
    pub train_seconds: f64,
}

/// Trains `model` on `data` as [`train`](crate::train()) trains a built-in architecture.
///
/// `model` must already be on an autodiff device (`ModelConfig::init(&device.autodiff())` or
/// your own `init`), and its vocabulary sizes must be those of `data.codec`. `training` says
/// everything else: epochs, batch size, learning rate and schedule (`schedule: None` means
/// the plateau schedule; Noam's warm-up peaks at `lr` whatever the width), label smoothing,
/// teacher forcing, patience, time budget, seed. The seed drives the batch order and dropout;
/// the weights are yours.
///
/// An earlier run's checkpoints, logs and `metrics.csv` in `dir` are removed first.
///
/// # Errors
/// An invalid training config, a model that is not on an autodiff device, a failed training
/// loop, or logs that cannot be written to `dir`.
pub fn fit<M>(
    model: M,
    training: &TrainingConfig,
    data: &Prepared,
    dir: &Path,
    dashboard: Dashboard,
) -> Result<Fitted<M>, TrainError>
where
    M: Seq2Seq + Module + ModuleDisplay + 'static,
{
    training.validate()?;
    std::fs::create_dir_all(dir).map_err(|e| TrainError::artifact(dir, e))?;
    clear_learner_state(dir)?;
    let state_dir = dir.join(files::CHECKPOINTS);
    std::fs::create_dir_all(&state_dir).map_err(|e| TrainError::artifact(&state_dir, e))?;
    let device = model
        .devices()
        .into_iter()
        .next()
        .ok_or_else(|| TrainError::Input("the model has no parameters".into()))?;
    if !device.is_autodiff() {
        return Err(TrainError::Input(
            "the model must be initialised on an autodiff device (`device.autodiff()`) to train"
                .into(),
        ));
    }
    device.seed(epoch_seed(training.seed, 0));

    let epoch = Arc::new(AtomicUsize::new(0));
    let (train_loader, valid_loader) = loaders(data, training, epoch.clone());
    let tokenize = training
        .bleu_tokenize
        .unwrap_or(match data.codec.tgt_tokenizer.kind() {
            TokenizerKind::Char => BleuTokenize::Char,
            _ => BleuTokenize::Thirteen,
        });
    let schedule = training.schedule.unwrap_or(Schedule::Plateau);
    let lr_scale = Arc::new(Mutex::new(1.0));
    let scheduler = lr_schedule(training, schedule, 1, &lr_scale)?;

    let reason = Arc::new(Mutex::new(None));
    let supervised = with_metrics(
        SupervisedTraining::new(dir, train_loader, valid_loader),
        &data.codec,
        tokenize,
    )
    .num_epochs(training.epochs)
    .early_stopping(Monitor {
        patience: training.patience,
        best: None,
        reason: reason.clone(),
        plateau: (schedule == Schedule::Plateau).then(|| Plateau {
            patience: training.plateau_patience,
            factor: training.plateau_factor,
            scale: lr_scale.clone(),
            since: 0,
        }),
        keep_best: Arc::new(Mutex::new(None)),
        // Each epoch's wall time, for metrics.csv.
        state_dir: Some(state_dir),
        epoch: Some(EpochClock {
            epoch,
            device,
            seed: training.seed,
        }),
        started: Instant::now(),
        elapsed_before: 0.0,
    });
    let trainee = Seq2SeqTrainee {
        model,
        label_smoothing: training.label_smoothing,
        teacher_forcing: training.teacher_forcing,
    };
    let learner = Learner::new(trainee, optimizer(training), scheduler);
    let launched = launch(supervised, learner, training, dashboard, &reason)?;
    let epochs = history::write(dir)?.len();
    Ok(Fitted {
        model: launched.model,
        epochs,
        stopped: launched.stopped,
        train_seconds: launched.train_seconds,
    })
}
