//! Search over any [`transduce_nn::Seq2Seq`] model: greedy decoding (and, built on the same
//! [`transduce_nn::BatchSelect`] state, beam search), with the attention of every output token.
//!
//! Each search has an `async` form, which reads tensors without blocking: a browser cannot wait
//! for WebGPU, so a page decodes with those. The plain forms run them to completion
//! ([`burn::tensor::read_sync`]) and are what native code calls.

#![warn(missing_docs)]

pub mod beam;
pub mod error;
pub mod greedy;
pub mod rows;

pub use beam::{
    BeamConfig, LengthPenalty, beam_search, beam_search_nbest, beam_search_nbest_async,
    beam_search_with_limits,
};
pub use error::DecodeError;
pub use greedy::{Hypothesis, greedy, greedy_with_limits, greedy_with_limits_async};

use burn::prelude::*;

/// `log Σ_v exp(z_v)` of each row.
///
/// On host backends it is computed by [`rows::log_sum_exp`] (a vectorised `exp`; burn's CPU
/// `exp` is a scalar call per element). Elsewhere it goes through the backend's fused softmax:
/// `max z - log max softmax(z)`, exact and finite because the largest probability is at least
/// `1 / vocab_size`.
///
/// # Shapes
/// - logits: `[rows, vocab_size]`; output: `[rows, 1]`
pub fn log_sum_exp(logits: Tensor<2>) -> Tensor<2> {
    let [n, vocab_size] = logits.dims();
    if on_host(&logits) {
        let device = logits.device();
        let lse = rows::log_sum_exp(&to_f32(logits), vocab_size);
        return Tensor::from_data(TensorData::new(lse, [n, 1]), &device);
    }
    softmax_and_log_sum_exp(logits).1
}

/// The row-wise softmax and [`log_sum_exp`] together, through the backend's fused softmax (the
/// training loss on devices that are not the host; on the host it uses [`rows`] directly).
///
/// # Shapes
/// - logits: `[rows, vocab_size]`; output: `[rows, vocab_size]` and `[rows, 1]`
pub fn softmax_and_log_sum_exp(logits: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let probs = burn::tensor::activation::softmax(logits.clone(), 1);
    let log_sum_exp = logits.max_dim(1) - probs.clone().max_dim(1).log();
    (probs, log_sum_exp)
}

/// Whether `t` is `f32` data on a host backend, where [`rows`] does the work.
fn on_host(t: &Tensor<2>) -> bool {
    t.dtype() == burn::tensor::DType::F32 && transduce_nn::activation::on_host(&t.device())
}

/// Reads an integer tensor of any backend's int dtype as `usize`s.
///
/// # Panics
/// On backends that cannot read synchronously (WebGPU in a browser): use [`to_ids_async`].
pub fn to_ids<const D: usize>(t: Tensor<D, Int>) -> Vec<usize> {
    burn::tensor::read_sync(to_ids_async(t))
}

/// Reads a float tensor as `f32`s.
///
/// # Panics
/// On backends that cannot read synchronously (WebGPU in a browser): use [`to_f32_async`].
pub fn to_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    burn::tensor::read_sync(to_f32_async(t))
}

/// [`to_ids`], waiting for the device without blocking (the only way to read a tensor from
/// WebGPU in a browser).
pub async fn to_ids_async<const D: usize>(t: Tensor<D, Int>) -> Vec<usize> {
    t.into_data_async()
        .await
        .expect("the device reads the tensor")
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("converted to i64")
        .into_iter()
        .map(|v| v as usize)
        .collect()
}

/// [`to_f32`], waiting for the device without blocking.
pub async fn to_f32_async<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data_async()
        .await
        .expect("the device reads the tensor")
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32")
}

#[cfg(test)]
pub(crate) mod test_util {
    //! A toy model whose next-token scores depend only on the previous token.
    use burn::prelude::*;
    use burn::tensor::activation::log_softmax;
    use transduce_nn::special::EOS;
    use transduce_nn::{BatchSelect, DecodeStep, Seq2Seq};

    /// A Transformer of width 16 (2 heads, FFN 32, no dropout) with random weights.
    pub fn small_transformer(v_src: usize, v_tgt: usize) -> transduce_nn::Transformer {
        transduce_nn::TransformerConfig::new(v_src, v_tgt)
            .with_d_model(16)
            .with_d_ff(32)
            .with_n_heads(2)
            .with_dropout(0.0)
            .with_embedding_dropout(0.0)
            .init(&Device::flex())
    }

    /// `logits[prev][next]`; the state counts steps per row so that it has a batch axis.
    pub struct TableModel {
        pub table: Vec<Vec<f32>>,
        pub device: Device,
        /// Decoding steps run so far.
        pub steps: std::sync::atomic::AtomicUsize,
    }

    #[derive(Clone, Debug)]
    pub struct Rows(pub Tensor<2>);

    impl BatchSelect for Rows {
        fn select_batch(self, indices: Tensor<1, Int>) -> Self {
            Rows(self.0.select(0, indices))
        }
    }

    impl TableModel {
        /// Each `(prev, next)` gets logit 4, everything else 0; tokens without a rule prefer `<eos>`.
        pub fn chain(vocab: usize, rules: &[(usize, usize)]) -> Self {
            let mut table = vec![vec![0.0; vocab]; vocab];
            for (prev, row) in table.iter_mut().enumerate() {
                let next = rules.iter().find(|r| r.0 == prev).map_or(EOS, |r| r.1);
                row[next] = 4.0;
            }
            TableModel {
                table,
                device: Device::flex(),
                steps: Default::default(),
            }
        }

        pub fn from_table(table: Vec<Vec<f32>>) -> Self {
            TableModel {
                table,
                device: Device::flex(),
                steps: Default::default(),
            }
        }

        /// log p of the preferred token in a `chain` row.
        pub fn best_log_prob(&self) -> f32 {
            let v = self.table.len() as f32;
            4.0 - (4f32.exp() + v - 1.0).ln()
        }

        /// Sources of the given lengths, padded.
        pub fn source(&self, lens: &[usize]) -> (Tensor<2, Int>, Tensor<2, Bool>) {
            transduce_data_free_pad(lens, &self.device)
        }

        fn table_tensor(&self) -> Tensor<2> {
            let v = self.table.len();
            let flat: Vec<f32> = self.table.iter().flatten().copied().collect();
            Tensor::from_data(TensorData::new(flat, [v, v]), &self.device)
        }

        /// log p(next | prev).
        pub fn log_prob(&self, prev: usize, next: usize) -> f32 {
            let row = &self.table[prev];
            let z: f32 = row.iter().map(|x| x.exp()).sum();
            row[next] - z.ln()
        }

        #[allow(dead_code)]
        pub fn log_probs(&self) -> Tensor<2> {
            log_softmax(self.table_tensor(), 1)
        }
    }

    fn transduce_data_free_pad(
        lens: &[usize],
        device: &Device,
    ) -> (Tensor<2, Int>, Tensor<2, Bool>) {
        let max = *lens.iter().max().unwrap();
        let ids: Vec<i32> = lens
            .iter()
            .flat_map(|&l| (0..max).map(move |i| if i < l { 4 } else { 0 }))
            .collect();
        let mask: Vec<bool> = lens
            .iter()
            .flat_map(|&l| (0..max).map(move |i| i >= l))
            .collect();
        (
            Tensor::from_data(TensorData::new(ids, [lens.len(), max]), device),
            Tensor::from_data(TensorData::new(mask, [lens.len(), max]), device),
        )
    }

    impl Seq2Seq for TableModel {
        type Memory = Rows;
        type State = Rows;

        /// The logits themselves are the features: the projection is the identity.
        fn forward_features(
            &self,
            _: Tensor<2, Int>,
            _: Tensor<2, Bool>,
            tgt_in: Tensor<2, Int>,
            _: Tensor<2, Bool>,
        ) -> Tensor<3> {
            let [b, t] = tgt_in.dims();
            let v = self.table.len();
            self.table_tensor()
                .select(0, tgt_in.reshape([b * t]))
                .reshape([b, t, v])
        }

        fn project(&self, features: Tensor<2>) -> Tensor<2> {
            features
        }

        fn encode(&self, _src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> Rows {
            // Uniform attention over the real positions.
            let real = src_mask_pad.bool_not().float();
            let n = real.clone().sum_dim(1);
            Rows(real.div(n))
        }

        fn init_state(&self, memory: &Rows) -> Rows {
            memory.clone()
        }

        fn decode_step(
            &self,
            _memory: &Rows,
            prev: Tensor<1, Int>,
            state: Rows,
        ) -> DecodeStep<Rows> {
            self.steps
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            DecodeStep {
                logits: self.table_tensor().select(0, prev),
                attention: state.0.clone(),
                state,
            }
        }
    }
}

#[cfg(test)]
mod log_sum_exp_tests {
    use super::*;
    use burn::tensor::Tolerance;
    use burn::tensor::activation::log_softmax;

    /// `z - log_sum_exp(z)` equals burn's `log_softmax`, also for rows far from zero, uniform
    /// rows and one dominant logit.
    #[test]
    fn log_sum_exp_gives_log_softmax() {
        let dev = Device::flex();
        let z = Tensor::<2>::from_data(
            [
                [0.5, -1.0, 2.0, 0.0],
                [1000.0, 999.0, 990.0, -1000.0],
                [-500.0, -500.0, -500.0, -500.0],
                [80.0, -80.0, 0.0, 3.0],
            ],
            &dev,
        );
        (z.clone() - log_sum_exp(z.clone()))
            .into_data()
            .assert_approx_eq::<f32>(
                &log_softmax(z, 1).into_data(),
                Tolerance::rel_abs(1e-6, 1e-5),
            );
    }
}

#[cfg(test)]
mod batching_tests {
    use crate::test_util::small_transformer;
    use crate::{BeamConfig, beam_search_nbest, greedy_with_limits};
    use burn::prelude::*;
    use transduce_nn::{
        BahdanauConfig, CellKind, LuongConfig, Model, RnnSeq2SeqConfig, Score, Seq2Seq,
    };

    /// Sources of 1 to 7 tokens (ids 4..13), from a fixed formula.
    fn sources() -> Vec<Vec<i64>> {
        (0..6)
            .map(|i| {
                (0..1 + (i * 5) % 7)
                    .map(|j| 4 + ((i * 7 + j * 3) % 9) as i64)
                    .collect()
            })
            .collect()
    }

    fn pad(rows: &[Vec<i64>], device: &Device) -> (Tensor<2, Int>, Tensor<2, Bool>) {
        let len = rows.iter().map(Vec::len).max().unwrap();
        let flat: Vec<i64> = rows
            .iter()
            .flat_map(|r| r.iter().copied().chain(std::iter::repeat(0)).take(len))
            .collect();
        let src = Tensor::<2, Int>::from_data(TensorData::new(flat, [rows.len(), len]), device);
        let mask = src.clone().equal_elem(0);
        (src, mask)
    }

    /// Greedy and beam search (width 3, 2-best) give every sentence the same output whether
    /// it is decoded in a padded batch or alone.
    fn assert_batching_changes_nothing<M: Seq2Seq>(name: &str, model: &M) {
        let dev = Device::flex();
        let rows = sources();
        let limits: Vec<usize> = rows.iter().map(|r| 2 * r.len() + 3).collect();
        let (src, mask) = pad(&rows, &dev);
        let config = BeamConfig {
            nbest: 2,
            ..BeamConfig::new(3, 20)
        };
        let greedy = greedy_with_limits(model, src.clone(), mask.clone(), &limits);
        let beam = beam_search_nbest(model, src, mask, &config, &limits);
        for (i, row) in rows.iter().enumerate() {
            let (src, mask) = pad(std::slice::from_ref(row), &dev);
            let alone = &greedy_with_limits(model, src.clone(), mask.clone(), &limits[i..=i])[0];
            assert_eq!(
                alone.tokens, greedy[i].tokens,
                "{name}: greedy, sentence {i}"
            );
            assert!(
                (alone.score - greedy[i].score).abs() < 1e-4,
                "{name}: greedy score, sentence {i}"
            );
            let alone = &beam_search_nbest(model, src, mask, &config, &limits[i..=i])[0];
            assert_eq!(alone.len(), beam[i].len());
            for (a, b) in alone.iter().zip(&beam[i]) {
                assert_eq!(a.tokens, b.tokens, "{name}: beam, sentence {i}");
                assert!(
                    (a.score - b.score).abs() < 1e-4,
                    "{name}: beam score, sentence {i}"
                );
            }
        }
    }

    /// Beam search of width 1 is greedy search: the same tokens and scores for 100 sources of
    /// 1 to 12 tokens, decoded in batches of 25.
    fn assert_width_one_is_greedy<M: Seq2Seq>(name: &str, model: &M) {
        let dev = Device::flex();
        let sources: Vec<Vec<i64>> = (0..100u64)
            .map(|i| {
                let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut next = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                let len = 1 + (next() % 12) as usize;
                (0..len).map(|_| 4 + (next() % 9) as i64).collect()
            })
            .collect();
        for (chunk_index, chunk) in sources.chunks(25).enumerate() {
            let limits: Vec<usize> = chunk.iter().map(|r| 2 * r.len() + 3).collect();
            let (src, mask) = pad(chunk, &dev);
            let greedy = greedy_with_limits(model, src.clone(), mask.clone(), &limits);
            let beam = beam_search_nbest(model, src, mask, &BeamConfig::new(1, 30), &limits);
            for (i, (g, b)) in greedy.iter().zip(&beam).enumerate() {
                let b = &b[0];
                let at = chunk_index * 25 + i;
                assert_eq!(g.tokens, b.tokens, "{name}: source {at}");
                assert!((g.score - b.score).abs() < 1e-4, "{name}: source {at}");
            }
        }
    }

    /// One small model of every architecture, with random weights: Elman, GRU (bidirectional)
    /// and LSTM (bidirectional) seq2seq of 2 layers, Luong with each score, Bahdanau and the
    /// Transformer.
    fn every_architecture() -> Vec<(String, Model)> {
        let dev = Device::flex();
        let (v_src, v_tgt) = (13, 11);
        let mut models = Vec::new();
        for (cell, bidirectional) in [
            (CellKind::Rnn, false),
            (CellKind::Gru, true),
            (CellKind::Lstm, true),
        ] {
            let model = RnnSeq2SeqConfig::new(v_src, v_tgt)
                .with_cell(cell)
                .with_bidirectional(bidirectional)
                .with_n_layers(2)
                .with_d_embedding(6)
                .with_d_hidden(8)
                .with_dropout(0.0)
                .init(&dev);
            models.push((format!("seq2seq {cell:?}"), Model::Seq2seq(model)));
        }
        for score in [Score::Dot, Score::General, Score::Concat] {
            let model = LuongConfig::new(v_src, v_tgt)
                .with_score(score)
                .with_d_embedding(6)
                .with_d_hidden(8)
                .with_dropout(0.0)
                .init(&dev);
            models.push((format!("luong {score:?}"), Model::Luong(model)));
        }
        let model = BahdanauConfig::new(v_src, v_tgt)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_dropout(0.0)
            .init(&dev);
        models.push(("bahdanau".into(), Model::Bahdanau(model)));
        models.push((
            "transformer".into(),
            Model::Transformer(small_transformer(v_src, v_tgt)),
        ));
        models
    }

    #[test]
    fn beam_width_one_equals_greedy_for_every_architecture() {
        for (name, model) in every_architecture() {
            assert_width_one_is_greedy(&name, &model);
        }
    }

    #[test]
    fn batched_decoding_equals_one_sentence_at_a_time_for_every_architecture() {
        for (name, model) in every_architecture() {
            assert_batching_changes_nothing(&name, &model);
        }
    }
}
