//! Which model a run keeps. Epochs are ranked by validation `(BLEU, loss)` ([`better`]): the
//! order in which [`KeepBest`](crate::policies::KeepBest) keeps checkpoints during training and
//! the early-stopping monitor counts improvements. After training, [`keep`] picks the model that
//! `model.bpk` will hold: the best kept checkpoint, or the model a time budget interrupted if it
//! translates the validation split better.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use transduce_data::Prepared;
use transduce_nn::Model;

use crate::artifact::{RunConfig, load_record};
use crate::history::EpochMetrics;
use crate::{Seq2SeqTrainee, TrainError, Translator};

/// An epoch and its validation `(BLEU, loss)`.
pub(crate) type Scored = (usize, (f64, f64));

/// Whether validation `(BLEU, loss)` `a` beats `b`: higher BLEU, then lower loss; NaN never wins.
///
/// BLEU is 0 on corpora of one-word sentences (such as the digit tasks), so the loss decides there.
pub(crate) fn better(a: (f64, f64), b: (f64, f64)) -> bool {
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

/// The model a run saves as `model.bpk`, and what its report says about it.
pub(crate) struct Kept {
    /// The completed epoch with the best validation `(BLEU, loss)` among the kept checkpoints.
    pub(crate) best_epoch: Option<usize>,
    /// `epoch N`, or `interrupted epoch N (partial)`.
    pub(crate) name: String,
    /// The model.
    pub(crate) model: Model,
}

/// Picks the model to save. The candidates are the best epoch among the checkpoints kept in
/// `checkpoints` (ranked as [`KeepBest`](crate::policies::KeepBest) ranks them), and
/// `interrupted`, the model where a time budget stopped training (its last, partial epoch was
/// neither validated nor checkpointed). If there are both, the one whose greedy translations of
/// the validation split score higher (BLEU, then chrF, then exact match) wins; on a tie, the
/// checkpoint.
pub(crate) fn keep(
    epochs: &[EpochMetrics],
    checkpoints: &Path,
    interrupted: Option<Model>,
    config: &RunConfig,
    data: &Prepared,
    device: &Device,
) -> Result<Kept, TrainError> {
    let best = best_kept(epochs, checkpoints);
    let mut candidates = Vec::new();
    if let Some(best) = best {
        let trainee = Seq2SeqTrainee {
            model: config.model.init(device),
            label_smoothing: config.training.label_smoothing,
            teacher_forcing: config.training.teacher_forcing,
        };
        candidates.push((
            format!("epoch {}", best.epoch),
            load_record(trainee, &model_checkpoint(checkpoints, best.epoch))?.model,
        ));
    }
    if let Some(model) = interrupted {
        candidates.push((
            format!("interrupted epoch {} (partial)", epochs.len() + 1),
            model,
        ));
    }
    let (name, model) = match candidates.len() {
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
                let t = Translator::for_run(model, data.codec.clone(), device.clone(), config);
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
    Ok(Kept {
        best_epoch: best.map(|b| b.epoch),
        name,
        model,
    })
}

/// The best epoch, by validation `(BLEU, loss)`, among those whose checkpoint is in
/// `checkpoints`; the earliest of equals.
fn best_kept<'a>(epochs: &'a [EpochMetrics], checkpoints: &Path) -> Option<&'a EpochMetrics> {
    epochs
        .iter()
        .filter(|e| model_checkpoint(checkpoints, e.epoch).is_file())
        .fold(None, |best: Option<&EpochMetrics>, e| match best {
            Some(b) if !better((e.valid_bleu, e.valid_loss), (b.valid_bleu, b.valid_loss)) => {
                Some(b)
            }
            _ => Some(e),
        })
}

/// The model file of epoch `epoch`'s checkpoint.
fn model_checkpoint(checkpoints: &Path, epoch: usize) -> PathBuf {
    checkpoints.join(format!("model-{epoch}.bpk"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_best_epoch_is_chosen_among_the_kept_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let epoch = |epoch, valid_bleu, valid_loss| EpochMetrics {
            epoch,
            train_loss: f64::NAN,
            train_accuracy: f64::NAN,
            valid_loss,
            valid_accuracy: f64::NAN,
            train_perplexity: f64::NAN,
            valid_perplexity: f64::NAN,
            valid_bleu,
            valid_chrf: f64::NAN,
            valid_exact_match: f64::NAN,
            learning_rate: f64::NAN,
            elapsed_s: f64::NAN,
        };
        let epochs = [
            epoch(1, 10.0, 2.0),
            epoch(2, 30.0, 1.0),
            epoch(3, 20.0, 1.5),
            epoch(4, 20.0, 1.2),
        ];
        assert!(best_kept(&epochs, dir.path()).is_none());
        for e in [1, 3, 4] {
            std::fs::write(model_checkpoint(dir.path(), e), b"x").unwrap();
        }
        // Epoch 2 was best but its checkpoint is gone; of the rest, equal BLEU: lower loss.
        assert_eq!(best_kept(&epochs, dir.path()).map(|e| e.epoch), Some(4));
    }
}
