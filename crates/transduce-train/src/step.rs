//! The training and validation steps: teacher-forced cross-entropy that ignores padding.

use burn::data::dataloader::batcher::Batcher;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::train::{InferenceStep, SequenceOutput, TrainOutput, TrainStep};
use transduce_data::{Example, Seq2SeqBatcher};
use transduce_decode::{greedy_with_limits, to_ids};
use transduce_nn::special::PAD;
use transduce_nn::{Model, Seq2SeqBatch};

use crate::evaluate::decode_limit;
use crate::metrics::{DecodedBatch, Seq2SeqOutput};

/// A batch as the learner sees it: the tensors, and each pair's reference text as the data
/// holds it (validation scores translations against it exactly as `eval` does, never against
/// a reference rebuilt from token ids, where `<unk>` would match `<unk>`).
#[derive(Clone, Debug)]
pub struct TrainBatch {
    /// Ids and masks.
    pub tensors: Seq2SeqBatch,
    /// The reference text of each row.
    pub references: Vec<String>,
}

/// One pair of a batch: its ids and its reference text.
pub type BatchItem = (Example, String);

/// Pads [`BatchItem`]s into a [`TrainBatch`] (batches are formed ahead of time and arrive as
/// one item each).
#[derive(Clone, Debug, Default)]
pub struct TrainBatcher;

impl Batcher<Vec<BatchItem>, TrainBatch> for TrainBatcher {
    fn batch(&self, items: Vec<Vec<BatchItem>>, device: &Device) -> TrainBatch {
        let (examples, references): (Vec<Example>, Vec<String>) =
            items.into_iter().flatten().unzip();
        TrainBatch {
            tensors: Seq2SeqBatcher.batch(examples, device),
            references,
        }
    }
}

/// A model as burn-train's learner sees it: the model plus how its loss is computed.
#[derive(Module, Debug)]
pub struct Seq2SeqTrainee {
    /// The model being trained.
    pub model: Model,
    /// Label smoothing of the loss.
    pub label_smoothing: f64,
    /// Probability of feeding the reference token during training (recurrent models; 1 = teacher forcing).
    pub teacher_forcing: f64,
}

impl Seq2SeqTrainee {
    /// Teacher-forced logits and the padding-ignoring, label-smoothed cross-entropy.
    ///
    /// # Shapes
    /// - output logits: `[batch_size, tgt_len, vocab_size]`; targets `[batch_size, tgt_len]`
    pub fn forward_loss(&self, batch: Seq2SeqBatch, teacher_forcing: f64) -> SequenceOutput {
        let logits = self.model.forward_train(
            batch.src,
            batch.src_mask_pad,
            batch.tgt_in,
            batch.tgt_mask_pad,
            teacher_forcing,
        );
        let loss = sequence_loss(logits.clone(), batch.tgt_out.clone(), self.label_smoothing);
        SequenceOutput::new(loss, logits, None, batch.tgt_out)
    }
}

/// Cross-entropy over every target position that is not padding, with label smoothing `ε`:
/// the target distribution is `(1 - ε) · one_hot(y) + ε / vocab_size`.
///
/// # Shapes
/// - logits: `[batch_size, tgt_len, vocab_size]`
/// - targets: `[batch_size, tgt_len]`
/// - output: `[1]`, the mean over non-padding positions
pub fn sequence_loss(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    label_smoothing: f64,
) -> Tensor<1> {
    let [batch_size, tgt_len, vocab_size] = logits.dims();
    let smoothing = (label_smoothing > 0.0).then_some(label_smoothing as f32);
    CrossEntropyLossConfig::new()
        .with_pad_tokens(Some(vec![PAD]))
        .with_smoothing(smoothing)
        .init(&logits.device())
        .forward(
            logits.reshape([batch_size * tgt_len, vocab_size]),
            targets.reshape([batch_size * tgt_len]),
        )
}

impl TrainStep for Seq2SeqTrainee {
    type Input = TrainBatch;
    type Output = Seq2SeqOutput;

    fn step(&self, batch: TrainBatch) -> TrainOutput<Seq2SeqOutput> {
        let sequence = self.forward_loss(batch.tensors, self.teacher_forcing);
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
    type Input = TrainBatch;
    type Output = Seq2SeqOutput;

    fn step(&self, batch: TrainBatch) -> Seq2SeqOutput {
        let TrainBatch {
            tensors: batch,
            references,
        } = batch;
        let src_lens = to_ids(batch.src_mask_pad.clone().bool_not().int().sum_dim(1));
        let limits: Vec<usize> = src_lens
            .iter()
            .map(|&n| decode_limit(&self.model, n))
            .collect();
        let hypotheses = greedy_with_limits(
            &self.model,
            batch.src.clone(),
            batch.src_mask_pad.clone(),
            &limits,
        )
        .into_iter()
        .map(|h| h.tokens)
        .collect();
        Seq2SeqOutput {
            sequence: self.forward_loss(batch, 1.0),
            decoded: DecodedBatch {
                hypotheses,
                references,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_smoothed_loss_equals_a_hand_calculation() {
        let dev = Device::flex();
        // One real position: logits [0, 0, 0, ln 2, 0] -> p = [1/6, 1/6, 1/6, 1/3, 1/6], target 3.
        // ε = 0.1, q = 0.9 · one_hot(3) + 0.02 everywhere:
        // loss = -(0.92 · ln(1/3) + 4 · 0.02 · ln(1/6)) = 0.92 · 1.098612 + 0.08 · 1.791759 = 1.154064
        // A second position is padding (target 0) and must not count.
        let ln2 = 2f32.ln();
        let logits = Tensor::<3>::from_data(
            [[[0.0, 0.0, 0.0, ln2, 0.0], [5.0, -3.0, 1.0, 0.0, 2.0]]],
            &dev,
        );
        let targets = Tensor::<2, Int>::from_data([[3, 0]], &dev);
        let loss: f32 = sequence_loss(logits.clone(), targets.clone(), 0.1).into_scalar();
        assert!((loss - 1.154064).abs() < 1e-5, "{loss}");
        // Without smoothing: -ln(1/3).
        let plain: f32 = sequence_loss(logits, targets, 0.0).into_scalar();
        assert!((plain - 1.098612).abs() < 1e-5, "{plain}");
    }

    /// PyTorch's convention: `F.cross_entropy(logits, y, label_smoothing=ε, ignore_index=pad)`,
    /// on fixed logits from `assets/pytorch/fixtures.json`.
    #[test]
    fn label_smoothed_loss_equals_torch_cross_entropy() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/pytorch/fixtures.json"
        );
        let fixtures: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let f = &fixtures["label_smoothing"];
        assert_eq!(f["pad"], PAD);
        let floats = |v: &serde_json::Value| -> Vec<f32> {
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        let targets: Vec<i64> = f["targets"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        let (n, vocab) = (targets.len(), 7);
        let dev = Device::flex();
        let logits =
            Tensor::<3>::from_data(TensorData::new(floats(&f["logits"]), [1, n, vocab]), &dev);
        let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [1, n]), &dev);
        for case in f["losses"].as_array().unwrap() {
            let eps = case["eps"].as_f64().unwrap();
            let expected = case["loss"].as_f64().unwrap() as f32;
            let loss: f32 = sequence_loss(logits.clone(), targets.clone(), eps).into_scalar();
            assert!(
                (loss - expected).abs() < 1e-5,
                "ε = {eps}: {loss} vs PyTorch {expected}"
            );
        }
    }
}
