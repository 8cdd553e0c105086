//! Tokenizers: how a sentence becomes a sequence of vocabulary entries and back.

use serde::{Deserialize, Serialize};

/// How text is split into tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// One token per Unicode scalar value, spaces included; detokenisation is exact.
    Char,
    /// Tokens separated by whitespace; detokenisation joins them with single spaces.
    Word,
}

impl Tokenizer {
    /// Splits `text` into tokens.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        match self {
            Tokenizer::Char => text.chars().map(String::from).collect(),
            Tokenizer::Word => text.split_whitespace().map(String::from).collect(),
        }
    }

    /// Joins tokens back into text.
    pub fn detokenize<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        let sep = match self {
            Tokenizer::Char => "",
            Tokenizer::Word => " ",
        };
        tokens
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// The name given to `--tokenizer`.
    pub fn name(&self) -> &'static str {
        match self {
            Tokenizer::Char => "char",
            Tokenizer::Word => "word",
        }
    }
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
    fn word_splits_on_whitespace() {
        let tokens = Tokenizer::Word.tokenize("  je suis\tétudiant ");
        assert_eq!(tokens, vec!["je", "suis", "étudiant"]);
        assert_eq!(Tokenizer::Word.detokenize(&tokens), "je suis étudiant");
    }
}
