//! The Elman network (Elman 1990, "Finding Structure in Time"), written from its equations:
//!
//! ```text
//! h_t = tanh(W_h h_{t-1} + W_x x_t + b)
//! y_t = W_y h_t + b_y
//! ```
//! A sequence model on its own (e.g. a character language model); the seq2seq models use its
//! cell ([`super::cell::CellKind::Rnn`]) as their encoder and decoder recurrence.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::cell::{Cell, CellConfig, CellKind, CellState};

/// Configuration of an [`ElmanRnn`].
#[derive(Config, Debug)]
pub struct ElmanRnnConfig {
    /// Input width.
    pub d_input: usize,
    /// Hidden width.
    pub d_hidden: usize,
    /// Output width.
    pub d_output: usize,
}

/// `h_t = tanh(W_h h_{t-1} + W_x x_t + b)`, `y_t = W_y h_t + b_y`.
#[derive(Module, Debug)]
pub struct ElmanRnn {
    /// The recurrence.
    cell: Cell,
    /// `W_y`, `b_y`.
    output: Linear,
}

impl ElmanRnnConfig {
    /// Initialises the network.
    pub fn init(&self, device: &Device) -> ElmanRnn {
        ElmanRnn {
            cell: CellConfig::new(CellKind::Rnn, self.d_input, self.d_hidden).init(device),
            output: LinearConfig::new(self.d_hidden, self.d_output).init(device),
        }
    }
}

impl ElmanRnn {
    /// Runs over a sequence from `h_0` (zeros when `None`).
    ///
    /// # Shapes
    /// - x: `[batch_size, len, d_input]`
    /// - h0: `[batch_size, d_hidden]`
    /// - output: `y` `[batch_size, len, d_output]` and the last hidden state `[batch_size, d_hidden]`
    pub fn forward(&self, x: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        let [batch_size, len, _] = x.dims();
        let mut state = match h0 {
            Some(h) => CellState { h, c: None },
            None => self.cell.zero_state(batch_size, &x.device()),
        };
        let cell = self.cell.bind();
        let projected = cell.project_input(x); // [batch, len, d_hidden]
        let mut hs = Vec::with_capacity(len);
        for x_t in super::time_steps(projected) {
            state = cell.step_projected(x_t, state);
            hs.push(state.h.clone());
        }
        let hs = Tensor::stack(hs, 1); // [batch, len, d_hidden]
        (self.output.forward(hs), state.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::test_device;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn forward_equals_stepping_the_equations() {
        let dev = test_device();
        let rnn = ElmanRnnConfig::new(3, 4, 2).init(&dev);
        let x = Tensor::<3>::random([2, 5, 3], Distribution::Default, &dev);
        let (y, h_last) = rnn.forward(x.clone(), None);
        assert_eq!(y.dims(), [2, 5, 2]);
        let mut h = Tensor::<2>::zeros([2, 4], &dev);
        for t in 0..5 {
            let x_t = x.clone().slice(s![.., t..t + 1, ..]).squeeze_dim::<2>(1);
            // h_t = tanh(W_h h_{t-1} + W_x x_t + b)
            h = rnn.cell.step(x_t, CellState { h, c: None }).h;
            let y_t = rnn.output.forward(h.clone());
            y.clone()
                .slice(s![.., t..t + 1, ..])
                .squeeze_dim::<2>(1)
                .into_data()
                .assert_approx_eq::<f32>(&y_t.into_data(), Tolerance::default());
        }
        h_last
            .into_data()
            .assert_approx_eq::<f32>(&h.into_data(), Tolerance::default());
    }
}
