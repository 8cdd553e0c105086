//! A fully connected layer whose weight is stored as PyTorch stores it:
//! ```text
//! y = x Wᵀ + b,    W: [d_output, d_input],  b: [d_output]
//! ```
//! burn's `Linear` keeps `W` as `[d_input, d_output]` and computes `x W`. The two are the same
//! function, but not the same speed on the CPU: flex's `gemm` multiplies a thin left operand (a
//! recurrent step's `[batch, d]` state, a decoding step's query) by a weight whose rows are its
//! outputs 1.4–1.6× faster, forward and for the input's gradient (`examples/gemm_shapes`, the rows
//! marked "out-major"). The layout also lives through the optimizer: the parameter itself has
//! this shape, where burn's `LinearLayout::Col` only stores a transposed view, which the first
//! Adam step turns back into `[d_input, d_output]`.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

/// Configuration of a [`Linear`] layer.
#[derive(Config, Debug)]
pub struct LinearConfig {
    /// Width of the input.
    pub d_input: usize,
    /// Width of the output.
    pub d_output: usize,
    /// Whether the layer has a bias `b`. Default: true
    #[config(default = true)]
    pub bias: bool,
    /// How the weight and the bias are drawn; the fan-in is `d_input`, the fan-out `d_output`.
    /// Default: burn's `Linear` default, `U(-k, k)` with `k = 1/sqrt(d_input)`
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / f64::sqrt(3.0), fan_out_only: false }"
    )]
    pub initializer: Initializer,
}

/// `y = x Wᵀ + b` with `W` stored as `[d_output, d_input]`.
#[derive(Module, Debug)]
pub struct Linear {
    /// `W`: `[d_output, d_input]`.
    pub weight: Param<Tensor<2>>,
    /// `b`: `[d_output]`.
    pub bias: Option<Param<Tensor<1>>>,
}

impl LinearConfig {
    /// Initialises the layer.
    pub fn init(&self, device: &Device) -> Linear {
        let (fan_in, fan_out) = (Some(self.d_input), Some(self.d_output));
        Linear {
            weight: self.initializer.init_with(
                [self.d_output, self.d_input],
                fan_in,
                fan_out,
                device,
            ),
            bias: self.bias.then(|| {
                self.initializer
                    .init_with([self.d_output], fan_in, fan_out, device)
            }),
        }
    }
}

impl Linear {
    /// Applies the layer to the last axis.
    ///
    /// # Shapes
    /// - x: `[..., d_input]` (rank 2 or more)
    /// - output: `[..., d_output]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.bind().forward(x)
    }

    /// The weight and bias read once, for a loop that applies the layer at every step of a
    /// sequence. In the autodiff graph `Wᵀ` is then one node: the steps' weight gradients add
    /// up contiguous there and are transposed back once, where calling [`Linear::forward`] at
    /// every step would add up transposed (strided) gradients, which costs more than the
    /// matrix products themselves.
    pub fn bind(&self) -> BoundLinear {
        BoundLinear {
            weight_t: self.weight.val().transpose(), // [d_input, d_output]
            bias: self.bias.as_ref().map(|b| b.val().unsqueeze::<2>()), // [1, d_output]
        }
    }

    /// Width of the input.
    pub fn d_input(&self) -> usize {
        self.weight.dims()[1]
    }

    /// Width of the output.
    pub fn d_output(&self) -> usize {
        self.weight.dims()[0]
    }

    /// The layer with the given weight (`[d_output, d_input]`, PyTorch's layout) and, if the
    /// layer has one, bias.
    pub fn with_weights(mut self, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Self {
        assert_eq!(weight.dims(), self.weight.dims(), "the weight's shape");
        self.weight = Param::from_tensor(weight);
        if let (Some(_), Some(bias)) = (&self.bias, bias) {
            self.bias = Some(Param::from_tensor(bias));
        }
        self
    }
}

/// A [`Linear`] layer's parameters read once (see [`Linear::bind`]).
#[derive(Clone, Debug)]
pub struct BoundLinear {
    /// `Wᵀ`: `[d_input, d_output]`, a transposed view of the stored weight.
    weight_t: Tensor<2>,
    /// `b`: `[1, d_output]`.
    bias: Option<Tensor<2>>,
}

impl BoundLinear {
    /// Applies the layer to the last axis.
    ///
    /// # Shapes
    /// - x: `[..., d_input]` (rank 2 or more)
    /// - output: `[..., d_output]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let [d_input, d_output] = self.weight_t.dims();
        let dims = x.dims();
        assert_eq!(dims[D - 1], d_input, "the input's last axis is d_input");
        let rows = dims[..D - 1].iter().product();
        let y = x.reshape([rows, d_input]).matmul(self.weight_t.clone()); // [rows, d_output]
        let y = match &self.bias {
            Some(b) => y + b.clone(),
            None => y,
        };
        let mut out = dims;
        out[D - 1] = d_output;
        y.reshape(out)
    }

    /// The layer split by input columns: `x Wᵀ + b = x[..at] W₁ᵀ + b + x[at..] W₂ᵀ`. The first
    /// part keeps the bias. A decoder whose input is `[y_t; feed_t]` projects every `y_t` at once
    /// with the first part, and only `feed_t` at each step with the second.
    ///
    /// # Panics
    /// If `at` is 0 or not less than `d_input`.
    pub fn split_input(self, at: usize) -> (BoundLinear, BoundLinear) {
        let [d_input, _] = self.weight_t.dims();
        assert!(0 < at && at < d_input, "split at {at} of {d_input} inputs");
        (
            BoundLinear {
                weight_t: self.weight_t.clone().slice(s![0..at, ..]), // [at, d_output]
                bias: self.bias,
            },
            BoundLinear {
                weight_t: self.weight_t.slice(s![at.., ..]), // [d_input - at, d_output]
                bias: None,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::test_device;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn split_input_parts_add_up_to_the_layer() {
        let dev = test_device();
        let layer = LinearConfig::new(5, 3).init(&dev);
        let x = Tensor::<2>::random([4, 5], Distribution::Default, &dev);
        let (first, second) = layer.bind().split_input(2);
        let parts = first.forward(x.clone().slice(s![.., 0..2]))
            + second.forward(x.clone().slice(s![.., 2..5]));
        parts
            .into_data()
            .assert_approx_eq::<f32>(&layer.forward(x).into_data(), Tolerance::default());
    }

    #[test]
    fn equals_x_w_transposed_plus_b_on_every_rank() {
        let dev = test_device();
        let layer = LinearConfig::new(3, 2).init(&dev).with_weights(
            Tensor::from_data([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], &dev),
            Some(Tensor::from_data([0.5, -0.5], &dev)),
        );
        // [1, 0, 2] -> [1 + 6 + 0.5, -1 + 0 - 0.5]
        let y = layer.forward(Tensor::<2>::from_data([[1.0, 0.0, 2.0]], &dev));
        y.into_data()
            .assert_approx_eq::<f32>(&TensorData::from([[7.5, -1.5]]), Tolerance::default());
        let x = Tensor::<4>::random([2, 3, 4, 3], Distribution::Default, &dev);
        let y = layer.forward(x.clone());
        assert_eq!(y.dims(), [2, 3, 4, 2]);
        let expected = x
            .reshape([24, 3])
            .matmul(layer.weight.val().transpose())
            .add(layer.bias.as_ref().unwrap().val().unsqueeze::<2>())
            .reshape([2, 3, 4, 2]);
        y.into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
    }

    #[test]
    fn initialises_like_burns_linear() {
        let dev = test_device();
        let layer = LinearConfig::new(400, 300).with_bias(false).init(&dev);
        assert_eq!(layer.weight.dims(), [300, 400]);
        assert!(layer.bias.is_none());
        assert_eq!((layer.d_input(), layer.d_output()), (400, 300));
        // U(-k, k), k = 1/sqrt(400): the bound and the variance k²/3.
        let w = layer.weight.val();
        let k = 1.0 / 20.0;
        assert!(w.clone().abs().max().into_scalar::<f32>() <= k);
        let var: f32 = w.powf_scalar(2.0).mean().into_scalar();
        assert!((var - k * k / 3.0).abs() < 0.05 * k * k / 3.0, "{var}");
    }

    #[test]
    fn gradients_equal_burns_linear_when_bound_and_stepped() {
        let dev = test_device().autodiff();
        let ours = LinearConfig::new(5, 4).init(&dev);
        let mut theirs = burn::nn::LinearConfig::new(5, 4).init(&dev);
        theirs.weight = Param::from_tensor(ours.weight.val().transpose().detach());
        theirs.bias = Some(Param::from_tensor(
            ours.bias.as_ref().unwrap().val().detach(),
        ));
        // A recurrence of three steps through the bound layer against burn's layer.
        let x = Tensor::<2>::random([2, 5], Distribution::Default, &dev);
        let bound = ours.bind();
        let (mut a, mut b) = (x.clone(), x);
        for _ in 0..3 {
            let pad = |t: Tensor<2>| Tensor::cat(vec![t.clone(), t.slice(s![.., 0..1])], 1);
            a = pad(bound.forward(a).tanh());
            b = pad(theirs.forward(b).tanh());
        }
        let g_ours = a.powf_scalar(2.0).sum().backward();
        let g_theirs = b.powf_scalar(2.0).sum().backward();
        ours.weight
            .grad(&g_ours)
            .unwrap()
            .transpose()
            .into_data()
            .assert_approx_eq::<f32>(
                &theirs.weight.grad(&g_theirs).unwrap().into_data(),
                Tolerance::default(),
            );
        let bias = |l: &Option<Param<Tensor<1>>>, g| l.as_ref().unwrap().grad(g).unwrap();
        bias(&ours.bias, &g_ours)
            .into_data()
            .assert_approx_eq::<f32>(
                &bias(&theirs.bias, &g_theirs).into_data(),
                Tolerance::default(),
            );
    }
}
