//! The training and validation steps: teacher-forced cross-entropy that ignores padding.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::train::{InferenceStep, SequenceOutput, TrainOutput, TrainStep};
use transduce_decode::greedy;
use transduce_nn::special::PAD;
use transduce_nn::{Model, Seq2Seq, Seq2SeqBatch};

use crate::evaluate::decode_limit;
use crate::metrics::{DecodedBatch, Seq2SeqOutput};

/// A model as burn-train's learner sees it: the model plus how its loss is computed.
#[derive(Module, Debug)]
pub struct Seq2SeqTrainee {
    /// The model being trained.
    pub model: Model,
    /// Label smoothing of the loss.
    pub label_smoothing: f64,
}

impl Seq2SeqTrainee {
    /// Teacher-forced logits and the padding-ignoring, label-smoothed cross-entropy.
    ///
    /// # Shapes
    /// - output logits: `[batch_size, tgt_len, vocab_size]`; targets `[batch_size, tgt_len]`
    pub fn forward_loss(&self, batch: Seq2SeqBatch) -> SequenceOutput {
        let logits = self.model.forward(
            batch.src,
            batch.src_mask_pad,
            batch.tgt_in,
            batch.tgt_mask_pad,
        );
        let [batch_size, tgt_len, vocab_size] = logits.dims();
        let smoothing = (self.label_smoothing > 0.0).then_some(self.label_smoothing as f32);
        let loss = CrossEntropyLossConfig::new()
            .with_pad_tokens(Some(vec![PAD]))
            .with_smoothing(smoothing)
            .init(&logits.device())
            .forward(
                logits.clone().reshape([batch_size * tgt_len, vocab_size]),
                batch.tgt_out.clone().reshape([batch_size * tgt_len]),
            );
        SequenceOutput::new(loss, logits, None, batch.tgt_out)
    }
}

impl TrainStep for Seq2SeqTrainee {
    type Input = Seq2SeqBatch;
    type Output = Seq2SeqOutput;

    fn step(&self, batch: Seq2SeqBatch) -> TrainOutput<Seq2SeqOutput> {
        let sequence = self.forward_loss(batch);
        let grads = sequence.loss.backward();
        TrainOutput::new(
            self,
            grads,
            Seq2SeqOutput {
                sequence,
                decoded: DecodedBatch::default(),
            },
        )
    }
}

/// Validation: the teacher-forced loss, and the batch translated greedily for BLEU, chrF and
/// exact match.
impl InferenceStep for Seq2SeqTrainee {
    type Input = Seq2SeqBatch;
    type Output = Seq2SeqOutput;

    fn step(&self, batch: Seq2SeqBatch) -> Seq2SeqOutput {
        let references = DecodedBatch::references_from(batch.tgt_out.clone());
        let [_, src_len] = batch.src.dims();
        let hypotheses = greedy(
            &self.model,
            batch.src.clone(),
            batch.src_mask_pad.clone(),
            decode_limit(&self.model, src_len),
        )
        .into_iter()
        .map(|h| h.tokens)
        .collect();
        Seq2SeqOutput {
            sequence: self.forward_loss(batch),
            decoded: DecodedBatch {
                hypotheses,
                references,
            },
        }
    }
}
