//! Vocabularies: token strings <-> ids, with the special tokens first.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use transduce_nn::special::{EOS, PAD, SOS, SPECIAL_TOKENS, UNK};

use crate::DataError;

/// A vocabulary: `<pad> <unk> <sos> <eos>` at ids 0..4, then tokens by decreasing frequency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
    index: HashMap<String, usize>,
}

#[derive(Serialize, Deserialize)]
struct VocabFile {
    tokens: Vec<String>,
}

impl Vocab {
    /// Builds a vocabulary from tokenised sentences.
    ///
    /// Keeps tokens seen at least `min_freq` times, the most frequent first (ties by string, so the
    /// result is deterministic), up to `max_size` entries including the special tokens.
    pub fn build<'a>(
        sentences: impl IntoIterator<Item = &'a [String]>,
        min_freq: usize,
        max_size: Option<usize>,
    ) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for sentence in sentences {
            for token in sentence {
                *counts.entry(token.as_str()).or_default() += 1;
            }
        }
        let mut entries: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|(t, c)| *c >= min_freq.max(1) && !SPECIAL_TOKENS.contains(t))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let limit = max_size.map_or(usize::MAX, |m| m.saturating_sub(SPECIAL_TOKENS.len()));
        let tokens = SPECIAL_TOKENS
            .iter()
            .map(|s| s.to_string())
            .chain(entries.into_iter().take(limit).map(|(t, _)| t.to_string()))
            .collect();
        Self::from_tokens(tokens).expect("built vocabularies are well formed")
    }

    /// A vocabulary from its token list, which must start with the special tokens and hold no duplicates.
    pub fn from_tokens(tokens: Vec<String>) -> Result<Self, String> {
        if tokens.len() < SPECIAL_TOKENS.len() || tokens[..SPECIAL_TOKENS.len()] != SPECIAL_TOKENS {
            return Err(format!("the first tokens must be {SPECIAL_TOKENS:?}"));
        }
        let mut index = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            if index.insert(t.clone(), i).is_some() {
                return Err(format!("token {t:?} appears twice"));
            }
        }
        Ok(Vocab { tokens, index })
    }

    /// This vocabulary with `tokens` appended (those it does not have yet, in order).
    pub fn with_tokens<S: AsRef<str>>(mut self, tokens: impl IntoIterator<Item = S>) -> Self {
        for token in tokens {
            let token = token.as_ref();
            if !self.index.contains_key(token) {
                self.index.insert(token.to_string(), self.tokens.len());
                self.tokens.push(token.to_string());
            }
        }
        self
    }

    /// Number of entries, special tokens included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Always false: the special tokens are always there.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of `token`, or `<unk>`'s.
    pub fn id(&self, token: &str) -> usize {
        self.index.get(token).copied().unwrap_or(UNK)
    }

    /// The string of `id` (`<unk>` for ids out of range).
    pub fn token(&self, id: usize) -> &str {
        self.tokens
            .get(id)
            .map_or(SPECIAL_TOKENS[UNK], String::as_str)
    }

    /// Ids of `tokens`.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<usize> {
        tokens.iter().map(|t| self.id(t.as_ref())).collect()
    }

    /// Strings of `ids`, stopping at `<eos>` and dropping `<pad>` and `<sos>`.
    pub fn decode(&self, ids: &[usize]) -> Vec<&str> {
        ids.iter()
            .take_while(|&&id| id != EOS)
            .filter(|&&id| id != PAD && id != SOS)
            .map(|&id| self.token(id))
            .collect()
    }

    /// Writes the vocabulary as JSON, `{"tokens": [...]}`.
    pub fn save(&self, path: &Path) -> Result<(), DataError> {
        let json = serde_json::to_string_pretty(&VocabFile {
            tokens: self.tokens.clone(),
        })
        .expect("a list of strings serialises");
        std::fs::write(path, json).map_err(|e| DataError::io(path, e))
    }

    /// Reads a vocabulary written by [`Vocab::save`].
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// Parses the JSON [`Vocab::save`] writes; `origin` names it in errors (a file, or where
    /// the text came from).
    pub fn from_json(text: &str, origin: &Path) -> Result<Self, DataError> {
        let file: VocabFile = serde_json::from_str(text).map_err(|e| DataError::Line {
            path: origin.into(),
            line: e.line(),
            message: format!("not a vocabulary file: {e}"),
        })?;
        Self::from_tokens(file.tokens).map_err(|message| DataError::File {
            path: origin.into(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &[&str]) -> Vec<Vec<String>> {
        text.iter()
            .map(|s| s.split(' ').map(String::from).collect())
            .collect()
    }

    #[test]
    fn specials_first_then_by_frequency() {
        let s = sentences(&["b a a", "c a b"]);
        let v = Vocab::build(s.iter().map(Vec::as_slice), 1, None);
        assert_eq!(v.len(), 7);
        assert_eq!((v.token(0), v.token(3)), ("<pad>", "<eos>"));
        assert_eq!((v.token(4), v.token(5), v.token(6)), ("a", "b", "c"));
        assert_eq!(v.id("zzz"), UNK);
        assert_eq!(v.decode(&[2, 4, 5, 3, 6]), vec!["a", "b"]);
    }

    #[test]
    fn min_freq_and_max_size() {
        let s = sentences(&["b a a", "c a b"]);
        let v = Vocab::build(s.iter().map(Vec::as_slice), 2, None);
        assert_eq!(v.len(), 6);
        let v = Vocab::build(s.iter().map(Vec::as_slice), 1, Some(5));
        assert_eq!(v.len(), 5);
        assert_eq!(v.token(4), "a");
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("transduce-vocab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = sentences(&["x y z", "é ü"]);
        let v = Vocab::build(s.iter().map(Vec::as_slice), 1, None);
        let path = dir.join("vocab.json");
        v.save(&path).unwrap();
        assert_eq!(Vocab::load(&path).unwrap(), v);

        std::fs::write(&path, "{\"tokens\": [\n1, 2]}").unwrap();
        let err = Vocab::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("vocab.json:2") && err.contains("not a vocabulary file"),
            "{err}"
        );
        std::fs::write(&path, r#"{"tokens": ["a", "b"]}"#).unwrap();
        let err = Vocab::load(&path).unwrap_err().to_string();
        assert!(err.contains("first tokens must be"), "{err}");
        let err = Vocab::load(&dir.join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
