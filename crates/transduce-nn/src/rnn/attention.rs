//! Attention of a recurrent decoder over the encoder's states.
//!
//! Luong et al. 2015 ("Effective Approaches to Attention-based Neural Machine Translation",
//! <https://arxiv.org/abs/1508.04025>), global attention with the current decoder state `s_t`:
//! ```text
//! dot:     e_ti = s_t · h_i
//! general: e_ti = s_t · (W_a h_i)
//! concat:  e_ti = v · tanh(W_a [s_t; h_i])  =  v · tanh(W s_t + U h_i)
//! ```
//! Bahdanau et al. 2015 ("Neural Machine Translation by Jointly Learning to Align and
//! Translate", <https://arxiv.org/abs/1409.0473>), additive, with the previous state `s_{t-1}`:
//! ```text
//! additive: e_ti = v · tanh(W s_{t-1} + U h_i)
//! ```
//! Then `α_t = softmax(e_t)` over the real source positions (padding gets exactly 0) and the
//! context `a_t = Σ_i α_ti h_i`. The key side (`W_a h_i`, `U h_i`) is computed once per sentence.

use crate::activation::tanh;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};

use crate::NnError;
use crate::pytorch::Importer;

/// Scores before the softmax at masked positions; `exp` of it is exactly 0 in f32.
const MASKED_SCORE: f32 = -1.0e9;

/// How a decoder state is scored against an encoder state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Score {
    /// `s · h` (needs equal widths).
    Dot,
    /// `s · W_a h`.
    General,
    /// `v · tanh(W s + U h)` (Luong's concat; Bahdanau's additive is the same form).
    Concat,
}

impl Score {
    /// The name given to `--score`.
    pub fn name(&self) -> &'static str {
        match self {
            Score::Dot => "dot",
            Score::General => "general",
            Score::Concat => "concat",
        }
    }
}

/// Configuration of [`RnnAttention`].
#[derive(Config, Debug)]
pub struct RnnAttentionConfig {
    /// The score function.
    pub score: Score,
    /// Width of the decoder state (the query).
    pub d_query: usize,
    /// Width of the encoder states (keys and values).
    pub d_key: usize,
    /// Width of the hidden layer of `concat` scores.
    pub d_attn: usize,
}

/// Scores, weights and context of one decoder state over the encoder states.
///
/// The score function is given by which projections exist: none (dot), `key` only (general), or
/// `key`, `query` and `v` (concat/additive).
#[derive(Module, Debug)]
pub struct RnnAttention {
    /// `W_a` (general: `d_key -> d_query`) or `U` (concat: `d_key -> d_attn`).
    key: Option<Linear>,
    /// `W` of concat scores: `d_query -> d_attn`, no bias.
    query: Option<Linear>,
    /// `v` of concat scores: `d_attn -> 1`, no bias.
    v: Option<Linear>,
}

impl RnnAttentionConfig {
    /// Initialises the projections the score needs.
    ///
    /// # Panics
    /// For `dot` with different query and key widths (configs are validated before this).
    pub fn init(&self, device: &Device) -> RnnAttention {
        match self.score {
            Score::Dot => {
                assert_eq!(self.d_query, self.d_key, "dot scores need equal widths");
                RnnAttention {
                    key: None,
                    query: None,
                    v: None,
                }
            }
            Score::General => RnnAttention {
                key: Some(
                    LinearConfig::new(self.d_key, self.d_query)
                        .with_bias(false)
                        .init(device),
                ),
                query: None,
                v: None,
            },
            Score::Concat => RnnAttention {
                key: Some(LinearConfig::new(self.d_key, self.d_attn).init(device)),
                query: Some(
                    LinearConfig::new(self.d_query, self.d_attn)
                        .with_bias(false)
                        .init(device),
                ),
                v: Some(
                    LinearConfig::new(self.d_attn, 1)
                        .with_bias(false)
                        .init(device),
                ),
            },
        }
    }
}

impl RnnAttention {
    /// This attention with PyTorch's `key` (`W_a` or `U`, a `Linear`), `query` (`W`, no bias)
    /// and `v` (no bias), those the score has.
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        let load = |linear: Option<Linear>, name: &str| match linear {
            Some(linear) => from.linear(linear, name).map(Some),
            None => Ok(None),
        };
        Ok(RnnAttention {
            key: load(self.key, "key")?,
            query: load(self.query, "query")?,
            v: load(self.v, "v")?,
        })
    }

    /// The key side of the scores, computed once per sentence.
    ///
    /// # Shapes
    /// - memory: `[batch_size, src_len, d_key]`
    /// - output: `[batch_size, src_len, d_query]` (dot, general) or `[batch_size, src_len, d_attn]` (concat)
    pub fn keys(&self, memory: Tensor<3>) -> Tensor<3> {
        match &self.key {
            Some(key) => key.forward(memory),
            None => memory,
        }
    }

    /// Attends with one query per sentence.
    ///
    /// # Shapes
    /// - query: `[batch_size, d_query]`
    /// - keys: from [`RnnAttention::keys`]
    /// - values: `[batch_size, src_len, d_key]`
    /// - mask_pad: `[batch_size, src_len]` (`true` = padding)
    /// - output: context `[batch_size, d_key]`, weights `[batch_size, src_len]`
    pub fn forward(
        &self,
        query: Tensor<2>,
        keys: Tensor<3>,
        values: Tensor<3>,
        mask_pad: Tensor<2, Bool>,
    ) -> (Tensor<2>, Tensor<2>) {
        let [batch_size, src_len, d_value] = values.dims();
        let scores = match (&self.query, &self.v) {
            (Some(w), Some(v)) => {
                let q = w.forward(query).unsqueeze_dim::<3>(1); // [batch, 1, d_attn]
                v.forward(tanh(keys + q)).reshape([batch_size, src_len]) // [batch, src_len]
            }
            _ => keys
                .matmul(query.unsqueeze_dim::<3>(2)) // [batch, src_len, 1]
                .reshape([batch_size, src_len]),
        };
        let weights = softmax(scores.mask_fill(mask_pad, MASKED_SCORE), 1); // [batch, src_len]
        let context = weights
            .clone()
            .unsqueeze_dim::<3>(1)
            .matmul(values) // [batch, 1, d_value]
            .reshape([batch_size, d_value]);
        (context, weights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::test_device;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn weights_sum_to_one_are_zero_on_padding_and_ignore_extra_padding() {
        let dev = test_device();
        for score in [Score::Dot, Score::General, Score::Concat] {
            let attn = RnnAttentionConfig::new(score, 6, 6, 5).init(&dev);
            let memory = Tensor::<3>::random([2, 4, 6], Distribution::Default, &dev);
            let query = Tensor::<2>::random([2, 6], Distribution::Default, &dev);
            let mask = Tensor::<2, Bool>::from_data(
                [[false, false, false, true], [false, false, true, true]],
                &dev,
            );
            let (context, weights) = attn.forward(
                query.clone(),
                attn.keys(memory.clone()),
                memory.clone(),
                mask,
            );
            assert_eq!(context.dims(), [2, 6]);
            let w: Vec<f32> = weights.into_data().try_to_vec().unwrap();
            assert!(
                (w[..4].iter().sum::<f32>() - 1.0).abs() < 1e-5
                    && (w[4..].iter().sum::<f32>() - 1.0).abs() < 1e-5
            );
            assert_eq!((w[3], w[6], w[7]), (0.0, 0.0, 0.0), "{score:?}");

            // More padding (with junk behind it) changes nothing.
            let junk = Tensor::<3>::random([2, 3, 6], Distribution::Default, &dev);
            let longer = Tensor::cat(vec![memory, junk], 1);
            let mask_short = Tensor::<2, Bool>::from_data(
                [[false, false, false, true], [false, false, true, true]],
                &dev,
            );
            let mask_long = Tensor::cat(
                vec![
                    mask_short,
                    Tensor::<2, Bool>::from_data([[true; 3], [true; 3]], &dev),
                ],
                1,
            );
            let (context_long, _) =
                attn.forward(query, attn.keys(longer.clone()), longer, mask_long);
            context_long
                .into_data()
                .assert_approx_eq::<f32>(&context.into_data(), Tolerance::default());
        }
    }

    /// Luong's dot, general and concat scores and Bahdanau's additive score (with `s_{t-1}`),
    /// their weights and contexts, against the formulas computed by PyTorch.
    #[test]
    fn scores_weights_and_contexts_equal_the_formulas() {
        use crate::pytorch::fixtures::{assert_close, load, mask, tensor};
        use crate::pytorch::with_weights;
        let dev = test_device();
        let f = &load()["attention"];
        let h = tensor::<3>(&f["h"], &dev); // [2, 5, 4]
        let mask = mask(&f["lengths"], 5, &dev);
        let matrix = |v: &serde_json::Value| tensor::<2>(v, &dev).transpose(); // [out, in] -> [in, out]
        let cases = [
            ("dot", Score::Dot, "s"),
            ("general", Score::General, "s"),
            ("concat", Score::Concat, "s"),
            ("additive", Score::Concat, "s_prev"),
        ];
        for (name, score, query) in cases {
            let case = &f[name];
            let mut attn = RnnAttentionConfig::new(score, 4, 4, 6).init(&dev);
            match score {
                Score::Dot => {}
                Score::General => {
                    attn.key = attn
                        .key
                        .map(|k| with_weights(k, matrix(&case["W_a"]), None));
                }
                Score::Concat => {
                    let bias = tensor::<1>(&case["U_bias"], &dev);
                    attn.key = attn
                        .key
                        .map(|k| with_weights(k, matrix(&case["U"]), Some(bias)));
                    attn.query = attn
                        .query
                        .map(|q| with_weights(q, matrix(&case["W"]), None));
                    attn.v = attn.v.map(|v| with_weights(v, matrix(&case["v"]), None));
                }
            }
            let query_value = if case.get(query).is_some() {
                &case[query]
            } else {
                &f[query]
            };
            let (context, weights) = attn.forward(
                tensor(query_value, &dev),
                attn.keys(h.clone()),
                h.clone(),
                mask.clone(),
            );
            assert_close(&format!("{name} weights"), weights, &case["alpha"], |_| {
                true
            });
            assert_close(
                &format!("{name} context"),
                context,
                &case["context"],
                |_| true,
            );
        }
    }
}
