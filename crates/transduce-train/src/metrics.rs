//! Validation by decoding for real: each validation batch is also translated greedily, and
//! corpus BLEU, chrF and exact match of the epoch are burn-train metrics like the loss (so the
//! learner logs them, checkpoints by them and stops early on them).

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::tensor::TensorReadError;
use burn::train::SequenceOutput;
use burn::train::metric::{
    AccuracyInput, Adaptor, ItemLazy, LossInput, Metric, MetricAttributes, MetricMetadata,
    MetricName, Numeric, NumericAttributes, NumericEntry, PerplexityInput, SerializedEntry,
};
use transduce_data::Codec;
use transduce_nn::special::{EOS, PAD};

use crate::score::{BleuStats, ChrfStats, add_chrf, bleu_stats, chrf_score, chrf_stats};

/// A step's output: the teacher-forced loss and logits, and (validation only) greedy translations.
pub struct Seq2SeqOutput {
    /// Loss, logits and targets.
    pub sequence: SequenceOutput,
    /// Greedy translations of the batch and their references, as ids (empty for training steps).
    pub decoded: DecodedBatch,
}

/// Hypotheses and references of a batch, as ids without special tokens.
#[derive(Clone, Debug, Default)]
pub struct DecodedBatch {
    /// One per sentence.
    pub hypotheses: Vec<Vec<usize>>,
    /// One per sentence.
    pub references: Vec<Vec<usize>>,
}

impl DecodedBatch {
    /// References from a `tgt_out` tensor (`y_1 .. y_n <eos> <pad> ..`).
    pub fn references_from(tgt_out: Tensor<2, Int>) -> Vec<Vec<usize>> {
        let [batch_size, len] = tgt_out.dims();
        let ids = transduce_decode::to_ids(tgt_out);
        (0..batch_size)
            .map(|b| {
                ids[b * len..(b + 1) * len]
                    .iter()
                    .copied()
                    .take_while(|&t| t != EOS && t != PAD)
                    .collect()
            })
            .collect()
    }
}

impl ItemLazy for Seq2SeqOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(Seq2SeqOutput {
            sequence: self.sequence.sync()?,
            decoded: self.decoded,
        })
    }
}

impl Adaptor<LossInput> for Seq2SeqOutput {
    fn adapt(&self) -> LossInput {
        self.sequence.adapt()
    }
}

impl Adaptor<AccuracyInput> for Seq2SeqOutput {
    fn adapt(&self) -> AccuracyInput {
        self.sequence.adapt()
    }
}

impl Adaptor<PerplexityInput> for Seq2SeqOutput {
    fn adapt(&self) -> PerplexityInput {
        self.sequence.adapt()
    }
}

impl Adaptor<DecodedBatch> for Seq2SeqOutput {
    fn adapt(&self) -> DecodedBatch {
        self.decoded.clone()
    }
}

/// Which translation metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslationScore {
    /// Corpus BLEU, as sacreBLEU.
    Bleu,
    /// Corpus chrF, as sacreBLEU.
    Chrf,
    /// Percentage of translations equal to their reference.
    ExactMatch,
}

impl TranslationScore {
    /// The metric's name in logs, the dashboard and `metrics.csv` (`BLEU.log`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            TranslationScore::Bleu => "BLEU",
            TranslationScore::Chrf => "chrF",
            TranslationScore::ExactMatch => "Exact Match",
        }
    }
}

/// Corpus-level BLEU, chrF or exact match over an epoch's decoded validation batches.
#[derive(Clone)]
pub struct TranslationMetric {
    score: TranslationScore,
    name: MetricName,
    codec: Arc<Codec>,
    bleu: BleuStats,
    chrf: ChrfStats,
    exact: usize,
    n: usize,
    last: f64,
}

impl TranslationMetric {
    /// A metric that detokenises ids with `codec`.
    pub fn new(score: TranslationScore, codec: Arc<Codec>) -> Self {
        TranslationMetric {
            score,
            name: Arc::new(score.name().to_string()),
            codec,
            bleu: BleuStats::default(),
            chrf: Default::default(),
            exact: 0,
            n: 0,
            last: 0.0,
        }
    }

    fn value(&self) -> f64 {
        match self.score {
            TranslationScore::Bleu => self.bleu.score(false).score,
            TranslationScore::Chrf => chrf_score(&self.chrf),
            TranslationScore::ExactMatch => 100.0 * self.exact as f64 / self.n.max(1) as f64,
        }
    }
}

impl Metric for TranslationMetric {
    type Input = DecodedBatch;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(
        &mut self,
        item: &DecodedBatch,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        for (hyp, reference) in item.hypotheses.iter().zip(&item.references) {
            let (h, r) = (self.codec.decode_tgt(hyp), self.codec.decode_tgt(reference));
            self.bleu = self.bleu.add(bleu_stats(&h, &r));
            self.chrf = add_chrf(self.chrf, chrf_stats(&h, &r));
            self.exact += usize::from(hyp == reference);
            self.n += 1;
        }
        self.last = self.value();
        let value = NumericEntry::Value(self.last);
        Ok(SerializedEntry::new(
            format!("{} {:.2}", self.name, self.last),
            value.serialize(),
        ))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        self.last = self.value();
        Ok(SerializedEntry::new(
            format!("{} {:.2}", self.name, self.last),
            NumericEntry::Final(self.last).serialize(),
        ))
    }

    fn clear(&mut self) {
        self.bleu = BleuStats::default();
        self.chrf = Default::default();
        self.exact = 0;
        self.n = 0;
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: true,
        }
        .into()
    }
}

impl Numeric for TranslationMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Value(self.last))
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Value(self.last))
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.last)
    }
}
