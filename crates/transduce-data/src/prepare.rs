//! From splits of text pairs to vocabularies and id examples: the data a training run uses.

use crate::moses::Lang;
use crate::{DataError, Example, Pair, Splits, Tokenizer, TokenizerKind, Vocab};

/// Tokenizers and vocabularies of both sides, built from the training split.
#[derive(Clone, Debug)]
pub struct Codec {
    /// Source tokenizer.
    pub src_tokenizer: Tokenizer,
    /// Target tokenizer.
    pub tgt_tokenizer: Tokenizer,
    /// Source vocabulary.
    pub src_vocab: Vocab,
    /// Target vocabulary.
    pub tgt_vocab: Vocab,
}

impl Codec {
    /// Trains the tokenizers and builds the vocabularies on `train`.
    ///
    /// BPE learns up to `vocab_size` entries; char and word vocabularies keep the `vocab_size`
    /// most frequent tokens seen at least `min_freq` times. With `joint`, one tokenizer and one
    /// vocabulary serve both sides (needed for shared embeddings; the word tokenizer keeps each
    /// side's language). `langs` are the source and target languages.
    pub fn build(
        train: &[Pair],
        kind: TokenizerKind,
        langs: (Lang, Lang),
        vocab_size: usize,
        min_freq: usize,
        joint: bool,
    ) -> Result<Self, DataError> {
        let srcs = || train.iter().map(|p| p.src.as_str());
        let tgts = || train.iter().map(|p| p.tgt.as_str());
        let (src_tokenizer, tgt_tokenizer) = if joint && kind == TokenizerKind::Bpe {
            let both = Tokenizer::train(kind, langs.0, srcs().chain(tgts()), vocab_size)?;
            (both.clone(), both)
        } else {
            (
                Tokenizer::train(kind, langs.0, srcs(), vocab_size)?,
                Tokenizer::train(kind, langs.1, tgts(), vocab_size)?,
            )
        };
        let cap = (kind != TokenizerKind::Bpe).then_some(vocab_size);
        let src: Vec<Vec<String>> = srcs().map(|s| src_tokenizer.tokenize(s)).collect();
        let tgt: Vec<Vec<String>> = tgts().map(|t| tgt_tokenizer.tokenize(t)).collect();
        // Byte-level BPE: every byte symbol is in the vocabulary even if training never saw it.
        let (src_vocab, tgt_vocab) = if joint {
            let vocab = Vocab::build(src.iter().chain(&tgt).map(Vec::as_slice), min_freq, cap)
                .with_tokens(src_tokenizer.alphabet());
            (vocab.clone(), vocab)
        } else {
            (
                Vocab::build(src.iter().map(Vec::as_slice), min_freq, cap)
                    .with_tokens(src_tokenizer.alphabet()),
                Vocab::build(tgt.iter().map(Vec::as_slice), min_freq, cap)
                    .with_tokens(tgt_tokenizer.alphabet()),
            )
        };
        Ok(Codec {
            src_tokenizer,
            tgt_tokenizer,
            src_vocab,
            tgt_vocab,
        })
    }

    /// Source ids of a sentence.
    pub fn encode_src(&self, text: &str) -> Vec<usize> {
        self.src_vocab.encode(&self.src_tokenizer.tokenize(text))
    }

    /// Target ids of a sentence.
    pub fn encode_tgt(&self, text: &str) -> Vec<usize> {
        self.tgt_vocab.encode(&self.tgt_tokenizer.tokenize(text))
    }

    /// Text of target ids (stops at `<eos>`).
    pub fn decode_tgt(&self, ids: &[usize]) -> String {
        self.tgt_tokenizer.detokenize(&self.tgt_vocab.decode(ids))
    }

    /// Id examples of pairs.
    pub fn examples(&self, pairs: &[Pair]) -> Vec<Example> {
        pairs
            .iter()
            .map(|p| Example {
                src: self.encode_src(&p.src),
                tgt: self.encode_tgt(&p.tgt),
            })
            .collect()
    }
}

/// The splits of a run and their codec.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Text pairs.
    pub splits: Splits,
    /// Tokenizers and vocabularies.
    pub codec: Codec,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: (Lang, Lang) = (Lang::En, Lang::En);

    #[test]
    fn round_trips_known_tokens_and_maps_unknown_ones_to_unk() {
        let train = vec![Pair::new("123", "321"), Pair::new("45", "54")];
        let codec = Codec::build(&train, TokenizerKind::Char, EN, usize::MAX, 1, false).unwrap();
        assert_eq!(codec.decode_tgt(&codec.encode_tgt("5432")), "5432");
        assert_eq!(codec.encode_src("9"), vec![transduce_nn::special::UNK]);
        let ex = codec.examples(&train);
        assert_eq!(ex[1].src.len(), 2);
        let words = vec![Pair::new("a b", "x"), Pair::new("b", "y z")];
        let joint = Codec::build(&words, TokenizerKind::Word, EN, usize::MAX, 1, true).unwrap();
        assert_eq!(joint.src_vocab, joint.tgt_vocab);
        assert_eq!(joint.src_vocab.len(), 4 + 5);
        let separate = Codec::build(&words, TokenizerKind::Word, EN, usize::MAX, 1, false).unwrap();
        assert_eq!(separate.src_vocab.len(), 4 + 2);
    }

    #[test]
    fn byte_level_bpe_never_reads_a_byte_as_unk() {
        // Trained on lowercase ASCII only, with min_freq 2: bytes it never saw must still map
        // to known symbols, so every input (accents, Korean, control characters) has no <unk>.
        let train: Vec<Pair> = (0..50)
            .map(|i| Pair::new(format!("abc abd {i}"), format!("xyz {i}")))
            .collect();
        let codec = Codec::build(&train, TokenizerKind::Bpe, EN, 300, 2, false).unwrap();
        let all_bytes: Vec<u8> = (0..=255u8).collect();
        let text =
            String::from_utf8_lossy(&all_bytes).into_owned() + "Ünïcödé 고양이 \u{0}\u{7f} ∑ 🦀";
        for ids in [codec.encode_src(&text), codec.encode_tgt(&text)] {
            assert!(!ids.is_empty());
            assert!(!ids.contains(&transduce_nn::special::UNK), "{ids:?}");
        }
        assert!(codec.src_vocab.len() >= 4 + 256);
    }
}
