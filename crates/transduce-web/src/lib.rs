//! transduce in a web page: a trained model, exported by `transduce export --web DIR`,
//! translates typed text (greedy or beam search) and returns every attention map of the
//! translation, for the page to draw.
//!
//! [`Session`] is the whole of it and runs anywhere (the tests run it natively); the
//! `wasm_bindgen` class `WebModel` wraps it for JavaScript when compiled to
//! `wasm32-unknown-unknown`. It reads the artifact's inference files from memory
//! ([`transduce_infer::Bundle`]): the page fetches them, there is no file system.

#![warn(missing_docs)]

use std::path::Path;

use burn::prelude::*;
use serde::Serialize;
use transduce_infer::inspect::{MapRequest, maps_of_async, shown, translate_one_async};
use transduce_infer::{Bundle, Translator};
use transduce_nn::Model;

#[cfg(target_family = "wasm")]
mod bindings;

/// A loaded model, ready to translate.
pub struct Session {
    translator: Translator,
    backend: String,
}

/// One translation and its attention, as the page receives it (JSON).
#[derive(Clone, Debug, Serialize)]
pub struct Translation {
    /// The translation, detokenised.
    pub translation: String,
    /// Source tokens (vocabulary items, spaces shown as `▁`).
    pub source: Vec<String>,
    /// Output tokens, then `<eos>`.
    pub output: Vec<String>,
    /// Every attention map: none for seq2seq, one for Luong and Bahdanau, and for the
    /// Transformer each head of each layer's three attentions (the encoder's self-attention of
    /// its first layers up to the decoder's depth).
    pub maps: Vec<Map>,
}

/// One attention map: `weights[r][c]` is how much row `r` attends to column `c`.
#[derive(Clone, Debug, Serialize)]
pub struct Map {
    /// `attention` (Luong, Bahdanau), or the Transformer's `encoder` (self-attention),
    /// `decoder` (masked self-attention) or `cross` (encoder-decoder attention).
    pub kind: &'static str,
    /// Layer, counted from 1 (0 for the recurrent models' one map).
    pub layer: usize,
    /// Head, counted from 1 (0 for the recurrent models' one map).
    pub head: usize,
    /// Row labels, top to bottom (the attending tokens).
    pub rows: Vec<String>,
    /// Column labels, left to right (the attended tokens).
    pub columns: Vec<String>,
    /// `[rows][columns]`.
    pub weights: Vec<Vec<f32>>,
}

impl Session {
    /// Loads the model whose inference files `file` gives by name (see
    /// [`transduce_infer::bundle::BUNDLE_FILES`]) onto `device`; `origin` names where they
    /// come from in errors, and `backend` is reported by [`Session::backend`].
    pub fn load(
        origin: &str,
        file: impl FnMut(&str) -> Option<Vec<u8>>,
        device: Device,
        backend: &str,
    ) -> Result<Self, String> {
        let bundle = Bundle::from_files(Path::new(origin), file).map_err(|e| e.to_string())?;
        let translator = bundle.translator(&device).map_err(|e| e.to_string())?;
        Ok(Session {
            translator,
            backend: backend.to_string(),
        })
    }

    /// Which backend runs the model, e.g. `CPU` or `WebGPU`.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The architecture: `seq2seq`, `luong`, `bahdanau` or `transformer`.
    pub fn arch(&self) -> &'static str {
        match self.translator.model {
            Model::Seq2seq(_) => "seq2seq",
            Model::Luong(_) => "luong",
            Model::Bahdanau(_) => "bahdanau",
            Model::Transformer(_) => "transformer",
        }
    }

    /// Translates `text` with beam search of width `beam` (1 = greedy), ranking hypotheses as
    /// `transduce translate --beam` does by default, and reads every attention map.
    ///
    /// It reads the device without blocking, as a browser requires of WebGPU; natively (or on
    /// the CPU backend) [`burn::tensor::read_sync`] runs it to the end.
    pub async fn translate(&mut self, text: &str, beam: usize) -> Result<Translation, String> {
        if beam == 0 {
            return Err("the beam width must be at least 1".into());
        }
        self.translator.beam_width = beam;
        let (ids, hyp) = translate_one_async(&self.translator, text)
            .await
            .map_err(|e| e.to_string())?;
        let request = |layer| MapRequest {
            layer,
            head: None,
            grid: layer.is_some(),
        };
        let codec = &self.translator.codec;
        let source = (ids.iter())
            .map(|&i| shown(&codec.src_tokenizer, codec.src_vocab.token(i)))
            .collect();
        let mut output: Vec<String> = (hyp.tokens.iter())
            .map(|&i| shown(&codec.tgt_tokenizer, codec.tgt_vocab.token(i)))
            .collect();
        output.push("<eos>".into());
        let translation = codec.decode_tgt(&hyp.tokens);
        let mut maps = Vec::new();
        match &self.translator.model {
            Model::Seq2seq(_) => {}
            Model::Luong(_) | Model::Bahdanau(_) => {
                let heatmap = (maps_of_async(&self.translator, &ids, &hyp, &request(None))
                    .await
                    .map_err(|e| e.to_string())?
                    .grid
                    .into_iter())
                .flatten()
                .next()
                .ok_or("the model gave no attention map")?;
                maps.push(Map {
                    kind: "attention",
                    layer: 0,
                    head: 0,
                    rows: heatmap.rows,
                    columns: heatmap.columns,
                    weights: heatmap.weights,
                });
            }
            Model::Transformer(t) => {
                for layer in 1..=t.n_decoder_layers() {
                    let grid = maps_of_async(&self.translator, &ids, &hyp, &request(Some(layer)))
                        .await
                        .map_err(|e| e.to_string())?
                        .grid;
                    // The grid's rows: encoder self- (of the last encoder layer when the
                    // encoder has fewer layers: listed once), decoder self- and cross-attention.
                    let rows = ["encoder", "decoder", "cross"].into_iter().zip(grid);
                    let encoder_has_layer = layer <= t.n_encoder_layers();
                    for (kind, heads) in rows.filter(|(k, _)| *k != "encoder" || encoder_has_layer)
                    {
                        maps.extend(heads.into_iter().enumerate().map(|(h, m)| Map {
                            kind,
                            layer,
                            head: h + 1,
                            rows: m.rows,
                            columns: m.columns,
                            weights: m.weights,
                        }));
                    }
                }
            }
        }
        Ok(Translation {
            translation,
            source,
            output,
            maps,
        })
    }
}

#[cfg(test)]
mod tests {
    // The page's answers equal `transduce translate`'s: checked in a real browser by
    // web/test (CI), and here, natively, against the directory the CLI reads.
    use super::*;
    use burn::tensor::read_sync;
    use transduce_infer::Artifact;
    use transduce_infer::artifact::{save_weights, write_inference_files};
    use transduce_infer::bundle::BUNDLE_FILES;
    use transduce_infer::{RunConfig, artifact::files};
    use transduce_nn::{BahdanauConfig, ModelConfig, RnnSeq2SeqConfig, TransformerConfig};

    fn artifact(model: ModelConfig) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut config = RunConfig::new(model);
        let (prepared, _) = config.prepare().unwrap();
        write_inference_files(dir.path(), &config, &prepared.codec).unwrap();
        let model = config.model.init(&Device::flex());
        save_weights(&model, &dir.path().join(files::MODEL)).unwrap();
        dir
    }

    fn session(dir: &Path) -> Session {
        let read = |name: &str| {
            assert!(BUNDLE_FILES.contains(&name), "{name}");
            std::fs::read(dir.join(name)).ok()
        };
        Session::load("models/test", read, Device::flex(), "CPU").unwrap()
    }

    #[test]
    fn translations_and_maps_of_every_family() {
        let transformer = TransformerConfig::new(0, 0)
            .with_d_model(16)
            .with_d_ff(32)
            .with_n_heads(2)
            .with_n_encoder_layers(2)
            .with_n_decoder_layers(3);
        for (model, n_maps) in [
            // Heads of 3 decoder self- and 3 cross-attentions, and of 2 encoder layers.
            (ModelConfig::Transformer(transformer), 2 * (3 + 3 + 2)),
            (ModelConfig::Bahdanau(BahdanauConfig::new(0, 0)), 1),
            (ModelConfig::Seq2seq(RnnSeq2SeqConfig::new(0, 0)), 0),
        ] {
            let dir = artifact(model);
            let cli = Artifact::open(dir.path()).unwrap();
            let mut web = session(dir.path());
            for beam in [1, 3] {
                let text = "3 1 4 1 5 9 2 6";
                let expected = cli
                    .translator(&Device::flex())
                    .unwrap()
                    .with_beam_width(beam)
                    .translate(&[text.to_string()])
                    .unwrap();
                let got = read_sync(web.translate(text, beam)).unwrap();
                assert_eq!(got.translation, expected[0], "{} beam {beam}", web.arch());
                assert_eq!(got.maps.len(), n_maps, "{}", web.arch());
                for map in &got.maps {
                    assert_eq!(map.weights.len(), map.rows.len());
                    let sums_to_one = map.weights.iter().all(|row| {
                        row.len() == map.columns.len()
                            && (row.iter().sum::<f32>() - 1.0).abs() < 1e-3
                    });
                    assert!(sums_to_one, "{} {} {}", map.kind, map.layer, map.head);
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let dir = artifact(ModelConfig::Bahdanau(BahdanauConfig::new(0, 0)));
        let mut web = session(dir.path());
        assert!(
            read_sync(web.translate("1 2", 0))
                .unwrap_err()
                .contains("beam")
        );
        assert!(
            read_sync(web.translate("", 1))
                .unwrap_err()
                .contains("no tokens")
        );
        let missing = Session::load("models/x", |_| None, Device::flex(), "CPU");
        assert!(missing.err().unwrap().contains("models/x/config.json"));
    }
}
