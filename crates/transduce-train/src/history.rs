//! A run's history as files: burn-train's per-epoch metric logs
//! (`<artifact_dir>/<split>/epoch-<N>/<metric>.log`) read back into one row per epoch, written as
//! `metrics.csv` and drawn as the loss and score plots.

use std::path::Path;

use burn::train::metric::store::Split;

use crate::TrainError;
use crate::artifact::{files, write_atomic};
use crate::metrics::{ACCURACY, BLEU, CHRF, EXACT_MATCH, LEARNING_RATE, LOSS, PERPLEXITY};
use crate::plot::{Series, line_plot};
use crate::policies::RunState;

/// The header of `metrics.csv`; [`csv`] writes the columns in this order.
const CSV_HEADER: &str = "epoch,train_loss,train_accuracy,train_perplexity,valid_loss,valid_accuracy,valid_perplexity,valid_bleu,valid_chrf,valid_exact_match,learning_rate,elapsed_s";

/// One row of `metrics.csv`: the values burn-train logged for an epoch (NaN where it logged none).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Training loss.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Validation loss.
    pub valid_loss: f64,
    /// Validation accuracy.
    pub valid_accuracy: f64,
    /// Training perplexity.
    pub train_perplexity: f64,
    /// Validation perplexity.
    pub valid_perplexity: f64,
    /// Validation BLEU (greedy decoding).
    pub valid_bleu: f64,
    /// Validation chrF (greedy decoding).
    pub valid_chrf: f64,
    /// Validation exact match, in percent (greedy decoding).
    pub valid_exact_match: f64,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of training from its start to the end of this epoch, in seconds (from the
    /// epoch's saved run state; NaN without one).
    pub elapsed_s: f64,
}

/// Collects burn-train's per-epoch metric logs in `dir` into `metrics.csv`, draws the loss and
/// score plots, and returns the rows.
pub(crate) fn write(dir: &Path) -> Result<Vec<EpochMetrics>, TrainError> {
    let rows = read(dir);
    write_atomic(&dir.join(files::METRICS), csv(&rows))?;
    plot(dir, &rows)?;
    Ok(rows)
}

/// The rows of the epochs that burn-train validated, from epoch 1 up to the first one without a
/// validation loss.
pub fn read(dir: &Path) -> Vec<EpochMetrics> {
    let mut rows = Vec::new();
    for epoch in 1.. {
        let read = |split: Split, name: &str| epoch_value(dir, &split, epoch, name);
        let Some(valid_loss) = read(Split::Valid, LOSS) else {
            break;
        };
        rows.push(EpochMetrics {
            epoch,
            train_loss: read(Split::Train, LOSS).unwrap_or(f64::NAN),
            train_accuracy: read(Split::Train, ACCURACY).unwrap_or(f64::NAN),
            valid_loss,
            valid_accuracy: read(Split::Valid, ACCURACY).unwrap_or(f64::NAN),
            train_perplexity: read(Split::Train, PERPLEXITY).unwrap_or(f64::NAN),
            valid_perplexity: read(Split::Valid, PERPLEXITY).unwrap_or(f64::NAN),
            valid_bleu: read(Split::Valid, BLEU).unwrap_or(f64::NAN),
            valid_chrf: read(Split::Valid, CHRF).unwrap_or(f64::NAN),
            valid_exact_match: read(Split::Valid, EXACT_MATCH).unwrap_or(f64::NAN),
            learning_rate: read(Split::Train, LEARNING_RATE).unwrap_or(f64::NAN),
            elapsed_s: RunState::load(&dir.join(files::CHECKPOINTS), epoch)
                .ok()
                .and_then(|s| s.elapsed_s)
                .unwrap_or(f64::NAN),
        });
    }
    rows
}

/// `metrics.csv`: the header and one line per row.
fn csv(rows: &[EpochMetrics]) -> String {
    let mut csv = format!("{CSV_HEADER}\n");
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
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
            r.learning_rate,
            r.elapsed_s
        ));
    }
    csv
}

/// Draws the train and validation loss, and the validation scores, per epoch.
fn plot(dir: &Path, rows: &[EpochMetrics]) -> Result<(), TrainError> {
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
            series(BLEU, |r| r.valid_bleu),
            series(CHRF, |r| r.valid_chrf),
            series("exact match %", |r| r.valid_exact_match),
        ],
    )
}

/// The epoch value burn-train logged for metric `name`: the last line of its log, `value,final`.
/// burn-train names the log after the metric with spaces as underscores (`Exact_Match.log`).
fn epoch_value(dir: &Path, split: &Split, epoch: usize, name: &str) -> Option<f64> {
    let path = dir
        .join(split.to_string())
        .join(format!("epoch-{epoch}"))
        .join(format!("{}.log", name.replace(' ', "_")));
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

    /// Writes a log as burn-train's file logger does: running values, then the epoch's `final`.
    fn log(dir: &Path, split: &str, epoch: usize, file: &str, value: f64) {
        let dir = dir.join(split).join(format!("epoch-{epoch}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), format!("0.5,value\n{value},final\n")).unwrap();
    }

    #[test]
    fn reads_the_logs_the_learner_writes_and_writes_the_csv() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        for epoch in [1, 2] {
            let e = epoch as f64;
            log(dir, "train", epoch, "Loss.log", 3.0 - e);
            log(dir, "train", epoch, "Learning_Rate.log", 1e-3 * e);
            log(dir, "valid", epoch, "Loss.log", 4.0 - e);
            log(dir, "valid", epoch, "BLEU.log", 10.0 * e);
            log(dir, "valid", epoch, "Exact_Match.log", 5.0 * e);
        }
        // Epoch 3 was interrupted: trained, never validated.
        log(dir, "train", 3, "Loss.log", 0.5);
        // Epoch 2's saved run state holds its wall time; epoch 1 has none.
        std::fs::create_dir_all(dir.join(files::CHECKPOINTS)).unwrap();
        let state = RunState {
            elapsed_s: Some(12.5),
            ..RunState::initial()
        };
        std::fs::write(
            RunState::path(&dir.join(files::CHECKPOINTS), 2),
            serde_json::to_string(&state).unwrap(),
        )
        .unwrap();
        let rows = read(dir);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[1].train_loss, rows[1].valid_loss, rows[1].valid_bleu),
            (1.0, 2.0, 20.0)
        );
        assert_eq!(
            (rows[1].valid_exact_match, rows[1].learning_rate),
            (10.0, 2e-3)
        );
        assert!(rows[1].train_accuracy.is_nan() && rows[1].valid_chrf.is_nan());
        assert!(rows[0].elapsed_s.is_nan() && rows[1].elapsed_s == 12.5);

        write(dir).unwrap();
        let text = std::fs::read_to_string(dir.join(files::METRICS)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "1,2,NaN,NaN,3,NaN,NaN,10,NaN,5,0.001,NaN");
        assert!(lines[2].ends_with(",0.002,12.5"), "{}", lines[2]);
        assert!(dir.join(files::LOSS_PLOT).is_file() && dir.join(files::SCORE_PLOT).is_file());
    }

    #[test]
    fn only_a_final_value_counts() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("valid").join("epoch-1");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("Loss.log"), "1.5,value\n").unwrap();
        assert_eq!(epoch_value(dir.path(), &Split::Valid, 1, LOSS), None);
        std::fs::write(logs.join("Loss.log"), "1.5,value\n1.25,final\n\n").unwrap();
        assert_eq!(epoch_value(dir.path(), &Split::Valid, 1, LOSS), Some(1.25));
    }
}
