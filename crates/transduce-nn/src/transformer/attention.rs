//! Multi-head scaled dot-product attention (Vaswani et al. 2017, section 3.2).
//!
//! ```text
//! Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
//! MultiHead(Q, K, V) = Concat(head_1, .., head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
//! ```
//!
//! Keys and values are projected separately ([`MultiHeadAttention::project_kv`]) from the attention
//! itself ([`MultiHeadAttention::attend`]), so that the decoder can keep a key/value cache and
//! project the encoder memory once per sentence.

use crate::dropout::dropout;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::NnError;
use crate::pytorch::{Importer, with_weights};

/// Scores of masked positions before the softmax; `exp` of it is exactly 0 in f32.
const MASKED_SCORE: f32 = -1.0e9;

/// Configuration of [`MultiHeadAttention`].
#[derive(Config, Debug)]
pub struct MultiHeadAttentionConfig {
    /// Model width `d_model`; each head has `d_k = d_model / n_heads`.
    pub d_model: usize,
    /// Number of heads `h`.
    pub n_heads: usize,
    /// Dropout on the attention weights. Default: 0.0
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// Multi-head attention with separate query, key, value and output projections.
#[derive(Module, Debug)]
pub struct MultiHeadAttention {
    /// `W^Q` for all heads: `d_model -> d_model`.
    query: Linear,
    /// `W^K` for all heads.
    key: Linear,
    /// `W^V` for all heads.
    value: Linear,
    /// `W^O`.
    output: Linear,
    /// Dropout on the attention weights.
    dropout: Dropout,
    /// Number of heads.
    n_heads: usize,
    /// Width of each head.
    d_k: usize,
}

/// Keys and values split into heads: each `[batch_size, n_heads, len, d_k]`.
pub type KeyValue = (Tensor<4>, Tensor<4>);

/// The attended values and the weights that produced them.
#[derive(Clone, Debug)]
pub struct AttentionOutput {
    /// `[batch_size, q_len, d_model]`.
    pub context: Tensor<3>,
    /// Softmax weights, rows sum to 1: `[batch_size, n_heads, q_len, k_len]`.
    pub weights: Tensor<4>,
}

impl MultiHeadAttentionConfig {
    /// Initialises the projections with Xavier-uniform weights.
    ///
    /// # Panics
    /// If `d_model` is not divisible by `n_heads` (configs are validated before this).
    pub fn init(&self, device: &Device) -> MultiHeadAttention {
        assert_eq!(
            self.d_model % self.n_heads,
            0,
            "d_model must be divisible by n_heads"
        );
        let linear = || {
            LinearConfig::new(self.d_model, self.d_model)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device)
        };
        MultiHeadAttention {
            query: linear(),
            key: linear(),
            value: linear(),
            output: linear(),
            dropout: DropoutConfig::new(self.dropout).init(),
            n_heads: self.n_heads,
            d_k: self.d_model / self.n_heads,
        }
    }
}

impl MultiHeadAttention {
    /// Full attention of `query` over `key_value` (self-attention when both are the same tensor).
    ///
    /// # Shapes
    /// - query: `[batch_size, q_len, d_model]`
    /// - key_value: `[batch_size, k_len, d_model]`
    /// - mask_pad: `[batch_size, k_len]` (`true` = padding)
    /// - output: see [`AttentionOutput`]
    pub fn forward(
        &self,
        query: Tensor<3>,
        key_value: Tensor<3>,
        mask_pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> AttentionOutput {
        let kv = self.project_kv(key_value);
        self.attend(query, &kv, mask_pad, causal)
    }

    /// Projects keys and values and splits them into heads.
    ///
    /// # Shapes
    /// - x: `[batch_size, len, d_model]`
    /// - output: two tensors `[batch_size, n_heads, len, d_k]`
    pub fn project_kv(&self, x: Tensor<3>) -> KeyValue {
        let k = self.split_heads(self.key.forward(x.clone()));
        let v = self.split_heads(self.value.forward(x));
        (k, v)
    }

    /// Attention of `query` over already projected keys and values.
    ///
    /// With `causal`, query `i` (the last `q_len` of `k_len` positions) sees keys `0 ..= k_len - q_len + i`.
    ///
    /// # Shapes
    /// - query: `[batch_size, q_len, d_model]`
    /// - kv: two tensors `[batch_size, n_heads, k_len, d_k]`
    /// - mask_pad: `[batch_size, k_len]` (`true` = padding)
    pub fn attend(
        &self,
        query: Tensor<3>,
        kv: &KeyValue,
        mask_pad: Option<Tensor<2, Bool>>,
        causal: bool,
    ) -> AttentionOutput {
        let [batch_size, q_len, d_model] = query.dims();
        let (k, v) = kv;
        let k_len = k.dims()[2];
        let q = self.split_heads(self.query.forward(query)); // [batch, n_heads, q_len, d_k]

        let mut scores = q
            .matmul(k.clone().swap_dims(2, 3))
            .div_scalar((self.d_k as f32).sqrt()); // [batch, n_heads, q_len, k_len]
        if let Some(mask_pad) = mask_pad {
            let mask = mask_pad.reshape([batch_size, 1, 1, k_len]);
            scores = scores.mask_fill(mask, MASKED_SCORE);
        }
        if causal && q_len > 1 {
            let mask = causal_mask(q_len, k_len, &scores.device()).reshape([1, 1, q_len, k_len]);
            scores = scores.mask_fill(mask, MASKED_SCORE);
        }
        let weights = softmax(scores, 3); // [batch, n_heads, q_len, k_len]

        let context = dropout(&self.dropout, weights.clone()).matmul(v.clone()); // [batch, n_heads, q_len, d_k]
        let context = context
            .swap_dims(1, 2)
            .reshape([batch_size, q_len, d_model]); // [batch, q_len, d_model]
        AttentionOutput {
            context: self.output.forward(context),
            weights,
        }
    }

    /// This attention with the weights of a PyTorch `nn.MultiheadAttention` (`in_proj_weight`
    /// stacks the query, key and value projections; heads are consecutive slices of `d_k`).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        let d = self.n_heads * self.d_k;
        let w = from.matrix("in_proj_weight", 3 * d, d)?;
        let b = from.vector("in_proj_bias", 3 * d)?;
        let part = |i: usize| {
            (
                w.clone().slice(s![i * d..(i + 1) * d, ..]).transpose(), // [d_model, d_model]
                b.clone().slice(s![i * d..(i + 1) * d]),
            )
        };
        let ((wq, bq), (wk, bk), (wv, bv)) = (part(0), part(1), part(2));
        Ok(MultiHeadAttention {
            query: with_weights(self.query, wq, Some(bq)),
            key: with_weights(self.key, wk, Some(bk)),
            value: with_weights(self.value, wv, Some(bv)),
            output: from.linear(self.output, "out_proj")?,
            dropout: self.dropout,
            n_heads: self.n_heads,
            d_k: self.d_k,
        })
    }

    /// `[batch, len, d_model]` -> `[batch, n_heads, len, d_k]`.
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [batch_size, len, _] = x.dims();
        x.reshape([batch_size, len, self.n_heads, self.d_k])
            .swap_dims(1, 2)
    }
}

/// `true` where key `j` lies in the future of query `i`, the queries being the last `q_len` of `k_len` positions.
///
/// # Shapes
/// - output: `[q_len, k_len]`
pub fn causal_mask(q_len: usize, k_len: usize, device: &Device) -> Tensor<2, Bool> {
    let offset = k_len - q_len;
    let data: Vec<bool> = (0..q_len)
        .flat_map(|i| (0..k_len).map(move |j| j > i + offset))
        .collect();
    Tensor::from_data(TensorData::new(data, [q_len, k_len]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    fn device() -> Device {
        Device::flex()
    }

    #[test]
    fn shapes() {
        let dev = device();
        let mha = MultiHeadAttentionConfig::new(16, 4).init(&dev);
        let q = Tensor::<3>::random([2, 3, 16], Distribution::Default, &dev);
        let kv = Tensor::<3>::random([2, 5, 16], Distribution::Default, &dev);
        let out = mha.forward(q, kv, None, false);
        assert_eq!(out.context.dims(), [2, 3, 16]);
        assert_eq!(out.weights.dims(), [2, 4, 3, 5]);
    }

    #[test]
    fn weights_sum_to_one_and_are_zero_on_padding_and_future() {
        let dev = device();
        let mha = MultiHeadAttentionConfig::new(8, 2).init(&dev);
        let x = Tensor::<3>::random([2, 4, 8], Distribution::Default, &dev);
        let pad = Tensor::<2, Bool>::from_data(
            [[false, false, false, true], [false, false, true, true]],
            &dev,
        );
        let out = mha.forward(x.clone(), x, Some(pad), true);
        let w: Vec<f32> = out.weights.clone().into_data().try_to_vec().unwrap();
        let sums: Vec<f32> = out.weights.sum_dim(3).into_data().try_to_vec().unwrap();
        for s in sums {
            assert!((s - 1.0).abs() < 1e-5, "row sums to {s}");
        }
        // w[b][h][i][j]
        let at = |b: usize, h: usize, i: usize, j: usize| w[((b * 2 + h) * 4 + i) * 4 + j];
        for b in 0..2 {
            for h in 0..2 {
                for i in 0..4 {
                    for j in 0..4 {
                        let padded = (b == 0 && j == 3) || (b == 1 && j >= 2);
                        if j > i || padded {
                            assert_eq!(at(b, h, i, j), 0.0, "b{b} h{h} i{i} j{j}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn padded_keys_do_not_change_the_context() {
        let dev = device();
        let mha = MultiHeadAttentionConfig::new(8, 2).init(&dev);
        let q = Tensor::<3>::random([1, 2, 8], Distribution::Default, &dev);
        let kv = Tensor::<3>::random([1, 3, 8], Distribution::Default, &dev);
        let junk = Tensor::<3>::random([1, 2, 8], Distribution::Default, &dev);
        let short = mha.forward(q.clone(), kv.clone(), None, false);
        let padded_kv = Tensor::cat(vec![kv, junk], 1);
        let pad = Tensor::<2, Bool>::from_data([[false, false, false, true, true]], &dev);
        let long = mha.forward(q, padded_kv, Some(pad), false);
        long.context
            .into_data()
            .assert_approx_eq::<f32>(&short.context.into_data(), Tolerance::default());
    }

    #[test]
    fn causal_mask_with_an_offset_for_cached_steps() {
        let m: Vec<bool> = causal_mask(1, 3, &device())
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(m, vec![false, false, false]);
        let m: Vec<bool> = causal_mask(2, 2, &device())
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(m, vec![false, true, false, false]);
    }
}
