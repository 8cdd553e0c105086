//! What the learner does between epochs, beyond training: burn-train policy objects that read
//! the epoch's validation metrics and decide.
//!
//! - [`KeepBest`]: keeps the checkpoint of the best epoch by validation `(BLEU, loss)`.
//! - [`Monitor`]: stops on a non-finite loss or, with a patience, when validation stops
//!   improving; drives [`Plateau`] and the [`EpochClock`]; saves the [`RunState`] for `--resume`.
//! - [`Plateau`] and [`PlateauLr`]: reduce-on-plateau learning rate for recurrent models;
//!   [`lr_schedule`] picks it or the Transformer's Noam schedule.
//! - [`TimeBudget`]: stops training through the learner's interrupter after a wall-clock budget.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::noam::NoamLrSchedulerConfig;
use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;
use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use burn::train::{EarlyStoppingStrategy, Interrupter};
use serde::Serialize;

use crate::TrainError;
use crate::artifact::write_atomic;
use crate::best::{Scored, better};
use crate::config::{Schedule, TrainingConfig};
use crate::epoch::EpochClock;
use crate::metrics::{BLEU, LOSS};

/// Keeps the checkpoint of the best epoch so far by validation BLEU, then validation loss.
#[derive(Default)]
pub(crate) struct KeepBest {
    /// The best epoch and its score, shared with [`Monitor`], which saves it in the [`RunState`].
    pub(crate) best: Arc<Mutex<Option<Scored>>>,
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
        let score = (read(BLEU), read(LOSS));
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
pub(crate) struct Monitor {
    /// Epochs without improvement before training stops; `None` never stops for that.
    pub(crate) patience: Option<usize>,
    /// The best epoch so far and its validation `(BLEU, loss)`.
    pub(crate) best: Option<Scored>,
    /// Why the monitor stopped training, once it has.
    pub(crate) reason: Arc<Mutex<Option<String>>>,
    /// The reduce-on-plateau schedule, for recurrent models.
    pub(crate) plateau: Option<Plateau>,
    /// The best checkpoint that [`KeepBest`] tracks, saved with the monitor's own state.
    pub(crate) keep_best: Arc<Mutex<Option<Scored>>>,
    /// Where the state of each epoch is written (`state-<epoch>.json`), for `--resume`.
    pub(crate) state_dir: Option<std::path::PathBuf>,
    /// Moves the batch order and the dropout stream on to the next epoch.
    pub(crate) epoch: Option<EpochClock>,
    /// When this process's training started.
    pub(crate) started: Instant,
    /// Wall time of the epochs before this process (a resumed run's), in seconds.
    pub(crate) elapsed_before: f64,
}

impl EarlyStoppingStrategy for Monitor {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let read =
            |name: &str, split: Split| store.find_metric(name, epoch, Aggregate::Mean, &split);
        let reason = self.observe(
            epoch,
            read(LOSS, Split::Train),
            read(LOSS, Split::Valid),
            read(BLEU, Split::Valid),
        );
        if let Some(clock) = &self.epoch {
            clock.advance(epoch);
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
            elapsed_s: Some(self.elapsed_before + self.started.elapsed().as_secs_f64()),
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

/// Reduce-on-plateau: multiplies the learning rate by `factor` after `patience` epochs without
/// validation improvement.
#[derive(Clone)]
pub(crate) struct Plateau {
    /// Epochs without improvement before the rate is reduced.
    pub(crate) patience: usize,
    /// What a reduction multiplies the rate by.
    pub(crate) factor: f64,
    /// The factor [`PlateauLr`] applies to the learning rate.
    pub(crate) scale: Arc<Mutex<f64>>,
    /// Epochs since the last improvement or reduction.
    pub(crate) since: usize,
}

/// A constant learning rate times a scale that [`Plateau`] lowers.
#[derive(Clone)]
pub(crate) struct PlateauLr {
    /// The configured learning rate.
    pub(crate) lr: f64,
    /// The factor that [`Plateau`] lowers.
    pub(crate) scale: Arc<Mutex<f64>>,
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

/// The learning-rate schedule of a run: Noam (the Transformer's: warmup, then decay as
/// `step^-0.5`, peaking at `lr`), or a constant rate times `scale`, which the monitor's
/// [`Plateau`] lowers when validation stops improving (the recurrent models' default).
/// `width` is the model width Noam's formula names; with the factor chosen to peak at `lr` it
/// cancels out.
pub(crate) fn lr_schedule(
    training: &TrainingConfig,
    schedule: Schedule,
    width: usize,
    scale: &Arc<Mutex<f64>>,
) -> Result<ModuleLrScheduler, TrainError> {
    Ok(match schedule {
        Schedule::Plateau => PlateauLr {
            lr: training.lr,
            scale: scale.clone(),
        }
        .into(),
        Schedule::Noam => NoamLrSchedulerConfig::new(training.noam_factor(width))
            .with_warmup_steps(training.warmup_steps)
            .with_model_size(width)
            .init()
            .map_err(TrainError::Training)?,
    })
}

/// Stops training through the learner's interrupter once `seconds` have passed.
pub(crate) struct TimeBudget {
    done: Arc<AtomicBool>,
    hit: Arc<AtomicBool>,
}

impl TimeBudget {
    /// Starts the clock: a thread that stops training through `interrupter` after `seconds`.
    pub(crate) fn start(seconds: f64, interrupter: Interrupter) -> Self {
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
    pub(crate) fn finish(self) -> bool {
        self.done.store(true, Ordering::Relaxed);
        self.hit.load(Ordering::Relaxed)
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
    /// Wall time of training from its start to the end of this epoch, in seconds, validation
    /// included (a resumed run adds its own to the interrupted run's). Absent in runs from
    /// before it was recorded.
    #[serde(default)]
    pub elapsed_s: Option<f64>,
}

impl RunState {
    /// The state of a run before its first epoch.
    pub(crate) fn initial() -> Self {
        RunState {
            monitor_best: None,
            plateau_since: 0,
            lr_scale: 1.0,
            keep_best: None,
            elapsed_s: None,
        }
    }

    /// The path of epoch `epoch`'s state in a checkpoint directory.
    pub fn path(dir: &Path, epoch: usize) -> std::path::PathBuf {
        dir.join(format!("state-{epoch}.json"))
    }

    fn pack(s: Option<Scored>) -> SavedScore {
        let finite = |x: f64| (!x.is_nan()).then_some(x);
        s.map(|(e, (b, l))| (e, (finite(b), finite(l))))
    }

    /// A saved score as the policies hold it (NaN for `null`).
    pub(crate) fn unpack(s: SavedScore) -> Option<Scored> {
        s.map(|(e, (b, l))| (e, (b.unwrap_or(f64::NAN), l.unwrap_or(f64::NAN))))
    }

    /// Reads epoch `epoch`'s state.
    pub fn load(dir: &Path, epoch: usize) -> Result<Self, TrainError> {
        let path = Self::path(dir, epoch);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::artifact(&path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::artifact(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainingConfig;

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
            started: Instant::now(),
            elapsed_before: 0.0,
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
            started: Instant::now(),
            elapsed_before: 0.0,
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

    #[test]
    fn the_saved_state_round_trips_nan_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let state = RunState {
            monitor_best: RunState::pack(Some((2, (f64::NAN, 1.5)))),
            ..RunState::initial()
        };
        assert_eq!(state.monitor_best, Some((2, (None, Some(1.5)))));
        write_atomic(
            &RunState::path(dir.path(), 2),
            serde_json::to_string(&state).unwrap(),
        )
        .unwrap();
        assert_eq!(RunState::load(dir.path(), 2).unwrap(), state);
        let (epoch, (bleu, loss)) = RunState::unpack(state.monitor_best).unwrap();
        assert!(epoch == 2 && bleu.is_nan() && loss == 1.5);
    }
}
