//! Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization",
//! <https://arxiv.org/abs/1412.6980>) exactly as burn computes it, fused into one pass on the CPU.
//!
//! For a parameter `θ` with gradient `g` at step `t`:
//! ```text
//! m ← β₁ m + (1 − β₁) g
//! v ← β₂ v + (1 − β₂) g²
//! θ ← θ − lr · (m · √(1 − β₂ᵗ) / (1 − β₁ᵗ)) / (√v + ε √(1 − β₂ᵗ))
//! ```
//! burn's `Adam` spends about a dozen tensor operations on this, each a pass over memory, and
//! reads gradients that arrive transposed (those of `transduce_nn::linear::Linear`) with strided
//! loops. On host backends (flex, ndarray) [`FusedAdam`] takes the parameter, its gradient and
//! both moments as slices (without a copy when a tensor is contiguous and not shared) and updates
//! them in one parallel pass, in the same floating-point order as burn. On other devices it runs
//! burn's `Adam`. Its state is burn's `AdamState`, so checkpoints are the same either way.

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{
    AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;
use burn::tensor::DType;
use rayon::prelude::*;
use transduce_nn::activation::vectorised;

/// Configuration of [`FusedAdam`].
#[derive(Config, Debug)]
pub struct FusedAdamConfig {
    /// `β₁`, the first moment's decay. Default: 0.9
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// `β₂`, the second moment's decay. Default: 0.999
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// `ε`, added to `√v`. Default: 1e-5 (burn's default)
    #[config(default = 1e-5)]
    pub epsilon: f32,
    /// Clip gradients before the update. Default: none
    pub grad_clipping: Option<GradientClippingConfig>,
}

/// Adam, fused on host backends (see the module documentation).
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// burn's Adam with the same settings, for devices that are not the host.
    elsewhere: burn::optim::Adam,
}

impl FusedAdamConfig {
    /// The optimizer for a whole module.
    pub fn init(&self) -> ModuleOptimizer {
        let optim = ModuleOptimizer::from(self.build());
        match &self.grad_clipping {
            Some(clipping) => optim.with_grad_clipping(clipping.init()),
            None => optim,
        }
    }

    /// The per-parameter optimizer.
    pub fn build(&self) -> FusedAdam {
        FusedAdam {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            elsewhere: AdamConfig::new()
                .with_beta_1(self.beta_1)
                .with_beta_2(self.beta_2)
                .with_epsilon(self.epsilon)
                .build(),
        }
    }
}

/// Elements per parallel task.
const CHUNK: usize = 1 << 15;

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        let fits = |t: &Tensor<D>| t.dtype() == DType::F32;
        let state_fits = state.as_ref().is_none_or(|s| {
            s.momentum.max_moment_2.is_none()
                && fits(&s.momentum.moment_1)
                && fits(&s.momentum.moment_2)
        });
        if !transduce_nn::activation::on_host(&device)
            || !fits(&tensor)
            || !fits(&grad)
            || !state_fits
        {
            return self.elsewhere.step(lr, tensor, grad, state);
        }
        let shape = tensor.shape();
        let n = shape.num_elements();
        let (time, m, v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                Some(s.momentum.moment_1),
                Some(s.momentum.moment_2),
            ),
            None => (1, None, None),
        };
        let mut theta = tensor.into_data();
        let grad = grad.into_data();
        let mut m = m.map_or_else(
            || TensorData::zeros::<f32, _>(shape.clone()),
            |m| m.into_data(),
        );
        let mut v = v.map_or_else(
            || TensorData::zeros::<f32, _>(shape.clone()),
            |v| v.into_data(),
        );

        let bias_correction2_sqrt = (1.0 - self.beta_2.powi(time as i32)).sqrt();
        let c = Coefficients {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            factor: bias_correction2_sqrt / (1.0 - self.beta_1.powi(time as i32)),
            epsilon: self.epsilon * bias_correction2_sqrt,
            lr: lr as f32,
            first: time == 1,
        };
        let slice = "f32 data of a checked dtype";
        let g = grad.as_slice::<f32>().expect(slice);
        theta
            .as_mut_slice::<f32>()
            .expect(slice)
            .par_chunks_mut(CHUNK)
            .zip(m.as_mut_slice::<f32>().expect(slice).par_chunks_mut(CHUNK))
            .zip(v.as_mut_slice::<f32>().expect(slice).par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((theta, m), v), g)| vectorised(|| update(theta, m, v, g, &c)));
        debug_assert_eq!(g.len(), n);
        let tensor = |data: TensorData| Tensor::<D>::from_data(data, &device);
        let state = AdamState::new(AdaptiveMomentumState::new(time, tensor(m), tensor(v)));
        (tensor(theta), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <burn::optim::Adam as Optimizer>::to_device(state, device)
    }
}

/// The numbers of one step.
struct Coefficients {
    beta_1: f32,
    beta_2: f32,
    /// `√(1 − β₂ᵗ) / (1 − β₁ᵗ)`.
    factor: f32,
    /// `ε √(1 − β₂ᵗ)`.
    epsilon: f32,
    lr: f32,
    /// The first step: there are no old moments.
    first: bool,
}

/// One chunk of the update, in burn's floating-point order: `m·β₁ + g·(1−β₁)`,
/// `v·β₂ + g²·(1−β₂)`, `θ − (m·factor) / (√v + ε') · lr`. Written as straight zips so that it
/// vectorises.
#[inline(always)]
fn update(theta: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], c: &Coefficients) {
    let (b1, b2, first) = (c.beta_1, c.beta_2, c.first);
    let moments = theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g);
    for (((theta, m), v), &g) in moments {
        let (gm, gv) = (g * (1.0 - b1), (g * g) * (1.0 - b2));
        *m = if first { gm } else { *m * b1 + gm };
        *v = if first { gv } else { *v * b2 + gv };
        *theta -= ((*m * c.factor) / (v.sqrt() + c.epsilon)) * c.lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Distribution, Tolerance};

    #[derive(Module, Debug)]
    struct Net {
        a: Linear,
        b: transduce_nn::linear::Linear,
        table: Param<Tensor<2>>,
    }

    fn net(device: &Device) -> Net {
        Net {
            a: LinearConfig::new(7, 5).init(device),
            // Its weight's gradient arrives transposed (strided).
            b: transduce_nn::linear::LinearConfig::new(5, 3).init(device),
            table: Param::from_tensor(Tensor::random([70_000, 2], Distribution::Default, device)),
        }
    }

    fn loss(net: &Net, step: u64, device: &Device) -> Tensor<1> {
        // From a formula, not the device's random stream, which tests running in parallel share.
        let x: Vec<f32> = (0..28)
            .map(|i| ((i as u64 * 7919 + step * 104_729) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [4, 7]), device);
        let y = net.b.forward(net.a.forward(x).tanh());
        let t = net
            .table
            .val()
            .slice(s![0..4, ..])
            .sum_dim(1)
            .reshape([4, 1]);
        (y * t).powf_scalar(2.0).sum() + net.table.val().powf_scalar(2.0).mean()
    }

    fn weights(net: &Net) -> Vec<TensorData> {
        vec![
            net.a.weight.val().into_data(),
            net.a.bias.as_ref().unwrap().val().into_data(),
            net.b.weight.val().into_data(),
            net.table.val().into_data(),
        ]
    }

    #[test]
    fn equals_burns_adam_over_several_steps() {
        let device = Device::flex().autodiff();
        assert!(
            transduce_nn::activation::on_host(&device),
            "the fused path runs"
        );
        device.seed(3);
        let start = net(&device);
        let config = |clip: Option<f32>| {
            let clipping = clip.map(GradientClippingConfig::Norm);
            (
                FusedAdamConfig::new()
                    .with_beta_1(0.9)
                    .with_beta_2(0.98)
                    .with_epsilon(1e-9)
                    .with_grad_clipping(clipping.clone())
                    .init(),
                AdamConfig::new()
                    .with_beta_1(0.9)
                    .with_beta_2(0.98)
                    .with_epsilon(1e-9)
                    .with_grad_clipping(clipping)
                    .init(),
            )
        };
        for clip in [None, Some(0.5)] {
            let (mut ours, mut theirs) = config(clip);
            let (mut a, mut b) = (start.clone(), start.clone());
            for step in 0..5 {
                let lr = 1e-2 / (step + 1) as f64;
                let g = GradientsParams::from_grads(loss(&a, step, &device).backward(), &a);
                a = ours.step(lr, a, g);
                let g = GradientsParams::from_grads(loss(&b, step, &device).backward(), &b);
                b = theirs.step(lr, b, g);
            }
            for (x, y) in weights(&a).iter().zip(weights(&b)) {
                x.assert_approx_eq::<f32>(&y, Tolerance::absolute(1e-6));
            }
            // The weights moved: the comparison is not between two untouched models. (Over the
            // whole tensor: the initial weights come from the device's random stream, which
            // parallel tests share, so any one element may be one that barely moves.)
            let moved = weights(&a)[2]
                .as_slice::<f32>()
                .unwrap()
                .iter()
                .zip(weights(&start)[2].as_slice::<f32>().unwrap())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(moved > 1e-4, "the largest change is {moved}");
        }
    }

    #[test]
    fn its_state_is_burns_and_resumes_burns() {
        // Two steps of burn's Adam, then its state carried on by ours, equal three of burn's.
        let device = Device::flex().autodiff();
        device.seed(4);
        let start = net(&device);
        let burns = || AdamConfig::new().init();
        let (mut mixed, mut plain) = (burns(), burns());
        let (mut a, mut b) = (start.clone(), start);
        for step in 0..2 {
            let g = GradientsParams::from_grads(loss(&a, step, &device).backward(), &a);
            a = mixed.step(1e-2, a, g);
            let g = GradientsParams::from_grads(loss(&b, step, &device).backward(), &b);
            b = plain.step(1e-2, b, g);
        }
        let mut ours = FusedAdamConfig::new().init().load_record(mixed.to_record());
        let g = GradientsParams::from_grads(loss(&a, 2, &device).backward(), &a);
        a = ours.step(1e-2, a, g);
        let g = GradientsParams::from_grads(loss(&b, 2, &device).backward(), &b);
        b = plain.step(1e-2, b, g);
        for (x, y) in weights(&a).iter().zip(weights(&b)) {
            x.assert_approx_eq::<f32>(&y, Tolerance::absolute(1e-6));
        }
    }
}
