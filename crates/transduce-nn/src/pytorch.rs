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
//!
//! # Whole models
//!
//! [`Model::load_torch`] builds any architecture from the `state_dict()` of a PyTorch module
//! laid out as below (`assets/pytorch/make_import_fixture.py` defines all four and checks that
//! they translate exactly as the imported models). Every tensor the config needs must be there
//! with its shape, and every tensor of the dict must be used: a dict of another model is an
//! error naming the tensors, never a partial import.
//!
//! | part | PyTorch module | names |
//! |---|---|---|
//! | source, target embeddings | `nn.Embedding` | `src_emb.weight`, `tgt_emb.weight` |
//! | Transformer encoder | `nn.TransformerEncoder` of `nn.TransformerEncoderLayer` (ReLU, `batch_first`, `norm_first` as the config) | `encoder.layers.{i}.*`; `encoder.norm.*` with `norm_first` only |
//! | Transformer decoder | `nn.TransformerDecoder` of `nn.TransformerDecoderLayer` | `decoder.layers.{i}.*`; `decoder.norm.*` with `norm_first` only |
//! | learned positions | `nn.Embedding(max_len, d_model)` | `pos_emb.weight` |
//! | output layer | `nn.Linear(d, tgt_vocab_size)` | `out.weight`, `out.bias` |
//! | recurrent encoder | `nn.RNN`/`nn.GRU`/`nn.LSTM(d_embedding, d_hidden / directions, n_layers, bidirectional)` over packed sequences | `encoder.weight_ih_l{k}[_reverse]`, … |
//! | bridge (bidirectional encoders) | `nn.Linear(d_hidden, d_hidden)`, per layer `s_0 = tanh(W [h_fwd; h_bwd] + b)` | `bridge_h.*`, and `bridge_c.*` for the LSTM's memory cell |
//! | recurrent decoder | `nn.RNN`/`nn.GRU`/`nn.LSTM(d_input, d_hidden, n_layers)` stepped one token at a time | `decoder.weight_ih_l{k}`, … |
//! | attention keys (Luong general: `W_a h`; concat and Bahdanau: `U h + b`) | `nn.Linear` | `attention.key.weight` (and `.bias` for concat) |
//! | attention query, score (concat and Bahdanau: `v · tanh(W s + U h)`) | `nn.Linear(.., bias=False)` | `attention.query.weight`, `attention.v.weight` |
//! | Luong's `s̃ = tanh(W_c [a; s] + b_c)` | `nn.Linear(2 d_hidden, d_hidden)` | `combine.*` |
//! | Bahdanau's `o = tanh(W_o [s; c; y] + b_o)` | `nn.Linear(2 d_hidden + d_embedding, d_hidden)` | `deep_output.*` |
//!
//! What the PyTorch module must compute, as ours do:
//! - Transformer: `Embedding(ids) · sqrt(d_model) + PE` (sinusoidal, or `pos_emb` added
//!   unscaled), the layers, then `out`. There is no final LayerNorm in post-norm models, so
//!   `nn.Transformer` (which always adds `encoder.norm` and `decoder.norm`) only fits a
//!   `norm_first` config. Shared embeddings keep `tgt_emb` (a `src_emb.weight` equal to it may be
//!   there too); a tied output is `y · tgt_embᵀ` with no bias (an `out.weight` equal to
//!   `tgt_emb.weight` may be there).
//! - Recurrent models: the encoder reads the real tokens only (`pack_padded_sequence`), reversed
//!   first with `reverse_source`; its final states start the decoder, through the bridge when
//!   it is bidirectional. The decoder's input is `y_t` (seq2seq), `[y_t; s̃_{t-1}]` (Luong with
//!   input feeding, `s̃_0 = 0`), or `[y_t; c_t]` (Bahdanau, whose attention queries with the
//!   top layer's previous state). Scores are masked on padding before the softmax. The logits
//!   are `out(s_t)`, `out(s̃_t)` or `out(o_t)`. Dropout runs in training only.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::prelude::*;

use crate::{Model, ModelConfig, NnError};

/// The name of the source embedding table in a whole model's state dict.
pub const SRC_EMBEDDING: &str = "src_emb.weight";
/// The name of the target embedding table in a whole model's state dict.
pub const TGT_EMBEDDING: &str = "tgt_emb.weight";

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
///
/// It remembers every name read (through all its prefixed copies), so that
/// [`Importer::check_all_used`] can tell tensors that the model had no place for.
#[derive(Clone, Debug)]
pub struct Importer<'a> {
    dict: &'a StateDict,
    prefix: String,
    device: &'a Device,
    used: Rc<RefCell<HashSet<String>>>,
}

impl<'a> Importer<'a> {
    /// Reads `dict` onto `device`, with no prefix.
    pub fn new(dict: &'a StateDict, device: &'a Device) -> Self {
        Importer {
            dict,
            prefix: String::new(),
            device,
            used: Rc::default(),
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
            used: self.used.clone(),
        }
    }

    /// The tensor `name`, checked against `shape`.
    pub fn raw(&self, name: &str, shape: &[usize]) -> Result<&'a TorchTensor, NnError> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self
            .dict
            .get(&full)
            .ok_or_else(|| NnError::MissingTensor(full.clone()))?;
        self.used.borrow_mut().insert(full.clone());
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

    /// `linear` (stored `[out, in]`, as PyTorch's) with `{name}.weight` and, if it has a bias,
    /// `{name}.bias`.
    pub fn linear_out_in(
        &self,
        linear: crate::linear::Linear,
        name: &str,
    ) -> Result<crate::linear::Linear, NnError> {
        let (d_in, d_out) = (linear.d_input(), linear.d_output());
        let weight = self.matrix(&format!("{name}.weight"), d_out, d_in)?;
        let bias = match linear.bias {
            Some(_) => Some(self.vector(&format!("{name}.bias"), d_out)?),
            None => None,
        };
        Ok(linear.with_weights(weight, bias))
    }

    /// `embedding` with the table `{name}.weight` (`[n_embeddings, d]`).
    pub fn embedding(&self, mut embedding: Embedding, name: &str) -> Result<Embedding, NnError> {
        let [n, d] = embedding.weight.dims();
        embedding.weight = Param::from_tensor(self.matrix(&format!("{name}.weight"), n, d)?);
        Ok(embedding)
    }

    /// Accepts the tensor `name` as a copy of `of` (tied weights, which PyTorch saves under
    /// both names): absent is fine, present it must equal `of`.
    pub fn tied(&self, name: &str, of: &str) -> Result<(), NnError> {
        let full = format!("{}{name}", self.prefix);
        let Some(copy) = self.dict.get(&full) else {
            return Ok(());
        };
        self.used.borrow_mut().insert(full.clone());
        let original = format!("{}{of}", self.prefix);
        match self.dict.get(&original) {
            Some(t) if t == copy => Ok(()),
            _ => Err(NnError::NotTied {
                name: full,
                of: original,
            }),
        }
    }

    /// The names of the dict that nothing has read, sorted.
    pub fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        let mut names: Vec<String> = self
            .dict
            .keys()
            .filter(|name| !used.contains(*name))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// An error naming the tensors that nothing has read, if there are any.
    pub fn check_all_used(&self) -> Result<(), NnError> {
        let unused = self.unused();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(NnError::UnusedTensors(unused))
        }
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

impl Model {
    /// A model of `config` with the weights of a whole PyTorch model's state dict, laid out as
    /// the [module doc](self) describes. Every tensor must be there with the model's shape, and
    /// every tensor of the dict must be used ([`NnError::UnusedTensors`] otherwise).
    pub fn load_torch(config: &ModelConfig, from: &Importer) -> Result<Model, NnError> {
        config.validate()?;
        let model = match config.init(from.device()) {
            Model::Seq2seq(m) => Model::Seq2seq(m.load_torch(from)?),
            Model::Luong(m) => Model::Luong(m.load_torch(from)?),
            Model::Bahdanau(m) => Model::Bahdanau(m.load_torch(from)?),
            Model::Transformer(m) => Model::Transformer(m.load_torch(from)?),
        };
        from.check_all_used()?;
        Ok(model)
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
    fn tied_copies_must_be_equal_and_unread_tensors_are_listed() {
        let dev = test_device();
        let t = |v: f32| TorchTensor {
            shape: vec![2],
            data: vec![v, v],
        };
        let dict: StateDict = [
            ("x.a", t(1.0)),
            ("x.b", t(1.0)),
            ("x.c", t(2.0)),
            ("d", t(3.0)),
        ]
        .into_iter()
        .map(|(name, tensor)| (name.to_string(), tensor))
        .collect();
        let root = Importer::new(&dict, &dev);
        let from = root.with_prefix("x.");
        from.vector("a", 2).unwrap();
        from.tied("b", "a").unwrap();
        from.tied("absent", "a").unwrap();
        assert_eq!(
            from.tied("c", "a").unwrap_err(),
            NnError::NotTied {
                name: "x.c".into(),
                of: "x.a".into()
            }
        );
        // The prefixed importer and its root share what was read.
        assert_eq!(root.unused(), vec!["d".to_string()]);
        assert_eq!(
            root.check_all_used().unwrap_err().to_string(),
            "the state dict has tensors the model does not use: d"
        );
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
