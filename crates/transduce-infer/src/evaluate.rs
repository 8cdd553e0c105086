//! Translating text with a trained model, and scoring translations against references.

use burn::prelude::*;
use serde::Serialize;
use transduce_data::{Codec, Normalization, Pair, Tokenizer, pad_ids};
use transduce_decode::{
    BeamConfig, Hypothesis, LengthPenalty, beam_search_nbest_async, greedy_with_limits_async,
};
use transduce_nn::Seq2Seq;
use transduce_nn::special::UNK;

use crate::InferError;
use crate::artifact::RunConfig;
use crate::score::{BleuTokenize, bleu_signature, corpus_bleu_with, corpus_chrf};
use transduce_nn::Model;

/// A model with its tokenizers and vocabularies, ready to translate text.
pub struct Translator {
    /// The model (inference mode).
    pub model: Model,
    /// Tokenizers and vocabularies.
    pub codec: Codec,
    /// Where the model lives.
    pub device: Device,
    /// Sentences decoded together. Default: 64
    pub batch_size: usize,
    /// Beam width (1 = greedy). Default: 1
    pub beam_width: usize,
    /// How beam search ranks hypotheses of different lengths. Default: [`LengthPenalty::Average`]
    pub length_penalty: LengthPenalty,
    /// The longest output decoded for each source. Default: `2·|x| + 10`
    pub length_limit: LengthLimit,
    /// The normalisation training applied to its data (lowercasing), applied to every source.
    pub normalization: Normalization,
    /// BLEU's tokenisation when scoring. Default: 13a
    pub bleu_tokenize: BleuTokenize,
}

/// How well a model reproduces references.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// Corpus BLEU in [0, 100], as sacreBLEU computes it (exp smoothing; see `bleu_signature`).
    pub bleu: f64,
    /// sacreBLEU's signature of the BLEU score, e.g. `nrefs:1|case:mixed|eff:no|tok:char|smooth:exp|version:2.6.0`.
    pub bleu_signature: String,
    /// Corpus chrF in [0, 100], as sacreBLEU computes it (character 6-grams, β = 2).
    pub chrf: f64,
    /// Fraction of hypotheses equal to their reference, in [0, 1].
    pub exact_match: f64,
    /// Number of pairs.
    pub n: usize,
    /// Source tokens, after normalisation and tokenisation.
    pub source_tokens: usize,
    /// Source tokens the model's vocabulary does not have (read as `<unk>`).
    pub unknown_source_tokens: usize,
}

/// Whether a translation equals its reference once the reference goes through the target
/// tokenizer and back (so the word tokenizer compares token sequences). Validation and `eval`
/// both count exact matches with this.
pub fn exact_match(tokenizer: &Tokenizer, hyp: &str, reference: &str) -> bool {
    tokenizer.detokenize(&tokenizer.tokenize(reference)) == hyp
}

/// The longest output decoded for a source of `|x|` tokens: `a·|x| + b` tokens (fairseq's
/// `--max-len-a` and `--max-len-b`; `<eos>` is forced there), within the model's position table.
/// Each sentence has its own limit, so its translation does not depend on the batch it is
/// decoded in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LengthLimit {
    /// Tokens per source token. Default: 2.0
    pub a: f64,
    /// Tokens added. Default: 10
    pub b: usize,
}

impl Default for LengthLimit {
    fn default() -> Self {
        LengthLimit { a: 2.0, b: 10 }
    }
}

impl LengthLimit {
    /// The limit for a source of `source_len` tokens: `⌊a·|x|⌋ + b`, at most the model's
    /// position table allows.
    pub fn for_source<M: Seq2Seq>(&self, model: &M, source_len: usize) -> usize {
        let scaled = (self.a * source_len as f64).floor().max(0.0) as usize;
        (scaled + self.b).min(model.max_len().map_or(usize::MAX, |m| m - 1))
    }
}

/// The default [`LengthLimit`] for a source of `source_len` tokens: `2n + 10`, as validation
/// during training decodes.
pub fn decode_limit<M: Seq2Seq>(model: &M, source_len: usize) -> usize {
    LengthLimit::default().for_source(model, source_len)
}

impl Translator {
    /// A greedy translator in batches of 64, with no normalisation and 13a BLEU.
    pub fn new(model: Model, codec: Codec, device: Device) -> Self {
        Translator {
            model,
            codec,
            device,
            batch_size: 64,
            beam_width: 1,
            length_penalty: LengthPenalty::Average,
            length_limit: LengthLimit::default(),
            normalization: Normalization::default(),
            bleu_tokenize: BleuTokenize::default(),
        }
    }

    /// A greedy translator that normalises and scores as the run `config` does (lowercasing,
    /// BLEU's tokenisation): training's final evaluation and `Artifact::translator` build it.
    pub fn for_run(model: Model, codec: Codec, device: Device, config: &RunConfig) -> Self {
        Translator::new(model, codec, device)
            .with_normalization(config.data.normalization())
            .with_bleu_tokenize(config.training.bleu_tokenize(&config.data))
    }

    /// Sets the beam width (1 = greedy).
    pub fn with_beam_width(mut self, beam_width: usize) -> Self {
        self.beam_width = beam_width;
        self
    }

    /// Sets how beam search ranks hypotheses of different lengths.
    pub fn with_length_penalty(mut self, length_penalty: LengthPenalty) -> Self {
        self.length_penalty = length_penalty;
        self
    }

    /// Sets the longest output decoded for each source.
    pub fn with_length_limit(mut self, length_limit: LengthLimit) -> Self {
        self.length_limit = length_limit;
        self
    }

    /// Sets how many sentences are decoded together.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the normalisation applied to sources (training's).
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Sets BLEU's tokenisation for [`Translator::evaluate`].
    pub fn with_bleu_tokenize(mut self, tokenize: BleuTokenize) -> Self {
        self.bleu_tokenize = tokenize;
        self
    }

    /// Source ids of sentences, normalised as training saw them, and how many of the ids are
    /// `<unk>` (input the model cannot represent).
    pub fn encode(&self, sources: &[String]) -> (Vec<Vec<usize>>, usize) {
        let ids: Vec<Vec<usize>> = sources
            .iter()
            .map(|s| self.codec.encode_src(&self.normalization.text(s)))
            .collect();
        let unknown = ids.iter().flatten().filter(|&&id| id == UNK).count();
        (ids, unknown)
    }

    /// Translations of `sources`, in order. Empty sources give empty translations.
    ///
    /// Sentences are decoded in batches of similar length. A source longer than the model's
    /// position table (learned positions) is an error naming its index (1-based).
    pub fn translate(&self, sources: &[String]) -> Result<Vec<String>, InferError> {
        self.translate_with(sources, &mut |_| {})
    }

    /// [`Translator::translate`], calling `progress` with the number of sentences of each
    /// finished batch.
    pub fn translate_with(
        &self,
        sources: &[String],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<String>, InferError> {
        let (ids, _) = self.encode(sources);
        self.translate_ids(&ids, progress)
    }

    /// Translations of source ids (from [`Translator::encode`]).
    pub fn translate_ids(
        &self,
        ids: &[Vec<usize>],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<String>, InferError> {
        Ok(self
            .decode_with(ids, progress)?
            .into_iter()
            .map(|h| h.map_or_else(String::new, |h| self.codec.decode_tgt(&h.tokens)))
            .collect())
    }

    /// Hypotheses for id sequences, in order (`None` for empty ones): greedy, or beam search
    /// when `beam_width > 1`.
    pub fn decode(&self, sources: &[Vec<usize>]) -> Result<Vec<Option<Hypothesis>>, InferError> {
        self.decode_with(sources, &mut |_| {})
    }

    /// [`Translator::decode`] with a progress callback (sentences per finished batch).
    pub fn decode_with(
        &self,
        sources: &[Vec<usize>],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Option<Hypothesis>>, InferError> {
        Ok(self
            .decode_nbest_with(sources, 1, progress)?
            .into_iter()
            .map(|list| list.into_iter().next())
            .collect())
    }

    /// The `nbest` best hypotheses of each id sequence, best first as
    /// [`Translator::length_penalty`] ranks them, distinct (empty lists for empty sources):
    /// greedy (`nbest` must then be 1), or beam search when `beam_width > 1` (`nbest` at most
    /// the width). Calls `progress` with the sentences of each finished batch.
    pub fn decode_nbest_with(
        &self,
        sources: &[Vec<usize>],
        nbest: usize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<Hypothesis>>, InferError> {
        burn::tensor::read_sync(self.decode_nbest_async(sources, nbest, progress))
    }

    /// [`Translator::decode_nbest_with`], reading the device without blocking: a web page
    /// decodes with this, as a browser cannot wait for WebGPU.
    pub async fn decode_nbest_async(
        &self,
        sources: &[Vec<usize>],
        nbest: usize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<Hypothesis>>, InferError> {
        // The limit is set per batch below.
        let search = BeamConfig {
            length_penalty: self.length_penalty,
            nbest,
            ..BeamConfig::new(self.beam_width, 0)
        };
        search.validate()?;
        let limit = self.model.max_len();
        if let Some(max_len) = limit
            && let Some(i) = sources.iter().position(|s| s.len() > max_len)
        {
            return Err(InferError::Input(format!(
                "sentence {} has {} tokens, more than the {max_len} positions the model was built for (max_len)",
                i + 1,
                sources[i].len()
            )));
        }
        let mut order: Vec<usize> = (0..sources.len())
            .filter(|&i| !sources[i].is_empty())
            .collect();
        order.sort_by_key(|&i| sources[i].len());
        let mut out = vec![Vec::new(); sources.len()];
        for chunk in order.chunks(self.batch_size.max(1)) {
            let rows: Vec<Vec<usize>> = chunk.iter().map(|&i| sources[i].clone()).collect();
            let limits: Vec<usize> = rows
                .iter()
                .map(|r| self.length_limit.for_source(&self.model, r.len()))
                .collect();
            let (src, mask) = pad_ids(rows, &self.device);
            let lists = if self.beam_width > 1 {
                let config = BeamConfig {
                    max_len: limits.iter().copied().max().unwrap_or(0),
                    ..search.clone()
                };
                beam_search_nbest_async(&self.model, src, mask, &config, &limits).await
            } else {
                greedy_with_limits_async(&self.model, src, mask, &limits)
                    .await
                    .into_iter()
                    .map(|h| vec![h])
                    .collect()
            };
            for (&i, list) in chunk.iter().zip(lists) {
                out[i] = list;
            }
            progress(chunk.len());
        }
        progress(sources.len() - order.len());
        Ok(out)
    }

    /// Translates the sources of `pairs` and scores the translations against the references:
    /// BLEU and chrF on the detokenised text, and exact match as [`exact_match`] counts it.
    ///
    /// `pairs` must be oriented and normalised as training saw them (the artifact's
    /// `test.tsv` is; apply [`Normalization::pair`] to pairs read from elsewhere).
    pub fn evaluate(&self, pairs: &[Pair]) -> Result<(EvalReport, Vec<String>), InferError> {
        self.evaluate_with(pairs, &mut |_| {})
    }

    /// [`Translator::evaluate`] with a progress callback (sentences per finished batch).
    pub fn evaluate_with(
        &self,
        pairs: &[Pair],
        progress: &mut dyn FnMut(usize),
    ) -> Result<(EvalReport, Vec<String>), InferError> {
        let sources: Vec<String> = pairs.iter().map(|p| p.src.clone()).collect();
        let (ids, unknown) = self.encode(&sources);
        let hyps = self.translate_ids(&ids, progress)?;
        let tok = &self.codec.tgt_tokenizer;
        let correct = pairs
            .iter()
            .zip(&hyps)
            .filter(|(p, h)| exact_match(tok, h, &p.tgt))
            .count();
        let n = pairs.len();
        let refs: Vec<&str> = pairs.iter().map(|p| p.tgt.as_str()).collect();
        let report = EvalReport {
            bleu: corpus_bleu_with(&hyps, &[&refs], self.bleu_tokenize).score,
            bleu_signature: bleu_signature(1, self.bleu_tokenize),
            chrf: corpus_chrf(&hyps, &refs),
            exact_match: if n == 0 {
                0.0
            } else {
                correct as f64 / n as f64
            },
            n,
            source_tokens: ids.iter().map(Vec::len).sum(),
            unknown_source_tokens: unknown,
        };
        Ok((report, hyps))
    }
}
