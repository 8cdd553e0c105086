//! Corpus BLEU, chrF and chrF++ exactly as sacreBLEU 2.x computes them, with one or several
//! references per hypothesis.
//!
//! - BLEU (Papineni et al. 2002): tokenisation `13a` (mteval-v13a's, the default), `char` or
//!   `none`; n-grams up to 4 with counts clipped by their most frequent occurrence in any one
//!   reference, summed over the corpus; the reference length closest to each hypothesis (the
//!   shorter on ties); brevity penalty `exp(1 - r/c)`, and the `exp` smoothing (NIST: each
//!   n-gram order without a match gets precision `1 / (2^k · total)`). Sentence-level BLEU uses
//!   sacreBLEU's effective order, as `sacrebleu.sentence_bleu` does. An empty reference is a
//!   reference of length 0, as in sacreBLEU.
//! - chrF (Popović 2015): character n-grams up to 6 with whitespace removed, `β = 2`,
//!   precision and recall averaged over the orders that occur in both hypothesis and reference;
//!   chrF++ (Popović 2017) adds word n-grams up to `word_order` (2), words split from their
//!   leading or trailing punctuation mark. With several references each sentence takes the
//!   statistics of the reference with the best sentence-level score.
//!
//! `assets/sacrebleu/fixtures.json` and `extra_fixtures.json`, written by sacreBLEU 2.6.0 itself
//! through the scripts beside them, are the specification: the tests reproduce every score and
//! signature.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Highest BLEU n-gram order.
const MAX_NGRAM: usize = 4;
/// chrF character n-gram order.
const CHRF_ORDER: usize = 6;
/// chrF recall weight.
const CHRF_BETA: f64 = 2.0;

/// The sacreBLEU version whose scores and signatures these are (checked by the fixtures).
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// BLEU's tokenisation, as sacreBLEU's `--tokenize` names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BleuTokenize {
    /// mteval-v13a (sacreBLEU's default): punctuation split from words.
    #[default]
    #[serde(rename = "13a")]
    Thirteen,
    /// Every non-space character is a token: for character-level tasks, where each sentence
    /// would otherwise be one "word".
    #[serde(rename = "char")]
    Char,
    /// Whitespace only: for text that is already tokenised.
    #[serde(rename = "none")]
    None,
}

impl BleuTokenize {
    /// sacreBLEU's name: `13a`, `char` or `none`.
    pub fn name(&self) -> &'static str {
        match self {
            BleuTokenize::Thirteen => "13a",
            BleuTokenize::Char => "char",
            BleuTokenize::None => "none",
        }
    }

    /// The tokens of a line (sacreBLEU strips trailing whitespace first).
    fn tokens(&self, line: &str) -> Vec<String> {
        let line = line.trim_end();
        match self {
            BleuTokenize::Thirteen => tokenize_13a(line)
                .split_whitespace()
                .map(String::from)
                .collect(),
            BleuTokenize::Char => line
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(String::from)
                .collect(),
            BleuTokenize::None => line.split_whitespace().map(String::from).collect(),
        }
    }
}

impl std::str::FromStr for BleuTokenize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "13a" => Ok(BleuTokenize::Thirteen),
            "char" => Ok(BleuTokenize::Char),
            "none" => Ok(BleuTokenize::None),
            other => Err(format!(
                "unknown BLEU tokenisation {other:?}; expected 13a, char or none"
            )),
        }
    }
}

/// sacreBLEU's signature of a BLEU score, e.g.
/// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
pub fn bleu_signature(n_refs: usize, tokenize: BleuTokenize) -> String {
    format!(
        "nrefs:{n_refs}|case:mixed|eff:no|tok:{}|smooth:exp|version:{SACREBLEU_VERSION}",
        tokenize.name()
    )
}

/// sacreBLEU's signature of a chrF (`word_order` 0) or chrF++ (`word_order` 2) score.
pub fn chrf_signature(n_refs: usize, word_order: usize) -> String {
    format!(
        "nrefs:{n_refs}|case:mixed|eff:yes|nc:{CHRF_ORDER}|nw:{word_order}|space:no|version:{SACREBLEU_VERSION}"
    )
}

/// `signature` for a score of lowercased text (sacreBLEU's `-lc`): `case:lc` for `case:mixed`.
pub fn lowercased_signature(signature: &str) -> String {
    signature.replacen("case:mixed", "case:lc", 1)
}

/// A BLEU score and its parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bleu {
    /// BLEU in [0, 100].
    pub score: f64,
    /// n-gram precisions in [0, 100] (smoothed), n = 1..4.
    pub precisions: [f64; MAX_NGRAM],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis tokens.
    pub sys_len: usize,
    /// Reference tokens.
    pub ref_len: usize,
}

/// The `13a` tokeniser of sacreBLEU (mteval-v13a's): splits punctuation and symbols from words,
/// periods and commas unless between digits, and dashes after digits.
pub fn tokenize_13a(line: &str) -> String {
    static RULES: LazyLock<[(Regex, &str); 4]> = LazyLock::new(|| {
        let re = |r: &str| Regex::new(r).expect("a valid pattern");
        [
            (re(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), " ${1} "),
            (re(r"([^0-9])([\.,])"), "${1} ${2} "),
            (re(r"([\.,])([^0-9])"), " ${1} ${2}"),
            (re(r"([0-9])(-)"), "${1} ${2} "),
        ]
    });
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut line = format!(" {line} ");
    for (re, replacement) in RULES.iter() {
        line = re.replace_all(&line, *replacement).into_owned();
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sufficient statistics of BLEU for one sentence or a corpus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BleuStats {
    sys_len: usize,
    ref_len: usize,
    correct: [usize; MAX_NGRAM],
    total: [usize; MAX_NGRAM],
}

fn ngram_counts(tokens: &[String]) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_NGRAM {
        for window in tokens.windows(n) {
            *counts.entry(window).or_insert(0) += 1;
        }
    }
    counts
}

/// A sentence's references (an empty one is a reference of length 0, as in sacreBLEU).
fn kept<R: AsRef<str>>(refs: &[R]) -> Vec<&str> {
    refs.iter().map(AsRef::as_ref).collect()
}

/// BLEU statistics of one hypothesis against its references.
pub fn bleu_stats<R: AsRef<str>>(hyp: &str, refs: &[R], tokenize: BleuTokenize) -> BleuStats {
    let hyp_tokens = tokenize.tokens(hyp);
    let mut max_ref_counts: HashMap<Vec<String>, usize> = HashMap::new();
    let mut ref_len: Option<usize> = None;
    for reference in kept(refs) {
        let tokens = tokenize.tokens(reference);
        // The reference length closest to the hypothesis, the shorter on ties.
        let (len, hyp_len) = (tokens.len(), hyp_tokens.len());
        ref_len = Some(match ref_len {
            Some(best) if (best.abs_diff(hyp_len), best) <= (len.abs_diff(hyp_len), len) => best,
            _ => len,
        });
        for (ngram, count) in ngram_counts(&tokens) {
            let slot = max_ref_counts.entry(ngram.to_vec()).or_insert(0);
            *slot = (*slot).max(count);
        }
    }
    let mut stats = BleuStats {
        sys_len: hyp_tokens.len(),
        ref_len: ref_len.unwrap_or(0),
        ..BleuStats::default()
    };
    for (ngram, count) in ngram_counts(&hyp_tokens) {
        let n = ngram.len() - 1;
        stats.total[n] += count;
        stats.correct[n] += count.min(max_ref_counts.get(ngram).copied().unwrap_or(0));
    }
    stats
}

impl std::ops::Add for BleuStats {
    type Output = Self;

    /// The statistics of two sets of sentences together.
    fn add(mut self, other: BleuStats) -> Self {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_NGRAM {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
        self
    }
}

impl BleuStats {
    /// sacreBLEU's `compute_bleu` with `smooth_method='exp'`.
    pub fn score(&self, effective_order: bool) -> Bleu {
        let bp = if self.sys_len < self.ref_len {
            if self.sys_len > 0 {
                (1.0 - self.ref_len as f64 / self.sys_len as f64).exp()
            } else {
                0.0
            }
        } else {
            1.0
        };
        let mut precisions = [0.0; MAX_NGRAM];
        let mut bleu = Bleu {
            score: 0.0,
            precisions,
            bp,
            sys_len: self.sys_len,
            ref_len: self.ref_len,
        };
        if self.correct.iter().all(|&c| c == 0) {
            return bleu;
        }
        let mut smooth = 1.0;
        let mut order = MAX_NGRAM;
        for (n, precision) in precisions.iter_mut().enumerate() {
            if self.total[n] == 0 {
                break;
            }
            if effective_order {
                order = n + 1;
            }
            *precision = if self.correct[n] == 0 {
                smooth *= 2.0;
                100.0 / (smooth * self.total[n] as f64)
            } else {
                100.0 * self.correct[n] as f64 / self.total[n] as f64
            };
        }
        let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
        let mean_log = precisions[..order].iter().map(|&p| log(p)).sum::<f64>() / order as f64;
        bleu.score = bp * mean_log.exp();
        bleu.precisions = precisions;
        bleu
    }
}

/// Corpus BLEU (13a) of hypotheses against one reference each.
///
/// # Panics
/// If the two slices differ in length.
pub fn corpus_bleu<H: AsRef<str>, R: AsRef<str>>(hyps: &[H], refs: &[R]) -> Bleu {
    corpus_bleu_with(hyps, &[refs], BleuTokenize::Thirteen)
}

/// Corpus BLEU of hypotheses against one or more reference streams (each aligned with the
/// hypotheses), with the given tokenisation.
///
/// # Panics
/// If a stream's length differs from the hypotheses', or there is no stream.
pub fn corpus_bleu_with<H: AsRef<str>, R: AsRef<str>>(
    hyps: &[H],
    streams: &[&[R]],
    tokenize: BleuTokenize,
) -> Bleu {
    check_streams(hyps.len(), streams);
    (0..hyps.len())
        .map(|i| {
            let refs: Vec<&str> = streams.iter().map(|s| s[i].as_ref()).collect();
            bleu_stats(hyps[i].as_ref(), &refs, tokenize)
        })
        .fold(BleuStats::default(), std::ops::Add::add)
        .score(false)
}

fn check_streams<R>(n: usize, streams: &[&[R]]) {
    assert!(!streams.is_empty(), "at least one reference stream");
    for stream in streams {
        assert_eq!(
            stream.len(),
            n,
            "one reference per hypothesis in every stream"
        );
    }
}

/// Sentence BLEU (13a) with effective order (as `sacrebleu.sentence_bleu`).
pub fn sentence_bleu(hyp: &str, reference: &str) -> f64 {
    bleu_stats(hyp, &[reference], BleuTokenize::Thirteen)
        .score(true)
        .score
}

/// chrF statistics: per order (characters 1..=6, then words 1..=word_order),
/// `[hyp n-grams, ref n-grams, matches]`.
pub type ChrfStats = Vec<[usize; 3]>;

fn windows<T: std::hash::Hash + Eq>(items: &[T], n: usize) -> HashMap<&[T], usize> {
    let mut counts: HashMap<&[T], usize> = HashMap::new();
    for window in items.windows(n) {
        *counts.entry(window).or_insert(0) += 1;
    }
    counts
}

fn ngram_stats<T: std::hash::Hash + Eq>(hyp: &[T], reference: &[T], n: usize) -> [usize; 3] {
    let (h, r) = (windows(hyp, n), windows(reference, n));
    let hyp_count: usize = h.values().sum();
    let matches: usize = h
        .iter()
        .map(|(g, &c)| c.min(r.get(g).copied().unwrap_or(0)))
        .sum();
    // sacreBLEU counts no hypothesis n-grams when the reference has none of that order.
    [
        if r.is_empty() { 0 } else { hyp_count },
        r.values().sum(),
        matches,
    ]
}

/// chrF++'s words: split on whitespace, with one leading or trailing punctuation mark split off
/// (sacreBLEU's `_remove_punctuation`; `(hi)` gives `(hi` and `)`).
fn chrf_words(text: &str) -> Vec<&str> {
    let punct = |c: char| c.is_ascii_punctuation();
    let mut words = Vec::new();
    for w in text.split_whitespace() {
        let mut chars = w.chars();
        let (first, last) = (chars.next(), w.chars().next_back());
        if w.chars().count() == 1 {
            words.push(w);
        } else if last.is_some_and(punct) {
            let cut = w.len() - last.map_or(0, char::len_utf8);
            words.extend([&w[..cut], &w[cut..]]);
        } else if first.is_some_and(punct) {
            let cut = first.map_or(0, char::len_utf8);
            words.extend([&w[..cut], &w[cut..]]);
        } else {
            words.push(w);
        }
    }
    words
}

/// chrF statistics of one hypothesis against one reference.
fn chrf_pair_stats(hyp: &str, reference: &str, word_order: usize) -> ChrfStats {
    let strip = |s: &str| -> Vec<char> { s.split_whitespace().flat_map(str::chars).collect() };
    let (h, r) = (strip(hyp), strip(reference));
    let mut stats: ChrfStats = (1..=CHRF_ORDER).map(|n| ngram_stats(&h, &r, n)).collect();
    if word_order > 0 {
        let (hw, rw) = (chrf_words(hyp), chrf_words(reference));
        stats.extend((1..=word_order).map(|n| ngram_stats(&hw, &rw, n)));
    }
    stats
}

/// chrF statistics of one hypothesis: those of its best-scoring reference.
pub fn chrf_stats<R: AsRef<str>>(hyp: &str, refs: &[R], word_order: usize) -> ChrfStats {
    let mut best: Option<(f64, ChrfStats)> = None;
    for reference in kept(refs) {
        let stats = chrf_pair_stats(hyp, reference, word_order);
        let score = chrf_score(&stats);
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, stats));
        }
    }
    best.map(|(_, s)| s)
        .unwrap_or_else(|| vec![[0; 3]; CHRF_ORDER + word_order])
}

/// chrF (β = 2, in [0, 100]) of summed statistics, as sacreBLEU computes it.
pub fn chrf_score(stats: &[[usize; 3]]) -> f64 {
    let factor = CHRF_BETA * CHRF_BETA;
    let (mut precision, mut recall, mut orders) = (0.0, 0.0, 0);
    for &[n_hyp, n_ref, n_match] in stats {
        if n_hyp > 0 && n_ref > 0 {
            precision += n_match as f64 / n_hyp as f64;
            recall += n_match as f64 / n_ref as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    let (precision, recall) = (precision / orders as f64, recall / orders as f64);
    if precision + recall == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + factor) * precision * recall / (factor * precision + recall)
}

/// Corpus chrF (character 6-grams, β = 2) of hypotheses against one reference each.
///
/// # Panics
/// If the two slices differ in length.
pub fn corpus_chrf<H: AsRef<str>, R: AsRef<str>>(hyps: &[H], refs: &[R]) -> f64 {
    corpus_chrf_with(hyps, &[refs], 0)
}

/// Corpus chrF (`word_order` 0) or chrF++ (`word_order` 2) against one or more reference streams.
///
/// # Panics
/// If a stream's length differs from the hypotheses', or there is no stream.
pub fn corpus_chrf_with<H: AsRef<str>, R: AsRef<str>>(
    hyps: &[H],
    streams: &[&[R]],
    word_order: usize,
) -> f64 {
    check_streams(hyps.len(), streams);
    let total = (0..hyps.len())
        .map(|i| {
            let refs: Vec<&str> = streams.iter().map(|s| s[i].as_ref()).collect();
            chrf_stats(hyps[i].as_ref(), &refs, word_order)
        })
        .fold(vec![[0; 3]; CHRF_ORDER + word_order], add_chrf);
    chrf_score(&total)
}

/// Sums two sets of chrF statistics.
pub fn add_chrf(mut a: ChrfStats, b: ChrfStats) -> ChrfStats {
    if a.len() < b.len() {
        a.resize(b.len(), [0; 3]);
    }
    for (x, y) in a.iter_mut().zip(b) {
        for k in 0..3 {
            x[k] += y[k];
        }
    }
    a
}

/// Sentence chrF.
pub fn sentence_chrf(hyp: &str, reference: &str) -> f64 {
    chrf_score(&chrf_stats(hyp, &[reference], 0))
}

/// Sentence chrF++ (word n-grams up to 2).
pub fn sentence_chrf_pp(hyp: &str, reference: &str) -> f64 {
    chrf_score(&chrf_stats(hyp, &[reference], 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> serde_json::Value {
        let path = &format!(
            "{}/../../assets/sacrebleu/fixtures.json",
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn strings(v: &serde_json::Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    fn floats(v: &serde_json::Value) -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect()
    }

    #[test]
    fn reproduces_sacrebleu_on_every_fixture() {
        let fixtures = fixtures();
        let cases = fixtures["cases"].as_object().unwrap();
        assert!(cases.len() >= 10);
        for (name, case) in cases {
            let (hyps, refs) = (strings(&case["hyps"]), strings(&case["refs"]));
            for (h, expected) in hyps.iter().zip(strings(&case["tokenized_13a"])) {
                assert_eq!(tokenize_13a(h), expected, "{name}: 13a of {h:?}");
            }
            let bleu = corpus_bleu(&hyps, &refs);
            let close = |a: f64, b: f64| (a - b).abs() < 0.01;
            assert!(
                close(bleu.score, case["bleu"].as_f64().unwrap()),
                "{name}: BLEU {} vs {}",
                bleu.score,
                case["bleu"]
            );
            assert_eq!(
                (bleu.sys_len as u64, bleu.ref_len as u64),
                (
                    case["sys_len"].as_u64().unwrap(),
                    case["ref_len"].as_u64().unwrap()
                ),
                "{name}"
            );
            for (p, q) in bleu.precisions.iter().zip(floats(&case["bleu_precisions"])) {
                assert!(close(*p, q), "{name}: precision {p} vs {q}");
            }
            let chrf = corpus_chrf(&hyps, &refs);
            assert!(
                close(chrf, case["chrf"].as_f64().unwrap()),
                "{name}: chrF {chrf} vs {}",
                case["chrf"]
            );
            for ((h, r), (b, c)) in hyps.iter().zip(&refs).zip(
                floats(&case["sentence_bleu"])
                    .into_iter()
                    .zip(floats(&case["sentence_chrf"])),
            ) {
                assert!(
                    close(sentence_bleu(h, r), b),
                    "{name}: sentence BLEU of {h:?}: {} vs {b}",
                    sentence_bleu(h, r)
                );
                assert!(
                    close(sentence_chrf(h, r), c),
                    "{name}: sentence chrF of {h:?}: {} vs {c}",
                    sentence_chrf(h, r)
                );
            }
        }
    }

    fn extra() -> serde_json::Value {
        let path = &format!(
            "{}/../../assets/sacrebleu/extra_fixtures.json",
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn check_bleu(name: &str, bleu: &Bleu, expected: &serde_json::Value) {
        let close = |a: f64, b: f64| (a - b).abs() < 0.01;
        assert!(
            close(bleu.score, expected["score"].as_f64().unwrap()),
            "{name}: BLEU {} vs {}",
            bleu.score,
            expected["score"]
        );
        assert_eq!(
            (bleu.sys_len as u64, bleu.ref_len as u64),
            (
                expected["sys_len"].as_u64().unwrap(),
                expected["ref_len"].as_u64().unwrap()
            ),
            "{name}"
        );
        for (p, q) in bleu.precisions.iter().zip(floats(&expected["precisions"])) {
            assert!(close(*p, q), "{name}: precision {p} vs {q}");
        }
    }

    #[test]
    fn char_and_none_tokenisations_and_signatures_match_sacrebleu() {
        let fixtures = extra();
        for (tok, signature) in fixtures["signatures"].as_object().unwrap() {
            let tok: BleuTokenize = tok.parse().unwrap();
            assert_eq!(bleu_signature(1, tok), signature.as_str().unwrap());
        }
        let cases = fixtures["tokenize"].as_object().unwrap();
        assert!(cases.len() >= 10);
        for (name, case) in cases {
            let (hyps, refs) = (strings(&case["hyps"]), strings(&case["refs"]));
            for tok in [BleuTokenize::Char, BleuTokenize::None] {
                let expected = &case[tok.name()];
                let bleu = corpus_bleu_with(&hyps, &[&refs], tok);
                check_bleu(&format!("{name} ({})", tok.name()), &bleu, expected);
                assert_eq!(
                    bleu_signature(1, tok),
                    expected["signature"].as_str().unwrap()
                );
            }
        }
    }

    #[test]
    fn multi_reference_bleu_chrf_and_chrf_pp_match_sacrebleu() {
        let fixtures = extra();
        let cases = fixtures["multi_ref"].as_object().unwrap();
        assert!(cases.len() >= 5);
        let close = |a: f64, b: f64| (a - b).abs() < 0.01;
        for (name, case) in cases {
            let hyps = strings(&case["hyps"]);
            let streams: Vec<Vec<String>> = case["refs"]
                .as_array()
                .unwrap()
                .iter()
                .map(strings)
                .collect();
            let streams: Vec<&[String]> = streams.iter().map(Vec::as_slice).collect();
            let bleu = corpus_bleu_with(&hyps, &streams, BleuTokenize::Thirteen);
            check_bleu(name, &bleu, &case["bleu"]);
            assert_eq!(
                bleu_signature(streams.len(), BleuTokenize::Thirteen),
                case["bleu"]["signature"].as_str().unwrap()
            );
            for (key, word_order) in [("chrf", 0), ("chrf_pp", 2)] {
                let chrf = corpus_chrf_with(&hyps, &streams, word_order);
                let expected = case[key]["score"].as_f64().unwrap();
                assert!(close(chrf, expected), "{name}: {key} {chrf} vs {expected}");
                assert_eq!(
                    chrf_signature(streams.len(), word_order),
                    case[key]["signature"].as_str().unwrap()
                );
            }
        }
    }

    #[test]
    fn chrf_pp_matches_sacrebleu_on_corpora_and_sentences() {
        let fixtures = extra();
        let close = |a: f64, b: f64| (a - b).abs() < 0.01;
        let corpus = fixtures["chrf_pp"]["corpus"].as_object().unwrap();
        assert!(corpus.len() >= 10);
        for (name, case) in corpus {
            let (hyps, refs) = (strings(&case["hyps"]), strings(&case["refs"]));
            let chrf = corpus_chrf_with(&hyps, &[&refs], 2);
            let expected = case["chrf_pp"]["score"].as_f64().unwrap();
            assert!(close(chrf, expected), "{name}: chrF++ {chrf} vs {expected}");
        }
        for (name, case) in fixtures["chrf_pp"]["sentence"].as_object().unwrap() {
            let (hyps, refs) = (strings(&case["hyps"]), strings(&case["refs"]));
            for ((h, r), expected) in hyps.iter().zip(&refs).zip(floats(&case["scores"])) {
                let got = sentence_chrf_pp(h, r);
                assert!(
                    close(got, expected),
                    "{name}: chrF++ of {h:?}: {got} vs {expected}"
                );
            }
        }
        for pair in fixtures["chrf_pp"]["pairs"].as_array().unwrap() {
            let refs = strings(&pair["refs"]);
            let hyp = pair["hyp"].as_str().unwrap();
            let got = chrf_score(&chrf_stats(hyp, &refs, 2));
            let expected = pair["score"].as_f64().unwrap();
            assert!(
                close(got, expected),
                "chrF++ of {hyp:?} vs {refs:?}: {got} vs {expected}"
            );
        }
    }
}
