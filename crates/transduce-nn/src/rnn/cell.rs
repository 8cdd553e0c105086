//! Recurrent cells that can be stepped one token at a time with an explicit state.
//!
//! Elman (1990):
//! ```text
//! h_t = tanh(W_x x_t + W_h h_{t-1} + b)
//! ```
//! GRU (Cho et al. 2014):
//! ```text
//! r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)          reset gate
//! z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)          update gate
//! n_t = tanh(W_xn x_t + r_t ⊙ (W_hn h_{t-1} + b_hn) + b_n)
//! h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
//! ```
//! LSTM (Hochreiter & Schmidhuber 1997, with a forget gate):
//! ```text
//! [i_t, f_t, g_t, o_t] = [σ, σ, tanh, σ](W_x x_t + W_h h_{t-1} + b)
//! c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,   h_t = o_t ⊙ tanh(c_t)
//! ```
//! The gates' weights are fused into one input projection `W_x` (applied to a whole sequence at
//! once by [`BoundCell::project_input`]) and one hidden projection `W_h`, so a step costs one matmul.

use crate::activation::{sigmoid, sigmoid_host, tanh, tanh_host};
use burn::nn::Initializer;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::BatchSelect;
use crate::NnError;
use crate::linear::{BoundLinear, Linear, LinearConfig};
use crate::pytorch::Importer;

/// Which recurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CellKind {
    /// Elman's simple recurrent network.
    Rnn,
    /// Gated recurrent unit.
    Gru,
    /// Long short-term memory.
    Lstm,
}

impl CellKind {
    /// Number of gate blocks in the fused projections.
    fn gates(&self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }

    /// The name given to `--cell`.
    pub fn name(&self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Gru => "gru",
            CellKind::Lstm => "lstm",
        }
    }
}

/// Configuration of a [`Cell`].
#[derive(Config, Debug)]
pub struct CellConfig {
    /// Which recurrence.
    pub kind: CellKind,
    /// Input width.
    pub d_input: usize,
    /// Hidden width.
    pub d_hidden: usize,
}

/// One recurrent cell (one layer, one direction).
#[derive(Module, Debug)]
pub struct Cell {
    /// Fused input projection `W_x` (with bias): `d_input -> gates * d_hidden`.
    input: Linear,
    /// Fused hidden projection `W_h`: `d_hidden -> gates * d_hidden` (bias only for the GRU's `b_hn`).
    hidden: Linear,
    /// Which recurrence (stored as its gate count: 1 rnn, 3 gru, 4 lstm).
    gates: usize,
    /// Hidden width.
    d_hidden: usize,
}

/// A cell's state: `h`, and `c` for the LSTM. Each `[batch_size, d_hidden]`.
#[derive(Clone, Debug)]
pub struct CellState {
    /// Hidden state.
    pub h: Tensor<2>,
    /// LSTM memory cell.
    pub c: Option<Tensor<2>>,
}

impl CellConfig {
    /// Initialises the cell with uniform weights in ±1/sqrt(d_hidden), as PyTorch does.
    pub fn init(&self, device: &Device) -> Cell {
        let g = self.kind.gates();
        let bound = 1.0 / (self.d_hidden as f64).sqrt();
        let init = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        Cell {
            input: LinearConfig::new(self.d_input, g * self.d_hidden)
                .with_initializer(init.clone())
                .init(device),
            hidden: LinearConfig::new(self.d_hidden, g * self.d_hidden)
                .with_bias(self.kind == CellKind::Gru)
                .with_initializer(init)
                .init(device),
            gates: g,
            d_hidden: self.d_hidden,
        }
    }
}

impl Cell {
    /// The zero state.
    pub fn zero_state(&self, batch_size: usize, device: &Device) -> CellState {
        let zeros = || Tensor::zeros([batch_size, self.d_hidden], device);
        CellState {
            h: zeros(),
            c: (self.gates == 4).then(zeros),
        }
    }

    /// Hidden width.
    pub fn d_hidden(&self) -> usize {
        self.d_hidden
    }

    /// One step from an input (see [`BoundCell::step`]).
    ///
    /// # Shapes
    /// - x: `[batch_size, d_input]`
    pub fn step(&self, x: Tensor<2>, state: CellState) -> CellState {
        self.bind().step(x, state)
    }

    /// The weights read once, for stepping through a whole sequence (see [`Linear::bind`]).
    pub fn bind(&self) -> BoundCell {
        BoundCell {
            input: self.input.bind(),
            hidden: self.hidden.bind(),
            gates: self.gates,
            d_hidden: self.d_hidden,
        }
    }
}

/// A [`Cell`] whose weights were read once for a sequence ([`Cell::bind`]).
#[derive(Clone, Debug)]
pub struct BoundCell {
    input: BoundLinear,
    hidden: BoundLinear,
    gates: usize,
    d_hidden: usize,
}

impl BoundCell {
    /// One step from an input.
    ///
    /// # Shapes
    /// - x: `[batch_size, d_input]`
    pub fn step(&self, x: Tensor<2>, state: CellState) -> CellState {
        self.step_projected(self.input.forward(x), state)
    }

    /// The input projection of one step or of a whole sequence.
    ///
    /// # Shapes
    /// - x: `[..., d_input]`
    /// - output: `[..., gates * d_hidden]`
    pub fn project_input<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.input.forward(x)
    }

    /// The input projection, `x ↦ W_x x + b`.
    pub fn input_projection(&self) -> BoundLinear {
        self.input.clone()
    }

    /// The input projection split by input columns (see [`BoundLinear::split_input`]): the
    /// projection of the first `at` inputs (with the bias), and this cell taking the rest.
    pub fn split_input(self, at: usize) -> (BoundLinear, BoundCell) {
        let (first, rest) = self.input.split_input(at);
        (
            first,
            BoundCell {
                input: rest,
                ..self
            },
        )
    }

    /// One step from an input already passed through [`BoundCell::project_input`].
    ///
    /// # Shapes
    /// - x_proj: `[batch_size, gates * d_hidden]`
    pub fn step_projected(&self, x_proj: Tensor<2>, state: CellState) -> CellState {
        let d = self.d_hidden;
        let h_proj = self.hidden.forward(state.h.clone()); // [batch, gates * d_hidden]
        if self.gates > 1 && element_wise_on_host(&x_proj) {
            return if x_proj.device().is_autodiff() {
                step_linearised(self.gates, d, x_proj, h_proj, state)
            } else {
                step_on_host(self.gates, d, x_proj, h_proj, state)
            };
        }
        step_with_tensors(self.gates, d, x_proj, h_proj, state)
    }
}

/// The element-wise part of a step as tensor operations (any backend, autodiff).
///
/// # Shapes
/// - x_proj, h_proj: `[batch_size, gates * d]`; state: `[batch_size, d]`
fn step_with_tensors(
    gates: usize,
    d: usize,
    x_proj: Tensor<2>,
    h_proj: Tensor<2>,
    state: CellState,
) -> CellState {
    match gates {
        1 => CellState {
            h: tanh(x_proj + h_proj),
            c: None,
        },
        3 => {
            let gate = |t: &Tensor<2>, i: usize| t.clone().slice(s![.., i * d..(i + 1) * d]);
            let r = sigmoid(gate(&x_proj, 0) + gate(&h_proj, 0));
            let z = sigmoid(gate(&x_proj, 1) + gate(&h_proj, 1));
            let n = tanh(gate(&x_proj, 2) + r * gate(&h_proj, 2));
            let h = z.clone().neg().add_scalar(1.0) * n + z * state.h;
            CellState { h, c: None }
        }
        _ => {
            let gates = x_proj + h_proj; // [batch, 4 * d_hidden]
            let gate = |i: usize| gates.clone().slice(s![.., i * d..(i + 1) * d]);
            let (i, f, g, o) = (
                sigmoid(gate(0)),
                sigmoid(gate(1)),
                tanh(gate(2)),
                sigmoid(gate(3)),
            );
            let c = f * state.c.expect("an LSTM state has a memory cell") + i * g;
            let h = o * tanh(c.clone());
            CellState { h, c: Some(c) }
        }
    }
}

/// Whether a step's element-wise part runs as one host pass: `f32` on a host backend. In
/// inference that pass is the step ([`step_on_host`]); under autodiff it is attached to the
/// graph by its linearisation ([`step_linearised`]).
fn element_wise_on_host(x: &Tensor<2>) -> bool {
    x.dtype() == burn::tensor::DType::F32 && crate::activation::on_host(&x.device())
}

/// The GRU's or LSTM's element-wise step under autodiff, in a dozen graph operations instead of
/// some thirty: the new state's value `v` and the step's partial derivatives `K` come from one
/// pass on the host, and the graph holds `sg(v) + Σ K ⊙ (u − sg(u))` over the step's inputs
/// `u` (`sg`: stop gradient). Its value is `v` (each `u − sg(u)` is zero) and its gradient with
/// respect to each input is `K`, the step's own. For the LSTM, with `a = W_x x + W_h h + b` and
/// `δ` for `u − sg(u)`:
///
/// ```text
/// δc_t = g i(1-i) δa_i + c_{t-1} f(1-f) δa_f + i (1-g²) δa_g + f δc_{t-1}
/// δh_t = tanh(c_t) o(1-o) δa_o + o (1 - tanh²(c_t)) δc_t
/// ```
///
/// and for the GRU, with `q = (1-z)(1-n²)` and the projections `x̂ = W_x x + b`, `ĥ = W_h h + b_h`:
///
/// ```text
/// δh_t = q h_n r(1-r) (δx̂_r + δĥ_r) + (h_{t-1} - n) z(1-z) (δx̂_z + δĥ_z) + q δx̂_n + q r δĥ_n + z δh_{t-1}
/// ```
///
/// # Shapes
/// - x_proj, h_proj: `[batch_size, gates * d]`; state: `[batch_size, d]`
fn step_linearised(
    gates: usize,
    d: usize,
    x_proj: Tensor<2>,
    h_proj: Tensor<2>,
    state: CellState,
) -> CellState {
    use crate::activation::vectorised;
    let device = x_proj.device();
    let [batch_size, _] = x_proj.dims();
    let host = |t: &Tensor<2>| -> Vec<f32> {
        t.clone()
            .detach()
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 (checked by element_wise_on_host)")
    };
    let constant = |v: Vec<f32>, cols: usize| {
        Tensor::<2>::from_data(TensorData::new(v, [batch_size, cols]), &device)
    };
    let delta = |u: Tensor<2>| u.clone() - u.detach(); // zero, with u's gradient
    // Σ over the gate blocks: [batch, n * d] -> [batch, d]
    let blocks = |t: Tensor<2>, n: usize| {
        t.reshape([batch_size, n, d])
            .sum_dim(1)
            .reshape([batch_size, d])
    };
    match gates {
        3 => {
            let (x, hp, h) = (host(&x_proj), host(&h_proj), host(&state.h));
            let mut next = vec![0.0f32; batch_size * d];
            let (mut kx, mut kh) = (vec![0.0f32; 3 * next.len()], vec![0.0f32; 3 * next.len()]);
            let mut kz = vec![0.0f32; next.len()];
            vectorised(|| {
                for b in 0..batch_size {
                    let row = b * d..(b + 1) * d;
                    let gates = b * 3 * d..(b + 1) * 3 * d;
                    gru_row_linearised(
                        &x[gates.clone()],
                        &hp[gates.clone()],
                        &h[row.clone()],
                        &mut next[row.clone()],
                        &mut kx[gates.clone()],
                        &mut kh[gates],
                        &mut kz[row],
                    );
                }
            });
            let dh = blocks(
                delta(x_proj) * constant(kx, 3 * d) + delta(h_proj) * constant(kh, 3 * d),
                3,
            ) + delta(state.h) * constant(kz, d);
            CellState {
                h: constant(next, d) + dh,
                c: None,
            }
        }
        _ => {
            let a = x_proj + h_proj; // [batch, 4 * d]
            let c = state.c.expect("an LSTM state has a memory cell");
            let (av, cv) = (host(&a), host(&c));
            let n = batch_size * d;
            let (mut h_next, mut c_next) = (vec![0.0f32; n], vec![0.0f32; n]);
            let mut kc = vec![0.0f32; 4 * n];
            let (mut ko, mut kt, mut kf) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
            vectorised(|| {
                for b in 0..batch_size {
                    let row = b * d..(b + 1) * d;
                    let gates = b * 4 * d..(b + 1) * 4 * d;
                    lstm_row_linearised(
                        &av[gates.clone()],
                        &cv[row.clone()],
                        [&mut h_next[row.clone()], &mut c_next[row.clone()]],
                        &mut kc[gates],
                        [&mut ko[row.clone()], &mut kt[row.clone()], &mut kf[row]],
                    );
                }
            });
            let da = delta(a);
            let dc = blocks(da.clone() * constant(kc, 4 * d), 4) + delta(c) * constant(kf, d);
            let dh =
                da.slice(s![.., 3 * d..4 * d]) * constant(ko, d) + dc.clone() * constant(kt, d);
            CellState {
                h: constant(h_next, d) + dh,
                c: Some(constant(c_next, d) + dc),
            }
        }
    }
}

/// One row of the GRU: the new state and its partial derivatives (see [`step_linearised`]).
#[inline(always)]
fn gru_row_linearised(
    x: &[f32],
    hp: &[f32],
    h: &[f32],
    next: &mut [f32],
    kx: &mut [f32],
    kh: &mut [f32],
    kz: &mut [f32],
) {
    let d = h.len();
    let ((xr, xz, xn), (hr, hz, hn)) = (thirds(x, d), thirds(hp, d));
    let (next, kz) = (&mut next[..d], &mut kz[..d]);
    let (kxr, rest) = kx.split_at_mut(d);
    let (kxz, kxn) = rest.split_at_mut(d);
    let (khr, rest) = kh.split_at_mut(d);
    let (khz, khn) = rest.split_at_mut(d);
    let (kxz, kxn, khz, khn) = (&mut kxz[..d], &mut kxn[..d], &mut khz[..d], &mut khn[..d]);
    for j in 0..d {
        let r = sigmoid_host(xr[j] + hr[j]);
        let z = sigmoid_host(xz[j] + hz[j]);
        let n = tanh_host(xn[j] + r * hn[j]);
        next[j] = (1.0 - z) * n + z * h[j];
        let q = (1.0 - z) * (1.0 - n * n);
        let ar = q * hn[j] * r * (1.0 - r);
        let az = (h[j] - n) * z * (1.0 - z);
        (kxr[j], kxz[j], kxn[j]) = (ar, az, q);
        (khr[j], khz[j], khn[j]) = (ar, az, q * r);
        kz[j] = z;
    }
}

/// One row of the LSTM: the new `h` and `c` and the partial derivatives (see
/// [`step_linearised`]): `kc` per gate for `c`, and `[ko, kt, kf]` for `h` through `a_o`, `h`
/// through `c`, and `c` through `c_{t-1}`.
#[inline(always)]
fn lstm_row_linearised(
    a: &[f32],
    c: &[f32],
    out: [&mut [f32]; 2],
    kc: &mut [f32],
    k: [&mut [f32]; 3],
) {
    let d = c.len();
    let [h_next, c_next] = out;
    let [ko, kt, kf] = k;
    let (h_next, c_next, ko, kt, kf) = (
        &mut h_next[..d],
        &mut c_next[..d],
        &mut ko[..d],
        &mut kt[..d],
        &mut kf[..d],
    );
    let (ai, af, ag, ao) = (&a[..d], &a[d..2 * d], &a[2 * d..3 * d], &a[3 * d..4 * d]);
    let (kci, rest) = kc.split_at_mut(d);
    let (kcf, rest) = rest.split_at_mut(d);
    let (kcg, kco) = rest.split_at_mut(d);
    let (kcf, kcg, kco) = (&mut kcf[..d], &mut kcg[..d], &mut kco[..d]);
    for j in 0..d {
        let i = sigmoid_host(ai[j]);
        let f = sigmoid_host(af[j]);
        let g = tanh_host(ag[j]);
        let o = sigmoid_host(ao[j]);
        let cn = f * c[j] + i * g;
        let tc = tanh_host(cn);
        c_next[j] = cn;
        h_next[j] = o * tc;
        (kci[j], kcf[j], kcg[j], kco[j]) = (
            g * i * (1.0 - i),
            c[j] * f * (1.0 - f),
            i * (1.0 - g * g),
            0.0,
        );
        ko[j] = tc * o * (1.0 - o);
        kt[j] = o * (1.0 - tc * tc);
        kf[j] = f;
    }
}

/// The GRU's or LSTM's element-wise step (the equations at the top) in one pass over the
/// projections on the host, where burn runs a dozen operations (slices, activations, products)
/// each with its own copy of the tensors. Decoding steps the cell once per output token, so
/// this is most of a step's work outside the matrix products.
///
/// # Shapes
/// - x_proj, h_proj: `[batch_size, gates * d]`; state: `[batch_size, d]`
fn step_on_host(
    gates: usize,
    d: usize,
    x_proj: Tensor<2>,
    h_proj: Tensor<2>,
    state: CellState,
) -> CellState {
    use crate::activation::vectorised;
    let device = x_proj.device();
    let [batch_size, _] = x_proj.dims();
    let values = |t: Tensor<2>| -> Vec<f32> {
        t.into_data()
            .try_into_vec::<f32>()
            .expect("f32 (checked by element_wise_on_host)")
    };
    let (x, hp) = (values(x_proj), values(h_proj));
    let mut h = values(state.h);
    let tensor = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [batch_size, d]), &device);
    match gates {
        3 => {
            vectorised(|| {
                for (b, h) in h.chunks_exact_mut(d).enumerate() {
                    let (x, hp) = (&x[b * 3 * d..][..3 * d], &hp[b * 3 * d..][..3 * d]);
                    gru_row_on_host(h, x, hp, d);
                }
            });
            CellState {
                h: tensor(h),
                c: None,
            }
        }
        _ => {
            let mut c = values(state.c.expect("an LSTM state has a memory cell"));
            vectorised(|| {
                for (b, (h, c)) in h.chunks_exact_mut(d).zip(c.chunks_exact_mut(d)).enumerate() {
                    let (x, hp) = (&x[b * 4 * d..][..4 * d], &hp[b * 4 * d..][..4 * d]);
                    lstm_row_on_host(h, c, x, hp, d);
                }
            });
            CellState {
                h: tensor(h),
                c: Some(tensor(c)),
            }
        }
    }
}

/// One row of the GRU in inference (see [`step_on_host`]): `h` in place.
#[inline(always)]
fn gru_row_on_host(h: &mut [f32], x: &[f32], hp: &[f32], d: usize) {
    let (h, (xr, xz, xn), (hr, hz, hn)) = (&mut h[..d], thirds(x, d), thirds(hp, d));
    for j in 0..d {
        let r = sigmoid_host(xr[j] + hr[j]);
        let z = sigmoid_host(xz[j] + hz[j]);
        let n = tanh_host(xn[j] + r * hn[j]);
        h[j] = (1.0 - z) * n + z * h[j];
    }
}

/// A row's three gate blocks.
#[inline(always)]
fn thirds(v: &[f32], d: usize) -> (&[f32], &[f32], &[f32]) {
    (&v[..d], &v[d..2 * d], &v[2 * d..3 * d])
}

/// One row of the LSTM in inference (see [`step_on_host`]): `h` and `c` in place.
#[inline(always)]
fn lstm_row_on_host(h: &mut [f32], c: &mut [f32], x: &[f32], hp: &[f32], d: usize) {
    let (h, c) = (&mut h[..d], &mut c[..d]);
    let (xi, xf, xg, xo) = (&x[..d], &x[d..2 * d], &x[2 * d..3 * d], &x[3 * d..4 * d]);
    let (hi, hf, hg, ho) = (
        &hp[..d],
        &hp[d..2 * d],
        &hp[2 * d..3 * d],
        &hp[3 * d..4 * d],
    );
    for j in 0..d {
        let i = sigmoid_host(xi[j] + hi[j]);
        let f = sigmoid_host(xf[j] + hf[j]);
        let g = tanh_host(xg[j] + hg[j]);
        let o = sigmoid_host(xo[j] + ho[j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * tanh_host(c[j]);
    }
}

impl Cell {
    /// This cell with the weights of layer `layer` of a PyTorch `nn.RNN` (tanh), `nn.GRU` or
    /// `nn.LSTM` (the `_reverse` direction with `reverse`); the gate order is PyTorch's.
    pub fn load_torch(self, from: &Importer, layer: usize, reverse: bool) -> Result<Self, NnError> {
        let name = |what: &str| format!("{what}_l{layer}{}", if reverse { "_reverse" } else { "" });
        let (g, d) = (self.gates * self.d_hidden, self.d_hidden);
        let d_input = self.input.d_input();
        let w_ih = from.matrix(&name("weight_ih"), g, d_input)?;
        let w_hh = from.matrix(&name("weight_hh"), g, d)?;
        let b_ih = from.vector(&name("bias_ih"), g)?;
        let b_hh = from.vector(&name("bias_hh"), g)?;
        // One bias where PyTorch has two, except the GRU's hidden bias, which r multiplies.
        let (b_input, b_hidden) = if self.gates == 3 {
            (b_ih, Some(b_hh))
        } else {
            (b_ih + b_hh, None)
        };
        Ok(Cell {
            input: self.input.with_weights(w_ih, Some(b_input)),
            hidden: self.hidden.with_weights(w_hh, b_hidden),
            gates: self.gates,
            d_hidden: self.d_hidden,
        })
    }
}

impl CellState {
    /// Keeps `old` where `keep` is true (padding), `self` elsewhere.
    ///
    /// # Shapes
    /// - keep: `[batch_size, 1]`
    pub fn keep_where(self, keep: Tensor<2, Bool>, old: CellState) -> CellState {
        let d = self.h.dims()[1];
        let keep = keep.expand([self.h.dims()[0], d]);
        CellState {
            h: self.h.mask_where(keep.clone(), old.h),
            c: match (self.c, old.c) {
                (Some(c), Some(old_c)) => Some(c.mask_where(keep, old_c)),
                _ => None,
            },
        }
    }
}

impl BatchSelect for CellState {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        CellState {
            h: self.h.select_batch(indices.clone()),
            c: self.c.select_batch(indices),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    /// Sets `W_x` `[d_in, d_out]`, its bias, and `W_h` `[d_hidden, d_out]` (`d_out = gates * d_hidden`).
    fn set_weights(
        cell: Cell,
        w_x: Vec<f32>,
        b: Vec<f32>,
        w_h: Vec<f32>,
        d_in: usize,
        d_out: usize,
        dev: &Device,
    ) -> Cell {
        let mut cell = cell;
        let d_hidden = cell.d_hidden;
        // Given as [d_in, d_out] (x W); the layer stores Wᵀ.
        let t = |w: Vec<f32>, rows| Tensor::<2>::from_data(TensorData::new(w, [rows, d_out]), dev);
        cell.input.weight = Param::from_tensor(t(w_x, d_in).transpose());
        cell.input.bias = Some(Param::from_data(TensorData::new(b, [d_out]), dev));
        cell.hidden.weight = Param::from_tensor(t(w_h, d_hidden).transpose());
        cell
    }

    /// Under autodiff on flex, the linearised step gives the tensor operations' values and
    /// gradients with respect to both projections and the state.
    #[test]
    fn linearised_step_equals_the_tensor_step_with_gradients() {
        let ad = Device::flex().autodiff();
        assert!(element_wise_on_host(&Tensor::<2>::zeros([1, 1], &ad)));
        let d = 5;
        let formula = |rows: usize, cols: usize, k: f32| {
            let v: Vec<f32> = (0..rows * cols)
                .map(|i| (i as f32 * k).sin() * 3.0)
                .collect();
            Tensor::<2>::from_data(TensorData::new(v, [rows, cols]), &ad).require_grad()
        };
        let tol = burn::tensor::Tolerance::absolute(1e-5);
        for gates in [3, 4] {
            let run = |linearised: bool| {
                let (x, hp) = (formula(3, gates * d, 0.37), formula(3, gates * d, 0.91));
                let h = formula(3, d, 1.3);
                let c = formula(3, d, 0.7);
                let state = CellState {
                    h: h.clone(),
                    c: (gates == 4).then(|| c.clone()),
                };
                let next = if linearised {
                    step_linearised(gates, d, x.clone(), hp.clone(), state)
                } else {
                    step_with_tensors(gates, d, x.clone(), hp.clone(), state)
                };
                // A loss that weighs every output differently.
                let weights = formula(3, d, 2.1).detach();
                let mut loss = (next.h.clone() * weights.clone()).sum();
                if let Some(c_next) = &next.c {
                    loss = loss + (c_next.clone() * weights.clone().neg().exp()).sum();
                }
                let grads = loss.backward();
                let mut out = vec![next.h.clone().into_data()];
                out.extend(next.c.map(|c| c.into_data()));
                // The GRU reads h_{t-1} itself; the LSTM reads c_{t-1} (h_{t-1} only through
                // h_proj).
                let inputs = match gates {
                    3 => [("x", &x), ("h_proj", &hp), ("h", &h)],
                    _ => [("x", &x), ("h_proj", &hp), ("c", &c)],
                };
                for (name, t) in inputs {
                    let g = t.grad(&grads);
                    assert!(g.is_some(), "gates {gates}: no gradient for {name}");
                    out.push(g.unwrap().into_data());
                }
                out
            };
            for (a, b) in run(true).into_iter().zip(run(false)) {
                a.assert_approx_eq::<f32>(&b, tol);
            }
        }
    }

    /// The fused host step (inference on flex) equals the tensor operations.
    #[test]
    fn host_step_equals_the_tensor_step() {
        let dev = Device::flex();
        assert!(element_wise_on_host(&Tensor::<2>::zeros([1, 1], &dev)));
        let d = 5;
        let formula = |rows: usize, cols: usize, k: f32| {
            let v: Vec<f32> = (0..rows * cols)
                .map(|i| (i as f32 * k).sin() * 4.0)
                .collect();
            Tensor::<2>::from_data(TensorData::new(v, [rows, cols]), &dev)
        };
        for gates in [3, 4] {
            let (x, hp) = (formula(3, gates * d, 0.37), formula(3, gates * d, 0.91));
            let state = CellState {
                h: formula(3, d, 1.3).tanh(),
                c: (gates == 4).then(|| formula(3, d, 0.7)),
            };
            let a = step_on_host(gates, d, x.clone(), hp.clone(), state.clone());
            let b = step_with_tensors(gates, d, x, hp, state);
            let tol = burn::tensor::Tolerance::absolute(1e-6);
            a.h.into_data()
                .assert_approx_eq::<f32>(&b.h.into_data(), tol);
            if let (Some(p), Some(q)) = (a.c, b.c) {
                p.into_data().assert_approx_eq::<f32>(&q.into_data(), tol);
            }
        }
    }

    #[test]
    fn elman_step_matches_a_hand_computation() {
        // d_input 2, d_hidden 2. Linear weights are [d_in, d_out]: y = x W + b.
        // x = [1, 2], h = [0.5, -1]
        // x W_x = [1*0.1 + 2*0.3, 1*0.2 + 2*0.4] = [0.7, 1.0]; + b [0.1, -0.2] = [0.8, 0.8]
        // h W_h = [0.5*0.5 + -1*0.7, 0.5*0.6 + -1*0.8] = [-0.45, -0.5]
        // h' = tanh([0.35, 0.3]) = [0.336376, 0.291313]
        let dev = Device::flex();
        let cell = CellConfig::new(CellKind::Rnn, 2, 2).init(&dev);
        let cell = set_weights(
            cell,
            vec![0.1, 0.2, 0.3, 0.4],
            vec![0.1, -0.2],
            vec![0.5, 0.6, 0.7, 0.8],
            2,
            2,
            &dev,
        );
        let x = Tensor::<2>::from_data([[1.0, 2.0]], &dev);
        let state = CellState {
            h: Tensor::from_data([[0.5, -1.0]], &dev),
            c: None,
        };
        let h: Vec<f32> = cell.step(x, state).h.into_data().try_to_vec().unwrap();
        assert!(
            (h[0] - 0.336376).abs() < 1e-5 && (h[1] - 0.291313).abs() < 1e-5,
            "{h:?}"
        );
    }

    #[test]
    fn lstm_and_gru_steps_match_hand_computations() {
        // d_input 1, d_hidden 1, every weight 0.5, biases 0, x = 1, h = 0, c = 0.
        // LSTM: every gate pre-activation 0.5: i = f = o = σ(0.5) = 0.622459, g = tanh(0.5) = 0.462117
        //       c = 0.622459 * 0.462117 = 0.287649, h = 0.622459 * tanh(0.287649) = 0.174270
        // GRU:  r = z = σ(0.5); n = tanh(0.5 + r * 0) = 0.462117; h = (1 - 0.622459) * 0.462117 = 0.174468
        let dev = Device::flex();
        let lstm = CellConfig::new(CellKind::Lstm, 1, 1).init(&dev);
        let lstm = set_weights(lstm, vec![0.5; 4], vec![0.0; 4], vec![0.5; 4], 1, 4, &dev);
        let x = Tensor::<2>::from_data([[1.0]], &dev);
        let s = lstm.step(x.clone(), lstm.zero_state(1, &dev));
        let h: f32 = s.h.into_scalar();
        let c: f32 = s.c.unwrap().into_scalar();
        assert!(
            (c - 0.287649).abs() < 1e-5 && (h - 0.174270).abs() < 1e-5,
            "{c} {h}"
        );

        let mut gru = CellConfig::new(CellKind::Gru, 1, 1).init(&dev);
        gru.input.weight = Param::from_data(TensorData::new(vec![0.5f32; 3], [3, 1]), &dev);
        gru.input.bias = Some(Param::from_data(
            TensorData::new(vec![0.0f32; 3], [3]),
            &dev,
        ));
        gru.hidden.weight = Param::from_data(TensorData::new(vec![0.5f32; 3], [3, 1]), &dev);
        gru.hidden.bias = Some(Param::from_data(
            TensorData::new(vec![0.0f32; 3], [3]),
            &dev,
        ));
        let h: f32 = gru.step(x, gru.zero_state(1, &dev)).h.into_scalar();
        assert!((h - 0.174468).abs() < 1e-5, "{h}");
    }
}
