//! Tokenizers: how a sentence becomes a sequence of vocabulary entries and back.
//!
//! - `char`: one token per Unicode scalar value, spaces included; detokenisation is exact.
//! - `word`: whitespace splits words and every punctuation mark is a token of its own
//!   (`"Hi, you!"` -> `Hi , you !`); detokenisation joins tokens with single spaces.
//! - `bpe`: byte-pair encoding (Sennrich et al. 2016) trained on the training corpus with Hugging
//!   Face's `tokenizers`, over bytes (GPT-2's byte-level alphabet), so any text round-trips
//!   exactly and nothing is ever unknown. Training is offline; the model is saved as JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

use crate::DataError;

/// Which tokenizer, as given to `--tokenizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerKind {
    /// Characters.
    Char,
    /// Words and punctuation marks.
    Word,
    /// Byte-level BPE trained on the corpus.
    Bpe,
}

impl TokenizerKind {
    /// The name given to `--tokenizer`.
    pub fn name(&self) -> &'static str {
        match self {
            TokenizerKind::Char => "char",
            TokenizerKind::Word => "word",
            TokenizerKind::Bpe => "bpe",
        }
    }
}

/// A ready-to-use tokenizer (BPE carries its trained merges).
#[derive(Clone, Debug)]
pub enum Tokenizer {
    /// See [`TokenizerKind::Char`].
    Char,
    /// See [`TokenizerKind::Word`].
    Word,
    /// See [`TokenizerKind::Bpe`].
    Bpe(Box<tokenizers::Tokenizer>),
}

impl Tokenizer {
    /// The kind of this tokenizer.
    pub fn kind(&self) -> TokenizerKind {
        match self {
            Tokenizer::Char => TokenizerKind::Char,
            Tokenizer::Word => TokenizerKind::Word,
            Tokenizer::Bpe(_) => TokenizerKind::Bpe,
        }
    }

    /// A tokenizer of `kind`; BPE is trained on `corpus` up to `vocab_size` entries.
    pub fn train<'a>(
        kind: TokenizerKind,
        corpus: impl Iterator<Item = &'a str> + Send,
        vocab_size: usize,
    ) -> Result<Self, DataError> {
        match kind {
            TokenizerKind::Char => Ok(Tokenizer::Char),
            TokenizerKind::Word => Ok(Tokenizer::Word),
            TokenizerKind::Bpe => {
                let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
                    .show_progress(false)
                    .vocab_size(vocab_size)
                    .min_frequency(2)
                    .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
                    .build()
                    .into();
                let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
                tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
                tokenizer.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
                tokenizer
                    .train(&mut trainer, corpus)
                    .map_err(|e| DataError::Invalid(format!("BPE training failed: {e}")))?;
                Ok(Tokenizer::Bpe(Box::new(tokenizer)))
            }
        }
    }

    /// Splits `text` into tokens.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        match self {
            Tokenizer::Char => text.chars().map(String::from).collect(),
            Tokenizer::Word => split_words(text),
            Tokenizer::Bpe(bpe) => bpe
                .encode(text, false)
                .map(|e| e.get_tokens().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Joins tokens back into text.
    pub fn detokenize<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        match self {
            Tokenizer::Char => tokens.iter().map(AsRef::as_ref).collect(),
            Tokenizer::Word => tokens
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(" "),
            Tokenizer::Bpe(bpe) => {
                let ids: Vec<u32> = tokens
                    .iter()
                    .filter_map(|t| bpe.token_to_id(t.as_ref()))
                    .collect();
                bpe.decode(&ids, false).unwrap_or_default()
            }
        }
    }

    /// Writes a trained tokenizer's model (BPE only; the others need no file).
    pub fn save(&self, path: &Path) -> Result<(), DataError> {
        if let Tokenizer::Bpe(bpe) = self {
            bpe.save(path, false).map_err(|e| DataError::File {
                path: path.into(),
                message: format!("cannot write the tokenizer: {e}"),
            })?;
        }
        Ok(())
    }

    /// Reads a tokenizer of `kind` (BPE from `path`).
    pub fn load(kind: TokenizerKind, path: &Path) -> Result<Self, DataError> {
        match kind {
            TokenizerKind::Char => Ok(Tokenizer::Char),
            TokenizerKind::Word => Ok(Tokenizer::Word),
            TokenizerKind::Bpe => {
                if !path.is_file() {
                    return Err(DataError::io(
                        path,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                    ));
                }
                let bpe = tokenizers::Tokenizer::from_file(path).map_err(|e| DataError::File {
                    path: path.into(),
                    message: format!("not a tokenizer file: {e}"),
                })?;
                Ok(Tokenizer::Bpe(Box::new(bpe)))
            }
        }
    }
}

/// Whitespace-separated words, with every punctuation mark split off as its own token.
fn split_words(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for word in text.split_whitespace() {
        let mut current = String::new();
        for c in word.chars() {
            if c.is_alphanumeric() || is_word_joiner(c) {
                current.push(c);
            } else {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                tokens.push(c.to_string());
            }
        }
        if !current.is_empty() {
            tokens.push(current);
        }
    }
    tokens
}

/// Combining marks and joiners belong to the word they are in.
fn is_word_joiner(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{200C}' | '\u{200D}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_round_trips_exactly() {
        for text in ["12345", "lundi 23 novembre", "2026년 11월", " a  b "] {
            let tokens = Tokenizer::Char.tokenize(text);
            assert_eq!(Tokenizer::Char.detokenize(&tokens), text);
        }
        assert_eq!(Tokenizer::Char.tokenize("né"), vec!["n", "é"]);
    }

    #[test]
    fn word_splits_whitespace_and_punctuation() {
        let tokens = Tokenizer::Word.tokenize("  Je suis\tétudiant, n'est-ce pas? «Oui»! 3.5");
        assert_eq!(
            tokens,
            [
                "Je",
                "suis",
                "étudiant",
                ",",
                "n",
                "'",
                "est",
                "-",
                "ce",
                "pas",
                "?",
                "«",
                "Oui",
                "»",
                "!",
                "3",
                ".",
                "5"
            ]
        );
        assert_eq!(Tokenizer::Word.detokenize(&tokens[..3]), "Je suis étudiant");
    }

    #[test]
    fn bpe_round_trips_exactly_and_learns_merges() {
        let corpus = [
            "the cat sat on the mat",
            "the dog sat on the log",
            "a cat and a dog",
            "Ünïcödé text, 2026년!",
        ];
        let bpe = Tokenizer::train(TokenizerKind::Bpe, corpus.iter().copied(), 300).unwrap();
        for text in corpus
            .iter()
            .copied()
            .chain(["unseen wörds & symbols ✓", "  two  spaces "])
        {
            let tokens = bpe.tokenize(text);
            assert_eq!(bpe.detokenize(&tokens), text, "{tokens:?}");
        }
        // Frequent words become single tokens.
        assert_eq!(bpe.tokenize("the cat").len(), 2);

        let dir = std::env::temp_dir().join(format!("transduce-bpe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bpe.json");
        bpe.save(&path).unwrap();
        let loaded = Tokenizer::load(TokenizerKind::Bpe, &path).unwrap();
        assert_eq!(loaded.tokenize("the dog sat"), bpe.tokenize("the dog sat"));
        std::fs::write(&path, "{ not json").unwrap();
        let err = Tokenizer::load(TokenizerKind::Bpe, &path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bpe.json") && err.contains("not a tokenizer file"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn bpe() -> &'static Tokenizer {
        static BPE: OnceLock<Tokenizer> = OnceLock::new();
        BPE.get_or_init(|| {
            let corpus = [
                "a cat sat on a mat",
                "le chat est sur le tapis",
                "고양이가 매트 위에 앉았다",
                "1234 5678",
            ];
            Tokenizer::train(TokenizerKind::Bpe, corpus.iter().copied(), 200).unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn tokenizers_never_panic_and_char_and_bpe_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let chars = Tokenizer::Char.tokenize(&text);
            prop_assert_eq!(Tokenizer::Char.detokenize(&chars), text.clone());
            let words = Tokenizer::Word.tokenize(&text);
            prop_assert!(words.iter().all(|w| !w.is_empty() && !w.chars().any(char::is_whitespace)));
            let pieces = bpe().tokenize(&text);
            prop_assert_eq!(bpe().detokenize(&pieces), text);
        }
    }
}
