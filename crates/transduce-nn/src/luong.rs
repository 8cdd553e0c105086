//! Global attention (Luong et al. 2015, "Effective Approaches to Attention-based Neural Machine
//! Translation", <https://arxiv.org/abs/1508.04025>).
//!
//! At each step the decoder state is compared with every encoder state:
//! ```text
//! s_t  = f(s_{t-1}, [y_{t-1}; s̃_{t-1}])         input feeding (or just y_{t-1})
//! e_t  = [score(s_t, h_1) .. score(s_t, h_N)]     dot, general or concat (see rnn::attention)
//! α_t  = softmax(e_t),   a_t = Σ_i α_ti h_i
//! s̃_t = tanh(W_c [a_t; s_t] + b_c)              attentional state
//! ŷ_t  = softmax(W_y s̃_t + b_y)
//! ```

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

/// Configuration of a [`Luong`] model.
#[derive(Config, Debug)]
pub struct LuongConfig {
    /// Source vocabulary size.
    pub src_vocab_size: usize,
    /// Target vocabulary size.
    pub tgt_vocab_size: usize,
    /// The recurrence: rnn (Elman), gru or lstm. Default: lstm
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// The score function. Default: general
    #[config(default = "Score::General")]
    pub score: Score,
    /// Feed `s̃_{t-1}` into the next step. Default: true
    #[config(default = true)]
    pub input_feeding: bool,
    /// Embedding width. Default: 64
    #[config(default = 64)]
    pub d_embedding: usize,
    /// Hidden width of the decoder and of the encoder's output (split between directions). Default: 128
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Layers of the encoder and of the decoder. Default: 1
    #[config(default = 1)]
    pub n_layers: usize,
    /// Bidirectional encoder. Default: true
    #[config(default = true)]
    pub bidirectional: bool,
    /// Dropout on embeddings, between layers and on `s̃_t`. Default: 0.1
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// An encoder-decoder with Luong's global attention.
#[derive(Module, Debug)]
pub struct Luong {
    /// Source embedding, recurrent encoder and bridge.
    encoder: SourceEncoder,
    /// Target embeddings.
    embedding: Embedding,
    /// Decoder layers.
    decoder: RnnDecoderStack,
    /// The score function and its weights.
    attention: RnnAttention,
    /// `W_c`, `b_c`: `[a_t; s_t] -> s̃_t`.
    combine: Linear,
    /// `W_y`, `b_y`, stored `[vocab, d_hidden]` (see [`crate::linear`]).
    output: crate::linear::Linear,
    /// Dropout on embeddings and on `s̃_t`.
    dropout: Dropout,
    /// Feed `s̃_{t-1}` into the next step.
    input_feeding: bool,
}

impl LuongConfig {
    /// Checks the values before anything is built.
    pub fn validate(&self) -> Result<(), NnError> {
        validate_recurrent(
            (self.src_vocab_size, self.tgt_vocab_size),
            self.d_embedding,
            self.d_hidden,
            self.n_layers,
            self.bidirectional,
            self.dropout,
        )
    }

    /// Initialises the model.
    ///
    /// # Panics
    /// If the config is invalid; call [`LuongConfig::validate`] first.
    pub fn init(&self, device: &Device) -> Luong {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        let d = self.d_hidden;
        let d_input = self.d_embedding + if self.input_feeding { d } else { 0 };
        Luong {
            encoder: SourceEncoderConfig::new(
                self.src_vocab_size,
                self.cell,
                self.d_embedding,
                d,
                self.n_layers,
                self.bidirectional,
                self.dropout,
            )
            .init(device),
            embedding: EmbeddingConfig::new(self.tgt_vocab_size, self.d_embedding).init(device),
            decoder: RnnDecoderStackConfig::new(self.cell, d_input, d)
                .with_n_layers(self.n_layers)
                .with_dropout(self.dropout)
                .init(device),
            attention: RnnAttentionConfig::new(self.score, d, d, d).init(device),
            combine: LinearConfig::new(2 * d, d).init(device),
            output: crate::linear::LinearConfig::new(d, self.tgt_vocab_size).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            input_feeding: self.input_feeding,
        }
    }
}

impl Luong {
    /// This model with the weights of a PyTorch Luong model's state dict: the source encoder
    /// (`src_emb`, `encoder`, `bridge_h`, `bridge_c`), `tgt_emb`, `decoder`, `attention.key`
    /// (general) or `attention.{key,query,v}` (concat), `combine` and `out` (see
    /// [`crate::pytorch`]).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(Luong {
            encoder: self.encoder.load_torch(from)?,
            embedding: from.embedding(self.embedding, "tgt_emb")?,
            decoder: self.decoder.load_torch(&from.with_prefix("decoder."))?,
            attention: self.attention.load_torch(&from.with_prefix("attention."))?,
            combine: from.linear(self.combine, "combine")?,
            output: from.linear_out_in(self.output, "out")?,
            dropout: self.dropout,
            input_feeding: self.input_feeding,
        })
    }

    /// The embedding table of a side.
    pub(crate) fn embedding_mut(&mut self, side: crate::Side) -> &mut Embedding {
        match side {
            crate::Side::Source => self.encoder.embedding_mut(),
            crate::Side::Target => &mut self.embedding,
        }
    }
}

impl Luong {
    /// One step of the recurrence from an embedded input token `y_t`: the decoder state, its
    /// attention and the attentional state `s̃_t`, which is returned with the next state and the
    /// attention weights.
    ///
    /// # Shapes
    /// - y: `[batch_size, d_embedding]`
    /// - output: `s̃_t` `[batch_size, d_hidden]`, weights `[batch_size, src_len]`
    fn recur(
        &self,
        decoder: &DecoderInput,
        memory: &RecurrentMemory,
        y_proj: Tensor<2>,
        state: RecurrentState,
    ) -> (Tensor<2>, RecurrentState, Tensor<2>) {
        let x_proj = match state.feed {
            // W [y; feed] = W_y y + W_feed feed
            Some(feed) => y_proj + decoder.feed.project_input(feed), // [batch, gates * d_hidden]
            None => y_proj,
        };
        let (s, layers) = decoder.feed.step_projected(x_proj, state.layers); // [batch, d_hidden]
        let (context, weights) = self.attention.forward(
            s.clone(),
            memory.keys.clone(),
            memory.outputs.clone(),
            memory.src_mask_pad.clone(),
        );
        let attentional = self.attentional(context, s); // s̃_t: [batch, d_hidden]
        let state = RecurrentState {
            layers,
            feed: self.input_feeding.then(|| attentional.clone()),
        };
        (attentional, state, weights)
    }

    /// The decoder's weights read once: its first layer's input projection split into the
    /// embedding's columns and (with input feeding) the fed-back state's.
    fn bind_decoder(&self) -> DecoderInput {
        let decoder = self.decoder.bind();
        if self.input_feeding {
            let (embedding, feed) = decoder.split_input(self.d_embedding());
            DecoderInput { embedding, feed }
        } else {
            DecoderInput {
                embedding: decoder.first_input(),
                feed: decoder,
            }
        }
    }

    fn d_embedding(&self) -> usize {
        self.embedding.weight.dims()[1]
    }

    /// The attentional state `s̃_t = tanh(W_c [a_t; s_t] + b_c)`.
    ///
    /// # Shapes
    /// - context `a_t`, state `s_t`: `[batch_size, d_hidden]`
    /// - output: `[batch_size, d_hidden]`
    fn attentional(&self, context: Tensor<2>, s: Tensor<2>) -> Tensor<2> {
        tanh(self.combine.forward(Tensor::cat(vec![context, s], 1)))
    }
}

impl Seq2Seq for Luong {
    type Memory = RecurrentMemory;
    type State = RecurrentState;

    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        _tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        // Only the recurrence is stepped: the embedding, the dropout and the projection onto
        // the vocabulary run once for the whole sequence.
        let memory = self.encode(src, src_mask_pad);
        let mut state = self.init_state(&memory);
        let decoder = self.bind_decoder();
        let y = dropout(&self.dropout, self.embedding.forward(tgt_in)); // [batch, tgt_len, d_embedding]
        let y = decoder.embedding.forward(y); // [batch, tgt_len, gates * d_hidden]
        let mut outputs = Vec::with_capacity(y.dims()[1]);
        for y_t in time_steps(y) {
            let (attentional, next, _) = self.recur(&decoder, &memory, y_t, state);
            outputs.push(attentional);
            state = next;
        }
        let attentional = Tensor::stack::<3>(outputs, 1); // [batch, tgt_len, d_hidden]
        dropout(&self.dropout, attentional)
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
        let [batch_size, _, d_hidden] = memory.outputs.dims();
        RecurrentState {
            layers: memory.init.clone(),
            feed: self
                .input_feeding
                .then(|| Tensor::zeros([batch_size, d_hidden], &memory.outputs.device())),
        }
    }

    fn decode_step(
        &self,
        memory: &RecurrentMemory,
        prev_tokens: Tensor<1, Int>,
        state: RecurrentState,
    ) -> DecodeStep<RecurrentState> {
        let y = embed_step(&self.embedding, &self.dropout, prev_tokens); // [batch, d_embedding]
        let decoder = self.bind_decoder();
        let y = decoder.embedding.forward(y); // [batch, gates * d_hidden]
        let (attentional, state, weights) = self.recur(&decoder, memory, y, state);
        let logits = self.output.forward(dropout(&self.dropout, attentional)); // [batch, vocab]
        DecodeStep {
            logits,
            state,
            attention: weights,
        }
    }
}

/// [`Luong`]'s decoder bound for a sequence: `W [y_t; s̃_{t-1}] = W_y y_t + W_s̃ s̃_{t-1}`.
struct DecoderInput {
    /// `W_y`, with the bias: applied to the whole embedded target at once in training.
    embedding: BoundLinear,
    /// The stack whose first layer's input projection is `W_s̃` (with input feeding), or
    /// unused (without: the embedding is the whole input).
    feed: BoundDecoderStack,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    fn config(score: Score) -> LuongConfig {
        LuongConfig::new(11, 13)
            .with_score(score)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_dropout(0.0)
    }

    #[test]
    fn contract_for_every_score_and_option() {
        for score in [Score::Dot, Score::General, Score::Concat] {
            for (input_feeding, bidirectional, cell) in [
                (true, true, CellKind::Lstm),
                (false, false, CellKind::Gru),
                (true, false, CellKind::Rnn),
            ] {
                let model = config(score)
                    .with_input_feeding(input_feeding)
                    .with_bidirectional(bidirectional)
                    .with_cell(cell)
                    .with_n_layers(2)
                    .init(&test_device());
                assert_seq2seq_contract(&model, 13, true);
            }
        }
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let dev = test_device().autodiff();
        for score in [Score::Dot, Score::General, Score::Concat] {
            let model = config(score).with_n_layers(2).with_dropout(0.1).init(&dev);
            assert_gradients_reach_every_parameter(&model);
        }
    }

    #[test]
    fn overfits_one_batch() {
        for score in [Score::Dot, Score::General, Score::Concat] {
            assert_overfits_one_batch(
                config(score)
                    .with_d_hidden(32)
                    .init(&test_device().autodiff()),
                400,
            );
        }
    }

    #[test]
    fn the_attentional_state_equals_the_formula() {
        use crate::pytorch::fixtures::{assert_close, load, tensor};
        use crate::pytorch::with_weights;
        let dev = test_device();
        let f = &load()["attention"]["attentional"];
        let mut luong = LuongConfig::new(10, 10)
            .with_d_hidden(4)
            .with_bidirectional(false)
            .init(&dev);
        let w_c = tensor::<2>(&f["W_c"], &dev).transpose(); // [8, 4]
        luong.combine = with_weights(luong.combine, w_c, Some(tensor(&f["b_c"], &dev)));
        let h_tilde = luong.attentional(tensor(&f["c"], &dev), tensor(&f["s"], &dev));
        assert_close("h_tilde", h_tilde, &f["h_tilde"], |_| true);
    }
}
