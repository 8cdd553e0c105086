//! The JavaScript face of [`Session`]: the `WebModel` class the page imports.

use std::collections::HashMap;

use burn::prelude::*;
use wasm_bindgen::prelude::*;

use crate::Session;

/// A model loaded in the page.
#[wasm_bindgen]
pub struct WebModel {
    session: Session,
}

#[wasm_bindgen]
impl WebModel {
    /// Loads a model from its files, fetched by the page: `names[i]` is the name of the file
    /// whose bytes are `contents[i]` (`config.json`, `src_vocab.json`, `tgt_vocab.json`,
    /// `model.bpk`, and for BPE models `src_tokenizer.json` and `tgt_tokenizer.json`). `origin`
    /// (the directory's URL) names them in errors.
    #[wasm_bindgen(constructor)]
    pub fn new(
        origin: String,
        names: Vec<String>,
        contents: Vec<js_sys::Uint8Array>,
    ) -> Result<WebModel, JsError> {
        console_error_panic_hook::set_once();
        let mut files: HashMap<String, Vec<u8>> = names
            .into_iter()
            .zip(contents)
            .map(|(name, bytes)| (name, bytes.to_vec()))
            .collect();
        let session = Session::load(&origin, |name| files.remove(name), Device::flex(), "CPU")
            .map_err(|e| JsError::new(&e))?;
        Ok(WebModel { session })
    }

    /// Which backend runs the model.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.session.backend().to_string()
    }

    /// The architecture: `seq2seq`, `luong`, `bahdanau` or `transformer`.
    #[wasm_bindgen(getter)]
    pub fn arch(&self) -> String {
        self.session.arch().to_string()
    }

    /// Translates `text` with beam search of width `beam` (1 = greedy); returns the
    /// [`crate::Translation`] as JSON.
    pub fn translate(&mut self, text: &str, beam: usize) -> Result<String, JsError> {
        let translation = self
            .session
            .translate(text, beam)
            .map_err(|e| JsError::new(&e))?;
        Ok(serde_json::to_string(&translation).expect("translations serialise"))
    }
}
