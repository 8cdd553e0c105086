//! A model of your own: define a burn module, implement the `Seq2Seq` trait, and it gets
//! training (`transduce::train::fit`: the loss, the metrics, the schedules), greedy search and
//! beam search for free.
//!
//! The model is none of the built-in four. Its encoder and decoder are burn's own `Gru`. The
//! decoder starts from the masked mean of the encoder states, `s_0 = tanh(W_0 mean_i h_i)`, and
//! attends with scaled dot products, `α_t = softmax(s_t · h_i / √d)` (Luong et al. 2015's "dot"
//! score, scaled as in Vaswani et al. 2017), `a_t = Σ α_ti h_i`, `s̃_t = tanh(W_c [a_t; s_t])`,
//! `ŷ_t = softmax(W_y s̃_t)`. It learns to reverse digit strings, then decodes the held-out
//! pairs greedily and with beam 4, each sentence up to `2·|x| + 10` tokens as `translate` does.
//! `fit` hands back the model of the last epoch (`train` keeps the best epoch's checkpoint), so
//! an epoch that validated worse than the one before shows in the held-out score.
//!
//! ```sh
//! cargo run --release --example custom_model
//! ```

use transduce::burn::nn::gru::{Gru, GruConfig};
use transduce::burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use transduce::burn::tensor::activation::softmax;
use transduce::prelude::*;

/// A GRU encoder-decoder with scaled dot-product attention.
#[derive(Module, Debug)]
struct AttentiveGru {
    src_embedding: Embedding,
    tgt_embedding: Embedding,
    encoder: Gru,
    decoder: Gru,
    /// `W_0`: the decoder's first state from the mean encoder state.
    init: Linear,
    /// `W_c`: the attentional state from `[a_t; s_t]`.
    combine: Linear,
    /// `W_y`: the attentional state onto the target vocabulary.
    output: Linear,
}

/// The encoded source: the encoder's states and which positions are padding.
#[derive(Clone, Debug)]
struct Memory {
    /// `[batch_size, src_len, d]`.
    states: Tensor<3>,
    /// `[batch_size, src_len]`, `true` at padding.
    mask: Tensor<2, Bool>,
}

/// Beam search reorders the memory along the batch axis.
impl BatchSelect for Memory {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        Memory {
            states: self.states.select(0, indices.clone()),
            mask: self.mask.select(0, indices),
        }
    }
}

impl AttentiveGru {
    fn new(src_vocab: usize, tgt_vocab: usize, d_emb: usize, d: usize, device: &Device) -> Self {
        AttentiveGru {
            src_embedding: EmbeddingConfig::new(src_vocab, d_emb).init(device),
            tgt_embedding: EmbeddingConfig::new(tgt_vocab, d_emb).init(device),
            // `true`: with biases.
            encoder: GruConfig::new(d_emb, d, true).init(device),
            decoder: GruConfig::new(d_emb, d, true).init(device),
            init: LinearConfig::new(d, d).init(device),
            combine: LinearConfig::new(2 * d, d).init(device),
            output: LinearConfig::new(d, tgt_vocab).init(device),
        }
    }

    /// Attention of each decoder state over the source.
    ///
    /// # Shapes
    /// - queries: `[batch_size, tgt_len, d]`
    /// - output: attentional states `[batch_size, tgt_len, d]`, weights `[batch_size, tgt_len, src_len]`
    fn attend(&self, memory: &Memory, queries: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let [batch_size, tgt_len, d] = queries.dims();
        let [_, src_len, _] = memory.states.dims();
        let scores = queries
            .clone()
            .matmul(memory.states.clone().swap_dims(1, 2))
            .div_scalar((d as f32).sqrt()); // [batch, tgt_len, src_len]
        let padding = memory
            .mask
            .clone()
            .unsqueeze_dim::<3>(1)
            .expand([batch_size, tgt_len, src_len]);
        let weights = softmax(scores.mask_fill(padding, -1.0e9), 2);
        let context = weights.clone().matmul(memory.states.clone()); // [batch, tgt_len, d]
        let states = self
            .combine
            .forward(Tensor::cat(vec![context, queries], 2))
            .tanh();
        (states, weights)
    }
}

impl Seq2Seq for AttentiveGru {
    type Memory = Memory;
    type State = Tensor<2>;

    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        _tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        let memory = self.encode(src, src_mask_pad);
        let first = self.init_state(&memory);
        // Teacher forcing: the decoder reads the whole reference at once.
        let states = self
            .decoder
            .forward(self.tgt_embedding.forward(tgt_in), Some(first));
        self.attend(&memory, states).0
    }

    fn project(&self, features: Tensor<2>) -> Tensor<2> {
        self.output.forward(features)
    }

    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> Memory {
        // Padding comes after each sentence, so it never reaches a real position's state.
        let states = self.encoder.forward(self.src_embedding.forward(src), None);
        Memory {
            states,
            mask: src_mask_pad,
        }
    }

    fn init_state(&self, memory: &Memory) -> Tensor<2> {
        let keep = memory.mask.clone().bool_not().float().unsqueeze_dim::<3>(2); // [batch, src_len, 1]
        let sum = (memory.states.clone() * keep.clone()).sum_dim(1); // [batch, 1, d]
        let mean = sum / keep.sum_dim(1); // [batch, 1, d]
        let [batch_size, _, d] = mean.dims();
        self.init.forward(mean.reshape([batch_size, d])).tanh()
    }

    fn decode_step(
        &self,
        memory: &Memory,
        prev_tokens: Tensor<1, Int>,
        state: Tensor<2>,
    ) -> DecodeStep<Tensor<2>> {
        let [batch_size] = prev_tokens.dims();
        let input = self.tgt_embedding.forward(prev_tokens.unsqueeze_dim(1)); // [batch, 1, d_emb]
        let s = self.decoder.forward(input, Some(state)); // [batch, 1, d]
        let (attentional, weights) = self.attend(memory, s.clone());
        let [_, _, d] = s.dims();
        let [_, _, src_len] = weights.dims();
        DecodeStep {
            logits: self.project(attentional.reshape([batch_size, d])),
            state: s.reshape([batch_size, d]),
            attention: weights.reshape([batch_size, src_len]),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let device = Device::flex();
    let seed = 7;
    let data_config = DataConfig {
        task: Task::Reverse,
        n_train: 8000,
        n_valid: 300,
        n_test: 500,
        min_len: 3,
        max_len: 12,
        ..DataConfig::default()
    };
    let (data, _) = data_config.prepare(seed)?;
    let codec = &data.codec;

    // Any module that implements `Seq2Seq`, initialised on an autodiff device, trains.
    device.seed(seed);
    let model = AttentiveGru::new(
        codec.src_vocab.len(),
        codec.tgt_vocab.len(),
        32,
        128,
        &device.clone().autodiff(),
    );
    println!("AttentiveGru: {} parameters", model.num_params());
    let training = TrainingConfig::new()
        .with_epochs(6)
        .with_lr(0.003)
        .with_seed(seed);
    let dir = std::env::temp_dir().join("transduce-example-custom-model");
    let fitted = fit(model, &training, &data, &dir, Dashboard::Lines)?;
    println!(
        "trained {} epochs in {:.1}s (metrics.csv and plots in {})",
        fitted.epochs,
        fitted.train_seconds,
        dir.display()
    );

    // Greedy and beam search work on it as on the built-in models.
    let model = fitted.model;
    let test = &data.splits.test;
    let ids: Vec<Vec<usize>> = test.iter().map(|p| codec.encode_src(&p.src)).collect();
    let limits: Vec<usize> = ids.iter().map(|s| decode_limit(&model, s.len())).collect();
    let (src, mask) = pad_ids(ids, &device);
    let greedy_hyps = greedy_with_limits(&model, src.clone(), mask.clone(), &limits);
    let beam = BeamConfig::new(4, limits.iter().copied().max().unwrap_or(1));
    let beam_hyps = beam_search_with_limits(&model, src, mask, &beam, &limits);
    let exact = |hyps: &[Hypothesis]| {
        let right = hyps
            .iter()
            .zip(test)
            .filter(|(h, p)| codec.decode_tgt(&h.tokens) == p.tgt)
            .count();
        100.0 * right as f64 / test.len() as f64
    };
    println!(
        "held-out exact match ({} pairs): greedy {:.1}%, beam 4 {:.1}%",
        test.len(),
        exact(&greedy_hyps),
        exact(&beam_hyps)
    );
    for (pair, h) in test.iter().zip(&greedy_hyps).take(3) {
        println!("  {} -> {}", pair.src, codec.decode_tgt(&h.tokens));
    }
    Ok(())
}
