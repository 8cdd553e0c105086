//! The metrics a run registers with burn-train's learner: the names of all of them, and the
//! translation metrics themselves.
//!
//! Validation decodes for real: each validation batch is also translated greedily, and corpus
//! BLEU, chrF and exact match of the epoch are burn-train metrics like the loss (so the learner
//! logs them, checkpoints by them and stops early on them).
//!
//! The names below are the one place the learner's metric names are spelled: the learner logs
//! each metric under its name (`<split>/epoch-<N>/<name>.log`, spaces as `_`), and the
//! checkpointing and early-stopping policies and `metrics.csv` read them back by it.

use std::sync::Arc;

use burn::tensor::ExecutionError;
use burn::tensor::TensorReadError;
use burn::train::SequenceOutput;
use burn::train::metric::{
    AccuracyInput, Adaptor, ItemLazy, LossInput, Metric, MetricAttributes, MetricMetadata,
    MetricName, Numeric, NumericAttributes, NumericEntry, PerplexityInput, SerializedEntry,
};
use transduce_data::Codec;

use crate::evaluate::exact_match;
use crate::score::{
    BleuStats, BleuTokenize, ChrfStats, add_chrf, bleu_stats, chrf_score, chrf_stats,
};

/// burn-train's `LossMetric`: the label-smoothed cross-entropy.
pub const LOSS: &str = "Loss";
/// burn-train's `AccuracyMetric`: next-token accuracy under teacher forcing, pads excluded.
pub const ACCURACY: &str = "Accuracy";
/// burn-train's `PerplexityMetric`, pads excluded.
pub const PERPLEXITY: &str = "Perplexity";
/// burn-train's `LearningRateMetric`.
pub const LEARNING_RATE: &str = "Learning Rate";
/// [`TranslationScore::Bleu`]: corpus BLEU of greedy validation translations.
pub const BLEU: &str = "BLEU";
/// [`TranslationScore::Chrf`]: corpus chrF of greedy validation translations.
pub const CHRF: &str = "chrF";
/// [`TranslationScore::ExactMatch`]: percentage of greedy validation translations equal to
/// their reference.
pub const EXACT_MATCH: &str = "Exact Match";

/// A step's output: the teacher-forced loss and logits, and (validation only) greedy translations.
pub struct Seq2SeqOutput {
    /// Loss, logits and targets.
    pub sequence: SequenceOutput,
    /// Greedy translations of the batch and their references, as ids (empty for training steps).
    pub decoded: DecodedBatch,
}

/// Hypotheses of a batch as ids (without special tokens) and their reference texts.
#[derive(Clone, Debug, Default)]
pub struct DecodedBatch {
    /// One per sentence.
    pub hypotheses: Vec<Vec<usize>>,
    /// The reference text of each sentence, as the data holds it.
    pub references: Vec<String>,
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
            TranslationScore::Bleu => BLEU,
            TranslationScore::Chrf => CHRF,
            TranslationScore::ExactMatch => EXACT_MATCH,
        }
    }
}

/// Corpus-level BLEU, chrF or exact match over an epoch's decoded validation batches.
#[derive(Clone)]
pub struct TranslationMetric {
    score: TranslationScore,
    name: MetricName,
    codec: Arc<Codec>,
    tokenize: BleuTokenize,
    bleu: BleuStats,
    chrf: ChrfStats,
    exact: usize,
    n: usize,
    last: f64,
}

impl TranslationMetric {
    /// A metric that detokenises ids with `codec` and tokenises BLEU's input with `tokenize`.
    pub fn new(score: TranslationScore, codec: Arc<Codec>, tokenize: BleuTokenize) -> Self {
        TranslationMetric {
            score,
            name: Arc::new(score.name().to_string()),
            codec,
            tokenize,
            bleu: BleuStats::default(),
            chrf: ChrfStats::default(),
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
        // Exactly as `eval` scores: detokenised hypotheses against the reference text.
        for (hyp, reference) in item.hypotheses.iter().zip(&item.references) {
            let h = self.codec.decode_tgt(hyp);
            self.bleu = self.bleu + bleu_stats(&h, &[reference], self.tokenize);
            self.chrf = add_chrf(
                std::mem::take(&mut self.chrf),
                chrf_stats(&h, &[reference], 0),
            );
            self.exact += usize::from(exact_match(&self.codec.tgt_tokenizer, &h, reference));
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
        self.chrf = ChrfStats::default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::Progress;
    use transduce_data::moses::Lang;
    use transduce_data::{Pair, TokenizerKind};
    use transduce_nn::special::UNK;

    fn metadata() -> MetricMetadata {
        MetricMetadata {
            progress: Progress {
                items_processed: 1,
                items_total: 1,
                unit: None,
            },
            iteration: None,
            lr: None,
        }
    }

    #[test]
    fn the_names_are_those_the_learner_logs() {
        use burn::train::metric::{
            AccuracyMetric, LearningRateMetric, LossMetric, PerplexityMetric,
        };
        assert_eq!(*LossMetric::new().name(), LOSS);
        assert_eq!(*AccuracyMetric::new().name(), ACCURACY);
        assert_eq!(*PerplexityMetric::new().name(), PERPLEXITY);
        assert_eq!(*LearningRateMetric::new().name(), LEARNING_RATE);
        let codec = Arc::new(
            Codec::build(
                &[Pair::new("1", "1")],
                TokenizerKind::Char,
                (Lang::En, Lang::En),
                usize::MAX,
                1,
                false,
            )
            .unwrap(),
        );
        for (score, name) in [
            (TranslationScore::Bleu, BLEU),
            (TranslationScore::Chrf, CHRF),
            (TranslationScore::ExactMatch, EXACT_MATCH),
        ] {
            let metric = TranslationMetric::new(score, codec.clone(), BleuTokenize::Char);
            assert_eq!(*Metric::name(&metric), name);
        }
    }

    #[test]
    fn unk_never_matches_the_reference_text() {
        // The target vocabulary has no "x": a reference rebuilt from ids would read "12<unk>"
        // and match a hypothesis that emits <unk>; the reference text "12x" does not.
        let train = vec![Pair::new("12", "12"), Pair::new("21", "21")];
        let codec = Arc::new(
            Codec::build(
                &train,
                TokenizerKind::Char,
                (Lang::En, Lang::En),
                usize::MAX,
                1,
                false,
            )
            .unwrap(),
        );
        let hyp = vec![codec.encode_tgt("1")[0], codec.encode_tgt("2")[0], UNK];
        let batch = DecodedBatch {
            hypotheses: vec![hyp, codec.encode_tgt("21")],
            references: vec!["12x".to_string(), "21".to_string()],
        };
        let mut exact = TranslationMetric::new(
            TranslationScore::ExactMatch,
            codec.clone(),
            BleuTokenize::Char,
        );
        exact.update(&batch, &metadata()).unwrap();
        assert_eq!(exact.value(), 50.0, "only the second sentence matches");
        let mut bleu = TranslationMetric::new(TranslationScore::Bleu, codec, BleuTokenize::Char);
        bleu.update(&batch, &metadata()).unwrap();
        assert!(
            bleu.value() < 100.0 && bleu.value() > 0.0,
            "{}",
            bleu.value()
        );
    }
}
