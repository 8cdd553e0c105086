//! Pretrained word embeddings (`training.src_embeddings` / `tgt_embeddings`: GloVe, word2vec or
//! fastText text files) loaded into a new model's embedding tables before training.

use serde::Serialize;
use transduce_data::{Prepared, TokenizerKind, read_vectors};
use transduce_nn::{Model, Side};

use crate::TrainError;
use crate::artifact::RunConfig;

/// What loading pretrained vectors found.
#[derive(Clone, Debug, Serialize)]
pub struct PretrainedReport {
    /// `source` or `target`.
    pub side: String,
    /// The vectors file.
    pub path: std::path::PathBuf,
    /// Vocabulary words found in it.
    pub found: usize,
    /// Vocabulary words missing from it (they keep their random initialisation).
    pub missing: usize,
    /// Whether the table stays fixed during training.
    pub frozen: bool,
}

/// Loads `training.src_embeddings` / `tgt_embeddings` into the model (word tokenizer only).
pub(crate) fn load_pretrained(
    config: &RunConfig,
    data: &Prepared,
    mut model: Model,
) -> Result<(Model, Vec<PretrainedReport>), TrainError> {
    let training = &config.training;
    let sides = [
        (
            Side::Source,
            "source",
            &training.src_embeddings,
            &data.codec.src_vocab,
        ),
        (
            Side::Target,
            "target",
            &training.tgt_embeddings,
            &data.codec.tgt_vocab,
        ),
    ];
    let mut reports = Vec::new();
    for (side, name, path, vocab) in sides {
        let Some(path) = path else { continue };
        if data.codec.src_tokenizer.kind() != TokenizerKind::Word {
            return Err(TrainError::Input(
                "pretrained word embeddings need the word tokenizer (data.tokenizer = word)".into(),
            ));
        }
        let vectors = read_vectors(path, vocab, model.embedding_width(side))?;
        model = model.load_embeddings(side, &vectors.rows, training.freeze_embeddings)?;
        log::info!(
            "{name} embeddings: {} words from {}, {} missing",
            vectors.rows.len(),
            path.display(),
            vectors.missing
        );
        reports.push(PretrainedReport {
            side: name.to_string(),
            path: path.clone(),
            found: vectors.rows.len(),
            missing: vectors.missing,
            frozen: training.freeze_embeddings,
        });
    }
    Ok((model, reports))
}
