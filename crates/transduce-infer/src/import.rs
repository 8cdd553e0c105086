//! Importing a model trained in PyTorch: its `state_dict` becomes an artifact directory that
//! `translate`, `eval` and [`Artifact::translator`] use like one a training run wrote.
//!
//! The PyTorch model must compute what the transduce model of the same config computes, with
//! its parameters named as [`transduce_nn::pytorch`] lays them out (for example the modules of
//! `assets/pytorch/make_import_fixture.py`). The import takes:
//!
//! - the state dict: a `torch.save(model.state_dict(), "model.pt")` file (read without
//!   PyTorch), or a `.safetensors` file (`safetensors.torch.save_file`);
//! - the run config ([`read_import_config`]): the model's config, and the data options that
//!   tell how text becomes tokens (`char` or `word` tokenizers);
//! - the source and target vocabularies the PyTorch model was trained with, in id order:
//!   transduce's `{"tokens": [...]}` JSON (a `.json` file) or one token per line. Both must start
//!   with `<pad> <unk> <sos> <eos>` (ids 0-3, which decoding relies on), and their sizes must
//!   equal the rows of the embedding tables.
//!
//! It writes the artifact's `config.json` (the model's vocabulary sizes set from the
//! vocabularies), `src_vocab.json`, `tgt_vocab.json` and `model.bpk`, each through a temporary
//! file and a rename. It holds no held-out pairs (`test.tsv`), so evaluating the artifact needs
//! pairs given to it.

use std::collections::HashMap;
use std::path::Path;

use burn::prelude::*;
use transduce_data::{TokenizerKind, Vocab};
use transduce_nn::Model;
use transduce_nn::pytorch::{Importer, SRC_EMBEDDING, StateDict, TGT_EMBEDDING, TorchTensor};

use crate::artifact::{files, parse_config, save_weights, write_atomic};
use crate::{Artifact, InferError, RunConfig};

/// Builds an artifact directory in `out_dir` from a PyTorch state dict file (`.pt`/`.pth` from
/// `torch.save`, or `.safetensors`), the run `config` and the vocabulary files the PyTorch model
/// was trained with (see the [module doc](self)); the weights are converted on `device`.
///
/// `out_dir` is created if needed and must not already hold an artifact. Returns the artifact,
/// opened.
pub fn import_pytorch(
    state_dict: &Path,
    config: RunConfig,
    src_vocab: &Path,
    tgt_vocab: &Path,
    out_dir: &Path,
    device: &Device,
) -> Result<Artifact, InferError> {
    let src = read_vocab(src_vocab)?;
    let tgt = read_vocab(tgt_vocab)?;
    let dict = read_state_dict(state_dict)?;
    check_vocab_size("source", src_vocab, &src, &dict, SRC_EMBEDDING)?;
    check_vocab_size("target", tgt_vocab, &tgt, &dict, TGT_EMBEDDING)?;
    import_state_dict(&dict, config, src, tgt, out_dir, device)
}

/// [`import_pytorch`] from a state dict and vocabularies already read.
pub fn import_state_dict(
    dict: &StateDict,
    mut config: RunConfig,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    out_dir: &Path,
    device: &Device,
) -> Result<Artifact, InferError> {
    if config.data.tokenizer() == TokenizerKind::Bpe {
        return Err(InferError::Input(
            "an imported model needs char or word tokens (data.tokenizer): a BPE model's merges \
             cannot be imported"
                .into(),
        ));
    }
    config.training.validate()?;
    config.data.validate()?;
    config
        .model
        .set_vocab_sizes(src_vocab.len(), tgt_vocab.len());
    for (side, vocab, tensor) in [
        ("source", &src_vocab, SRC_EMBEDDING),
        ("target", &tgt_vocab, TGT_EMBEDDING),
    ] {
        if let Some(rows) = dict.get(tensor).and_then(|t| t.shape.first())
            && *rows != vocab.len()
        {
            return Err(InferError::VocabSize {
                side,
                path: None,
                tokens: vocab.len(),
                tensor: tensor.into(),
                rows: *rows,
            });
        }
    }
    let model = Model::load_torch(&config.model, &Importer::new(dict, device))?;

    for name in [files::CONFIG, files::MODEL, files::SAFETENSORS] {
        if out_dir.join(name).exists() {
            return Err(InferError::artifact(
                out_dir,
                format!("already holds an artifact ({name}); import into a new directory"),
            ));
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| InferError::artifact(out_dir, e))?;
    write_atomic(
        &out_dir.join(files::CONFIG),
        serde_json::to_string_pretty(&config).expect("configs serialise"),
    )?;
    write_atomic(&out_dir.join(files::SRC_VOCAB), vocab_json(&src_vocab))?;
    write_atomic(&out_dir.join(files::TGT_VOCAB), vocab_json(&tgt_vocab))?;
    save_weights(&model, &out_dir.join(files::MODEL))?;
    Artifact::open(out_dir)
}

/// Reads the run config of an import: a `config.json` as training writes it, in which
/// `"training"` and `"data"` may be left out (their defaults: the built-in reverse task, whose
/// tokens are characters). `"model"` must hold the whole model config.
pub fn read_import_config(path: &Path) -> Result<RunConfig, InferError> {
    let text = std::fs::read_to_string(path).map_err(|e| InferError::artifact(path, e))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InferError::artifact(path, format!("line {}: {e}", e.line())))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| InferError::artifact(path, "not a JSON object"))?;
    if !object.contains_key("model") {
        return Err(InferError::artifact(
            path,
            "no \"model\": the config must hold the model's config",
        ));
    }
    for section in ["training", "data"] {
        object
            .entry(section)
            .or_insert_with(|| serde_json::json!({}));
    }
    parse_config(&value.to_string(), path)
}

/// Reads a vocabulary in id order: transduce's JSON (`{"tokens": [...]}`, a `.json` file) or
/// one token per line. It must start with `<pad> <unk> <sos> <eos>` and hold no token twice.
pub fn read_vocab(path: &Path) -> Result<Vocab, InferError> {
    if path.extension().is_some_and(|e| e == "json") {
        return Ok(Vocab::load(path)?);
    }
    let text = std::fs::read_to_string(path).map_err(|e| import_error(path, e))?;
    let tokens: Vec<String> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string())
        .collect();
    // The file's final newline ends the last token; it does not start an empty one.
    let tokens = match tokens.split_last() {
        Some((last, rest)) if last.is_empty() => rest.to_vec(),
        _ => tokens,
    };
    Vocab::from_tokens(tokens).map_err(|message| import_error(path, message))
}

/// Reads a state dict: safetensors for a `.safetensors` file, otherwise a `torch.save` file
/// (`.pt`, `.pth`: ZIP or legacy pickle, read without PyTorch). Floating-point tensors of any
/// width become `f32`; integer and boolean tensors are read too (a model uses none, so they
/// show up as unused).
pub fn read_state_dict(path: &Path) -> Result<StateDict, InferError> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        read_safetensors(path)
    } else {
        read_torch(path)
    }
}

/// The checks of [`import_pytorch`] that name the vocabulary file.
fn check_vocab_size(
    side: &'static str,
    path: &Path,
    vocab: &Vocab,
    dict: &StateDict,
    tensor: &str,
) -> Result<(), InferError> {
    match dict.get(tensor).and_then(|t| t.shape.first()) {
        Some(&rows) if rows != vocab.len() => Err(InferError::VocabSize {
            side,
            path: Some(path.to_path_buf()),
            tokens: vocab.len(),
            tensor: tensor.into(),
            rows,
        }),
        _ => Ok(()),
    }
}

fn read_torch(path: &Path) -> Result<StateDict, InferError> {
    use pytorch_reader::{DType, PytorchReader};
    let reader = PytorchReader::new(path).map_err(|e| {
        import_error(
            path,
            format!("not a PyTorch state dict (torch.save) file: {e}"),
        )
    })?;
    let mut dict = HashMap::new();
    for (name, tensor) in reader.into_tensors() {
        let bytes = tensor.read().map_err(|e| import_error(path, e))?;
        let kind = match tensor.dtype() {
            DType::F64 => Element::F64,
            DType::F32 => Element::F32,
            DType::F16 => Element::F16,
            DType::BF16 => Element::Bf16,
            DType::I64 | DType::U64 => Element::Int(8),
            DType::I32 | DType::U32 => Element::Int(4),
            DType::I16 | DType::U16 => Element::Int(2),
            DType::I8 | DType::U8 | DType::Bool => Element::Int(1),
        };
        let signed = matches!(
            tensor.dtype(),
            DType::I64 | DType::I32 | DType::I16 | DType::I8
        );
        let data = kind.to_f32(&bytes, signed);
        dict.insert(
            name,
            TorchTensor {
                shape: tensor.shape().to_vec(),
                data,
            },
        );
    }
    Ok(dict)
}

fn read_safetensors(path: &Path) -> Result<StateDict, InferError> {
    use safetensors::{Dtype, SafeTensors};
    let bytes = std::fs::read(path).map_err(|e| import_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| import_error(path, format!("not a safetensors file: {e}")))?;
    let mut dict = HashMap::new();
    for (name, view) in file.tensors() {
        let (kind, signed) = match view.dtype() {
            Dtype::F64 => (Element::F64, true),
            Dtype::F32 => (Element::F32, true),
            Dtype::F16 => (Element::F16, true),
            Dtype::BF16 => (Element::Bf16, true),
            Dtype::I64 => (Element::Int(8), true),
            Dtype::U64 => (Element::Int(8), false),
            Dtype::I32 => (Element::Int(4), true),
            Dtype::U32 => (Element::Int(4), false),
            Dtype::I16 => (Element::Int(2), true),
            Dtype::U16 => (Element::Int(2), false),
            Dtype::I8 => (Element::Int(1), true),
            Dtype::U8 | Dtype::BOOL => (Element::Int(1), false),
            other => {
                return Err(import_error(
                    path,
                    format!("{name} has the element type {other:?}, which cannot be imported"),
                ));
            }
        };
        dict.insert(
            name,
            TorchTensor {
                shape: view.shape().to_vec(),
                data: kind.to_f32(view.data(), signed),
            },
        );
    }
    Ok(dict)
}

/// How a tensor's elements are stored (little-endian).
#[derive(Clone, Copy)]
enum Element {
    F64,
    F32,
    F16,
    Bf16,
    /// An integer of this many bytes.
    Int(usize),
}

impl Element {
    fn to_f32(self, bytes: &[u8], signed: bool) -> Vec<f32> {
        match self {
            Element::F64 => bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            Element::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect(),
            Element::F16 => bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            Element::Bf16 => bytes
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            Element::Int(n) => bytes
                .chunks_exact(n)
                .map(|b| {
                    let mut wide = [0u8; 8];
                    wide[..n].copy_from_slice(b);
                    let negative = signed && b[n - 1] & 0x80 != 0;
                    if negative {
                        wide[n..].fill(0xff);
                    }
                    if signed {
                        i64::from_le_bytes(wide) as f32
                    } else {
                        u64::from_le_bytes(wide) as f32
                    }
                })
                .collect(),
        }
    }
}

/// An IEEE half-precision value as `f32` (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f32::from(h & 0x3ff);
    sign * match exponent {
        0 => mantissa * 2f32.powi(-24),
        0x1f if mantissa == 0.0 => f32::INFINITY,
        0x1f => f32::NAN,
        e => (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

/// A vocabulary as [`Vocab::save`] writes it.
fn vocab_json(vocab: &Vocab) -> String {
    let tokens: Vec<&str> = (0..vocab.len()).map(|id| vocab.token(id)).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "tokens": tokens }))
        .expect("strings serialise")
}

fn import_error(path: &Path, message: impl std::fmt::Display) -> InferError {
    InferError::ImportFile {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The same maths in PyTorch and here: the fixtures of `assets/pytorch/make_import_fixture.py`
/// (a Transformer, an LSTM with Luong attention, a GRU with Bahdanau attention, and a two-layer
/// Elman seq2seq reading its source reversed, each trained briefly to reverse digit strings)
/// imported and run.
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::PathBuf;
    use transduce_nn::{ModelConfig, NnError, Seq2Seq};

    const ARCHS: [&str; 4] = ["transformer", "luong", "bahdanau", "seq2seq"];

    fn fixture(arch: &str) -> PathBuf {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        Path::new(&manifest)
            .join("../../assets/pytorch/import")
            .join(arch)
    }

    /// The one file of `dir` whose name starts with `stem` (any extension).
    fn file(dir: &Path, stem: &str) -> PathBuf {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(&format!("{stem}."))
            })
            .collect();
        assert_eq!(found.len(), 1, "{stem} in {}", dir.display());
        found.pop().unwrap()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("transduce-import-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn expected(arch: &str) -> Value {
        let text = std::fs::read_to_string(fixture(arch).join("expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    /// Every fixture imports into an artifact that translates the 50 sources exactly as
    /// PyTorch did (greedy), and whose teacher-forced logits are PyTorch's within 1e-4.
    #[test]
    fn imported_models_translate_exactly_as_their_pytorch_originals() {
        let device = Device::flex();
        for arch in ARCHS {
            let dir = fixture(arch);
            let out = temp_dir(arch);
            let artifact = import_pytorch(
                &file(&dir, "model"),
                read_import_config(&dir.join("config.json")).unwrap(),
                &file(&dir, "src_vocab"),
                &file(&dir, "tgt_vocab"),
                &out,
                &device,
            )
            .unwrap();
            assert_eq!(artifact.config.model.arch(), arch);
            let expected = expected(arch);
            let sources = strings(&expected["sources"]);
            let translations = Artifact::open(&out)
                .unwrap()
                .translator(&device)
                .unwrap()
                .translate(&sources)
                .unwrap();
            assert_eq!(sources.len(), 50);
            assert_eq!(
                translations,
                strings(&expected["translations"]),
                "{arch}: translations differ from PyTorch's"
            );

            let model = artifact.load_model(&device).unwrap();
            for case in expected["logits"].as_array().unwrap() {
                let src = artifact.codec.encode_src(case["source"].as_str().unwrap());
                let tgt: Vec<i32> = (case["tgt_in"].as_array().unwrap().iter())
                    .map(|id| id.as_i64().unwrap() as i32)
                    .collect();
                let src: Vec<i32> = src.iter().map(|&id| id as i32).collect();
                let ids = |v: Vec<i32>| {
                    let n = v.len();
                    let t = Tensor::<2, Int>::from_data(TensorData::new(v, [1, n]), &device);
                    let pad = t.clone().equal_elem(0);
                    (t, pad)
                };
                let (src, src_pad) = ids(src);
                let (tgt, tgt_pad) = ids(tgt);
                let logits: Vec<f32> = model
                    .forward(src, src_pad, tgt, tgt_pad)
                    .into_data()
                    .try_to_vec()
                    .unwrap();
                let torch: Vec<f32> = (case["logits"]["data"].as_array().unwrap().iter())
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect();
                assert_eq!(logits.len(), torch.len());
                let worst = logits
                    .iter()
                    .zip(&torch)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(worst < 1e-4, "{arch}: logits differ by {worst}");
                eprintln!("{arch}: logits within {worst:.1e} of PyTorch's");
            }
            std::fs::remove_dir_all(&out).unwrap();
        }
    }

    /// The Luong fixture's parts, read from its files.
    fn luong_parts() -> (StateDict, RunConfig, Vocab, Vocab) {
        let dir = fixture("luong");
        (
            read_state_dict(&file(&dir, "model")).unwrap(),
            read_import_config(&dir.join("config.json")).unwrap(),
            read_vocab(&file(&dir, "src_vocab")).unwrap(),
            read_vocab(&file(&dir, "tgt_vocab")).unwrap(),
        )
    }

    fn import_err(dict: &StateDict, config: RunConfig, src: Vocab, tgt: Vocab) -> InferError {
        let out = temp_dir("error");
        let err = import_state_dict(dict, config, src, tgt, &out, &Device::flex()).unwrap_err();
        assert!(!out.join(files::CONFIG).exists(), "nothing is written");
        err
    }

    #[test]
    fn a_missing_tensor_is_named() {
        let (mut dict, config, src, tgt) = luong_parts();
        dict.remove("combine.bias");
        let err = import_err(&dict, config, src, tgt);
        assert!(
            matches!(&err, InferError::Model(NnError::MissingTensor(name)) if name == "combine.bias"),
            "{err}"
        );
        assert!(err.to_string().contains("combine.bias"), "{err}");
    }

    #[test]
    fn a_tensor_of_the_wrong_shape_is_named_with_both_shapes() {
        let (mut dict, config, src, tgt) = luong_parts();
        let weight = dict.get_mut("attention.key.weight").unwrap();
        let [rows, cols] = [weight.shape[0], weight.shape[1]];
        weight.shape = vec![cols - 1, rows];
        weight.data.truncate((cols - 1) * rows);
        let err = import_err(&dict, config, src, tgt);
        assert_eq!(
            err.to_string(),
            format!(
                "attention.key.weight: the model needs shape [{rows}, {cols}], the state dict has [{}, {rows}]",
                cols - 1
            )
        );
    }

    #[test]
    fn a_tensor_the_model_does_not_use_is_an_error() {
        let (mut dict, config, src, tgt) = luong_parts();
        let extra = dict["combine.bias"].clone();
        dict.insert("attention.extra.bias".into(), extra);
        let err = import_err(&dict, config, src, tgt);
        assert_eq!(
            err.to_string(),
            "the state dict has tensors the model does not use: attention.extra.bias"
        );
        // Another score on the same weights: the general score's W_a is unused.
        let (dict, mut config, src, tgt) = luong_parts();
        if let ModelConfig::Luong(c) = &mut config.model {
            c.score = transduce_nn::Score::Dot;
        }
        let err = import_err(&dict, config, src, tgt);
        assert_eq!(
            err.to_string(),
            "the state dict has tensors the model does not use: attention.key.weight"
        );
    }

    #[test]
    fn a_vocabulary_of_another_size_than_the_embeddings_is_an_error() {
        let dir = fixture("luong");
        let out = temp_dir("vocab");
        std::fs::create_dir_all(&out).unwrap();
        let bigger = out.join("src_vocab.txt");
        let text = std::fs::read_to_string(file(&dir, "src_vocab")).unwrap();
        std::fs::write(&bigger, format!("{text}x\n")).unwrap();
        let err = import_pytorch(
            &file(&dir, "model"),
            read_import_config(&dir.join("config.json")).unwrap(),
            &bigger,
            &file(&dir, "tgt_vocab"),
            &out.join("artifact"),
            &Device::flex(),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("source vocabulary")
                && message.contains("15 tokens")
                && message.contains("src_emb.weight has 14 rows")
                && message.contains("src_vocab.txt"),
            "{message}"
        );
        // A vocabulary without the special tokens first.
        std::fs::write(&bigger, "a\nb\n").unwrap();
        let err = read_vocab(&bigger).unwrap_err().to_string();
        assert!(err.contains("<pad>"), "{err}");
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn an_existing_artifact_is_not_overwritten() {
        let (dict, config, src, tgt) = luong_parts();
        let out = temp_dir("existing");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(files::CONFIG), "{}").unwrap();
        let err = import_state_dict(&dict, config, src, tgt, &out, &Device::flex()).unwrap_err();
        assert!(
            err.to_string().contains("already holds an artifact"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join(files::CONFIG)).unwrap(),
            "{}"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn half_precision_and_integers_convert_exactly() {
        let halves: Vec<u8> = [0x3c00u16, 0xc000, 0x3555, 0x0001, 0x7c00]
            .iter()
            .flat_map(|h| h.to_le_bytes())
            .collect();
        let values = Element::F16.to_f32(&halves, true);
        assert_eq!(&values[..2], &[1.0, -2.0]);
        assert!((values[2] - 0.333_251_95).abs() < 1e-8);
        assert_eq!(values[3], 2f32.powi(-24));
        assert_eq!(values[4], f32::INFINITY);
        let bf16 = Element::Bf16.to_f32(&0x3fc0u16.to_le_bytes(), true);
        assert_eq!(bf16, vec![1.5]);
        let ints: Vec<u8> = [-3i64, 7].iter().flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(Element::Int(8).to_f32(&ints, true), vec![-3.0, 7.0]);
        assert_eq!(Element::Int(1).to_f32(&[0xff], false), vec![255.0]);
    }
}
