//! The artifact directory a training run writes and `translate`/`eval` read.
//!
//! ```text
//! config.json                 the resolved RunConfig (model, training, data); valid as --config input
//! src_vocab.json tgt_vocab.json
//! src_tokenizer.json tgt_tokenizer.json   BPE models (bpe only)
//! model.bpk                   the best weights by validation BLEU (burnpack)
//! metrics.csv                 one row per epoch
//! loss.png bleu.png           plots of the loss and of the validation scores per epoch
//! valid.tsv test.tsv          the held-out pairs
//! report.json                 the held-out test result of the final model
//! checkpoint/ train/ valid/ experiment.log    burn-train's own files
//! ```
//! Every file of ours is written to a temporary name and renamed, so a crash never leaves a
//! half-written file under the real name.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{ModuleRecord, ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use transduce_data::{
    Codec, DataConfig, LoadReport, Pair, Prepared, Tokenizer, TokenizerKind, Vocab,
};
use transduce_nn::{Arch, Model, ModelConfig};

use crate::{InferError, TrainingConfig, Translator};

/// Everything that defines a run, saved as `config.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    /// The architecture and its hyper-parameters.
    pub model: ModelConfig,
    /// Optimiser, schedule, batches, seed.
    pub training: TrainingConfig,
    /// Data source and tokenisation.
    pub data: DataConfig,
}

impl RunConfig {
    /// A run of `model` with the default training and data (the built-in reverse task).
    pub fn new(model: ModelConfig) -> Self {
        RunConfig {
            model,
            training: TrainingConfig::new(),
            data: DataConfig::default(),
        }
    }

    /// Checks the training and data configs, loads and tokenises the data with
    /// `training.seed` (the same seed that shuffles and initialises), sets the model's
    /// vocabulary sizes from the vocabularies built, and checks the model config.
    pub fn prepare(&mut self) -> Result<(Prepared, LoadReport), InferError> {
        self.prepare_with(&mut |_| {})
    }

    /// [`RunConfig::prepare`], naming each stage of the data preparation to `stage` as it
    /// starts (for a progress display).
    pub fn prepare_with(
        &mut self,
        stage: &mut dyn FnMut(&str),
    ) -> Result<(Prepared, LoadReport), InferError> {
        self.training.validate()?;
        self.data.validate()?;
        let (prepared, report) = self.data.prepare_with(self.training.seed, stage)?;
        self.model.set_vocab_sizes(
            prepared.codec.src_vocab.len(),
            prepared.codec.tgt_vocab.len(),
        );
        self.model.validate()?;
        Ok((prepared, report))
    }
}

/// File names inside an artifact directory.
pub mod files {
    /// The resolved run config.
    pub const CONFIG: &str = "config.json";
    /// Source vocabulary.
    pub const SRC_VOCAB: &str = "src_vocab.json";
    /// Target vocabulary.
    pub const TGT_VOCAB: &str = "tgt_vocab.json";
    /// Source BPE model (BPE only).
    pub const SRC_TOKENIZER: &str = "src_tokenizer.json";
    /// Target BPE model (BPE only).
    pub const TGT_TOKENIZER: &str = "tgt_tokenizer.json";
    /// Best weights.
    pub const MODEL: &str = "model.bpk";
    /// The same weights as safetensors, read when `model.bpk` is absent (`transduce export`
    /// writes them).
    pub const SAFETENSORS: &str = "model.safetensors";
    /// Per-epoch metrics.
    pub const METRICS: &str = "metrics.csv";
    /// Train and validation loss per epoch.
    pub const LOSS_PLOT: &str = "loss.png";
    /// Validation BLEU, chrF and exact match per epoch.
    pub const SCORE_PLOT: &str = "bleu.png";
    /// Held-out validation pairs.
    pub const VALID: &str = "valid.tsv";
    /// Held-out test pairs.
    pub const TEST: &str = "test.tsv";
    /// Final test result.
    pub const REPORT: &str = "report.json";
    /// The learner's checkpoints and each epoch's run state (`state-<epoch>.json`).
    pub const CHECKPOINTS: &str = "checkpoint";
}

/// A trained model's directory, opened for inference.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The directory.
    pub dir: PathBuf,
    /// Its `config.json`.
    pub config: RunConfig,
    /// Tokenizers and vocabularies.
    pub codec: Codec,
}

impl Artifact {
    /// Opens `dir`: reads the config and the vocabularies (not yet the weights).
    pub fn open(dir: &Path) -> Result<Self, InferError> {
        if !dir.is_dir() {
            return Err(InferError::artifact(
                dir,
                "not a directory (train a model first, or name the directory a run wrote)",
            ));
        }
        let (config, codec) = read_inference_files(dir, |name| {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(InferError::artifact(&path, e)),
            }
        })?;
        Ok(Artifact {
            dir: dir.to_path_buf(),
            config,
            codec,
        })
    }

    /// Builds the model on `device` and loads the saved weights: `model.bpk`, or `model.safetensors`
    /// when there is no burnpack file.
    pub fn load_model(&self, device: &Device) -> Result<Model, InferError> {
        let burnpack = self.dir.join(files::MODEL);
        let safetensors = self.dir.join(files::SAFETENSORS);
        if !burnpack.exists() && safetensors.exists() {
            return load_safetensors(&self.config.model, &safetensors, device);
        }
        load_weights(&self.config.model, &burnpack, device)
    }

    /// The held-out test pairs saved by training (oriented and normalised as training saw them).
    pub fn test_pairs(&self) -> Result<Vec<Pair>, InferError> {
        Ok(transduce_data::read_tsv(&self.dir.join(files::TEST), false)?.0)
    }

    /// The pairs `eval` scores by default and the training report describes, and the file they
    /// come from: the test split, or the validation split when there is no test split.
    pub fn held_out(&self) -> Result<(PathBuf, Vec<Pair>), InferError> {
        let test = self.test_pairs()?;
        if !test.is_empty() {
            return Ok((self.dir.join(files::TEST), test));
        }
        let valid = self.dir.join(files::VALID);
        let pairs = transduce_data::read_tsv(&valid, false)?.0;
        Ok((valid, pairs))
    }

    /// A greedy translator for the saved model on `device`, normalising and scoring as
    /// training did (lowercasing, BLEU's tokenisation). `eval`, `translate` and the training
    /// report all decode through this.
    pub fn translator(&self, device: &Device) -> Result<Translator, InferError> {
        let model = self.load_model(device)?;
        Ok(Translator::for_run(
            model,
            self.codec.clone(),
            device.clone(),
            &self.config,
        ))
    }
}

/// The config and the codec of an artifact, from its files as `read` gives them by name
/// (`None` when there is no such file); `dir` is where they are, for the errors. The artifact
/// directory reads them from disk, a web page from what it fetched.
pub fn read_inference_files(
    dir: &Path,
    mut read: impl FnMut(&str) -> Result<Option<String>, InferError>,
) -> Result<(RunConfig, Codec), InferError> {
    let mut required = |name: &str| {
        read(name)?.ok_or_else(|| InferError::artifact(dir.join(name), "no such file"))
    };
    let config = parse_config(&required(files::CONFIG)?, &dir.join(files::CONFIG))?;
    let kind = config.data.tokenizer();
    let (src_lang, tgt_lang) = config.data.langs();
    let mut tokenizer = |name: &str, lang| -> Result<Tokenizer, InferError> {
        let json = match kind {
            TokenizerKind::Bpe => Some(required(name)?),
            TokenizerKind::Char | TokenizerKind::Word => None,
        };
        Ok(Tokenizer::from_json(
            kind,
            lang,
            json.as_deref(),
            &dir.join(name),
        )?)
    };
    let src_tokenizer = tokenizer(files::SRC_TOKENIZER, src_lang)?;
    let tgt_tokenizer = tokenizer(files::TGT_TOKENIZER, tgt_lang)?;
    let codec = Codec {
        src_tokenizer,
        tgt_tokenizer,
        src_vocab: Vocab::from_json(&required(files::SRC_VOCAB)?, &dir.join(files::SRC_VOCAB))?,
        tgt_vocab: Vocab::from_json(&required(files::TGT_VOCAB)?, &dir.join(files::TGT_VOCAB))?,
    };
    Ok((config, codec))
}

/// Reads a `config.json`.
pub fn read_config(path: &Path) -> Result<RunConfig, InferError> {
    let text = std::fs::read_to_string(path).map_err(|e| InferError::artifact(path, e))?;
    parse_config(&text, path)
}

/// Parses the text of a `config.json`; `origin` names it in errors. The `model` and `training`
/// sections are merged over their defaults (the model's for its architecture) first, as
/// `--config` files are, so a config written before a key existed still reads, with that key's
/// default.
pub fn parse_config(text: &str, origin: &Path) -> Result<RunConfig, InferError> {
    let bad = |e: serde_json::Error| {
        let at = if e.line() > 0 {
            format!("line {}: ", e.line())
        } else {
            String::new()
        };
        InferError::artifact(origin, format!("{at}{e}"))
    };
    let mut value: Value = serde_json::from_str(text).map_err(bad)?;
    let arch = value.pointer("/model/arch").and_then(Value::as_str);
    if let Some(arch) = arch.and_then(|a| a.parse::<Arch>().ok()) {
        let defaults = [
            (
                "model",
                serde_json::to_value(ModelConfig::default_for(arch)),
            ),
            ("training", serde_json::to_value(TrainingConfig::new())),
        ];
        for (section, default) in defaults {
            if let Some(given) = value.get_mut(section) {
                let mut merged = default.expect("configs serialise");
                merge_json(&mut merged, given.take());
                *given = merged;
            }
        }
    }
    serde_json::from_value(value).map_err(bad)
}

/// Deep-merges `overlay` into `base`: objects key by key, anything else replaced.
pub fn merge_json(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge_json(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// Builds a model from `config` and loads weights from a burnpack file.
pub fn load_weights(
    config: &ModelConfig,
    path: &Path,
    device: &Device,
) -> Result<Model, InferError> {
    config.validate()?;
    load_record(config.init(device), path)
}

/// Loads weights from a burnpack file into `module`; a file that does not fit is an error.
pub fn load_record<M: Module>(module: M, path: &Path) -> Result<M, InferError> {
    let record = ModuleRecord::load(path)
        .map_err(|e| InferError::artifact(path, format!("cannot read weights: {e:?}")))?;
    fit_record(module, record, path)
}

/// Builds a model from `config` and loads weights from the bytes of a burnpack file (as a web
/// page fetches them); `origin` names them in errors.
pub fn load_weights_from_bytes(
    config: &ModelConfig,
    bytes: Vec<u8>,
    origin: &Path,
    device: &Device,
) -> Result<Model, InferError> {
    config.validate()?;
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| InferError::artifact(origin, format!("cannot read weights: {e:?}")))?;
    fit_record(config.init(device), record, origin)
}

/// `record` loaded into `module`; a record that does not fit is an error naming `origin`.
fn fit_record<M: Module>(module: M, record: ModuleRecord, origin: &Path) -> Result<M, InferError> {
    module.try_load_record(record).map_err(|e| {
        let detail = format!("{e:?}");
        // Recurrent cells and the recurrent models' vocabulary projections were stored
        // [in, out] before they moved to transduce_nn::linear's [out, in].
        let hint = if detail.contains(".weight: shape mismatch") {
            " (weights written before the recurrent layers moved to the [out, in] layout of \
             transduce_nn::linear have their shapes transposed and do not load: retrain the model)"
        } else {
            ""
        };
        InferError::artifact(
            origin,
            format!("the weights do not fit the model of config.json{hint}: {detail}"),
        )
    })
}

/// Saves a model's weights atomically.
pub fn save_weights(model: &Model, path: &Path) -> Result<(), InferError> {
    let tmp = temporary(path);
    model
        .clone()
        .into_record()
        .save(&tmp)
        .map_err(|e| InferError::artifact(&tmp, format!("cannot write weights: {e:?}")))?;
    std::fs::rename(&tmp, path).map_err(|e| InferError::artifact(path, e))
}

/// Writes `model`'s weights to `path` as safetensors, which PyTorch, JAX and the `safetensors`
/// libraries read: one tensor per parameter, named by its path in the module tree (for example
/// `Transformer.encoder.0.self_attn.query.weight`), written through a temporary file and a
/// rename.
pub fn export_safetensors(model: &Model, path: &Path) -> Result<(), InferError> {
    let tmp = temporary(path);
    model
        .save_into(&mut SafetensorsStore::from_file(&tmp).overwrite(true))
        .map_err(|e| InferError::artifact(&tmp, format!("cannot write safetensors: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| InferError::artifact(path, e))
}

/// A model of `config` with the weights of a safetensors file as [`export_safetensors`] writes
/// them; a file that lacks a parameter, has one the model does not, or has one of another
/// shape is an error that names them.
pub fn load_safetensors(
    config: &ModelConfig,
    path: &Path,
    device: &Device,
) -> Result<Model, InferError> {
    config.validate()?;
    let mut model = config.init(device);
    let result = model
        .load_from(&mut SafetensorsStore::from_file(path))
        .map_err(|e| InferError::artifact(path, format!("cannot read safetensors: {e}")))?;
    let missing: Vec<&str> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
    if !missing.is_empty() || !result.unused.is_empty() || !result.errors.is_empty() {
        return Err(InferError::artifact(
            path,
            format!(
                "the tensors do not fit the model of the config: missing {missing:?}, unused {:?}, errors {:?}",
                result.unused, result.errors
            ),
        ));
    }
    Ok(model)
}

/// Writes what inference reads of a run besides its weights, as training does: `config.json`,
/// the vocabularies and (BPE only) the tokenizers.
pub fn write_inference_files(
    dir: &Path,
    config: &RunConfig,
    codec: &Codec,
) -> Result<(), InferError> {
    let config_json = serde_json::to_string_pretty(config).expect("configs serialise");
    write_atomic(&dir.join(files::CONFIG), config_json)?;
    codec.src_vocab.save(&dir.join(files::SRC_VOCAB))?;
    codec.tgt_vocab.save(&dir.join(files::TGT_VOCAB))?;
    codec.src_tokenizer.save(&dir.join(files::SRC_TOKENIZER))?;
    codec.tgt_tokenizer.save(&dir.join(files::TGT_TOKENIZER))?;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), InferError> {
    let tmp = temporary(path);
    std::fs::write(&tmp, bytes).map_err(|e| InferError::artifact(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| InferError::artifact(path, e))
}

/// Writes pairs as `source<TAB>target` lines.
pub fn write_pairs(path: &Path, pairs: &[Pair]) -> Result<(), InferError> {
    let text: String = pairs
        .iter()
        .map(|p| format!("{}\t{}\n", p.src, p.tgt))
        .collect();
    write_atomic(path, text)
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod safetensors_tests {
    use super::*;
    use transduce_nn::{BahdanauConfig, LuongConfig, RnnSeq2SeqConfig, Seq2Seq, TransformerConfig};

    /// Every architecture's weights survive a round trip through safetensors: a fresh model
    /// (other random weights) loaded from the file gives the same logits; a file of another
    /// architecture is an error naming the missing tensors.
    #[test]
    fn every_architecture_round_trips_through_safetensors() {
        let dev = Device::flex();
        let dir =
            std::env::temp_dir().join(format!("transduce-safetensors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let configs = [
            ModelConfig::Seq2seq(
                RnnSeq2SeqConfig::new(13, 11)
                    .with_d_hidden(8)
                    .with_d_embedding(6),
            ),
            ModelConfig::Luong(
                LuongConfig::new(13, 11)
                    .with_d_hidden(8)
                    .with_d_embedding(6),
            ),
            ModelConfig::Bahdanau(
                BahdanauConfig::new(13, 11)
                    .with_d_hidden(8)
                    .with_d_embedding(6),
            ),
            ModelConfig::Transformer(
                TransformerConfig::new(13, 11)
                    .with_d_model(16)
                    .with_n_heads(2)
                    .with_d_ff(32),
            ),
        ];
        let src = Tensor::<2, Int>::from_data([[4, 5, 6, 7], [8, 9, 10, 0]], &dev);
        let src_mask = src.clone().equal_elem(0);
        let tgt = Tensor::<2, Int>::from_data([[2, 4, 5], [2, 6, 0]], &dev);
        let tgt_mask = tgt.clone().equal_elem(0);
        for (i, config) in configs.iter().enumerate() {
            let path = dir.join(format!("model{i}.safetensors"));
            let model = config.init(&dev).valid();
            export_safetensors(&model, &path).unwrap();
            let loaded = load_safetensors(config, &path, &dev).unwrap().valid();
            let logits = |m: &Model| {
                m.forward(src.clone(), src_mask.clone(), tgt.clone(), tgt_mask.clone())
                    .into_data()
            };
            logits(&loaded).assert_eq(&logits(&model), true);
            let bytes = std::fs::read(&path).unwrap();
            // The header is JSON naming the tensors.
            let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
            assert!(header.contains("weight"), "{header}");
        }
        let err = load_safetensors(&configs[3], &dir.join("model1.safetensors"), &dev).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("model1.safetensors"), "{message}");
        assert!(
            message.contains("Missing") || message.contains("missing"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn a_config_without_newer_keys_reads_with_their_defaults() {
        // A seq2seq config.json written before `context_every_step` and `bucket_pool` existed.
        let text = r#"{
            "model": {"arch": "seq2seq", "cell": "gru", "d_embedding": 8, "d_hidden": 16,
                      "n_layers": 1, "bidirectional": false, "dropout": 0.1,
                      "reverse_source": true, "src_vocab_size": 9, "tgt_vocab_size": 7},
            "training": {"epochs": 3},
            "data": {"task": "reverse"}
        }"#;
        let config = parse_config(text, Path::new("old/config.json")).unwrap();
        let ModelConfig::Seq2seq(model) = &config.model else {
            panic!("{:?}", config.model)
        };
        assert!(model.reverse_source && !model.context_every_step);
        assert_eq!((model.src_vocab_size, model.tgt_vocab_size), (9, 7));
        assert_eq!(config.training.epochs, 3);
        assert_eq!(config.training.bucket_pool, None);

        // Unknown architectures, bad values and broken JSON are still errors naming the file.
        for bad in [
            text.replace("\"cell\": \"gru\"", "\"cell\": \"transistor\""),
            text.replace("\"arch\": \"seq2seq\"", "\"arch\": \"mamba\""),
            text.replace("{\"epochs\": 3}", "{\"epochs\": \"three\"}"),
            text.replace("\"epochs\": 3}", "\"epochs\": 3"),
        ] {
            let err = parse_config(&bad, Path::new("old/config.json")).unwrap_err();
            assert!(err.to_string().contains("old/config.json"), "{err}");
        }
    }
}
