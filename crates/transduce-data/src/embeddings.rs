//! Pretrained word vectors (GloVe, word2vec or fastText text format) for a vocabulary.
//!
//! The format is one word and its values per line, separated by spaces; a first line of two
//! integers (`n_words dim`, word2vec/fastText) is an optional header. Only the vocabulary's words
//! are kept; words missing from the file keep their random initialisation and are counted.

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::{DataError, Vocab};
use transduce_nn::special::SPECIAL_TOKENS;

/// Vectors found for a vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub struct Pretrained {
    /// Vector width.
    pub dim: usize,
    /// `(vocabulary id, vector)` for every vocabulary word found in the file.
    pub rows: Vec<(usize, Vec<f32>)>,
    /// Vocabulary words (special tokens excluded) not in the file.
    pub missing: usize,
}

/// Reads the vectors of `vocab`'s words from `path`; every line must have the same width, and
/// that width must be `expected_dim` (the model's embedding width).
pub fn read_vectors(
    path: &Path,
    vocab: &Vocab,
    expected_dim: usize,
) -> Result<Pretrained, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let line_error = |line: usize, message: String| DataError::Line {
        path: path.into(),
        line,
        message,
    };
    let mut dim = None;
    let mut rows = Vec::new();
    let mut seen = vec![false; vocab.len()];
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let bytes = line.map_err(|e| DataError::io(path, e))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| line_error(i + 1, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        let mut fields = text.split_whitespace();
        let Some(word) = fields.next() else { continue };
        let values: Vec<&str> = fields.collect();
        if i == 0
            && values.len() == 1
            && word.parse::<usize>().is_ok()
            && values[0].parse::<usize>().is_ok()
        {
            continue; // word2vec/fastText header
        }
        let width = *dim.get_or_insert(values.len());
        if width != expected_dim {
            return Err(DataError::File {
                path: path.into(),
                message: format!(
                    "{width}-dimensional vectors, but the model's embeddings have {expected_dim} dimensions"
                ),
            });
        }
        if values.len() != width {
            return Err(line_error(
                i + 1,
                format!(
                    "expected {width} values after the word, got {}",
                    values.len()
                ),
            ));
        }
        let id = vocab.id(word);
        if vocab.token(id) != word || id < SPECIAL_TOKENS.len() || seen[id] {
            continue; // not in the vocabulary, a special token, or a repeat
        }
        let vector = values
            .iter()
            .map(|v| v.parse::<f32>().ok().filter(|x| x.is_finite()))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| {
                line_error(i + 1, format!("a value of {word:?} is not a finite number"))
            })?;
        seen[id] = true;
        rows.push((id, vector));
    }
    let Some(dim) = dim else {
        return Err(DataError::File {
            path: path.into(),
            message: "no vectors in the file".into(),
        });
    };
    let missing = vocab.len() - SPECIAL_TOKENS.len() - rows.len();
    Ok(Pretrained { dim, rows, missing })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocab {
        let words: Vec<Vec<String>> = vec![["the", "cat", "sat"].map(String::from).to_vec()];
        Vocab::build(words.iter().map(Vec::as_slice), 1, None)
    }

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("transduce-emb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn glove_and_word2vec_formats() {
        let v = vocab();
        let glove = write("glove.txt", "the 0.1 0.2 0.3\ndog 1 1 1\ncat -1 0 1e-2\n");
        let p = read_vectors(&glove, &v, 3).unwrap();
        assert_eq!((p.dim, p.rows.len(), p.missing), (3, 2, 1));
        assert!(p.rows.contains(&(v.id("the"), vec![0.1, 0.2, 0.3])));
        let w2v = write("w2v.txt", "3 3\nthe 0.1 0.2 0.3\nsat 1 2 3\ncat 0 0 0\n");
        let p = read_vectors(&w2v, &v, 3).unwrap();
        assert_eq!((p.rows.len(), p.missing), (3, 0));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let v = vocab();
        let wide = write("wide.txt", "the 0.1 0.2 0.3 0.4\n");
        let err = read_vectors(&wide, &v, 3).unwrap_err().to_string();
        assert!(
            err.contains("wide.txt")
                && err.contains("4-dimensional")
                && err.contains("3 dimensions"),
            "{err}"
        );
        let ragged = write("ragged.txt", "the 0.1 0.2 0.3\ncat 0.1 0.2\n");
        let err = read_vectors(&ragged, &v, 3).unwrap_err().to_string();
        assert!(err.contains("ragged.txt:2: expected 3 values"), "{err}");
        let nan = write("nan.txt", "cat 0.1 x 0.3\n");
        assert!(
            read_vectors(&nan, &v, 3)
                .unwrap_err()
                .to_string()
                .contains("nan.txt:1")
        );
        let empty = write("empty.txt", "\n");
        assert!(
            read_vectors(&empty, &v, 3)
                .unwrap_err()
                .to_string()
                .contains("no vectors")
        );
    }
}
