//! The training and validation steps: teacher-forced cross-entropy that ignores padding.

use burn::data::dataloader::batcher::Batcher;
use burn::module::ModuleDisplay;
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use burn::train::{InferenceStep, SequenceOutput, TrainOutput, TrainStep};
use transduce_data::{Example, Seq2SeqBatcher};
use transduce_decode::{greedy_with_limits, softmax_and_log_sum_exp, to_ids};
use transduce_nn::special::PAD;
use transduce_nn::{Model, Seq2Seq, Seq2SeqBatch};

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
            tensors: Seq2SeqBatcher.pad(examples, device),
            references,
        }
    }
}

/// A model as burn-train's learner sees it: the model plus how its loss is computed.
///
/// Any [`Seq2Seq`] model trains this way (see [`crate::fit()`]); the CLI's runs train the
/// built-in [`Model`].
#[derive(Module, Debug)]
pub struct Seq2SeqTrainee<M = Model> {
    /// The model being trained.
    pub model: M,
    /// Label smoothing of the loss.
    pub label_smoothing: f64,
    /// Probability of feeding the reference token during training (recurrent models; 1 = teacher forcing).
    pub teacher_forcing: f64,
}

impl<M: Seq2Seq + Module + ModuleDisplay> Seq2SeqTrainee<M> {
    /// Teacher-forced logits and the padding-ignoring, label-smoothed cross-entropy.
    ///
    /// With teacher forcing (and always for the Transformer), only the target positions that
    /// are not padding are projected onto the vocabulary: the decoder's features
    /// ([`Seq2Seq::forward_features`]) at those positions are gathered into one matrix, then
    /// [`Seq2Seq::project`]ed. Padding never reaches the loss, so the loss and every gradient
    /// are those of projecting all positions, for a fifth less of the largest matmul on
    /// batches padded as the benchmark's are (622 real positions of 800). Scheduled sampling steps the decoder on its own
    /// predictions and projects every position.
    ///
    /// # Shapes
    /// - output logits: `[1, positions, vocab_size]` and targets `[1, positions]`, the
    ///   non-padding positions in row-major order; with scheduled sampling
    ///   `[batch_size, tgt_len, vocab_size]` and `[batch_size, tgt_len]`
    pub fn forward_loss(&self, batch: Seq2SeqBatch, teacher_forcing: f64) -> SequenceOutput {
        if !self.model.teacher_forced(teacher_forcing) {
            let logits = self.model.forward_train(
                batch.src,
                batch.src_mask_pad,
                batch.tgt_in,
                batch.tgt_mask_pad,
                teacher_forcing,
            );
            let loss = sequence_loss(logits.clone(), batch.tgt_out.clone(), self.label_smoothing);
            return SequenceOutput::new(loss, logits, None, batch.tgt_out);
        }
        let device = batch.tgt_out.device();
        let ids = to_ids(batch.tgt_out);
        let (positions, targets): (Vec<i64>, Vec<i64>) = ids
            .iter()
            .enumerate()
            .filter(|&(_, &id)| id != PAD)
            .map(|(i, &id)| (i as i64, id as i64))
            .unzip();
        let n = positions.len();
        let features = self.model.forward_features(
            batch.src,
            batch.src_mask_pad,
            batch.tgt_in,
            batch.tgt_mask_pad,
        );
        let [batch_size, tgt_len, d_features] = features.dims();
        let positions = Tensor::<1, Int>::from_data(TensorData::new(positions, [n]), &device);
        let features = features
            .reshape([batch_size * tgt_len, d_features])
            .select(0, positions); // [positions, d_features]
        let logits = self.model.project(features).unsqueeze_dim::<3>(0); // [1, positions, vocab]
        let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [1, n]), &device);
        let loss = sequence_loss(logits.clone(), targets.clone(), self.label_smoothing);
        SequenceOutput::new(loss, logits, None, targets)
    }
}

/// Cross-entropy over every target position that is not padding, with label smoothing `ε`:
/// the target distribution is `q = (1 - ε) · one_hot(y) + ε / V`, so that
///
/// ```text
/// loss_t = -(1 - ε) · log p_t(y_t) - ε · mean_v log p_t(v)
/// ```
///
/// averaged over the `N` non-padding positions (PyTorch's `F.cross_entropy(.., label_smoothing=ε,
/// ignore_index=pad)`).
///
/// The loss is computed outside the autodiff graph, and its gradient with respect to the logits,
/// `∂loss/∂z_t = (softmax(z_t) - q_t) / N` (zero at padding), is attached through the surrogate
/// `Σ z ⊙ stop_gradient(G)`. The graph then holds two operations over `[positions, V]` instead of
/// the dozen of a differentiated log-softmax with one-hot targets, and the one-hot targets are
/// never built. On host backends the value and `G` are computed on the host in one copy of the
/// logits ([`transduce_decode::rows`]); elsewhere by tensor operations.
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
    let n = batch_size * tgt_len;
    let eps = label_smoothing.max(0.0) as f32;
    let logits = logits.reshape([n, vocab_size]); // [n, vocab]
    let targets = targets.reshape([n, 1]).without_autodiff();
    let (value, grad) = if on_host(&logits) {
        loss_on_host(logits.clone().without_autodiff(), targets, eps)
    } else {
        loss_on_device(logits.clone().without_autodiff(), targets, eps)
    };
    if !logits.is_autodiff() {
        return value;
    }
    let surrogate = (logits * grad).sum(); // [1], whose gradient is G
    surrogate.clone() - surrogate.detach() + value
}

/// Whether `t` is `f32` data on a host backend, where [`loss_on_host`] does the work.
fn on_host(t: &Tensor<2>) -> bool {
    t.dtype() == burn::tensor::DType::F32 && transduce_nn::activation::on_host(&t.device())
}

/// The loss and `G` from tensor operations (any device).
///
/// # Shapes
/// - z: `[n, vocab]`; targets `[n, 1]`; output `[1]` and `[n, vocab]`
fn loss_on_device(z: Tensor<2>, targets: Tensor<2, Int>, eps: f32) -> (Tensor<1>, Tensor<2>) {
    let [_, vocab_size] = z.dims();
    let real = targets.clone().not_equal_elem(PAD as i64).float(); // [n, 1]
    let weight = real.clone() / real.sum().unsqueeze::<2>(); // [n, 1], 1/N at real positions

    let (probs, log_sum_exp) = softmax_and_log_sum_exp(z.clone()); // [n, vocab], [n, 1]
    let log_p_target = z.clone().gather(1, targets.clone()) - log_sum_exp.clone(); // [n, 1]
    let per_position = if eps > 0.0 {
        let mean_log_p = z.mean_dim(1) - log_sum_exp; // [n, 1]
        log_p_target.mul_scalar(-(1.0 - eps)) - mean_log_p.mul_scalar(eps)
    } else {
        log_p_target.neg()
    };
    let value = (per_position * weight.clone()).sum(); // [1]
    // G = (softmax(z) - q) / N at real positions.
    let grad = (probs.sub_scalar(eps / vocab_size as f32) * weight.clone()).scatter(
        1,
        targets,
        weight.mul_scalar(-(1.0 - eps)),
        IndexingUpdateOp::Add,
    ); // [n, vocab]
    (value, grad)
}

/// The loss and `G` on the host: one copy of the logits, [`transduce_decode::rows`]' vectorised
/// softmax, and `G` written in place of the probabilities (the same quantities as
/// [`loss_on_device`], in three passes instead of a dozen tensor operations).
///
/// # Shapes
/// - z: `[n, vocab]`; targets `[n, 1]`; output `[1]` and `[n, vocab]`
fn loss_on_host(z: Tensor<2>, targets: Tensor<2, Int>, eps: f32) -> (Tensor<1>, Tensor<2>) {
    use rayon::prelude::*;
    let [n, vocab_size] = z.dims();
    let device = z.device();
    let targets = to_ids(targets);
    let real = targets.iter().filter(|&&t| t != PAD).count();
    let weight = |t: usize| if t == PAD { 0.0 } else { 1.0 / real as f32 };
    let mut data = z.into_data();
    let g = data.as_mut_slice::<f32>().expect("f32 logits (checked)");
    let z_target: Vec<f32> = (0..n).map(|r| g[r * vocab_size + targets[r]]).collect();
    let sums = transduce_decode::rows::sums(g, vocab_size);
    let log_sum_exp = transduce_decode::rows::softmax_in_place(g, vocab_size);
    let mut value = 0.0f64;
    for r in 0..n {
        let log_p_target = z_target[r] - log_sum_exp[r];
        let mean_log_p = sums[r] / vocab_size as f32 - log_sum_exp[r];
        let per_position = -(1.0 - eps) * log_p_target - eps * mean_log_p;
        value += f64::from(per_position * weight(targets[r]));
    }
    // G = (softmax(z) - q) / N at real positions, 0 at padding.
    let uniform = eps / vocab_size as f32;
    g.par_chunks_mut(vocab_size)
        .zip(targets.par_iter())
        .for_each(|(row, &t)| {
            let w = weight(t);
            row.iter_mut().for_each(|p| *p = (*p - uniform) * w);
            row[t] -= (1.0 - eps) * w;
        });
    (
        Tensor::from_data([value as f32], &device),
        Tensor::from_data(data, &device),
    )
}

impl<M: Seq2Seq + Module + ModuleDisplay> TrainStep for Seq2SeqTrainee<M> {
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
impl<M: Seq2Seq + Module + ModuleDisplay> InferenceStep for Seq2SeqTrainee<M> {
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
    use burn::tensor::Tolerance;

    /// Every parameter's gradient, by parameter id.
    struct Grads<'a> {
        grads: &'a burn::tensor::Gradients,
        found: std::collections::BTreeMap<String, Vec<f32>>,
    }

    impl burn::module::ModuleVisitor for Grads<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if let Some(g) = param.val().grad(self.grads) {
                let values = g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
                self.found.insert(param.id.to_string(), values);
            }
        }
    }

    /// Projecting only the non-padding positions (what `forward_loss` does) gives the loss and
    /// every gradient of projecting them all, for each architecture (and the Transformer with
    /// pre-norm and tied output, whose projection includes the final norm).
    #[test]
    fn packed_projection_equals_projecting_every_position() {
        use transduce_nn::{
            BahdanauConfig, LuongConfig, ModelConfig, RnnSeq2SeqConfig, TransformerConfig,
        };
        let ad = Device::flex().autodiff();
        let configs = [
            ModelConfig::Seq2seq(
                RnnSeq2SeqConfig::new(13, 11)
                    .with_d_embedding(8)
                    .with_d_hidden(12),
            ),
            ModelConfig::Luong(
                LuongConfig::new(13, 11)
                    .with_d_embedding(8)
                    .with_d_hidden(12),
            ),
            ModelConfig::Bahdanau(
                BahdanauConfig::new(13, 11)
                    .with_d_embedding(8)
                    .with_d_hidden(12),
            ),
            ModelConfig::Transformer(
                TransformerConfig::new(13, 11)
                    .with_d_model(16)
                    .with_n_heads(2)
                    .with_d_ff(32),
            ),
            ModelConfig::Transformer(
                TransformerConfig::new(13, 11)
                    .with_d_model(16)
                    .with_n_heads(2)
                    .with_d_ff(32)
                    .with_norm_first(true)
                    .with_tie_output(true),
            ),
        ];
        let ints = |rows: &[[i64; 4]]| {
            Tensor::<2, Int>::from_data(TensorData::new(rows.concat(), [rows.len(), 4]), &ad)
        };
        for config in configs {
            let config = match config {
                ModelConfig::Transformer(c) => ModelConfig::Transformer(
                    c.with_dropout(0.0)
                        .with_attention_dropout(0.0)
                        .with_embedding_dropout(0.0),
                ),
                ModelConfig::Seq2seq(c) => ModelConfig::Seq2seq(c.with_dropout(0.0)),
                ModelConfig::Luong(c) => ModelConfig::Luong(c.with_dropout(0.0)),
                ModelConfig::Bahdanau(c) => ModelConfig::Bahdanau(c.with_dropout(0.0)),
            };
            let trainee = Seq2SeqTrainee {
                model: config.init(&ad),
                label_smoothing: 0.1,
                teacher_forcing: 1.0,
            };
            let src = ints(&[[4, 5, 6, 7], [7, 8, 0, 0], [9, 0, 0, 0]]);
            let tgt_in = ints(&[[2, 4, 5, 6], [2, 9, 0, 0], [2, 10, 4, 0]]);
            let tgt_out = ints(&[[4, 5, 6, 3], [9, 3, 0, 0], [10, 4, 3, 0]]);
            let batch = Seq2SeqBatch {
                src_mask_pad: src.clone().equal_elem(PAD as i64),
                src,
                tgt_mask_pad: tgt_in.clone().equal_elem(PAD as i64),
                tgt_in,
                tgt_out,
            };
            let packed = trainee.forward_loss(batch.clone(), 1.0);
            assert_eq!(packed.logits.dims(), [1, 9, 11], "{}", config.arch());
            let full = sequence_loss(
                trainee.model.forward(
                    batch.src,
                    batch.src_mask_pad,
                    batch.tgt_in,
                    batch.tgt_mask_pad,
                ),
                batch.tgt_out,
                0.1,
            );
            let grads = |loss: Tensor<1>| {
                let g = loss.backward();
                let mut visitor = Grads {
                    grads: &g,
                    found: Default::default(),
                };
                trainee.visit(&mut visitor);
                visitor.found
            };
            let (a, b): (f32, f32) = (
                packed.loss.clone().into_scalar(),
                full.clone().into_scalar(),
            );
            assert!((a - b).abs() < 1e-5, "{}: loss {a} vs {b}", config.arch());
            let (ga, gb) = (grads(packed.loss), grads(full));
            assert_eq!(ga.len(), gb.len(), "{}", config.arch());
            assert!(!ga.is_empty());
            for (id, x) in &ga {
                let y = &gb[id];
                let worst = x
                    .iter()
                    .zip(y)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f32::max);
                assert!(
                    worst < 1e-5,
                    "{}: parameter {id} differs by {worst}",
                    config.arch()
                );
            }
        }
    }

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

    /// The gradient attached by the surrogate equals autodiff's through burn's own label-smoothed
    /// cross-entropy (log-softmax, one-hot targets), with padding, with and without smoothing.
    #[test]
    fn loss_gradient_equals_differentiating_the_log_softmax() {
        use burn::nn::loss::CrossEntropyLossConfig;
        let ad = Device::flex().autodiff();
        let (batch_size, len, vocab) = (3, 4, 11);
        let data: Vec<f32> = (0..batch_size * len * vocab)
            .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 8.0)
            .collect();
        let targets = Tensor::<2, Int>::from_data([[3, 5, 10, 0], [1, 0, 0, 0], [7, 7, 2, 9]], &ad);
        for eps in [0.0, 0.1, 0.3] {
            let logits = || {
                Tensor::<3>::from_data(TensorData::new(data.clone(), [batch_size, len, vocab]), &ad)
                    .require_grad()
            };
            let ours = logits();
            let loss = sequence_loss(ours.clone(), targets.clone(), eps);
            let ours_grad = ours.grad(&loss.backward()).unwrap();

            let theirs = logits();
            let reference = CrossEntropyLossConfig::new()
                .with_pad_tokens(Some(vec![PAD]))
                .with_smoothing((eps > 0.0).then_some(eps as f32))
                .init(&ad)
                .forward(
                    theirs.clone().reshape([batch_size * len, vocab]),
                    targets.clone().reshape([batch_size * len]),
                );
            let theirs_grad = theirs.grad(&reference.backward()).unwrap();
            let (a, b): (f32, f32) = (loss.into_scalar(), reference.into_scalar());
            assert!((a - b).abs() < 1e-5, "ε = {eps}: loss {a} vs {b}");
            ours_grad
                .into_data()
                .assert_approx_eq::<f32>(&theirs_grad.into_data(), Tolerance::absolute(1e-6));
        }
    }

    /// The host path (which `sequence_loss` takes on flex, and which the tests above check) and
    /// the tensor path (GPUs) give the same value and the same `G`.
    #[test]
    fn host_and_device_paths_agree() {
        let dev = Device::flex();
        assert!(
            on_host(&Tensor::<2>::zeros([1, 1], &dev)),
            "the host path runs on flex"
        );
        let (n, vocab) = (9, 13);
        let z = Tensor::<2>::random(
            [n, vocab],
            burn::tensor::Distribution::Normal(0.0, 4.0),
            &dev,
        );
        let targets = Tensor::<2, Int>::from_data(
            TensorData::new(vec![3i64, 0, 12, 5, 0, 1, 7, 7, 2], [n, 1]),
            &dev,
        );
        for eps in [0.0, 0.1, 0.3] {
            let (v_host, g_host) = loss_on_host(z.clone(), targets.clone(), eps);
            let (v_dev, g_dev) = loss_on_device(z.clone(), targets.clone(), eps);
            let (a, b): (f32, f32) = (v_host.into_scalar(), v_dev.into_scalar());
            assert!(
                (a - b).abs() < 1e-5 * b.abs().max(1.0),
                "ε = {eps}: {a} vs {b}"
            );
            g_host
                .into_data()
                .assert_approx_eq::<f32>(&g_dev.into_data(), Tolerance::absolute(1e-6));
        }
    }

    /// PyTorch's convention: `F.cross_entropy(logits, y, label_smoothing=ε, ignore_index=pad)`,
    /// on fixed logits from `assets/pytorch/fixtures.json`.
    #[test]
    fn label_smoothed_loss_equals_torch_cross_entropy() {
        let path = &format!(
            "{}/../../assets/pytorch/fixtures.json",
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
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
