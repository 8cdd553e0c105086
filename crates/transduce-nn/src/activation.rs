//! Element-wise functions in the form that is fastest on each kind of backend.
//!
//! burn's CPU backends evaluate `exp`, `tanh` and `sigmoid` with a scalar library call per
//! element: on flex a `[32, 24, 512]` `tanh` (Bahdanau's attention energies for one decoding
//! step) took 10.0 ms. On host backends [`tanh`] and [`sigmoid`] are computed on the host in one
//! pass with [`exp`], a branch-free `expf` that the compiler vectorises ([`vectorised`]):
//!
//! ```text
//! tanh(x) = 1 - 2 / (exp(2x) + 1),   x clamped to [-20, 20]
//! σ(x)    = 1 / (1 + exp(-x))
//! ```
//!
//! (`tanh(±20)` is `±1` in `f32`.) Without autodiff that is the result; under autodiff the value
//! and the derivative come from the same pass and are attached to the graph as
//! `sg(f(x)) + (x − sg(x)) ⊙ sg(f'(x))` (`sg`: stop gradient), whose value is `f(x)` and whose
//! gradient is `f'(x)`. GPUs keep their one fused kernel.

use burn::prelude::*;

/// `tanh(x)`, element-wise.
///
/// # Shapes
/// - x: any; output: the same
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_host(&x.device()) {
        return x.tanh();
    }
    if let Some(y) = on_host_without_autodiff(&x, tanh_host) {
        return y;
    }
    on_host_with_autodiff(x, tanh_host, |y| 1.0 - y * y)
}

/// The logistic sigmoid `σ(x) = 1 / (1 + exp(-x))`, element-wise (burn's everywhere but in host
/// inference, where it is [`sigmoid_host`]).
///
/// # Shapes
/// - x: any; output: the same
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_host(&x.device()) {
        return burn::tensor::activation::sigmoid(x);
    }
    if let Some(y) = on_host_without_autodiff(&x, sigmoid_host) {
        return y;
    }
    on_host_with_autodiff(x, sigmoid_host, |y| y * (1.0 - y))
}

/// `tanh` of one value through [`exp`]: `1 - 2 / (exp(2x) + 1)`, `x` clamped to ±20.
#[inline(always)]
pub fn tanh_host(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x.clamp(-20.0, 20.0)) + 1.0)
}

/// `σ` of one value through [`exp`].
#[inline(always)]
pub fn sigmoid_host(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Without autodiff (inference), `f` applied on the host in one vectorised pass; `None` when the
/// tensor is tracked by autodiff or not `f32`.
fn on_host_without_autodiff<const D: usize>(
    x: &Tensor<D>,
    f: impl Fn(f32) -> f32 + Copy,
) -> Option<Tensor<D>> {
    let device = x.device();
    if device.is_autodiff() || x.dtype() != burn::tensor::DType::F32 {
        return None;
    }
    let mut data = x.clone().into_data();
    let values = data.as_mut_slice::<f32>().ok()?;
    vectorised(|| map(values, f));
    Some(Tensor::from_data(data, &device))
}

/// Under autodiff, `f(x)` and `f'(x)` computed on the host in one pass and attached to the graph
/// as `y = sg(f(x)) + (x − sg(x)) ⊙ sg(f'(x))` (`sg`: stop gradient): the value is `f(x)` and
/// the gradient `f'(x)`, for three cheap graph operations instead of the backend's scalar `exp`.
/// `derivative` takes `y = f(x)`.
fn on_host_with_autodiff<const D: usize>(
    x: Tensor<D>,
    f: impl Fn(f32) -> f32 + Copy,
    derivative: impl Fn(f32) -> f32 + Copy,
) -> Tensor<D> {
    let device = x.device();
    let shape = x.shape();
    let mut values = x.clone().detach().into_data();
    let slice = values
        .as_mut_slice::<f32>()
        .expect("f32 (checked by the callers' backends)");
    let mut slopes = vec![0.0f32; slice.len()];
    vectorised(|| map2(slice, &mut slopes, f, derivative));
    let y = Tensor::<D>::from_data(values, &device);
    let slope = Tensor::<D>::from_data(TensorData::new(slopes, shape), &device);
    y + (x.clone() - x.detach()) * slope
}

/// `values ← f(values)`, `slopes ← derivative(f(values))`.
#[inline(always)]
fn map2(
    values: &mut [f32],
    slopes: &mut [f32],
    f: impl Fn(f32) -> f32 + Copy,
    derivative: impl Fn(f32) -> f32 + Copy,
) {
    for (v, d) in values.iter_mut().zip(slopes.iter_mut()) {
        *v = f(*v);
        *d = derivative(*v);
    }
}

#[inline(always)]
fn map(values: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    values.iter_mut().for_each(|v| *v = f(*v));
}

/// Runs `f` compiled for AVX2 and FMA when the CPU has them (chosen at run time), otherwise as
/// the baseline build compiles it. `f` should call `#[inline(always)]` loops, which the compiler
/// then vectorises for the wider registers; results are the same either way (Rust never fuses a
/// multiplication and an addition on its own).
#[inline(always)]
pub fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "avx2,fma")]
        fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { run(f) };
    }
    f()
}

/// Below this `exp(x)` is 0 in `f32` (it would be subnormal).
pub const EXP_MIN: f32 = -87.3;
/// Above this `exp(x)` overflows.
pub const EXP_MAX: f32 = 88.7;

/// `exp(x)` for every `x`, vectorisable (Cephes' `expf` without branches or library calls;
/// relative error below 2e-7); 0 below [`EXP_MIN`] (so `exp(-inf) = 0`), `inf` above [`EXP_MAX`].
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let clamped = x.clamp(EXP_MIN, EXP_MAX);
    // Round x/ln2 to the nearest integer n by adding 1.5·2²³: n lands in the low bits of the
    // sum's mantissa (no library call and no float-to-int conversion, so it vectorises).
    const ROUND: f32 = 12_582_912.0;
    let shifted = clamped * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()); // n as a two's complement u32
    // r = x - n ln 2, with ln 2 split in two so that n·ln2_hi is exact.
    let r = clamped - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2ⁿ from its bits: n + 127 is in [1, 255] after the clamp (255: infinity).
    let two_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    if x < EXP_MIN { 0.0 } else { two_n * e }
}

/// Whether `device` keeps its tensors in host memory (flex, ndarray; crate features of the same
/// names), where work is cheapest done on the CPU.
pub fn on_host(device: &Device) -> bool {
    let inner = device.clone().without_autodiff();
    #[cfg(feature = "flex")]
    if inner == Device::flex() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    if inner == Device::ndarray() {
        return true;
    }
    let _ = inner;
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::test_device;
    use burn::tensor::Tolerance;

    #[test]
    fn host_inference_equals_the_backends_tanh_and_sigmoid() {
        let dev = test_device();
        assert!(on_host(&dev) && !dev.is_autodiff());
        let values: Vec<f32> = (0..2001).map(|i| (i as f32 - 1000.0) / 40.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [3, 667]), &dev);
        // A transposed (strided) view too.
        for x in [x.clone(), x.transpose()] {
            tanh(x.clone())
                .into_data()
                .assert_approx_eq::<f32>(&x.clone().tanh().into_data(), Tolerance::absolute(1e-6));
            sigmoid(x.clone()).into_data().assert_approx_eq::<f32>(
                &burn::tensor::activation::sigmoid(x).into_data(),
                Tolerance::absolute(1e-6),
            );
        }
    }

    #[test]
    fn sigmoid_equals_the_backends_sigmoid_and_its_gradient() {
        let ad = test_device().autodiff();
        let values = [-100.0, -20.0, -3.0, -0.5, 0.0, 0.7, 4.0, 45.0, 1e4];
        let x = || Tensor::<1>::from_data(values, &ad).require_grad();
        let (ours, theirs) = (x(), x());
        let y = sigmoid(ours.clone());
        let reference = burn::tensor::activation::sigmoid(theirs.clone());
        y.clone()
            .into_data()
            .assert_approx_eq::<f32>(&reference.clone().into_data(), Tolerance::absolute(1e-6));
        // A weighted sum, so that the upstream gradient is not all ones.
        let w = Tensor::<1>::from_data([1.0, -2.0, 0.5, 3.0, -1.0, 2.0, 0.25, 1.0, -4.0], &ad);
        let g = ours.grad(&(y * w.clone()).sum().backward()).unwrap();
        let g_ref = theirs.grad(&(reference * w).sum().backward()).unwrap();
        g.into_data()
            .assert_approx_eq::<f32>(&g_ref.into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn tanh_equals_the_backends_tanh_and_its_gradient() {
        let ad = test_device().autodiff();
        let values = [
            -100.0, -20.0, -3.0, -0.5, -1e-4, 0.0, 1e-4, 0.7, 4.0, 45.0, 1e4,
        ];
        let x = || Tensor::<1>::from_data(values, &ad).require_grad();
        let (ours, theirs) = (x(), x());
        let y = tanh(ours.clone());
        let reference = theirs.clone().tanh();
        y.clone()
            .into_data()
            .assert_approx_eq::<f32>(&reference.clone().into_data(), Tolerance::absolute(1e-6));
        let g = ours.grad(&y.sum().backward()).unwrap();
        let g_ref = theirs.grad(&reference.sum().backward()).unwrap();
        g.into_data()
            .assert_approx_eq::<f32>(&g_ref.into_data(), Tolerance::absolute(1e-6));
    }
}
