//! Importing PyTorch weights by their `state_dict()` names.
//!
//! The building blocks map one-to-one onto PyTorch modules, so trained PyTorch weights load into
//! them and give the same outputs (the tests check this within 1e-5 against fixtures that
//! `assets/pytorch/make_fixtures.py` writes with PyTorch itself):
//!
//! | transduce | PyTorch | names |
//! |---|---|---|
//! | [`crate::rnn::encoder::RnnEncoder`] | `nn.RNN`, `nn.GRU`, `nn.LSTM` (`batch_first`, any layers, bidirectional) | `weight_ih_l{k}[_reverse]`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` |
//! | [`crate::transformer::attention::MultiHeadAttention`] | `nn.MultiheadAttention` | `in_proj_weight`, `in_proj_bias`, `out_proj.{weight,bias}` |
//! | [`crate::transformer::layers::EncoderLayer`] | `nn.TransformerEncoderLayer` (ReLU) | `self_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*` |
//! | [`crate::transformer::layers::DecoderLayer`] | `nn.TransformerDecoderLayer` (ReLU) | `self_attn.*`, `multihead_attn.*`, `linear{1,2}.*`, `norm{1,2,3}.*` |
//!
//! Two conventions differ and are converted here: PyTorch's `Linear` weight is `[out, in]`
//! where burn's is `[in, out]`, and PyTorch's recurrent layers carry two biases (`b_ih + b_hh`)
//! where ours have one, except the GRU's hidden bias, which sits inside `r ⊙ (W_hn h + b_hn)`.

use std::collections::HashMap;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

use crate::NnError;

/// A tensor as PyTorch stores it: a shape and row-major `f32` values.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchTensor {
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

/// Named tensors, as `module.state_dict()` names them.
pub type StateDict = HashMap<String, TorchTensor>;

/// Reads the tensors of one module: names are looked up under a prefix (`"decoder.layers.0."`).
#[derive(Clone, Debug)]
pub struct Importer<'a> {
    dict: &'a StateDict,
    prefix: String,
    device: &'a Device,
}

impl<'a> Importer<'a> {
    /// Reads `dict` onto `device`, with no prefix.
    pub fn new(dict: &'a StateDict, device: &'a Device) -> Self {
        Importer {
            dict,
            prefix: String::new(),
            device,
        }
    }

    /// The device the tensors are created on.
    pub fn device(&self) -> &'a Device {
        self.device
    }

    /// The same dict with `prefix` appended to the current prefix in front of every name.
    pub fn with_prefix(&self, prefix: &str) -> Importer<'a> {
        Importer {
            dict: self.dict,
            prefix: format!("{}{prefix}", self.prefix),
            device: self.device,
        }
    }

    /// The tensor `name`, checked against `shape`.
    pub fn raw(&self, name: &str, shape: &[usize]) -> Result<&'a TorchTensor, NnError> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self
            .dict
            .get(&full)
            .ok_or_else(|| NnError::MissingTensor(full.clone()))?;
        if tensor.shape != shape || tensor.data.len() != shape.iter().product::<usize>() {
            return Err(NnError::TensorShape {
                name: full,
                expected: shape.to_vec(),
                found: tensor.shape.clone(),
            });
        }
        Ok(tensor)
    }

    /// A vector of `len` values.
    pub fn vector(&self, name: &str, len: usize) -> Result<Tensor<1>, NnError> {
        let t = self.raw(name, &[len])?;
        Ok(Tensor::from_data(
            TensorData::new(t.data.clone(), [len]),
            self.device,
        ))
    }

    /// A matrix `[rows, cols]`.
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Tensor<2>, NnError> {
        let t = self.raw(name, &[rows, cols])?;
        Ok(Tensor::from_data(
            TensorData::new(t.data.clone(), [rows, cols]),
            self.device,
        ))
    }

    /// `linear` with PyTorch's `{name}.weight` (`[out, in]`) and `{name}.bias`.
    pub fn linear(&self, linear: Linear, name: &str) -> Result<Linear, NnError> {
        let [d_in, d_out] = linear.weight.dims();
        let weight = self.matrix(&format!("{name}.weight"), d_out, d_in)?;
        let bias = match linear.bias {
            Some(_) => Some(self.vector(&format!("{name}.bias"), d_out)?),
            None => None,
        };
        Ok(with_weights(linear, weight.transpose(), bias))
    }

    /// `norm` with PyTorch's `{name}.weight` and `{name}.bias`.
    pub fn layer_norm(&self, mut norm: LayerNorm, name: &str) -> Result<LayerNorm, NnError> {
        let [d] = norm.gamma.dims();
        norm.gamma = Param::from_tensor(self.vector(&format!("{name}.weight"), d)?);
        if norm.beta.is_some() {
            norm.beta = Some(Param::from_tensor(self.vector(&format!("{name}.bias"), d)?));
        }
        Ok(norm)
    }
}

/// `linear` with a weight `[in, out]` (burn's layout) and, if it has one, a bias.
pub fn with_weights(mut linear: Linear, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Linear {
    linear.weight = Param::from_tensor(weight);
    if let (Some(_), Some(bias)) = (&linear.bias, bias) {
        linear.bias = Some(Param::from_tensor(bias));
    }
    linear
}

/// The fixtures `assets/pytorch/make_fixtures.py` wrote with PyTorch, for tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use serde_json::Value;

    /// `assets/pytorch/fixtures.json`.
    pub fn load() -> Value {
        let path = &format!(
            "{}/../../assets/pytorch/fixtures.json",
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("the fixtures exist"))
            .expect("the fixtures are JSON")
    }

    /// A `{"shape", "data"}` value.
    pub fn torch(v: &Value) -> TorchTensor {
        TorchTensor {
            shape: v["shape"]
                .as_array()
                .expect("a shape")
                .iter()
                .map(|d| d.as_u64().expect("a size") as usize)
                .collect(),
            data: v["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|x| match x {
                    Value::Bool(b) => f32::from(u8::from(*b)),
                    x => x.as_f64().expect("a number") as f32,
                })
                .collect(),
        }
    }

    /// A float tensor.
    pub fn tensor<const D: usize>(v: &Value, device: &Device) -> Tensor<D> {
        let t = torch(v);
        Tensor::from_data(TensorData::new(t.data, t.shape), device)
    }

    /// A state dict.
    pub fn state_dict(v: &Value) -> StateDict {
        v.as_object()
            .expect("named tensors")
            .iter()
            .map(|(name, t)| (name.clone(), torch(t)))
            .collect()
    }

    /// The padding mask (`true` = padding) of `lengths` over `len` positions.
    pub fn mask(lengths: &Value, len: usize, device: &Device) -> Tensor<2, Bool> {
        let lengths = torch(lengths).data;
        let flat: Vec<bool> = lengths
            .iter()
            .flat_map(|&n| (0..len).map(move |i| i as f32 >= n))
            .collect();
        Tensor::from_data(TensorData::new(flat, [lengths.len(), len]), device)
    }

    /// Asserts that every value is within `tol` of PyTorch's (`keep` selects which to compare).
    pub fn assert_close<const D: usize>(
        what: &str,
        got: Tensor<D>,
        expected: &Value,
        keep: impl Fn(usize) -> bool,
    ) {
        let expected = torch(expected);
        assert_eq!(got.dims().to_vec(), expected.shape, "{what}: shape");
        let got: Vec<f32> = got
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("floats");
        let worst = got
            .iter()
            .zip(&expected.data)
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, (a, b))| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{what}: differs from PyTorch by {worst}");
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{assert_close, load, mask, state_dict, tensor};
    use super::*;
    use crate::rnn::cell::CellKind;
    use crate::rnn::encoder::RnnEncoderConfig;
    use crate::test_util::test_device;
    use crate::transformer::attention::MultiHeadAttentionConfig;
    use crate::transformer::layers::LayerConfig;

    #[test]
    fn recurrent_encoders_equal_torch_rnn_gru_and_lstm() {
        let dev = test_device();
        let fixtures = load();
        for (name, kind) in [
            ("rnn", CellKind::Rnn),
            ("gru", CellKind::Gru),
            ("lstm", CellKind::Lstm),
        ] {
            let f = &fixtures["rnn"][name];
            let dict = state_dict(&f["weights"]);
            let encoder = RnnEncoderConfig::new(kind, 3, 8)
                .with_n_layers(2)
                .with_bidirectional(true)
                .init(&dev)
                .load_torch(&Importer::new(&dict, &dev))
                .unwrap();
            let x = tensor::<3>(&f["x"], &dev);
            let out = encoder.forward(x, mask(&f["lengths"], 5, &dev));
            // PyTorch's padded outputs are 0; ours hold the state, so compare real positions.
            let lengths = [5, 3, 1];
            assert_close(&format!("{name} outputs"), out.outputs, &f["output"], |i| {
                (i / 8) % 5 < lengths[i / 40]
            });
            // h_n is [layer * 2 + direction, batch, hidden]; ours is per layer, [fwd; bwd].
            for (key, finals) in [
                (
                    "h_n",
                    out.finals.iter().map(|s| s.h.clone()).collect::<Vec<_>>(),
                ),
                (
                    "c_n",
                    out.finals.iter().filter_map(|s| s.c.clone()).collect(),
                ),
            ] {
                if finals.is_empty() {
                    continue;
                }
                let ours: Vec<Tensor<2>> = finals
                    .into_iter()
                    .flat_map(|t| [t.clone().slice(s![.., 0..4]), t.slice(s![.., 4..8])])
                    .collect();
                let ours = Tensor::stack::<3>(ours, 0); // [4, batch, hidden]
                assert_close(&format!("{name} {key}"), ours, &f[key], |_| true);
            }
        }
    }

    #[test]
    fn multi_head_attention_equals_torch() {
        let dev = test_device();
        let f = &load()["mha"];
        let dict = state_dict(&f["weights"]);
        let mha = MultiHeadAttentionConfig::new(8, 2)
            .with_dropout(0.0)
            .init(&dev)
            .load_torch(&Importer::new(&dict, &dev))
            .unwrap();
        let cross = &f["cross"];
        let out = mha.forward(
            tensor(&cross["query"], &dev),
            tensor(&cross["key"], &dev),
            Some(mask(&cross["lengths"], 5, &dev)),
            false,
        );
        assert_close("cross output", out.context, &cross["output"], |_| true);
        assert_close("cross weights", out.weights, &cross["weights"], |_| true);
        let causal = &f["self_causal"];
        let q = tensor::<3>(&causal["query"], &dev);
        let out = mha.forward(q.clone(), q, Some(mask(&causal["lengths"], 4, &dev)), true);
        assert_close("self output", out.context, &causal["output"], |_| true);
        assert_close("self weights", out.weights, &causal["weights"], |_| true);
    }

    fn layer_config() -> LayerConfig {
        LayerConfig {
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            dropout: 0.0,
            attention_dropout: 0.0,
            norm_first: false,
        }
    }

    #[test]
    fn post_norm_encoder_and_decoder_layers_equal_torch() {
        let dev = test_device();
        let fixtures = load();
        let f = &fixtures["encoder_layer"];
        let dict = state_dict(&f["weights"]);
        let layer = layer_config()
            .init_encoder(&dev)
            .load_torch(&Importer::new(&dict, &dev))
            .unwrap();
        let (out, _) = layer.forward(tensor(&f["src"], &dev), mask(&f["lengths"], 5, &dev));
        assert_close("encoder layer", out, &f["output"], |_| true);

        let f = &fixtures["decoder_layer"];
        let dict = state_dict(&f["weights"]);
        let layer = layer_config()
            .init_decoder(&dev)
            .load_torch(&Importer::new(&dict, &dev))
            .unwrap();
        let memory_kv = layer.memory_kv(tensor(&f["memory"], &dev));
        let out = layer.forward(
            tensor(&f["tgt"], &dev),
            None,
            Some(mask(&f["tgt_lengths"], 4, &dev)),
            &memory_kv,
            mask(&f["memory_lengths"], 5, &dev),
        );
        assert_close("decoder layer", out.x, &f["output"], |_| true);
    }

    #[test]
    fn missing_and_misshapen_tensors_are_named() {
        let dev = test_device();
        let f = &load()["mha"];
        let mut dict = state_dict(&f["weights"]);
        let mha = || MultiHeadAttentionConfig::new(8, 2).init(&dev);
        dict.remove("out_proj.bias");
        let err = mha().load_torch(&Importer::new(&dict, &dev)).unwrap_err();
        assert_eq!(err, NnError::MissingTensor("out_proj.bias".into()));
        let err = MultiHeadAttentionConfig::new(16, 2)
            .init(&dev)
            .load_torch(&Importer::new(&dict, &dev))
            .unwrap_err();
        assert!(err.to_string().contains("in_proj_weight"), "{err}");
    }
}
