//! From splits of text pairs to vocabularies and id examples: the data a training run uses.

use crate::{Example, Pair, Splits, Tokenizer, Vocab};

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
    /// Builds both vocabularies from `train` (tokens seen at least `min_freq` times); with
    /// `joint`, one vocabulary of both sides serves both (needed for shared embeddings).
    pub fn build(
        train: &[Pair],
        src_tokenizer: Tokenizer,
        tgt_tokenizer: Tokenizer,
        min_freq: usize,
        joint: bool,
    ) -> Self {
        let src: Vec<Vec<String>> = train
            .iter()
            .map(|p| src_tokenizer.tokenize(&p.src))
            .collect();
        let tgt: Vec<Vec<String>> = train
            .iter()
            .map(|p| tgt_tokenizer.tokenize(&p.tgt))
            .collect();
        let (src_vocab, tgt_vocab) = if joint {
            let vocab = Vocab::build(src.iter().chain(&tgt).map(Vec::as_slice), min_freq, None);
            (vocab.clone(), vocab)
        } else {
            (
                Vocab::build(src.iter().map(Vec::as_slice), min_freq, None),
                Vocab::build(tgt.iter().map(Vec::as_slice), min_freq, None),
            )
        };
        Codec {
            src_tokenizer,
            tgt_tokenizer,
            src_vocab,
            tgt_vocab,
        }
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

    #[test]
    fn round_trips_known_tokens_and_maps_unknown_ones_to_unk() {
        let train = vec![Pair::new("123", "321"), Pair::new("45", "54")];
        let codec = Codec::build(&train, Tokenizer::Char, Tokenizer::Char, 1, false);
        assert_eq!(codec.decode_tgt(&codec.encode_tgt("5432")), "5432");
        assert_eq!(codec.encode_src("9"), vec![transduce_nn::special::UNK]);
        let ex = codec.examples(&train);
        assert_eq!(ex[1].src.len(), 2);
        let words = vec![Pair::new("a b", "x"), Pair::new("b", "y z")];
        let joint = Codec::build(&words, Tokenizer::Word, Tokenizer::Word, 1, true);
        assert_eq!(joint.src_vocab, joint.tgt_vocab);
        assert_eq!(joint.src_vocab.len(), 4 + 5);
        let separate = Codec::build(&words, Tokenizer::Word, Tokenizer::Word, 1, false);
        assert_eq!(separate.src_vocab.len(), 4 + 2);
    }
}
