//! A trained model held in memory: an artifact directory's inference files (`config.json`, the
//! vocabularies, the BPE models, `model.bpk`) as bytes, for where there is no file system, such
//! as a web page that fetched them; and [`export_web`], which writes them where a page fetches
//! them (`transduce export --web DIR`):
//!
//! ```text
//! DIR/models/index.json        [{"name", "arch", "parameters", "data", "examples"}, ...]
//! DIR/models/NAME/             config.json, src_vocab.json, tgt_vocab.json, model.bpk,
//!                              and for BPE models src_tokenizer.json, tgt_tokenizer.json
//! ```

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use transduce_data::{Codec, TokenizerKind};
use transduce_nn::Model;

use crate::artifact::{
    files, load_weights_from_bytes, read_inference_files, save_weights, write_atomic,
};
use crate::{Artifact, InferError, RunConfig, Translator};

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
    /// Where the files came from, for errors.
    origin: PathBuf,
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
            origin: origin.to_path_buf(),
        })
    }

    /// Builds the model on `device` and loads the weights.
    pub fn load_model(&self, device: &Device) -> Result<Model, InferError> {
        load_weights_from_bytes(
            &self.config.model,
            self.weights.clone(),
            &self.origin.join(files::MODEL),
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

/// A model's entry in a web directory's `models/index.json`, which the page lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebEntry {
    /// The directory under `models/`.
    pub name: String,
    /// `seq2seq`, `luong`, `bahdanau` or `transformer`.
    pub arch: String,
    /// Trainable parameters.
    pub parameters: usize,
    /// What it was trained on (a task or a corpus).
    pub data: String,
    /// Sources to try: the first of the run's held-out pairs.
    pub examples: Vec<String>,
}

/// Writes `artifact`'s inference files to `dir/models/name/` and lists the model in
/// `dir/models/index.json` (replacing an entry of the same name). Every file is written through
/// a temporary name and a rename.
pub fn export_web(artifact: &Artifact, dir: &Path, name: &str) -> Result<WebEntry, InferError> {
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        return Err(InferError::Input(format!(
            "{name:?}: a model's name must be letters, digits, '-' and '_' (it names a directory)"
        )));
    }
    let out = web_model_dir(dir, name);
    std::fs::create_dir_all(&out).map_err(|e| InferError::artifact(&out, e))?;
    let model = artifact.load_model(&Device::flex())?;
    save_weights(&model, &out.join(files::MODEL))?;
    let mut names = vec![files::CONFIG, files::SRC_VOCAB, files::TGT_VOCAB];
    if artifact.config.data.tokenizer() == TokenizerKind::Bpe {
        names.extend([files::SRC_TOKENIZER, files::TGT_TOKENIZER]);
    }
    for file in names {
        let from = artifact.dir.join(file);
        let bytes = std::fs::read(&from).map_err(|e| InferError::artifact(&from, e))?;
        write_atomic(&out.join(file), bytes)?;
    }
    let (_, held_out) = artifact.held_out()?;
    let entry = WebEntry {
        name: name.to_string(),
        arch: artifact.config.model.arch().to_string(),
        parameters: model.num_params(),
        data: artifact.config.data.describe(),
        examples: held_out.into_iter().take(5).map(|p| p.src).collect(),
    };
    let index_path = dir.join("models").join("index.json");
    let mut index: Vec<WebEntry> = match std::fs::read_to_string(&index_path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| InferError::artifact(&index_path, format!("line {}: {e}", e.line())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(InferError::artifact(&index_path, e)),
    };
    index.retain(|e| e.name != name);
    index.push(entry.clone());
    let json = serde_json::to_string_pretty(&index).expect("entries serialise");
    write_atomic(&index_path, json)?;
    Ok(entry)
}

/// The directory [`export_web`] writes a model's files to.
pub fn web_model_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("models").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Artifact;
    use crate::artifact::{save_weights, write_inference_files};
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
        write_inference_files(dir.path(), &config, &prepared.codec).unwrap();
        let model = config.model.init(&Device::flex());
        save_weights(&model, &dir.path().join(files::MODEL)).unwrap();
        crate::artifact::write_pairs(&dir.path().join(files::TEST), &prepared.splits.test).unwrap();
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
    fn exported_for_the_web_it_translates_as_the_directory_does() {
        let run = artifact_dir(DataConfig::default());
        let artifact = Artifact::open(run.path()).unwrap();
        let web = tempfile::tempdir().unwrap();
        for name in ["reverse", "again", "reverse"] {
            export_web(&artifact, web.path(), name).unwrap();
        }
        let index: Vec<WebEntry> = serde_json::from_str(
            &std::fs::read_to_string(web.path().join("models/index.json")).unwrap(),
        )
        .unwrap();
        let names: Vec<&str> = index.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["again", "reverse"]);
        assert_eq!(index[1].arch, "transformer");
        assert_eq!(index[1].examples.len(), 5);
        assert!(index[1].data.contains("reverse"), "{}", index[1].data);

        let dir = web_model_dir(web.path(), "reverse");
        let bundle = Bundle::from_files(&dir, read_dir(&dir)).unwrap();
        let sources = index[1].examples.clone();
        let device = Device::flex();
        assert_eq!(
            bundle
                .translator(&device)
                .unwrap()
                .translate(&sources)
                .unwrap(),
            artifact
                .translator(&device)
                .unwrap()
                .translate(&sources)
                .unwrap()
        );
        let err = export_web(&artifact, web.path(), "../up").unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
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
            assert!(
                err.contains(&format!("models/reverse/{name}")),
                "{name}: {err}"
            );
        }
    }
}
