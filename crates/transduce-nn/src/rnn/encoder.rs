//! A stack of recurrent layers over a padded batch, optionally bidirectional, and the decoder's
//! stack of unidirectional layers stepped one token at a time.
//!
//! Padding never changes a state: at a padded position each direction keeps its previous state,
//! so the forward direction's final state is the one after the last real token and the backward
//! direction starts at the last real token.

use crate::dropout::dropout;
use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;

use super::cell::{BoundCell, Cell, CellConfig, CellKind, CellState};
use crate::NnError;
use crate::linear::BoundLinear;
use crate::pytorch::Importer;

/// Configuration of an [`RnnEncoder`].
#[derive(Config, Debug)]
pub struct RnnEncoderConfig {
    /// Which recurrence.
    pub kind: CellKind,
    /// Input (embedding) width.
    pub d_input: usize,
    /// Output width per position; each direction has `d_hidden / 2` when bidirectional.
    pub d_hidden: usize,
    /// Number of layers. Default: 1
    #[config(default = 1)]
    pub n_layers: usize,
    /// Read the source in both directions. Default: false
    #[config(default = false)]
    pub bidirectional: bool,
    /// Dropout between layers. Default: 0.0
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// A multi-layer, optionally bidirectional recurrent encoder.
#[derive(Module, Debug)]
pub struct RnnEncoder {
    /// Left-to-right cells, one per layer.
    forward: Vec<Cell>,
    /// Right-to-left cells, one per layer (bidirectional only).
    backward: Vec<Cell>,
    /// Dropout between layers.
    dropout: Dropout,
}

/// The encoder's outputs.
#[derive(Clone, Debug)]
pub struct RnnEncoderOutput {
    /// Top layer's states at every position: `[batch_size, src_len, d_hidden]`.
    pub outputs: Tensor<3>,
    /// Final state per layer, both directions concatenated: each `[batch_size, d_hidden]`.
    pub finals: Vec<CellState>,
}

impl RnnEncoderConfig {
    /// Initialises the encoder.
    pub fn init(&self, device: &Device) -> RnnEncoder {
        let directions = if self.bidirectional { 2 } else { 1 };
        let d = self.d_hidden / directions;
        let layer = |i: usize| {
            CellConfig::new(
                self.kind,
                if i == 0 { self.d_input } else { self.d_hidden },
                d,
            )
            .init(device)
        };
        RnnEncoder {
            forward: (0..self.n_layers).map(layer).collect(),
            backward: if self.bidirectional {
                (0..self.n_layers).map(layer).collect()
            } else {
                Vec::new()
            },
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl RnnEncoder {
    /// # Shapes
    /// - x: `[batch_size, src_len, d_input]`
    /// - mask_pad: `[batch_size, src_len]` (`true` = padding)
    pub fn forward(&self, x: Tensor<3>, mask_pad: Tensor<2, Bool>) -> RnnEncoderOutput {
        let mut x = x;
        let mut finals = Vec::with_capacity(self.forward.len());
        for layer in 0..self.forward.len() {
            if layer > 0 {
                x = dropout(&self.dropout, x);
            }
            let (fwd_out, fwd_final) =
                run_direction(&self.forward[layer], x.clone(), &mask_pad, false);
            match self.backward.get(layer) {
                Some(cell) => {
                    let (bwd_out, bwd_final) = run_direction(cell, x, &mask_pad, true);
                    x = Tensor::cat(vec![fwd_out, bwd_out], 2); // [batch, src_len, d_hidden]
                    finals.push(CellState {
                        h: Tensor::cat(vec![fwd_final.h, bwd_final.h], 1),
                        c: match (fwd_final.c, bwd_final.c) {
                            (Some(f), Some(b)) => Some(Tensor::cat(vec![f, b], 1)),
                            _ => None,
                        },
                    });
                }
                None => {
                    x = fwd_out;
                    finals.push(fwd_final);
                }
            }
        }
        RnnEncoderOutput { outputs: x, finals }
    }
}

impl RnnEncoder {
    /// This encoder with the weights of a PyTorch `nn.RNN`, `nn.GRU` or `nn.LSTM` of the same
    /// shape (`batch_first` does not change the weights).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        let load = |cells: Vec<Cell>, reverse: bool| -> Result<Vec<Cell>, NnError> {
            cells
                .into_iter()
                .enumerate()
                .map(|(layer, cell)| cell.load_torch(from, layer, reverse))
                .collect()
        };
        Ok(RnnEncoder {
            forward: load(self.forward, false)?,
            backward: load(self.backward, true)?,
            dropout: self.dropout,
        })
    }
}

/// Runs one cell over the sequence (right to left with `reverse`), holding the state on padding.
fn run_direction(
    cell: &Cell,
    x: Tensor<3>,
    mask_pad: &Tensor<2, Bool>,
    reverse: bool,
) -> (Tensor<3>, CellState) {
    let [batch_size, len, _] = x.dims();
    let mut state = cell.zero_state(batch_size, &x.device());
    let cell = cell.bind();
    let projected = cell.project_input(x); // [batch, len, gates * d]
    let mut outputs = vec![None; len];
    let mut steps: Vec<Option<Tensor<2>>> =
        super::time_steps(projected).into_iter().map(Some).collect(); // [batch, gates * d] each
    let order: Vec<usize> = if reverse {
        (0..len).rev().collect()
    } else {
        (0..len).collect()
    };
    for t in order {
        let x_t = steps[t].take().expect("each position is visited once");
        let pad_t = mask_pad.clone().slice(s![.., t..t + 1]); // [batch, 1]
        let next = cell.step_projected(x_t, state.clone());
        state = next.keep_where(pad_t, state);
        outputs[t] = Some(state.h.clone());
    }
    let outputs: Vec<Tensor<2>> = outputs
        .into_iter()
        .map(|o| o.expect("every position is visited"))
        .collect();
    (Tensor::stack(outputs, 1), state) // [batch, len, d]
}

/// Configuration of an [`RnnDecoderStack`].
#[derive(Config, Debug)]
pub struct RnnDecoderStackConfig {
    /// Which recurrence.
    pub kind: CellKind,
    /// Input width of the first layer.
    pub d_input: usize,
    /// Hidden width of every layer.
    pub d_hidden: usize,
    /// Number of layers. Default: 1
    #[config(default = 1)]
    pub n_layers: usize,
    /// Dropout between layers. Default: 0.0
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// Unidirectional layers stepped one token at a time.
#[derive(Module, Debug)]
pub struct RnnDecoderStack {
    /// One cell per layer.
    layers: Vec<Cell>,
    /// Dropout between layers.
    dropout: Dropout,
}

impl RnnDecoderStackConfig {
    /// Initialises the stack.
    pub fn init(&self, device: &Device) -> RnnDecoderStack {
        RnnDecoderStack {
            layers: (0..self.n_layers)
                .map(|i| {
                    CellConfig::new(
                        self.kind,
                        if i == 0 { self.d_input } else { self.d_hidden },
                        self.d_hidden,
                    )
                    .init(device)
                })
                .collect(),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl RnnDecoderStack {
    /// This stack with the weights of a unidirectional PyTorch `nn.RNN`, `nn.GRU` or
    /// `nn.LSTM` of as many layers (`weight_ih_l{k}`, ...), stepped one token at a time.
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(RnnDecoderStack {
            layers: (self.layers.into_iter().enumerate())
                .map(|(layer, cell)| cell.load_torch(from, layer, false))
                .collect::<Result<_, _>>()?,
            dropout: self.dropout,
        })
    }

    /// The layers' weights read once, for stepping through a whole sequence (see
    /// [`crate::linear::Linear::bind`]).
    pub fn bind(&self) -> BoundDecoderStack {
        BoundDecoderStack {
            layers: self.layers.iter().map(Cell::bind).collect(),
            dropout: self.dropout.clone(),
        }
    }
}

/// An [`RnnDecoderStack`] whose weights were read once for a sequence.
#[derive(Clone, Debug)]
pub struct BoundDecoderStack {
    layers: Vec<BoundCell>,
    dropout: Dropout,
}

impl BoundDecoderStack {
    /// One step through every layer; returns the top layer's output and the new states.
    ///
    /// # Shapes
    /// - x: `[batch_size, d_input]`
    /// - states: one per layer, each `[batch_size, d_hidden]`
    /// - output: `[batch_size, d_hidden]`
    pub fn step(&self, x: Tensor<2>, states: Vec<CellState>) -> (Tensor<2>, Vec<CellState>) {
        self.step_projected(self.layers[0].project_input(x), states)
    }

    /// The first layer's input projection, for one step or for a whole sequence at once
    /// (teacher forcing, where every input is known before the recurrence runs).
    ///
    /// # Shapes
    /// - x: `[..., d_input]`
    /// - output: `[..., gates * d_hidden]`
    pub fn project_input<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.layers[0].project_input(x)
    }

    /// The first layer's input projection.
    pub fn first_input(&self) -> BoundLinear {
        self.layers[0].input_projection()
    }

    /// The first layer's input projection split by input columns: the projection of the first
    /// `at` inputs (with the bias) and the stack whose first layer takes the rest. Decoders
    /// fed `[y_t; extra_t]` project every `y_t` of a sequence at once with the first, and
    /// `extra_t` step by step ([`BoundDecoderStack::project_input`] on the stack returned).
    pub fn split_input(self, at: usize) -> (BoundLinear, BoundDecoderStack) {
        let mut layers = self.layers;
        let (first, cell) = layers.remove(0).split_input(at);
        layers.insert(0, cell);
        (
            first,
            BoundDecoderStack {
                layers,
                dropout: self.dropout,
            },
        )
    }

    /// [`BoundDecoderStack::step`] from an input already passed through the first layer's
    /// input projection.
    ///
    /// # Shapes
    /// - x_proj: `[batch_size, gates * d_hidden]`
    /// - states: one per layer, each `[batch_size, d_hidden]`
    /// - output: `[batch_size, d_hidden]`
    pub fn step_projected(
        &self,
        x_proj: Tensor<2>,
        states: Vec<CellState>,
    ) -> (Tensor<2>, Vec<CellState>) {
        let mut next = Vec::with_capacity(self.layers.len());
        let mut states = states.into_iter();
        let first = states.next().expect("one state per layer");
        let s = self.layers[0].step_projected(x_proj, first);
        let mut x = s.h.clone();
        next.push(s);
        for (cell, state) in self.layers[1..].iter().zip(states) {
            let s = cell.step(dropout(&self.dropout, x), state);
            x = s.h.clone();
            next.push(s);
        }
        (x, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::test_device;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn padding_does_not_change_the_outputs_or_final_states() {
        let dev = test_device();
        for kind in [CellKind::Rnn, CellKind::Gru, CellKind::Lstm] {
            for bidirectional in [false, true] {
                let enc = RnnEncoderConfig::new(kind, 3, 4)
                    .with_n_layers(2)
                    .with_bidirectional(bidirectional)
                    .init(&dev);
                let x = Tensor::<3>::random([1, 3, 3], Distribution::Default, &dev);
                let junk = Tensor::<3>::random([1, 2, 3], Distribution::Default, &dev);
                let short = enc.forward(x.clone(), Tensor::from_data([[false; 3]], &dev));
                let long = enc.forward(
                    Tensor::cat(vec![x, junk], 1),
                    Tensor::from_data([[false, false, false, true, true]], &dev),
                );
                assert_eq!(long.outputs.dims(), [1, 5, 4]);
                long.outputs
                    .slice(s![.., 0..3, ..])
                    .into_data()
                    .assert_approx_eq::<f32>(&short.outputs.into_data(), Tolerance::default());
                for (a, b) in long.finals.into_iter().zip(short.finals) {
                    a.h.into_data()
                        .assert_approx_eq::<f32>(&b.h.into_data(), Tolerance::default());
                    assert_eq!(a.c.is_some(), kind == CellKind::Lstm);
                }
            }
        }
    }
}
