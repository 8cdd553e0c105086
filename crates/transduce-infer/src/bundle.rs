//! A trained model held in memory: an artifact directory's inference files (`config.json`, the
//! vocabularies, the BPE models, `model.bpk`) as bytes, for where there is no file system, such
//! as a web page that fetched them.

use std::path::Path;

use burn::prelude::*;
use transduce_data::Codec;
use transduce_nn::Model;

use crate::artifact::{files, load_weights_from_bytes, read_inference_files};
use crate::{InferError, RunConfig, Translator};

/// The files a [`Bundle`] reads, by their names in an artifact directory; the tokenizers only
/// for BPE models.
pub const BUNDLE_FILES: [&str; 6] = [
    files::CONFIG,
    files::SRC_VOCAB,
    files::TGT_VOCAB,
    files::SRC_TOKENIZER,
    files::TGT_TOKENIZER,
    files::MODEL,
];

/// A trained model's config, codec and weights, read from memory.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The run's `config.json`.
    pub config: RunConfig,
    /// Tokenizers and vocabularies.
    pub codec: Codec,
    /// The bytes of `model.bpk`.
    weights: Vec<u8>,
}

impl Bundle {
    /// Reads the bundle from `file`, which gives the bytes of each of [`BUNDLE_FILES`] by name
    /// (`None` when there is no such file). `origin` names where they come from, in errors
    /// (for example the URL of the directory).
    pub fn from_files(
        origin: &Path,
        mut file: impl FnMut(&str) -> Option<Vec<u8>>,
    ) -> Result<Self, InferError> {
        let (config, codec) = read_inference_files(origin, |name| {
            file(name)
                .map(|bytes| {
                    String::from_utf8(bytes).map_err(|e| {
                        InferError::artifact(origin.join(name), format!("not UTF-8 text: {e}"))
                    })
                })
                .transpose()
        })?;
        let weights = file(files::MODEL)
            .ok_or_else(|| InferError::artifact(origin.join(files::MODEL), "no such file"))?;
        Ok(Bundle {
            config,
            codec,
            weights,
        })
    }

    /// Builds the model on `device` and loads the weights.
    pub fn load_model(&self, device: &Device) -> Result<Model, InferError> {
        load_weights_from_bytes(
            &self.config.model,
            self.weights.clone(),
            Path::new(files::MODEL),
            device,
        )
    }

    /// A greedy translator for the model on `device`, normalising as training did; the same as
    /// [`crate::Artifact::translator`] gives for the directory.
    pub fn translator(&self, device: &Device) -> Result<Translator, InferError> {
        Ok(Translator::for_run(
            self.load_model(device)?,
            self.codec.clone(),
            device.clone(),
            &self.config,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Artifact;
    use crate::artifact::save_weights;
    use transduce_data::DataConfig;
    use transduce_nn::TransformerConfig;

    /// A small untrained run written to a directory as training writes it.
    fn artifact_dir(data: DataConfig) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut config = RunConfig::new(transduce_nn::ModelConfig::Transformer(
            TransformerConfig::new(0, 0).with_d_model(16).with_d_ff(32),
        ));
        config.data = data;
        let (prepared, _) = config.prepare().unwrap();
        let codec = &prepared.codec;
        codec
            .src_vocab
            .save(&dir.path().join(files::SRC_VOCAB))
            .unwrap();
        codec
            .tgt_vocab
            .save(&dir.path().join(files::TGT_VOCAB))
            .unwrap();
        std::fs::write(
            dir.path().join(files::CONFIG),
            serde_json::to_string(&config).unwrap(),
        )
        .unwrap();
        let model = config.model.init(&Device::flex());
        save_weights(&model, &dir.path().join(files::MODEL)).unwrap();
        dir
    }

    fn read_dir(dir: &Path) -> impl FnMut(&str) -> Option<Vec<u8>> + '_ {
        move |name| std::fs::read(dir.join(name)).ok()
    }

    #[test]
    fn translates_as_the_directory_does() {
        let dir = artifact_dir(DataConfig::default());
        let device = Device::flex();
        let sources: Vec<String> = ["3 1 4 1 5", "9 2 6"].map(String::from).to_vec();
        let from_dir = Artifact::open(dir.path())
            .unwrap()
            .translator(&device)
            .unwrap();
        let bundle = Bundle::from_files(dir.path(), read_dir(dir.path())).unwrap();
        let from_memory = bundle.translator(&device).unwrap();
        assert_eq!(
            from_memory.translate(&sources).unwrap(),
            from_dir.translate(&sources).unwrap()
        );
    }

    #[test]
    fn missing_or_broken_files_are_named() {
        let dir = artifact_dir(DataConfig::default());
        let origin = Path::new("https://example.org/models/reverse");
        for (name, broken) in [
            (files::CONFIG, None),
            (files::TGT_VOCAB, Some(&b"{\"tokens\": 3}"[..])),
            (files::MODEL, Some(&b"not a burnpack"[..])),
        ] {
            let read = |n: &str| {
                if n == name {
                    broken.map(<[u8]>::to_vec)
                } else {
                    std::fs::read(dir.path().join(n)).ok()
                }
            };
            let err = Bundle::from_files(origin, read)
                .and_then(|b| b.load_model(&Device::flex()).map(|_| ()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
    }
}
