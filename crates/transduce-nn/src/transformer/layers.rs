//! The Transformer's encoder and decoder layers and the position-wise feed-forward network.
//!
//! Each sublayer is wrapped as in the paper (post-norm), `LayerNorm(x + Dropout(Sublayer(x)))`,
//! or, with `norm_first`, as `x + Dropout(Sublayer(LayerNorm(x)))` (pre-norm).
//!
//! ```text
//! FFN(x) = max(0, x W_1 + b_1) W_2 + b_2
//! ```

use crate::dropout::dropout;
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::attention::{KeyValue, MultiHeadAttention, MultiHeadAttentionConfig};
use crate::NnError;
use crate::pytorch::Importer;

/// Configuration shared by encoder and decoder layers.
#[derive(Config, Debug)]
pub struct LayerConfig {
    /// Model width.
    pub d_model: usize,
    /// Number of attention heads.
    pub n_heads: usize,
    /// Inner width of the feed-forward network.
    pub d_ff: usize,
    /// Dropout on each sublayer's output and inside the FFN.
    pub dropout: f64,
    /// Dropout on attention weights.
    pub attention_dropout: f64,
    /// Pre-norm instead of the paper's post-norm.
    pub norm_first: bool,
}

/// `x -> Linear -> ReLU -> Dropout -> Linear`.
#[derive(Module, Debug)]
pub struct PositionwiseFeedForward {
    /// `W_1`: `d_model -> d_ff`.
    inner: Linear,
    /// `W_2`: `d_ff -> d_model`.
    outer: Linear,
    /// Dropout after the ReLU.
    dropout: Dropout,
}

/// One encoder layer: self-attention, then the FFN.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// Self-attention over the source.
    self_attn: MultiHeadAttention,
    /// The position-wise FFN.
    ffn: PositionwiseFeedForward,
    /// Norm around the self-attention sublayer.
    norm_attn: LayerNorm,
    /// Norm around the FFN sublayer.
    norm_ffn: LayerNorm,
    /// Residual dropout.
    dropout: Dropout,
    /// Pre-norm instead of post-norm.
    norm_first: bool,
}

/// One decoder layer: masked self-attention, encoder-decoder attention, then the FFN.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Masked self-attention over the target prefix.
    self_attn: MultiHeadAttention,
    /// Attention over the encoder's output.
    cross_attn: MultiHeadAttention,
    /// The position-wise FFN.
    ffn: PositionwiseFeedForward,
    /// Norm around the self-attention sublayer.
    norm_self: LayerNorm,
    /// Norm around the cross-attention sublayer.
    norm_cross: LayerNorm,
    /// Norm around the FFN sublayer.
    norm_ffn: LayerNorm,
    /// Residual dropout.
    dropout: Dropout,
    /// Pre-norm instead of post-norm.
    norm_first: bool,
}

/// A decoder layer's outputs.
#[derive(Clone, Debug)]
pub struct DecoderLayerOutput {
    /// `[batch_size, tgt_len, d_model]`.
    pub x: Tensor<3>,
    /// This layer's self-attention keys and values for every position so far (the new cache).
    pub self_kv: KeyValue,
    /// Self-attention weights: `[batch_size, n_heads, tgt_len, total_len]`.
    pub self_weights: Tensor<4>,
    /// Cross-attention weights: `[batch_size, n_heads, tgt_len, src_len]`.
    pub cross_weights: Tensor<4>,
}

impl LayerConfig {
    fn attention(&self, device: &Device) -> MultiHeadAttention {
        MultiHeadAttentionConfig::new(self.d_model, self.n_heads)
            .with_dropout(self.attention_dropout)
            .init(device)
    }

    fn ffn(&self, device: &Device) -> PositionwiseFeedForward {
        let linear = |d_in, d_out| {
            LinearConfig::new(d_in, d_out)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device)
        };
        PositionwiseFeedForward {
            inner: linear(self.d_model, self.d_ff),
            outer: linear(self.d_ff, self.d_model),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }

    fn norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.d_model).init(device)
    }

    /// Initialises an encoder layer.
    pub fn init_encoder(&self, device: &Device) -> EncoderLayer {
        EncoderLayer {
            self_attn: self.attention(device),
            ffn: self.ffn(device),
            norm_attn: self.norm(device),
            norm_ffn: self.norm(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            norm_first: self.norm_first,
        }
    }

    /// Initialises a decoder layer.
    pub fn init_decoder(&self, device: &Device) -> DecoderLayer {
        DecoderLayer {
            self_attn: self.attention(device),
            cross_attn: self.attention(device),
            ffn: self.ffn(device),
            norm_self: self.norm(device),
            norm_cross: self.norm(device),
            norm_ffn: self.norm(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            norm_first: self.norm_first,
        }
    }
}

impl PositionwiseFeedForward {
    /// # Shapes
    /// - x: `[batch_size, len, d_model]`
    /// - output: `[batch_size, len, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = relu(self.inner.forward(x)); // [batch, len, d_ff]
        self.outer.forward(dropout(&self.dropout, h))
    }
}

/// Applies `sublayer` with a residual connection and layer norm, post-norm or pre-norm.
fn residual<T>(
    x: Tensor<3>,
    norm: &LayerNorm,
    drop: &Dropout,
    norm_first: bool,
    sublayer: impl FnOnce(Tensor<3>) -> (Tensor<3>, T),
) -> (Tensor<3>, T) {
    if norm_first {
        let (y, extra) = sublayer(norm.forward(x.clone()));
        (x + dropout(drop, y), extra)
    } else {
        let (y, extra) = sublayer(x.clone());
        (norm.forward(x + dropout(drop, y)), extra)
    }
}

impl EncoderLayer {
    /// # Shapes
    /// - x: `[batch_size, src_len, d_model]`
    /// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
    /// - output: `[batch_size, src_len, d_model]` and self-attention weights `[batch_size, n_heads, src_len, src_len]`
    pub fn forward(&self, x: Tensor<3>, src_mask_pad: Tensor<2, Bool>) -> (Tensor<3>, Tensor<4>) {
        let (x, weights) = residual(x, &self.norm_attn, &self.dropout, self.norm_first, |h| {
            let out = self
                .self_attn
                .forward(h.clone(), h, Some(src_mask_pad), false);
            (out.context, out.weights)
        });
        let (x, ()) = residual(x, &self.norm_ffn, &self.dropout, self.norm_first, |h| {
            (self.ffn.forward(h), ())
        });
        (x, weights)
    }
}

impl PositionwiseFeedForward {
    /// This feed-forward block with PyTorch's `linear1` and `linear2`.
    fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(PositionwiseFeedForward {
            inner: from.linear(self.inner, "linear1")?,
            outer: from.linear(self.outer, "linear2")?,
            dropout: self.dropout,
        })
    }
}

impl EncoderLayer {
    /// This layer with the weights of a PyTorch `nn.TransformerEncoderLayer` (ReLU; `norm1`
    /// follows self-attention, `norm2` the feed-forward block).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(EncoderLayer {
            self_attn: self.self_attn.load_torch(&from.with_prefix("self_attn."))?,
            ffn: self.ffn.load_torch(from)?,
            norm_attn: from.layer_norm(self.norm_attn, "norm1")?,
            norm_ffn: from.layer_norm(self.norm_ffn, "norm2")?,
            dropout: self.dropout,
            norm_first: self.norm_first,
        })
    }
}

impl DecoderLayer {
    /// This layer with the weights of a PyTorch `nn.TransformerDecoderLayer` (ReLU;
    /// `multihead_attn` is the cross-attention; `norm1`, `norm2`, `norm3` follow self-attention,
    /// cross-attention and the feed-forward block).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(DecoderLayer {
            self_attn: self.self_attn.load_torch(&from.with_prefix("self_attn."))?,
            cross_attn: self
                .cross_attn
                .load_torch(&from.with_prefix("multihead_attn."))?,
            ffn: self.ffn.load_torch(from)?,
            norm_self: from.layer_norm(self.norm_self, "norm1")?,
            norm_cross: from.layer_norm(self.norm_cross, "norm2")?,
            norm_ffn: from.layer_norm(self.norm_ffn, "norm3")?,
            dropout: self.dropout,
            norm_first: self.norm_first,
        })
    }

    /// Projects the encoder output into this layer's cross-attention keys and values.
    ///
    /// # Shapes
    /// - memory: `[batch_size, src_len, d_model]`
    pub fn memory_kv(&self, memory: Tensor<3>) -> KeyValue {
        self.cross_attn.project_kv(memory)
    }

    /// Runs the layer on `tgt_len` new target positions that follow the cached ones.
    ///
    /// Teacher forcing passes the whole target and no cache; incremental decoding passes one
    /// position and the previous step's `self_kv`.
    ///
    /// # Shapes
    /// - x: `[batch_size, tgt_len, d_model]`
    /// - cache: two tensors `[batch_size, n_heads, past_len, d_k]`
    /// - tgt_mask_pad: `[batch_size, past_len + tgt_len]` (`true` = padding)
    /// - memory_kv: two tensors `[batch_size, n_heads, src_len, d_k]`
    /// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
    pub fn forward(
        &self,
        x: Tensor<3>,
        cache: Option<KeyValue>,
        tgt_mask_pad: Option<Tensor<2, Bool>>,
        memory_kv: &KeyValue,
        src_mask_pad: Tensor<2, Bool>,
    ) -> DecoderLayerOutput {
        let (x, (self_kv, self_weights)) =
            residual(x, &self.norm_self, &self.dropout, self.norm_first, |h| {
                let (k, v) = self.self_attn.project_kv(h.clone());
                let kv = match cache {
                    Some((past_k, past_v)) => (
                        Tensor::cat(vec![past_k, k], 2),
                        Tensor::cat(vec![past_v, v], 2),
                    ),
                    None => (k, v),
                };
                let out = self.self_attn.attend(h, &kv, tgt_mask_pad, true);
                (out.context, (kv, out.weights))
            });
        let (x, cross_weights) =
            residual(x, &self.norm_cross, &self.dropout, self.norm_first, |h| {
                let out = self
                    .cross_attn
                    .attend(h, memory_kv, Some(src_mask_pad), false);
                (out.context, out.weights)
            });
        let (x, ()) = residual(x, &self.norm_ffn, &self.dropout, self.norm_first, |h| {
            (self.ffn.forward(h), ())
        });
        DecoderLayerOutput {
            x,
            self_kv,
            self_weights,
            cross_weights,
        }
    }
}
