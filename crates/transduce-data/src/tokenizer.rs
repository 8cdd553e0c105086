//! Tokenizers: how a sentence becomes a sequence of vocabulary entries and back.
//!
//! - `char`: one token per Unicode scalar value, spaces included; detokenisation is exact.
//! - `word`: whitespace splits words and punctuation marks are tokens of their own
//!   (`"Hi, you!"` -> `Hi , you !`), as Moses' tokenizer splits them: numbers keep their
//!   separators (`3.14`, `1,000`, `10:30`), hyphenated words stay whole (`state-of-the-art`),
//!   and an apostrophe between letters follows the language (English `it 's`, French `l' homme`,
//!   German `geht's`). Detokenisation is Moses' (sacremoses') for the language, so
//!   `Hi , you !` becomes `Hi, you!` and `l' homme` becomes `l'homme`.
//! - `bpe`: byte-pair encoding (Sennrich et al. 2016) trained on the training corpus with Hugging
//!   Face's `tokenizers` (the `train` feature), over bytes (GPT-2's byte-level alphabet), so any
//!   text round-trips exactly and nothing is ever unknown. Training is offline; the model is
//!   saved as JSON, and applied by [`crate::bpe`] without the trainer.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bpe::BytePairs;

use crate::DataError;
use crate::moses::{self, Lang};

/// Which tokenizer, as given to `--tokenizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
    /// See [`TokenizerKind::Word`]: splitting and joining follow the language.
    Word(Lang),
    /// See [`TokenizerKind::Bpe`].
    Bpe(Box<BytePairs>),
}

impl Tokenizer {
    /// The kind of this tokenizer.
    pub fn kind(&self) -> TokenizerKind {
        match self {
            Tokenizer::Char => TokenizerKind::Char,
            Tokenizer::Word(_) => TokenizerKind::Word,
            Tokenizer::Bpe(_) => TokenizerKind::Bpe,
        }
    }

    /// A tokenizer of `kind` for text in `lang` (used by `word`); BPE is trained on `corpus`
    /// up to `vocab_size` entries.
    pub fn train<'a>(
        kind: TokenizerKind,
        lang: Lang,
        corpus: impl Iterator<Item = &'a str> + Send,
        vocab_size: usize,
    ) -> Result<Self, DataError> {
        match kind {
            TokenizerKind::Char => Ok(Tokenizer::Char),
            TokenizerKind::Word => Ok(Tokenizer::Word(lang)),
            TokenizerKind::Bpe => train_bpe(corpus, vocab_size),
        }
    }

    /// Tokens that must always be in the vocabulary: for byte-level BPE the 256 byte symbols,
    /// so that no input byte is ever `<unk>`; nothing for the others.
    pub fn alphabet(&self) -> Vec<String> {
        match self {
            Tokenizer::Bpe(_) => crate::bpe::alphabet(),
            _ => Vec::new(),
        }
    }

    /// Splits `text` into tokens.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        match self {
            Tokenizer::Char => text.chars().map(String::from).collect(),
            Tokenizer::Word(lang) => split_words(text, *lang),
            Tokenizer::Bpe(bpe) => bpe.encode(text),
        }
    }

    /// Joins tokens back into text.
    pub fn detokenize<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        match self {
            Tokenizer::Char => tokens.iter().map(AsRef::as_ref).collect(),
            Tokenizer::Word(lang) => moses::detokenize(tokens, *lang),
            Tokenizer::Bpe(bpe) => bpe.decode(tokens),
        }
    }

    /// Writes a trained tokenizer's model (BPE only; the others need no file).
    pub fn save(&self, path: &Path) -> Result<(), DataError> {
        if let Tokenizer::Bpe(bpe) = self {
            std::fs::write(path, bpe.to_json()).map_err(|e| DataError::File {
                path: path.into(),
                message: format!("cannot write the tokenizer: {e}"),
            })?;
        }
        Ok(())
    }

    /// Reads a tokenizer of `kind` for `lang` (BPE from `path`).
    pub fn load(kind: TokenizerKind, lang: Lang, path: &Path) -> Result<Self, DataError> {
        let json = match kind {
            TokenizerKind::Bpe => {
                Some(std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?)
            }
            TokenizerKind::Char | TokenizerKind::Word => None,
        };
        Self::from_json(kind, lang, json.as_deref(), path)
    }

    /// A tokenizer of `kind` for `lang`, BPE from the JSON [`Tokenizer::save`] writes;
    /// `origin` names that JSON in errors (a file, or where the text came from).
    pub fn from_json(
        kind: TokenizerKind,
        lang: Lang,
        json: Option<&str>,
        origin: &Path,
    ) -> Result<Self, DataError> {
        match kind {
            TokenizerKind::Char => Ok(Tokenizer::Char),
            TokenizerKind::Word => Ok(Tokenizer::Word(lang)),
            TokenizerKind::Bpe => {
                let json = json.ok_or_else(|| DataError::File {
                    path: origin.into(),
                    message: "missing: a BPE model needs its tokenizer file".into(),
                })?;
                let bpe = BytePairs::from_json(json).map_err(|e| DataError::File {
                    path: origin.into(),
                    message: format!("not a tokenizer file: {e}"),
                })?;
                Ok(Tokenizer::Bpe(Box::new(bpe)))
            }
        }
    }
}

/// Trains byte-level BPE with Hugging Face's `tokenizers`, then keeps only what applying it
/// needs (its saved JSON, read by [`BytePairs`]).
#[cfg(feature = "train")]
fn train_bpe<'a>(
    corpus: impl Iterator<Item = &'a str> + Send,
    vocab_size: usize,
) -> Result<Tokenizer, DataError> {
    let json = train_hf_bpe(corpus, vocab_size)?
        .to_string(false)
        .map_err(|e| DataError::Invalid(format!("BPE model not serialisable: {e}")))?;
    let bpe = BytePairs::from_json(&json)
        .map_err(|e| DataError::Invalid(format!("BPE model not readable: {e}")))?;
    Ok(Tokenizer::Bpe(Box::new(bpe)))
}

/// Hugging Face's byte-level BPE: the `ByteLevel` pre-tokenizer and decoder (no prefix space),
/// trained from the 256 byte symbols on, merging pairs seen at least twice.
#[cfg(feature = "train")]
fn train_hf_bpe<'a>(
    corpus: impl Iterator<Item = &'a str> + Send,
    vocab_size: usize,
) -> Result<tokenizers::Tokenizer, DataError> {
    use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
    use tokenizers::models::TrainerWrapper;
    use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;

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
    Ok(tokenizer)
}

/// Without the `train` feature, a BPE model can be loaded and applied but not trained.
#[cfg(not(feature = "train"))]
fn train_bpe<'a>(
    _corpus: impl Iterator<Item = &'a str> + Send,
    _vocab_size: usize,
) -> Result<Tokenizer, DataError> {
    Err(DataError::Invalid(
        "training a BPE tokenizer needs transduce-data's `train` feature".into(),
    ))
}

/// Whitespace-separated words, with punctuation marks split off as tokens of their own, as
/// Moses' tokenizer splits them (so that its detokeniser joins them back).
fn split_words(text: &str, lang: Lang) -> Vec<String> {
    let mut tokens = Vec::new();
    for word in text.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if is_word_char(c) {
                current.push(c);
                continue;
            }
            let next = chars.get(i + 1).copied();
            // Inside a token: its previous character is the last of `current`.
            let between = |f: fn(char) -> bool| {
                current.chars().next_back().is_some_and(f) && next.is_some_and(f)
            };
            match c {
                // 3.14, 1,000, 10:30
                '.' | ',' | ':' if between(char::is_numeric) => current.push(c),
                // state-of-the-art, example.com, and/or
                '-' | '.' | '/' if between(is_word_char) => current.push(c),
                '\'' if between(char::is_alphabetic) => match lang {
                    // it 's, don 't
                    Lang::En => {
                        flush(&mut current, &mut tokens);
                        current.push(c);
                    }
                    // l' homme, aujourd' hui
                    Lang::Fr => {
                        current.push(c);
                        flush(&mut current, &mut tokens);
                    }
                    Lang::De => current.push(c),
                },
                // A typographic apostrophe between letters stays in the word.
                '\u{2019}' if between(char::is_alphabetic) => current.push(c),
                _ => {
                    flush(&mut current, &mut tokens);
                    tokens.push(c.to_string());
                }
            }
        }
        flush(&mut current, &mut tokens);
    }
    tokens
}

/// Ends the token being built, if any.
fn flush(current: &mut String, tokens: &mut Vec<String>) {
    if !current.is_empty() {
        tokens.push(std::mem::take(current));
    }
}

/// Letters, digits, combining marks and joiners make up words.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_word_joiner(c)
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
    fn word_splits_as_moses_does_and_joins_back() {
        let fr = Tokenizer::Word(Lang::Fr);
        let tokens = fr.tokenize("  Je suis\tétudiant, n'est-ce pas ? «Oui» ! 3.5 l'homme");
        assert_eq!(
            tokens,
            [
                "Je",
                "suis",
                "étudiant",
                ",",
                "n'",
                "est-ce",
                "pas",
                "?",
                "«",
                "Oui",
                "»",
                "!",
                "3.5",
                "l'",
                "homme"
            ]
        );
        assert_eq!(
            fr.detokenize(&tokens),
            "Je suis étudiant, n'est-ce pas ? « Oui » ! 3.5 l'homme"
        );
        let en = Tokenizer::Word(Lang::En);
        for text in [
            "Hi, you!",
            "It's 3.14, isn't it?",
            "The students' books (1,000 of them) cost $5.",
            "Meet at 10:30 - state-of-the-art and/or example.com.",
        ] {
            assert_eq!(
                en.detokenize(&en.tokenize(text)),
                text,
                "{:?}",
                en.tokenize(text)
            );
        }
        assert_eq!(en.tokenize("it's"), ["it", "'s"]);
        let de = Tokenizer::Word(Lang::De);
        assert_eq!(de.tokenize("Wie geht's?"), ["Wie", "geht's", "?"]);
        assert_eq!(
            de.detokenize(&de.tokenize("Wie geht's? Gut, danke.")),
            "Wie geht's? Gut, danke."
        );
    }

    #[test]
    #[cfg(feature = "train")]
    fn bpe_round_trips_exactly_and_learns_merges() {
        let corpus = [
            "the cat sat on the mat",
            "the dog sat on the log",
            "a cat and a dog",
            "Ünïcödé text, 2026년!",
        ];
        let bpe =
            Tokenizer::train(TokenizerKind::Bpe, Lang::En, corpus.iter().copied(), 300).unwrap();
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
        let loaded = Tokenizer::load(TokenizerKind::Bpe, Lang::En, &path).unwrap();
        assert_eq!(loaded.tokenize("the dog sat"), bpe.tokenize("the dog sat"));
        std::fs::write(&path, "{ not json").unwrap();
        let err = Tokenizer::load(TokenizerKind::Bpe, Lang::En, &path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bpe.json") && err.contains("not a tokenizer file"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(all(test, feature = "train"))]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    const CORPUS: [&str; 6] = [
        "a cat sat on a mat",
        "le chat est sur le tapis, n'est-ce pas ?",
        "고양이가 매트 위에 앉았다",
        "1234 5678",
        "It's the cat's mat; they're   sitting\n\tthere.",
        "émigré naïve café ✓ 😀😀",
    ];

    /// Hugging Face's trained BPE, and ours read from its JSON.
    fn bpes() -> &'static (tokenizers::Tokenizer, Tokenizer) {
        static BPE: OnceLock<(tokenizers::Tokenizer, Tokenizer)> = OnceLock::new();
        BPE.get_or_init(|| {
            let corpus = CORPUS.iter().cycle().take(60).copied();
            let hf = train_hf_bpe(corpus.clone(), 400).unwrap();
            let ours = Tokenizer::Bpe(Box::new(
                BytePairs::from_json(&hf.to_string(false).unwrap()).unwrap(),
            ));
            (hf, ours)
        })
    }

    fn bpe() -> &'static Tokenizer {
        &bpes().1
    }

    /// Our BPE gives Hugging Face's tokens, and decodes them as it does.
    fn same_as_hf(text: &str) -> Result<(), TestCaseError> {
        let (hf, ours) = bpes();
        let theirs = hf.encode(text, false).unwrap();
        let tokens = ours.tokenize(text);
        prop_assert_eq!(&tokens, &theirs.get_tokens().to_vec(), "{:?}", text);
        let decoded = hf.decode(theirs.get_ids(), false).unwrap();
        prop_assert_eq!(ours.detokenize(&tokens), decoded);
        Ok(())
    }

    #[test]
    fn bpe_applies_merges_as_hugging_face_does() {
        for text in CORPUS.iter().copied().chain([
            "",
            " ",
            "   leading and trailing   ",
            "the cat's mat isn't   here\r\n",
            "tapis tapis tapistapis 12345678 1234",
            "mixed 2026년 numbers123 and--dashes... «quotes»",
        ]) {
            same_as_hf(text).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn tokenizers_never_panic_and_char_and_bpe_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let chars = Tokenizer::Char.tokenize(&text);
            prop_assert_eq!(Tokenizer::Char.detokenize(&chars), text.clone());
            for lang in [Lang::En, Lang::De, Lang::Fr] {
                let word = Tokenizer::Word(lang);
                let words = word.tokenize(&text);
                prop_assert!(words.iter().all(|w| !w.is_empty() && !w.chars().any(char::is_whitespace)));
                let _ = word.detokenize(&words);
            }
            let pieces = bpe().tokenize(&text);
            prop_assert_eq!(bpe().detokenize(&pieces), text.clone());
            same_as_hf(&text)?;
        }
    }
}
