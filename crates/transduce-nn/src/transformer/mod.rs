//! The Transformer (Vaswani et al. 2017, "Attention Is All You Need", <https://arxiv.org/abs/1706.03762>).
//!
//! ```text
//! x_0 = Dropout(Embedding(tokens) · sqrt(d_model) + PE)
//! encoder layer:  x = LayerNorm(x + SelfAttention(x));  x = LayerNorm(x + FFN(x))
//! decoder layer:  y = LayerNorm(y + MaskedSelfAttention(y))
//!                 y = LayerNorm(y + Attention(y, encoder output))
//!                 y = LayerNorm(y + FFN(y))
//! logits = y W_out + b_out
//! ```
//!
//! Attention is multi-head scaled dot-product attention, `softmax(Q K^T / sqrt(d_k)) V` with
//! `d_k = d_model / h`; the decoder's self-attention masks future positions; every attention masks
//! padding. `norm_first` switches to pre-norm (`x + Sublayer(LayerNorm(x))`, with a final norm).
//! Positions are sinusoidal (no length limit) or a learned table of `max_len` entries; source and
//! target may share one embedding table (with a joint vocabulary), and the output projection may
//! be tied to the target embeddings (`logits = y E^T`, Press & Wolf 2017).
//!
//! Incremental decoding keeps, per decoder layer, the keys and values of the positions decoded so
//! far ([`TransformerState`]) and projects the encoder output once per sentence
//! ([`TransformerMemory`]); both are plain values owned by the caller.

pub mod attention;
pub mod layers;
pub mod positional;

use crate::dropout::dropout;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
    Linear, LinearConfig,
};
use burn::prelude::*;

use crate::NnError;
use crate::pytorch::Importer;
use crate::seq2seq::{BatchSelect, DecodeStep, Seq2Seq};
use attention::KeyValue;
use layers::{DecoderLayer, EncoderLayer, LayerConfig};
use positional::sinusoidal_encoding;

/// Configuration of a [`Transformer`].
#[derive(Config, Debug)]
pub struct TransformerConfig {
    /// Source vocabulary size.
    pub src_vocab_size: usize,
    /// Target vocabulary size.
    pub tgt_vocab_size: usize,
    /// Model width `d_model`. Default: 64
    #[config(default = 64)]
    pub d_model: usize,
    /// Number of attention heads `h`; `d_model` must be divisible by it. Default: 4
    #[config(default = 4)]
    pub n_heads: usize,
    /// Inner width of the position-wise FFN. Default: 256
    #[config(default = 256)]
    pub d_ff: usize,
    /// Number of encoder layers `N`. Default: 2
    #[config(default = 2)]
    pub n_encoder_layers: usize,
    /// Number of decoder layers `N`. Default: 2
    #[config(default = 2)]
    pub n_decoder_layers: usize,
    /// Dropout on embeddings, sublayer outputs and inside the FFN. Default: 0.1
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Dropout on attention weights. Default: 0.0
    #[config(default = 0.0)]
    pub attention_dropout: f64,
    /// Dropout on the summed embeddings and positions. Default: 0.1
    #[config(default = 0.1)]
    pub embedding_dropout: f64,
    /// Pre-norm (`x + Sublayer(LayerNorm(x))`) instead of the paper's post-norm. Default: false
    #[config(default = false)]
    pub norm_first: bool,
    /// Sinusoidal (the paper's, no length limit) or learned positions. Default: sinusoidal
    #[config(default = "Positions::Sinusoidal")]
    pub positions: Positions,
    /// Size of the learned position table: the longest source or target. Default: 256
    #[config(default = 256)]
    pub max_len: usize,
    /// One embedding table for source and target (needs a joint vocabulary). Default: false
    #[config(default = false)]
    pub share_embeddings: bool,
    /// Output projection tied to the target embeddings, `logits = y E^T`. Default: false
    #[config(default = false)]
    pub tie_output: bool,
}

/// How positions are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Positions {
    /// `PE(pos, 2i) = sin(pos / 10000^(2i/d))`, `PE(pos, 2i+1) = cos(..)`.
    Sinusoidal,
    /// A trained `[max_len, d_model]` table.
    Learned,
}

/// The encoder-decoder Transformer.
#[derive(Module, Debug)]
pub struct Transformer {
    /// Source token embeddings (`None` when shared with the target's).
    src_embedding: Option<Embedding>,
    /// Target token embeddings.
    tgt_embedding: Embedding,
    /// Learned positions `[max_len, d_model]` (`None` for sinusoidal).
    positions: Option<Embedding>,
    /// Encoder stack.
    encoder: Vec<EncoderLayer>,
    /// Decoder stack.
    decoder: Vec<DecoderLayer>,
    /// Final norm of the encoder stack (pre-norm only).
    encoder_norm: Option<LayerNorm>,
    /// Final norm of the decoder stack (pre-norm only).
    decoder_norm: Option<LayerNorm>,
    /// Projection to target-vocabulary logits (`None` when tied to `tgt_embedding`).
    output: Option<Linear>,
    /// Dropout on the summed embeddings and positional encodings.
    dropout: Dropout,
    /// Model width.
    d_model: usize,
    /// Size of the learned position table (0 for sinusoidal positions).
    max_len: usize,
}

/// The encoded source, with each decoder layer's cross-attention keys and values.
#[derive(Clone, Debug)]
pub struct TransformerMemory {
    /// Encoder output: `[batch_size, src_len, d_model]`.
    pub encoded: Tensor<3>,
    /// Source padding mask: `[batch_size, src_len]`.
    pub src_mask_pad: Tensor<2, Bool>,
    /// Per decoder layer: projected keys and values of `encoded`, `[batch_size, n_heads, src_len, d_k]`.
    pub cross_kv: Vec<KeyValue>,
}

/// Incremental decoding state: the number of positions decoded and each layer's key/value cache.
#[derive(Clone, Debug)]
pub struct TransformerState {
    /// Positions decoded so far; the next token gets this position.
    pub position: usize,
    /// Per decoder layer: self-attention keys and values `[batch_size, n_heads, position, d_k]`.
    pub self_kv: Vec<Option<KeyValue>>,
}

/// Teacher-forced outputs with every attention map.
#[derive(Clone, Debug)]
pub struct TransformerOutput {
    /// `[batch_size, tgt_len, tgt_vocab_size]`.
    pub logits: Tensor<3>,
    /// Per decoder layer: `[batch_size, n_heads, tgt_len, tgt_len]`.
    pub self_attention: Vec<Tensor<4>>,
    /// Per decoder layer: `[batch_size, n_heads, tgt_len, src_len]`.
    pub cross_attention: Vec<Tensor<4>>,
}

impl TransformerConfig {
    /// The named presets: `tiny`, `small` or `base`.
    pub fn preset(name: &str, src_vocab_size: usize, tgt_vocab_size: usize) -> Option<Self> {
        match name {
            "tiny" => Some(Self::tiny(src_vocab_size, tgt_vocab_size)),
            "small" => Some(Self::small(src_vocab_size, tgt_vocab_size)),
            "base" => Some(Self::base(src_vocab_size, tgt_vocab_size)),
            _ => None,
        }
    }

    /// For the built-in tasks: N=2, d_model=64, h=4, d_ff=256 (the defaults).
    pub fn tiny(src_vocab_size: usize, tgt_vocab_size: usize) -> Self {
        Self::new(src_vocab_size, tgt_vocab_size)
    }

    /// For small corpora such as Multi30k: N=3, d_model=256, h=4, d_ff=512.
    pub fn small(src_vocab_size: usize, tgt_vocab_size: usize) -> Self {
        Self::new(src_vocab_size, tgt_vocab_size)
            .with_n_encoder_layers(3)
            .with_n_decoder_layers(3)
            .with_d_model(256)
            .with_n_heads(4)
            .with_d_ff(512)
    }

    /// The paper's base model: N=6, d_model=512, h=8, d_ff=2048, dropout 0.1.
    pub fn base(src_vocab_size: usize, tgt_vocab_size: usize) -> Self {
        Self::new(src_vocab_size, tgt_vocab_size)
            .with_n_encoder_layers(6)
            .with_n_decoder_layers(6)
            .with_d_model(512)
            .with_n_heads(8)
            .with_d_ff(2048)
            .with_dropout(0.1)
    }

    /// Checks the values before anything is built.
    pub fn validate(&self) -> Result<(), NnError> {
        let err = |m: String| Err(NnError::Config(m));
        if self.src_vocab_size == 0 || self.tgt_vocab_size == 0 {
            return err("vocabulary sizes must be positive".into());
        }
        if self.d_model == 0 || self.n_heads == 0 || self.d_ff == 0 {
            return err("d_model, n_heads and d_ff must be positive".into());
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return err(format!(
                "d_model ({}) must be divisible by n_heads ({})",
                self.d_model, self.n_heads
            ));
        }
        if self.n_encoder_layers == 0 || self.n_decoder_layers == 0 {
            return err("the encoder and the decoder need at least one layer each".into());
        }
        if self.share_embeddings && self.src_vocab_size != self.tgt_vocab_size {
            return err(format!(
                "shared embeddings need one joint vocabulary (data.joint_vocab), got {} source and {} target entries",
                self.src_vocab_size, self.tgt_vocab_size
            ));
        }
        if self.positions == Positions::Learned && self.max_len == 0 {
            return err("learned positions need max_len >= 1".into());
        }
        for (name, p) in [
            ("dropout", self.dropout),
            ("attention_dropout", self.attention_dropout),
            ("embedding_dropout", self.embedding_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return err(format!("{name} must be in [0, 1), got {p}"));
            }
        }
        Ok(())
    }

    /// Initialises the model.
    ///
    /// # Panics
    /// If the config is invalid; call [`TransformerConfig::validate`] first for an error instead.
    pub fn init(&self, device: &Device) -> Transformer {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        let layer = LayerConfig::new(
            self.d_model,
            self.n_heads,
            self.d_ff,
            self.dropout,
            self.attention_dropout,
            self.norm_first,
        );
        let embedding = |n| {
            EmbeddingConfig::new(n, self.d_model)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: (self.d_model as f64).powf(-0.5),
                })
                .init(device)
        };
        let final_norm = || {
            self.norm_first
                .then(|| LayerNormConfig::new(self.d_model).init(device))
        };
        let learned = self.positions == Positions::Learned;
        Transformer {
            src_embedding: (!self.share_embeddings).then(|| embedding(self.src_vocab_size)),
            tgt_embedding: embedding(self.tgt_vocab_size),
            positions: learned.then(|| embedding(self.max_len)),
            encoder: (0..self.n_encoder_layers)
                .map(|_| layer.init_encoder(device))
                .collect(),
            decoder: (0..self.n_decoder_layers)
                .map(|_| layer.init_decoder(device))
                .collect(),
            encoder_norm: final_norm(),
            decoder_norm: final_norm(),
            output: (!self.tie_output).then(|| {
                LinearConfig::new(self.d_model, self.tgt_vocab_size)
                    .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                    .init(device)
            }),
            dropout: DropoutConfig::new(self.embedding_dropout).init(),
            d_model: self.d_model,
            max_len: if learned { self.max_len } else { 0 },
        }
    }
}

impl Transformer {
    /// Layers of the encoder stack.
    pub fn n_encoder_layers(&self) -> usize {
        self.encoder.len()
    }

    /// Layers of the decoder stack.
    pub fn n_decoder_layers(&self) -> usize {
        self.decoder.len()
    }

    /// Teacher-forced forward pass that also returns every decoder attention map.
    ///
    /// # Shapes
    /// - src, src_mask_pad: `[batch_size, src_len]`
    /// - tgt_in, tgt_mask_pad: `[batch_size, tgt_len]`
    /// - output: see [`TransformerOutput`]
    pub fn forward_full(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> TransformerOutput {
        let memory = self.encode_memory(src, src_mask_pad);
        self.decode_full(&memory, tgt_in, tgt_mask_pad)
    }

    /// The decoder over a whole target prefix, given the encoded source: what
    /// [`Transformer::forward_full`] does after encoding, and what decoding without a cache
    /// repeats at every step.
    ///
    /// # Shapes
    /// - memory: from [`Seq2Seq::encode`]
    /// - tgt_in, tgt_mask_pad: `[batch_size, tgt_len]`
    /// - output: see [`TransformerOutput`]
    pub fn decode_full(
        &self,
        memory: &TransformerMemory,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> TransformerOutput {
        let (y, self_attention, cross_attention) =
            self.decoder_layers(memory, tgt_in, tgt_mask_pad);
        TransformerOutput {
            logits: self.project_sequence(y),
            self_attention,
            cross_attention,
        }
    }

    /// The decoder's layers over a whole target prefix: their output (before the final norm
    /// and the projection) and each layer's self- and cross-attention weights.
    ///
    /// # Shapes
    /// - tgt_in, tgt_mask_pad: `[batch_size, tgt_len]`
    /// - output: `[batch_size, tgt_len, d_model]` and, per layer, as [`TransformerOutput`]
    fn decoder_layers(
        &self,
        memory: &TransformerMemory,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> (Tensor<3>, Vec<Tensor<4>>, Vec<Tensor<4>>) {
        let mut y = self.embed(&self.tgt_embedding, tgt_in, 0); // [batch, tgt_len, d_model]
        let mut self_attention = Vec::with_capacity(self.decoder.len());
        let mut cross_attention = Vec::with_capacity(self.decoder.len());
        for (layer, memory_kv) in self.decoder.iter().zip(&memory.cross_kv) {
            let out = layer.forward(
                y,
                None,
                Some(tgt_mask_pad.clone()),
                memory_kv,
                memory.src_mask_pad.clone(),
            );
            y = out.x;
            self_attention.push(out.self_weights);
            cross_attention.push(out.cross_weights);
        }
        (y, self_attention, cross_attention)
    }

    /// Each encoder layer's self-attention weights over the source.
    ///
    /// # Shapes
    /// - src, src_mask_pad: `[batch_size, src_len]`
    /// - output: per encoder layer, `[batch_size, n_heads, src_len, src_len]`
    pub fn encoder_attention(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
    ) -> Vec<Tensor<4>> {
        let embedding = self.src_embedding.as_ref().unwrap_or(&self.tgt_embedding);
        let mut x = self.embed(embedding, src, 0); // [batch, src_len, d_model]
        let mut weights = Vec::with_capacity(self.encoder.len());
        for layer in &self.encoder {
            let (y, w) = layer.forward(x, src_mask_pad.clone());
            x = y;
            weights.push(w);
        }
        weights
    }

    /// Encodes the source and projects it for every decoder layer's cross-attention.
    fn encode_memory(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
    ) -> TransformerMemory {
        let embedding = self.src_embedding.as_ref().unwrap_or(&self.tgt_embedding);
        let mut x = self.embed(embedding, src, 0); // [batch, src_len, d_model]
        for layer in &self.encoder {
            x = layer.forward(x, src_mask_pad.clone()).0;
        }
        if let Some(norm) = &self.encoder_norm {
            x = norm.forward(x);
        }
        let cross_kv = self
            .decoder
            .iter()
            .map(|layer| layer.memory_kv(x.clone()))
            .collect();
        TransformerMemory {
            encoded: x,
            src_mask_pad,
            cross_kv,
        }
    }

    /// `Dropout(Embedding(ids) · sqrt(d_model) + PE(start ..))`.
    ///
    /// # Panics
    /// With learned positions, if `start + len` exceeds the table; callers check
    /// [`Seq2Seq::max_len`] first.
    fn embed(&self, embedding: &Embedding, ids: Tensor<2, Int>, start: usize) -> Tensor<3> {
        let [_, len] = ids.dims();
        let device = ids.device();
        let pe = match &self.positions {
            Some(table) => {
                assert!(
                    start + len <= self.max_len,
                    "position {} is beyond the learned table of {} positions",
                    start + len - 1,
                    self.max_len
                );
                let positions =
                    Tensor::<1, Int>::arange(start as i64..(start + len) as i64, &device)
                        .reshape([1, len]);
                table.forward(positions) // [1, len, d_model]
            }
            None => sinusoidal_encoding(start, len, self.d_model, &device), // [1, len, d_model]
        };
        let x = embedding
            .forward(ids)
            .mul_scalar((self.d_model as f32).sqrt())
            + pe;
        dropout(&self.dropout, x)
    }

    /// [`Seq2Seq::project`] at every position of a sequence.
    fn project_sequence(&self, y: Tensor<3>) -> Tensor<3> {
        let [batch_size, len, d_model] = y.dims();
        let logits = self.project(y.reshape([batch_size * len, d_model])); // [batch * len, vocab]
        let [_, vocab_size] = logits.dims();
        logits.reshape([batch_size, len, vocab_size])
    }
}

impl Transformer {
    /// This model with the weights of a PyTorch Transformer's state dict: `src_emb`,
    /// `tgt_emb`, `pos_emb` (learned positions), `encoder.layers.{i}`, `decoder.layers.{i}`,
    /// `encoder.norm` and `decoder.norm` (pre-norm only) and `out` (see [`crate::pytorch`]).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        let tgt_embedding = from.embedding(self.tgt_embedding, "tgt_emb")?;
        let src_embedding = match self.src_embedding {
            Some(src) => Some(from.embedding(src, "src_emb")?),
            None => {
                from.tied(crate::pytorch::SRC_EMBEDDING, crate::pytorch::TGT_EMBEDDING)?;
                None
            }
        };
        let positions = match self.positions {
            Some(table) => Some(from.embedding(table, "pos_emb")?),
            None => None,
        };
        let layer = |stack: &str, i: usize| from.with_prefix(&format!("{stack}.layers.{i}."));
        let encoder = (self.encoder.into_iter().enumerate())
            .map(|(i, l)| l.load_torch(&layer("encoder", i)))
            .collect::<Result<_, _>>()?;
        let decoder = (self.decoder.into_iter().enumerate())
            .map(|(i, l)| l.load_torch(&layer("decoder", i)))
            .collect::<Result<_, _>>()?;
        let norm = |norm: Option<LayerNorm>, name: &str| match norm {
            Some(norm) => from.layer_norm(norm, name).map(Some),
            None => Ok(None),
        };
        let output = match self.output {
            Some(output) => Some(from.linear(output, "out")?),
            None => {
                from.tied("out.weight", crate::pytorch::TGT_EMBEDDING)?;
                None
            }
        };
        Ok(Transformer {
            src_embedding,
            tgt_embedding,
            positions,
            encoder,
            decoder,
            encoder_norm: norm(self.encoder_norm, "encoder.norm")?,
            decoder_norm: norm(self.decoder_norm, "decoder.norm")?,
            output,
            dropout: self.dropout,
            d_model: self.d_model,
            max_len: self.max_len,
        })
    }

    /// The embedding table of a side (the target's when they are shared).
    pub(crate) fn embedding_mut(&mut self, side: crate::Side) -> &mut Embedding {
        match (side, &mut self.src_embedding) {
            (crate::Side::Source, Some(src)) => src,
            _ => &mut self.tgt_embedding,
        }
    }
}

impl Seq2Seq for Transformer {
    type Memory = TransformerMemory;
    type State = TransformerState;

    fn max_len(&self) -> Option<usize> {
        (self.max_len > 0).then_some(self.max_len)
    }

    /// Every position is decoded at once, so training always feeds the references.
    fn teacher_forced(&self, _teacher_forcing: f64) -> bool {
        true
    }

    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        let memory = self.encode_memory(src, src_mask_pad);
        self.decoder_layers(&memory, tgt_in, tgt_mask_pad).0
    }

    /// The final decoder norm (pre-norm only), then the output projection (or the transposed
    /// target embedding when they are tied).
    fn project(&self, y: Tensor<2>) -> Tensor<2> {
        let y = match &self.decoder_norm {
            Some(norm) => norm.forward(y),
            None => y,
        };
        match &self.output {
            Some(output) => output.forward(y),
            None => y.matmul(self.tgt_embedding.weight.val().transpose()), // [positions, vocab]
        }
    }

    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> TransformerMemory {
        self.encode_memory(src, src_mask_pad)
    }

    fn init_state(&self, _memory: &TransformerMemory) -> TransformerState {
        TransformerState {
            position: 0,
            self_kv: vec![None; self.decoder.len()],
        }
    }

    fn decode_step(
        &self,
        memory: &TransformerMemory,
        prev_tokens: Tensor<1, Int>,
        state: TransformerState,
    ) -> DecodeStep<TransformerState> {
        let [batch_size] = prev_tokens.dims();
        let [_, src_len] = memory.src_mask_pad.dims();
        let mut y = self.embed(
            &self.tgt_embedding,
            prev_tokens.reshape([batch_size, 1]),
            state.position,
        ); // [batch, 1, d_model]
        let mut self_kv = Vec::with_capacity(self.decoder.len());
        let mut cross = None;
        for ((layer, cache), memory_kv) in
            self.decoder.iter().zip(state.self_kv).zip(&memory.cross_kv)
        {
            let out = layer.forward(y, cache, None, memory_kv, memory.src_mask_pad.clone());
            y = out.x;
            self_kv.push(Some(out.self_kv));
            cross = Some(out.cross_weights);
        }
        let logits = self.project_sequence(y); // [batch, 1, vocab]
        let [_, _, vocab_size] = logits.dims();
        let logits = logits.reshape([batch_size, vocab_size]); // [batch, vocab]
        let attention = cross
            .expect("the decoder has at least one layer")
            .mean_dim(1)
            .reshape([batch_size, src_len]); // [batch, src_len], averaged over the last layer's heads
        DecodeStep {
            logits,
            state: TransformerState {
                position: state.position + 1,
                self_kv,
            },
            attention,
        }
    }
}

impl BatchSelect for TransformerMemory {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        TransformerMemory {
            encoded: self.encoded.select_batch(indices.clone()),
            src_mask_pad: self.src_mask_pad.select_batch(indices.clone()),
            cross_kv: self.cross_kv.select_batch(indices),
        }
    }
}

impl BatchSelect for TransformerState {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        TransformerState {
            position: self.position,
            self_kv: self.self_kv.select_batch(indices),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;
    use burn::tensor::Tolerance;

    fn config() -> TransformerConfig {
        TransformerConfig::new(11, 13)
            .with_d_model(16)
            .with_n_heads(2)
            .with_d_ff(32)
            .with_dropout(0.0)
    }

    #[test]
    fn output_shapes() {
        let dev = test_device();
        let model = config().init(&dev);
        let (src, src_pad) = ids(&[&[4, 5, 6], &[7, 8, 0]], &dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5, 6], &[2, 9, 0, 0]], &dev);
        let out = model.forward_full(src, src_pad, tgt, tgt_pad);
        assert_eq!(out.logits.dims(), [2, 4, 13]);
        assert_eq!(out.self_attention.len(), 2);
        assert_eq!(out.self_attention[0].dims(), [2, 2, 4, 4]);
        assert_eq!(out.cross_attention[1].dims(), [2, 2, 4, 3]);
    }

    #[test]
    fn decoder_self_attention_ignores_future_and_padding() {
        let dev = test_device();
        let model = config().init(&dev);
        let (src, src_pad) = ids(&[&[4, 5, 6], &[7, 8, 0]], &dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5, 6], &[2, 9, 0, 0]], &dev);
        let out = model.forward_full(src, src_pad, tgt, tgt_pad);
        for (layer, w) in out.self_attention.iter().enumerate() {
            let w: Vec<f32> = w.clone().into_data().try_to_vec().unwrap();
            // [batch 2, heads 2, 4, 4]
            for b in 0..2 {
                for h in 0..2 {
                    for i in 0..4 {
                        let row = &w[((b * 2 + h) * 4 + i) * 4..][..4];
                        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                        for (j, &v) in row.iter().enumerate() {
                            let padded = b == 1 && j >= 2;
                            if j > i || padded {
                                assert_eq!(v, 0.0, "layer {layer} b{b} h{h} query {i} key {j}");
                            }
                        }
                    }
                }
            }
        }
        for w in &out.cross_attention {
            let w: Vec<f32> = w.clone().into_data().try_to_vec().unwrap();
            // batch 1's third source position is padding: [2, 2, 4, 3]
            for h in 0..2 {
                for i in 0..4 {
                    assert_eq!(w[((2 + h) * 4 + i) * 3 + 2], 0.0);
                }
            }
        }
    }

    #[test]
    fn a_future_target_token_does_not_change_earlier_logits() {
        let dev = test_device();
        let model = config().init(&dev);
        let (src, src_pad) = ids(&[&[4, 5, 6]], &dev);
        let (tgt_a, pad_a) = ids(&[&[2, 4, 5, 6]], &dev);
        let (tgt_b, pad_b) = ids(&[&[2, 4, 5, 10]], &dev);
        let a = model.forward(src.clone(), src_pad.clone(), tgt_a, pad_a);
        let b = model.forward(src, src_pad, tgt_b, pad_b);
        let prefix = |t: Tensor<3>| t.slice(s![.., 0..3, ..]).into_data();
        prefix(a.clone()).assert_approx_eq::<f32>(&prefix(b.clone()), Tolerance::default());
        // The last position does see the changed token.
        let last = |t: Tensor<3>| t.slice(s![.., 3..4, ..]);
        assert!(last(a).sub(last(b)).abs().max().into_scalar::<f32>() > 1e-6);
    }

    #[test]
    fn more_source_padding_does_not_change_the_output() {
        let dev = test_device();
        let model = config().init(&dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5]], &dev);
        let (src, src_pad) = ids(&[&[4, 5, 6]], &dev);
        let (src_long, pad_long) = ids(&[&[4, 5, 6, 0, 0]], &dev);
        let a = model.forward(src, src_pad, tgt.clone(), tgt_pad.clone());
        let b = model.forward(src_long, pad_long, tgt, tgt_pad);
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Tolerance::rel_abs(1e-4, 1e-5));
    }

    #[test]
    fn cached_step_decoding_equals_the_full_forward() {
        for norm_first in [false, true] {
            let dev = test_device();
            let model = config().with_norm_first(norm_first).init(&dev);
            let (src, src_pad) = ids(&[&[4, 5, 6, 7], &[7, 8, 0, 0]], &dev);
            let (tgt, tgt_pad) = ids(&[&[2, 4, 5, 6, 9], &[2, 9, 10, 3, 0]], &dev);
            let full = model.forward_full(src.clone(), src_pad.clone(), tgt.clone(), tgt_pad);
            let memory = model.encode(src, src_pad);
            let mut state = model.init_state(&memory);
            for t in 0..5 {
                let tokens = tgt.clone().slice(s![.., t..t + 1]).reshape([2]);
                let step = model.decode_step(&memory, tokens, state);
                state = step.state;
                // Batch 1's position 4 is padding: compare the real positions only.
                let rows = if t < 4 { 0..2 } else { 0..1 };
                let expected = full
                    .logits
                    .clone()
                    .slice(s![rows.clone(), t..t + 1, ..])
                    .reshape([rows.len(), 13]);
                step.logits
                    .slice(s![rows.clone(), ..])
                    .into_data()
                    .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::rel_abs(1e-4, 1e-4));
                let expected_attn = full.cross_attention[1]
                    .clone()
                    .slice(s![rows.clone(), .., t..t + 1, ..])
                    .mean_dim(1)
                    .reshape([rows.len(), 4]);
                step.attention
                    .slice(s![rows, ..])
                    .into_data()
                    .assert_approx_eq::<f32>(
                        &expected_attn.into_data(),
                        Tolerance::rel_abs(1e-4, 1e-5),
                    );
            }
            assert_eq!(state.position, 5);
        }
    }

    #[test]
    fn select_batch_reorders_memory_and_state() {
        let dev = test_device();
        let model = config().init(&dev);
        let (src, src_pad) = ids(&[&[4, 5, 6], &[7, 8, 0]], &dev);
        let memory = model.encode(src.clone(), src_pad.clone());
        let state = model.init_state(&memory);
        let step = model.decode_step(&memory, Tensor::from_data([2, 2], &dev), state);
        let idx = Tensor::<1, Int>::from_data([1, 1, 0], &dev);
        let memory2 = memory.clone().select_batch(idx.clone());
        let state2 = step.state.clone().select_batch(idx);
        let next = model.decode_step(&memory2, Tensor::from_data([4, 4, 5], &dev), state2);
        let direct = model.decode_step(&memory, Tensor::from_data([5, 4], &dev), step.state);
        let a = next.logits.clone().slice(s![2..3, ..]).into_data();
        let b = direct.logits.clone().slice(s![0..1, ..]).into_data();
        a.assert_approx_eq::<f32>(&b, Tolerance::default());
        let a = next.logits.slice(s![1..2, ..]).into_data();
        let b = direct.logits.slice(s![1..2, ..]).into_data();
        a.assert_approx_eq::<f32>(&b, Tolerance::default());
    }

    #[test]
    fn gradients_reach_every_parameter_with_learned_positions_and_tied_weights() {
        let dev = test_device().autodiff();
        let model = TransformerConfig::new(13, 13)
            .with_d_model(16)
            .with_n_heads(2)
            .with_d_ff(32)
            .with_positions(Positions::Learned)
            .with_max_len(8)
            .with_share_embeddings(true)
            .with_tie_output(true)
            .init(&dev);
        assert_gradients_reach_every_parameter(&model);
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let dev = test_device().autodiff();
        let model = config().with_dropout(0.1).init(&dev);
        assert_gradients_reach_every_parameter(&model);
        let pre = config().with_norm_first(true).init(&dev);
        assert_gradients_reach_every_parameter(&pre);
    }

    #[test]
    fn seq2seq_contract() {
        for norm_first in [false, true] {
            let model = config().with_norm_first(norm_first).init(&test_device());
            assert_seq2seq_contract(&model, 13, true);
        }
        let shared = TransformerConfig::new(13, 13)
            .with_d_model(16)
            .with_n_heads(4)
            .with_d_ff(32)
            .with_dropout(0.0)
            .with_positions(Positions::Learned)
            .with_max_len(8)
            .with_share_embeddings(true)
            .with_tie_output(true);
        let model = shared.init(&test_device());
        assert_eq!(model.max_len(), Some(8));
        assert_seq2seq_contract(&model, 13, true);
        // Sharing and tying remove the source table and the output projection.
        let untied = shared
            .clone()
            .with_share_embeddings(false)
            .with_tie_output(false)
            .init(&test_device());
        assert_eq!(
            untied.num_params() - model.num_params(),
            13 * 16 + (16 * 13 + 13)
        );
    }

    #[test]
    fn presets_follow_the_paper() {
        let base = TransformerConfig::base(100, 100);
        assert_eq!(
            (
                base.n_encoder_layers,
                base.d_model,
                base.n_heads,
                base.d_ff,
                base.dropout
            ),
            (6, 512, 8, 2048, 0.1)
        );
        assert!(
            base.validate().is_ok()
                && TransformerConfig::preset("small", 5, 5)
                    .unwrap()
                    .validate()
                    .is_ok()
        );
        assert!(TransformerConfig::preset("huge", 5, 5).is_none());
    }

    #[test]
    fn overfits_one_batch() {
        // Without dropout, so that the final loss is not a draw (the device's random stream is
        // shared by tests running in parallel).
        assert_overfits_one_batch(
            config()
                .with_d_model(32)
                .with_dropout(0.0)
                .with_embedding_dropout(0.0)
                .init(&test_device().autodiff()),
            400,
        );
    }

    #[test]
    fn invalid_configs_are_rejected() {
        assert!(
            config()
                .with_n_heads(3)
                .validate()
                .unwrap_err()
                .to_string()
                .contains("divisible")
        );
        assert!(config().with_n_encoder_layers(0).validate().is_err());
        assert!(config().with_dropout(1.0).validate().is_err());
        assert!(config().with_dropout(-0.1).validate().is_err());
        assert!(
            config()
                .with_share_embeddings(true)
                .validate()
                .unwrap_err()
                .to_string()
                .contains("joint vocabulary")
        );
        assert!(config().validate().is_ok());
    }
}
