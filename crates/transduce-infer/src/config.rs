//! How a model is trained: the optimiser, the schedule, the batches.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use transduce_data::{DataConfig, TokenizerKind};
use transduce_nn::ModelConfig;

use crate::InferError;
use crate::score::BleuTokenize;

/// How the learning rate changes during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Schedule {
    /// Vaswani et al.: linear warmup to `lr`, then decay as `step^-0.5`.
    Noam,
    /// A constant `lr`, multiplied by `plateau_factor` after `plateau_patience` epochs without
    /// validation improvement.
    Plateau,
}

/// Training hyper-parameters, saved in the artifact directory's `config.json`.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Passes over the training set. Default: 10
    #[config(default = 10)]
    pub epochs: usize,
    /// Sentence pairs per batch. Default: 64
    #[config(default = 64)]
    pub batch_size: usize,
    /// Most tokens per batch (rows × longest side, padding included); none by default.
    pub max_tokens: Option<usize>,
    /// Batch sentences of similar length together (the batch order is still shuffled). Default: true
    #[config(default = true)]
    pub bucket: bool,
    /// When bucketing, sort by length only within pools of this many batches' worth of shuffled
    /// training sentences, so that each epoch forms different batches; none sorts the whole set
    /// (least padding, but a sentence keeps nearly the same company every epoch).
    pub bucket_pool: Option<usize>,
    /// Peak learning rate, reached at the end of warmup; the Noam schedule
    /// `lr = factor · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5)` then decays it as `step^-0.5`.
    /// Default: 0.002
    #[config(default = 0.002)]
    pub lr: f64,
    /// The schedule; by default `noam` for the Transformer and `plateau` for recurrent models.
    pub schedule: Option<Schedule>,
    /// Plateau schedule: epochs without improvement before the rate is reduced. Default: 2
    #[config(default = 2)]
    pub plateau_patience: usize,
    /// Plateau schedule: the factor applied to the rate. Default: 0.5
    #[config(default = 0.5)]
    pub plateau_factor: f64,
    /// Warmup steps of the schedule. Default: 400
    #[config(default = 400)]
    pub warmup_steps: usize,
    /// Label smoothing of the cross-entropy (0 = none). Default: 0.1
    #[config(default = 0.1)]
    pub label_smoothing: f64,
    /// Stop training after this many seconds, then keep the better of the best checkpoint and
    /// the model at that moment; none by default.
    pub time_budget: Option<f64>,
    /// Stop when validation BLEU has not improved for this many epochs; none by default.
    pub patience: Option<usize>,
    /// Probability of feeding the reference token to a recurrent decoder during training; below 1
    /// the model's own previous prediction is fed otherwise (scheduled sampling). Default: 1.0
    #[config(default = 1.0)]
    pub teacher_forcing: f64,
    /// Gradient-norm clipping per parameter tensor (0 = none). Default: 1.0
    #[config(default = 1.0)]
    pub grad_clip: f64,
    /// Pretrained source word vectors (GloVe/word2vec/fastText text format; word tokenizer).
    pub src_embeddings: Option<std::path::PathBuf>,
    /// Pretrained target word vectors.
    pub tgt_embeddings: Option<std::path::PathBuf>,
    /// Keep pretrained embedding tables fixed during training. Default: false
    #[config(default = false)]
    pub freeze_embeddings: bool,
    /// BLEU's tokenisation in validation and the report (`13a`, `char` or `none`, as sacreBLEU
    /// names them); by default `char` for character-level targets and `13a` otherwise.
    pub bleu_tokenize: Option<BleuTokenize>,
    /// Seed of the weights, the data order and dropout. Default: 42
    #[config(default = 42)]
    pub seed: u64,
}

impl TrainingConfig {
    /// Checks every value before training starts.
    pub fn validate(&self) -> Result<(), InferError> {
        let err = |m: &str| Err(InferError::TrainingConfig(m.to_string()));
        if self.epochs == 0 {
            return err("epochs must be at least 1");
        }
        if self
            .time_budget
            .is_some_and(|t| !(t > 0.0 && t.is_finite()))
        {
            return err("time_budget must be a positive number of seconds");
        }
        if !(0.0..=1.0).contains(&self.teacher_forcing) {
            return err("teacher_forcing must be in [0, 1]");
        }
        if self.plateau_patience == 0 || !(self.plateau_factor > 0.0 && self.plateau_factor <= 1.0)
        {
            return err("plateau_patience must be at least 1 and plateau_factor in (0, 1]");
        }
        if self.patience == Some(0) {
            return err("patience must be at least 1 epoch");
        }
        if self.batch_size == 0 || self.max_tokens == Some(0) || self.bucket_pool == Some(0) {
            return err("batch_size, max_tokens and bucket_pool must be at least 1");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return err("lr must be a positive number");
        }
        if self.warmup_steps == 0 {
            return err("warmup_steps must be at least 1");
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return err("label_smoothing must be in [0, 1)");
        }
        if self.grad_clip.is_nan() || self.grad_clip < 0.0 {
            return err("grad_clip must be >= 0");
        }
        Ok(())
    }

    /// BLEU's tokenisation in effect for `data`.
    pub fn bleu_tokenize(&self, data: &DataConfig) -> BleuTokenize {
        self.bleu_tokenize.unwrap_or(match data.tokenizer() {
            TokenizerKind::Char => BleuTokenize::Char,
            _ => BleuTokenize::Thirteen,
        })
    }

    /// The schedule in effect for `model`.
    pub fn schedule(&self, model: &ModelConfig) -> Schedule {
        self.schedule.unwrap_or(match model {
            ModelConfig::Transformer(_) => Schedule::Noam,
            _ => Schedule::Plateau,
        })
    }

    /// The Noam factor that makes the schedule peak at `lr` after `warmup_steps`.
    pub fn noam_factor(&self, d_model: usize) -> f64 {
        self.lr * ((d_model * self.warmup_steps) as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_values_are_rejected() {
        let message = TrainingConfig::new()
            .with_epochs(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "invalid training config: epochs must be at least 1"
        );
        assert!(
            TrainingConfig::new()
                .with_label_smoothing(1.0)
                .validate()
                .is_err()
        );
        assert!(
            TrainingConfig::new()
                .with_patience(Some(0))
                .validate()
                .is_err()
        );
        assert!(TrainingConfig::new().validate().is_ok());
    }
}
