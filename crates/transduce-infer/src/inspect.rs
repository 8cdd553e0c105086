//! Attention maps of one translation: which source token each output token looks at.
//!
//! The recurrent attention models (Luong et al. 2015, Bahdanau et al. 2015) have one map per
//! translation, `α_t = softmax(e_t)` for each output step `t`, recorded while decoding. The
//! Transformer (Vaswani et al. 2017) has one per layer and head, for each of its three
//! attentions: the encoder's self-attention, the decoder's masked self-attention and the
//! encoder-decoder (cross) attention; they are read from a teacher-forced pass over the decoded
//! output, which gives exactly the weights of cached decoding. The Seq2Seq model of Sutskever et
//! al. 2014 has no attention: its decoder sees only the encoder's final state.

use burn::prelude::*;
use transduce_data::{Tokenizer, pad_ids};
use transduce_decode::Hypothesis;
use transduce_nn::Model;
use transduce_nn::special::SOS;

use crate::InferError;
use crate::evaluate::Translator;

/// One map: `weights[r][c]` is how much output position `r` attends to position `c`.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    /// Drawn above the map.
    pub title: String,
    /// One label per row (the attending positions), top to bottom.
    pub rows: Vec<String>,
    /// One label per column (the attended positions), left to right.
    pub columns: Vec<String>,
    /// `[rows][columns]`, each in [0, 1] (values outside are clamped).
    pub weights: Vec<Vec<f32>>,
}

/// Which of a Transformer's maps to draw (recurrent models have one map and take none of these).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapRequest {
    /// Layer, counted from 1 (default: the last).
    pub layer: Option<usize>,
    /// One head of the layer's cross-attention, counted from 1 (default: the mean of the heads).
    pub head: Option<usize>,
    /// Every head of the layer's encoder self-, decoder self- and cross-attention, as a grid.
    pub grid: bool,
}

/// A translation and its attention maps, as rows of maps to draw side by side.
#[derive(Clone, Debug)]
pub struct AttentionMaps {
    /// The translation.
    pub translation: String,
    /// Source tokens (the model's vocabulary items, spaces shown as `▁`).
    pub source: Vec<String>,
    /// Output tokens (likewise), then `<eos>`.
    pub output: Vec<String>,
    /// Rows of maps.
    pub grid: Vec<Vec<Heatmap>>,
}

/// Translates `text` with `translator` (its search and limits) and returns the attention maps
/// that `request` names.
///
/// # Errors
/// If the text has no tokens, if the model has no attention (Seq2Seq), if a layer or head is
/// asked of a recurrent model, or if the layer or head does not exist.
pub fn attention_maps(
    translator: &Translator,
    text: &str,
    request: &MapRequest,
) -> Result<AttentionMaps, InferError> {
    let (ids, hyp) = translate_one(translator, text)?;
    maps_of(translator, &ids, &hyp, request)
}

/// Translates `text` with `translator` (its search and limits): the source ids and the best
/// hypothesis, from which [`maps_of`] reads any number of maps.
///
/// # Errors
/// If the text has no tokens.
pub fn translate_one(
    translator: &Translator,
    text: &str,
) -> Result<(Vec<usize>, Hypothesis), InferError> {
    burn::tensor::read_sync(translate_one_async(translator, text))
}

/// [`translate_one`], reading the device without blocking (for WebGPU in a browser).
///
/// # Errors
/// As [`translate_one`].
pub async fn translate_one_async(
    translator: &Translator,
    text: &str,
) -> Result<(Vec<usize>, Hypothesis), InferError> {
    let (ids, _) = translator.encode(&[text.to_string()]);
    let ids = ids.into_iter().next().unwrap_or_default();
    if ids.is_empty() {
        return Err(InferError::Input(
            "the text has no tokens to translate".into(),
        ));
    }
    let hyp = translator
        .decode_nbest_async(std::slice::from_ref(&ids), 1, &mut |_| {})
        .await?
        .into_iter()
        .next()
        .and_then(|list| list.into_iter().next())
        .ok_or_else(|| InferError::Input("the text has no tokens to translate".into()))?;
    Ok((ids, hyp))
}

/// The attention maps that `request` names of `hyp`, which `translator` decoded from the
/// source `ids` ([`translate_one`]).
///
/// # Errors
/// As [`attention_maps`].
pub fn maps_of(
    translator: &Translator,
    ids: &[usize],
    hyp: &Hypothesis,
    request: &MapRequest,
) -> Result<AttentionMaps, InferError> {
    burn::tensor::read_sync(maps_of_async(translator, ids, hyp, request))
}

/// [`maps_of`], reading the device without blocking (for WebGPU in a browser).
///
/// # Errors
/// As [`attention_maps`].
pub async fn maps_of_async(
    translator: &Translator,
    ids: &[usize],
    hyp: &Hypothesis,
    request: &MapRequest,
) -> Result<AttentionMaps, InferError> {
    let codec = &translator.codec;
    let source: Vec<String> = ids
        .iter()
        .map(|&i| shown(&codec.src_tokenizer, codec.src_vocab.token(i)))
        .collect();
    let mut output: Vec<String> = hyp
        .tokens
        .iter()
        .map(|&i| shown(&codec.tgt_tokenizer, codec.tgt_vocab.token(i)))
        .collect();
    output.push("<eos>".into());
    let translation = codec.decode_tgt(&hyp.tokens);
    let recurrent = |title: &str| -> Result<Vec<Vec<Heatmap>>, InferError> {
        if request.layer.is_some() || request.head.is_some() || request.grid {
            return Err(InferError::Input(format!(
                "{title} has one attention map: layers and heads are the Transformer's"
            )));
        }
        Ok(vec![vec![Heatmap {
            title: title.to_string(),
            rows: output.clone(),
            columns: source.clone(),
            weights: hyp.attention.clone(),
        }]])
    };
    let grid = match &translator.model {
        Model::Seq2seq(_) => {
            return Err(InferError::Input(
                "seq2seq (Sutskever et al. 2014) has no attention: its decoder sees only the encoder's final state".into(),
            ));
        }
        Model::Luong(_) => recurrent("Luong attention")?,
        Model::Bahdanau(_) => recurrent("Bahdanau attention")?,
        Model::Transformer(t) => {
            let device = &translator.device;
            let (src, mask) = pad_ids(vec![ids.to_vec()], device);
            let tgt: Vec<usize> = std::iter::once(SOS)
                .chain(hyp.tokens.iter().copied())
                .collect();
            let (tgt, tgt_mask) = pad_ids(vec![tgt], device);
            let full = t.forward_full(src.clone(), mask.clone(), tgt, tgt_mask);
            let encoder = t.encoder_attention(src, mask);
            let layers = full.cross_attention.len();
            let layer = request.layer.unwrap_or(layers);
            if !(1..=layers).contains(&layer) {
                return Err(InferError::Input(format!(
                    "layer {layer} does not exist: the decoder has layers 1 to {layers}"
                )));
            }
            let cross = heads(full.cross_attention[layer - 1].clone()).await;
            let n_heads = cross.len();
            if let Some(head) = request.head
                && !(1..=n_heads).contains(&head)
            {
                return Err(InferError::Input(format!(
                    "head {head} does not exist: the layers have heads 1 to {n_heads}"
                )));
            }
            let mut inputs = vec!["<sos>".to_string()];
            inputs.extend(output[..output.len() - 1].iter().cloned());
            if request.grid {
                let encoder_layer = layer.min(encoder.len());
                let encoder_heads = heads(encoder[encoder_layer - 1].clone()).await;
                let decoder_heads = heads(full.self_attention[layer - 1].clone()).await;
                let kinds = [
                    (
                        format!("encoder self-attention, layer {encoder_layer}"),
                        encoder_heads,
                        &source,
                        &source,
                    ),
                    (
                        format!("decoder self-attention, layer {layer}"),
                        decoder_heads,
                        &output,
                        &inputs,
                    ),
                    (
                        format!("cross-attention, layer {layer}"),
                        cross,
                        &output,
                        &source,
                    ),
                ];
                kinds
                    .into_iter()
                    .map(|(title, maps, rows, columns)| {
                        maps.into_iter()
                            .enumerate()
                            .map(|(h, weights)| Heatmap {
                                title: format!("{title}, head {}", h + 1),
                                rows: rows.clone(),
                                columns: columns.clone(),
                                weights,
                            })
                            .collect()
                    })
                    .collect()
            } else {
                let (title, weights) = match request.head {
                    Some(head) => (
                        format!("cross-attention, layer {layer}, head {head}"),
                        cross[head - 1].clone(),
                    ),
                    None => (
                        format!("cross-attention, layer {layer}, mean of {n_heads} heads"),
                        mean(&cross),
                    ),
                };
                vec![vec![Heatmap {
                    title,
                    rows: output.clone(),
                    columns: source.clone(),
                    weights,
                }]]
            }
        }
    };
    Ok(AttentionMaps {
        translation,
        source,
        output,
        grid,
    })
}

/// For each output token of `hypothesis` (decoded from `source` ids by `translator`), the source
/// token it attended to most: `(output token, source token)` pairs, vocabulary items with spaces
/// shown as `▁`. The Transformer's attention is its last layer's, averaged over the heads.
///
/// # Errors
/// If the model has no attention (Seq2Seq).
pub fn alignment(
    translator: &Translator,
    source: &[usize],
    hypothesis: &Hypothesis,
) -> Result<Vec<(String, String)>, InferError> {
    if let Model::Seq2seq(_) = translator.model {
        return Err(InferError::Input(
            "seq2seq (Sutskever et al. 2014) has no attention to align with".into(),
        ));
    }
    let codec = &translator.codec;
    Ok(hypothesis
        .tokens
        .iter()
        .zip(&hypothesis.attention)
        .map(|(&t, weights)| {
            let most = weights
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            let src = source.get(most).map_or("", |&id| codec.src_vocab.token(id));
            (
                shown(&codec.tgt_tokenizer, codec.tgt_vocab.token(t)),
                shown(&codec.src_tokenizer, src),
            )
        })
        .collect())
}

/// A vocabulary item as labels show it: a byte-level BPE token as the text it stands for (when
/// its bytes are whole UTF-8; `Ġclass` is ` class`, `Ã©` is `é`), and spaces as `▁`, so that a
/// space token stays visible.
pub fn shown(tokenizer: &Tokenizer, token: &str) -> String {
    let text = match tokenizer {
        Tokenizer::Bpe(bpe) if bpe.contains(token) => {
            let text = bpe.decode(&[token]);
            if text.contains('\u{FFFD}') {
                token.to_string()
            } else {
                text
            }
        }
        _ => token.to_string(),
    };
    text.replace(' ', "▁")
}

/// `[1, heads, rows, columns]` weights as one `[rows][columns]` matrix per head.
async fn heads(weights: Tensor<4>) -> Vec<Vec<Vec<f32>>> {
    let [_, n_heads, rows, columns] = weights.dims();
    let flat = transduce_decode::to_f32_async(weights).await;
    (0..n_heads)
        .map(|h| {
            (0..rows)
                .map(|r| flat[(h * rows + r) * columns..][..columns].to_vec())
                .collect()
        })
        .collect()
}

/// The element-wise mean of equally shaped matrices.
fn mean(maps: &[Vec<Vec<f32>>]) -> Vec<Vec<f32>> {
    let n = maps.len() as f32;
    (0..maps[0].len())
        .map(|r| {
            (0..maps[0][r].len())
                .map(|c| maps.iter().map(|m| m[r][c]).sum::<f32>() / n)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use transduce_data::{Codec, Lang, Pair, TokenizerKind};

    #[test]
    fn labels_show_bpe_tokens_as_their_text() {
        // Byte-level symbols: `Ġ` is a space, `Ã©` the two bytes of `é`, `Ã` alone half of it.
        let tokens = ["Ġclass", "prÃ©", "Ã", "<eos>"];
        let mut vocab = serde_json::Map::new();
        for (i, t) in transduce_data::bpe::alphabet()
            .into_iter()
            .chain(tokens[..2].iter().map(|t| t.to_string()))
            .enumerate()
        {
            vocab.insert(t, i.into());
        }
        let json = serde_json::json!({"model": {"type": "BPE", "vocab": vocab, "merges": []}});
        let bpe = Tokenizer::from_json(
            TokenizerKind::Bpe,
            Lang::Fr,
            Some(&json.to_string()),
            std::path::Path::new("tok.json"),
        )
        .unwrap();
        let shown_all: Vec<String> = tokens.iter().map(|t| shown(&bpe, t)).collect();
        assert_eq!(shown_all, ["▁class", "pré", "Ã", "<eos>"]);
        // Other tokenizers' tokens are their text already.
        assert_eq!(shown(&Tokenizer::Word(Lang::Fr), "Ġa b"), "Ġa▁b");
    }
    use transduce_nn::{BahdanauConfig, RnnSeq2SeqConfig, TransformerConfig};

    fn codec() -> Codec {
        let train: Vec<Pair> = ["0123", "4567", "89"]
            .iter()
            .map(|s| Pair {
                src: s.to_string(),
                tgt: s.chars().rev().collect(),
            })
            .collect();
        Codec::build(
            &train,
            TokenizerKind::Char,
            (Lang::En, Lang::En),
            usize::MAX,
            1,
            false,
        )
        .unwrap()
    }

    fn translator(model: Model, codec: Codec) -> Translator {
        Translator::new(model, codec, Device::flex())
    }

    /// The Transformer's default map (last layer, mean of the heads), read from a teacher-forced
    /// pass, equals the weights cached greedy decoding recorded; every map is a distribution
    /// over its columns, and the decoder's self-attention never looks ahead.
    #[test]
    fn transformer_maps_equal_the_cached_decoding_weights() {
        let dev = Device::flex();
        let codec = codec();
        let model = TransformerConfig::new(codec.src_vocab.len(), codec.tgt_vocab.len())
            .with_d_model(16)
            .with_d_ff(32)
            .with_n_heads(2)
            .with_dropout(0.0)
            .with_embedding_dropout(0.0)
            .init(&dev);
        let t = translator(Model::Transformer(model), codec);
        let decoded = t
            .decode(&[t.encode(&["3210".into()]).0[0].clone()])
            .unwrap()[0]
            .clone()
            .unwrap();
        let maps = attention_maps(&t, "3210", &MapRequest::default()).unwrap();
        assert_eq!(maps.source.len(), 4);
        assert_eq!(maps.output.len(), decoded.tokens.len() + 1);
        let map = &maps.grid[0][0];
        assert_eq!(map.weights.len(), decoded.attention.len());
        for (row, cached) in map.weights.iter().zip(&decoded.attention) {
            for (a, b) in row.iter().zip(cached) {
                assert!((a - b).abs() < 1e-5, "{row:?} vs {cached:?}");
            }
        }
        let grid = attention_maps(
            &t,
            "3210",
            &MapRequest {
                grid: true,
                ..Default::default()
            },
        )
        .unwrap()
        .grid;
        assert_eq!(grid.len(), 3);
        assert!(grid.iter().all(|row| row.len() == 2));
        for map in grid.iter().flatten() {
            for row in &map.weights {
                assert!(
                    (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
                    "{}",
                    map.title
                );
            }
        }
        // Decoder self-attention: row r (predicting output r) sees inputs 0..=r only.
        for map in &grid[1] {
            for (r, row) in map.weights.iter().enumerate() {
                assert!(
                    row[r + 1..].iter().all(|&w| w == 0.0),
                    "{}: {row:?}",
                    map.title
                );
            }
        }
        let err = |request: MapRequest| {
            attention_maps(&t, "3210", &request)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(MapRequest {
                layer: Some(3),
                ..Default::default()
            })
            .contains("layer 3 does not exist")
        );
        assert!(
            err(MapRequest {
                head: Some(3),
                ..Default::default()
            })
            .contains("head 3 does not exist")
        );
        assert!(attention_maps(&t, "", &MapRequest::default()).is_err());
    }

    #[test]
    fn recurrent_models_have_one_map_and_seq2seq_none() {
        let dev = Device::flex();
        let codec = codec();
        let (v_src, v_tgt) = (codec.src_vocab.len(), codec.tgt_vocab.len());
        let bahdanau = BahdanauConfig::new(v_src, v_tgt)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_dropout(0.0)
            .init(&dev);
        let t = translator(Model::Bahdanau(bahdanau), codec.clone());
        let maps = attention_maps(&t, "3210", &MapRequest::default()).unwrap();
        assert_eq!(maps.grid.len(), 1);
        let map = &maps.grid[0][0];
        assert_eq!(map.columns, vec!["3", "2", "1", "0"]);
        assert_eq!(map.rows.last().map(String::as_str), Some("<eos>"));
        let err = attention_maps(
            &t,
            "3210",
            &MapRequest {
                layer: Some(1),
                ..Default::default()
            },
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("layers and heads are the Transformer's")
        );
        let seq2seq = RnnSeq2SeqConfig::new(v_src, v_tgt)
            .with_dropout(0.0)
            .init(&dev);
        let t = translator(Model::Seq2seq(seq2seq), codec);
        let err = attention_maps(&t, "3210", &MapRequest::default()).unwrap_err();
        assert!(err.to_string().contains("has no attention"), "{err}");
    }
}
