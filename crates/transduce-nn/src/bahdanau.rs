//! Additive attention (Bahdanau et al. 2015, "Neural Machine Translation by Jointly Learning to
//! Align and Translate", <https://arxiv.org/abs/1409.0473>).
//!
//! The alignment is computed from the previous decoder state, and the context enters the
//! recurrent step:
//! ```text
//! e_ti = v · tanh(W s_{t-1} + U h_i),   α_t = softmax(e_t),   c_t = Σ_i α_ti h_i
//! s_t  = f(s_{t-1}, [y_{t-1}; c_t])
//! o_t  = tanh(W_o [s_t; c_t; y_{t-1}] + b_o)      (the paper's deep output, with tanh for maxout)
//! ŷ_t  = softmax(W_y o_t + b_y)
//! ```
//! The encoder is bidirectional by default, as in the paper; `s_0` is bridged from its final states.

use crate::activation::tanh;
use crate::dropout::dropout;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::NnError;
use crate::linear::BoundLinear;
use crate::pytorch::Importer;
use crate::rnn::attention::{RnnAttention, RnnAttentionConfig, Score};
use crate::rnn::cell::CellKind;
use crate::rnn::encoder::{BoundDecoderStack, RnnDecoderStack, RnnDecoderStackConfig};
use crate::rnn::{
    RecurrentMemory, RecurrentState, SourceEncoder, SourceEncoderConfig, embed_step, time_steps,
};
use crate::rnn_seq2seq::validate_recurrent;
use crate::seq2seq::{DecodeStep, Seq2Seq};

/// Configuration of a [`Bahdanau`] model.
#[derive(Config, Debug)]
pub struct BahdanauConfig {
    /// Source vocabulary size.
    pub src_vocab_size: usize,
    /// Target vocabulary size.
    pub tgt_vocab_size: usize,
    /// The recurrence: rnn (Elman), gru or lstm. Default: gru (as in the paper)
    #[config(default = "CellKind::Gru")]
    pub cell: CellKind,
    /// Embedding width. Default: 64
    #[config(default = 64)]
    pub d_embedding: usize,
    /// Hidden width of the decoder and of the encoder's output (split between directions). Default: 128
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Width of the alignment model's hidden layer. Default: 128
    #[config(default = 128)]
    pub d_attention: usize,
    /// Layers of the encoder and of the decoder. Default: 1
    #[config(default = 1)]
    pub n_layers: usize,
    /// Bidirectional encoder. Default: true
    #[config(default = true)]
    pub bidirectional: bool,
    /// Dropout on embeddings, between layers and on `o_t`. Default: 0.1
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// An encoder-decoder with Bahdanau's additive attention.
#[derive(Module, Debug)]
pub struct Bahdanau {
    /// Source embedding, recurrent encoder and bridge.
    encoder: SourceEncoder,
    /// Target embeddings.
    embedding: Embedding,
    /// Decoder layers; the first takes `[y_{t-1}; c_t]`.
    decoder: RnnDecoderStack,
    /// The alignment model `v · tanh(W s + U h)`.
    attention: RnnAttention,
    /// `W_o`, `b_o`: `[s_t; c_t; y_{t-1}] -> o_t`.
    deep_output: Linear,
    /// `W_y`, `b_y`, stored `[vocab, d_hidden]` (see [`crate::linear`]).
    output: crate::linear::Linear,
    /// Dropout on embeddings and on `o_t`.
    dropout: Dropout,
}

impl BahdanauConfig {
    /// Checks the values before anything is built.
    pub fn validate(&self) -> Result<(), NnError> {
        validate_recurrent(
            (self.src_vocab_size, self.tgt_vocab_size),
            self.d_embedding,
            self.d_hidden,
            self.n_layers,
            self.bidirectional,
            self.dropout,
        )?;
        if self.d_attention == 0 {
            return Err(NnError::Config("d_attention must be positive".into()));
        }
        Ok(())
    }

    /// Initialises the model.
    ///
    /// # Panics
    /// If the config is invalid; call [`BahdanauConfig::validate`] first.
    pub fn init(&self, device: &Device) -> Bahdanau {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        let (d, e) = (self.d_hidden, self.d_embedding);
        Bahdanau {
            encoder: SourceEncoderConfig::new(
                self.src_vocab_size,
                self.cell,
                e,
                d,
                self.n_layers,
                self.bidirectional,
                self.dropout,
            )
            .init(device),
            embedding: EmbeddingConfig::new(self.tgt_vocab_size, e).init(device),
            decoder: RnnDecoderStackConfig::new(self.cell, e + d, d)
                .with_n_layers(self.n_layers)
                .with_dropout(self.dropout)
                .init(device),
            attention: RnnAttentionConfig::new(Score::Concat, d, d, self.d_attention).init(device),
            deep_output: LinearConfig::new(2 * d + e, d).init(device),
            output: crate::linear::LinearConfig::new(d, self.tgt_vocab_size).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl Bahdanau {
    /// This model with the weights of a PyTorch Bahdanau model's state dict: the source
    /// encoder (`src_emb`, `encoder`, `bridge_h`, `bridge_c`), `tgt_emb`, `decoder`,
    /// `attention.{key,query,v}`, `deep_output` and `out` (see [`crate::pytorch`]).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(Bahdanau {
            encoder: self.encoder.load_torch(from)?,
            embedding: from.embedding(self.embedding, "tgt_emb")?,
            decoder: self.decoder.load_torch(&from.with_prefix("decoder."))?,
            attention: self.attention.load_torch(&from.with_prefix("attention."))?,
            deep_output: from.linear(self.deep_output, "deep_output")?,
            output: from.linear_out_in(self.output, "out")?,
            dropout: self.dropout,
        })
    }

    /// The embedding table of a side.
    pub(crate) fn embedding_mut(&mut self, side: crate::Side) -> &mut Embedding {
        match side {
            crate::Side::Source => self.encoder.embedding_mut(),
            crate::Side::Target => &mut self.embedding,
        }
    }

    /// The decoder's weights read once, its first layer's input projection split into the
    /// embedding's columns `W_y` (with the bias) and the stack that takes the context:
    /// `W [y_t; c_t] = W_y y_t + W_c c_t`, so that training projects every `y_t` at once.
    fn bind_decoder(&self) -> (BoundLinear, BoundDecoderStack) {
        let d_embedding = self.embedding.weight.dims()[1];
        self.decoder.bind().split_input(d_embedding)
    }

    /// One step of the recurrence from an embedded input token already projected by the
    /// decoder's `W_y` (`y_proj`): the context `c_t` from the previous state, then
    /// `s_t = cell([y_t; c_t], s_{t-1})`.
    ///
    /// # Shapes
    /// - y_proj: `[batch_size, gates * d_hidden]`
    /// - output: `s_t` and `c_t` `[batch_size, d_hidden]`, the next state, weights `[batch_size, src_len]`
    fn recur(
        &self,
        decoder: &BoundDecoderStack,
        memory: &RecurrentMemory,
        y_proj: Tensor<2>,
        state: RecurrentState,
    ) -> (Tensor<2>, Tensor<2>, RecurrentState, Tensor<2>) {
        let (context, weights) = self.attention.forward(
            state.top(),
            memory.keys.clone(),
            memory.outputs.clone(),
            memory.src_mask_pad.clone(),
        ); // c_t: [batch, d_hidden]
        let x_proj = y_proj + decoder.project_input(context.clone()); // [batch, gates * d_hidden]
        let (s, layers) = decoder.step_projected(x_proj, state.layers); // [batch, d_hidden]
        (s, context, RecurrentState { layers, feed: None }, weights)
    }
}

impl Seq2Seq for Bahdanau {
    type Memory = RecurrentMemory;
    type State = RecurrentState;

    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        _tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        // Only the recurrence and the attention are stepped: the embedding, the dropout, the
        // deep output and the projection onto the vocabulary run once for the whole sequence.
        let memory = self.encode(src, src_mask_pad);
        let mut state = self.init_state(&memory);
        let (embedding, decoder) = self.bind_decoder();
        let y = dropout(&self.dropout, self.embedding.forward(tgt_in)); // [batch, tgt_len, d_embedding]
        let mut features = Vec::with_capacity(y.dims()[1]);
        for y_t in time_steps(embedding.forward(y.clone())) {
            let (s, context, next, _) = self.recur(&decoder, &memory, y_t, state);
            features.push(Tensor::cat(vec![s, context], 1)); // [batch, 2 * d_hidden]
            state = next;
        }
        let features = Tensor::cat(vec![Tensor::stack::<3>(features, 1), y], 2); // [batch, tgt_len, 2 * d_hidden + d_embedding]
        let o = tanh(self.deep_output.forward(features)); // [batch, tgt_len, d_hidden]
        dropout(&self.dropout, o)
    }

    fn project(&self, features: Tensor<2>) -> Tensor<2> {
        self.output.forward(features)
    }

    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> RecurrentMemory {
        self.encoder.memory(src, src_mask_pad, false, |outputs| {
            self.attention.keys(outputs)
        })
    }

    fn init_state(&self, memory: &RecurrentMemory) -> RecurrentState {
        RecurrentState {
            layers: memory.init.clone(),
            feed: None,
        }
    }

    fn decode_step(
        &self,
        memory: &RecurrentMemory,
        prev_tokens: Tensor<1, Int>,
        state: RecurrentState,
    ) -> DecodeStep<RecurrentState> {
        let y = embed_step(&self.embedding, &self.dropout, prev_tokens); // [batch, d_embedding]
        let (embedding, decoder) = self.bind_decoder();
        let (s, context, state, weights) =
            self.recur(&decoder, memory, embedding.forward(y.clone()), state);
        let o = tanh(
            self.deep_output
                .forward(Tensor::cat(vec![s, context, y], 1)),
        ); // [batch, d_hidden]
        DecodeStep {
            logits: self.output.forward(dropout(&self.dropout, o)),
            state,
            attention: weights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    fn config() -> BahdanauConfig {
        BahdanauConfig::new(11, 13)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_d_attention(5)
            .with_dropout(0.0)
    }

    #[test]
    fn contract_for_every_cell_and_option() {
        for cell in [CellKind::Rnn, CellKind::Gru, CellKind::Lstm] {
            for (bidirectional, n_layers) in [(true, 1), (false, 2)] {
                let model = config()
                    .with_cell(cell)
                    .with_bidirectional(bidirectional)
                    .with_n_layers(n_layers)
                    .init(&test_device());
                assert_seq2seq_contract(&model, 13, true);
            }
        }
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let dev = test_device().autodiff();
        let model = config()
            .with_cell(CellKind::Lstm)
            .with_n_layers(2)
            .with_dropout(0.1)
            .init(&dev);
        assert_gradients_reach_every_parameter(&model);
    }

    #[test]
    fn overfits_one_batch() {
        assert_overfits_one_batch(
            config().with_d_hidden(32).init(&test_device().autodiff()),
            400,
        );
    }
}
