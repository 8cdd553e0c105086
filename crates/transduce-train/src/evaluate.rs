//! Translating text with a trained model, and scoring translations against references.

use burn::prelude::*;
use serde::Serialize;
use transduce_data::{Codec, Pair, pad_ids};
use transduce_decode::{BeamConfig, Hypothesis, beam_search, greedy};
use transduce_nn::Seq2Seq;

use crate::TrainError;
use crate::score::{corpus_bleu, corpus_chrf};
use transduce_nn::Model;

/// A model with its tokenizers and vocabularies, ready to translate text.
pub struct Translator {
    /// The model (inference mode).
    pub model: Model,
    /// Tokenizers and vocabularies.
    pub codec: Codec,
    /// Where the model lives.
    pub device: Device,
    /// Sentences decoded together.
    pub batch_size: usize,
    /// Beam width (1 = greedy).
    pub beam_width: usize,
}

/// How well a model reproduces references.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// Corpus BLEU in [0, 100], as sacreBLEU computes it (13a, exp smoothing).
    pub bleu: f64,
    /// Corpus chrF in [0, 100], as sacreBLEU computes it (character 6-grams, β = 2).
    pub chrf: f64,
    /// Fraction of hypotheses equal to their reference, in [0, 1].
    pub exact_match: f64,
    /// Number of pairs.
    pub n: usize,
}

/// The longest output to decode for sources of up to `longest_source` tokens: `2n + 10`, within
/// the model's position table.
pub fn decode_limit<M: Seq2Seq>(model: &M, longest_source: usize) -> usize {
    (2 * longest_source + 10).min(model.max_len().map_or(usize::MAX, |m| m - 1))
}

impl Translator {
    /// Translations of `sources`, in order. Empty sources give empty translations.
    ///
    /// Sentences are decoded in batches of similar length. A source longer than the model's
    /// position table (learned positions) is an error naming its index (1-based).
    pub fn translate(&self, sources: &[String]) -> Result<Vec<String>, TrainError> {
        let ids: Vec<Vec<usize>> = sources.iter().map(|s| self.codec.encode_src(s)).collect();
        Ok(self
            .decode(&ids)?
            .into_iter()
            .map(|h| h.map_or_else(String::new, |h| self.codec.decode_tgt(&h.tokens)))
            .collect())
    }

    /// Hypotheses for id sequences, in order (`None` for empty ones): greedy, or beam search
    /// when `beam_width > 1`.
    pub fn decode(&self, sources: &[Vec<usize>]) -> Result<Vec<Option<Hypothesis>>, TrainError> {
        let limit = self.model.max_len();
        if let Some(max_len) = limit
            && let Some(i) = sources.iter().position(|s| s.len() > max_len)
        {
            return Err(TrainError::Input(format!(
                "sentence {} has {} tokens, more than the {max_len} positions the model was built for (max_len)",
                i + 1,
                sources[i].len()
            )));
        }
        let mut order: Vec<usize> = (0..sources.len())
            .filter(|&i| !sources[i].is_empty())
            .collect();
        order.sort_by_key(|&i| sources[i].len());
        let mut out = vec![None; sources.len()];
        for chunk in order.chunks(self.batch_size.max(1)) {
            let rows: Vec<Vec<usize>> = chunk.iter().map(|&i| sources[i].clone()).collect();
            let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
            let (src, mask) = pad_ids(rows, &self.device);
            let max_len = decode_limit(&self.model, longest);
            let hyps = if self.beam_width > 1 {
                beam_search(
                    &self.model,
                    src,
                    mask,
                    &BeamConfig::new(self.beam_width, max_len),
                )
            } else {
                greedy(&self.model, src, mask, max_len)
            };
            for (&i, hyp) in chunk.iter().zip(hyps) {
                out[i] = Some(hyp);
            }
        }
        Ok(out)
    }

    /// Translates the sources of `pairs` and scores the translations against the references:
    /// BLEU and chrF on the detokenised text, and exact match after the reference goes through
    /// the same tokenisation (so `word` compares token sequences).
    pub fn evaluate(&self, pairs: &[Pair]) -> Result<(EvalReport, Vec<String>), TrainError> {
        let sources: Vec<String> = pairs.iter().map(|p| p.src.clone()).collect();
        let hyps = self.translate(&sources)?;
        let tok = &self.codec.tgt_tokenizer;
        let correct = pairs
            .iter()
            .zip(&hyps)
            .filter(|(p, h)| tok.detokenize(&tok.tokenize(&p.tgt)) == **h)
            .count();
        let n = pairs.len();
        let refs: Vec<&str> = pairs.iter().map(|p| p.tgt.as_str()).collect();
        let report = EvalReport {
            bleu: corpus_bleu(&hyps, &refs).score,
            chrf: corpus_chrf(&hyps, &refs),
            exact_match: if n == 0 {
                0.0
            } else {
                correct as f64 / n as f64
            },
            n,
        };
        Ok((report, hyps))
    }
}
