//! The JavaScript face of [`Session`]: `initWebGpu` and the `WebModel` class the page imports.
//!
//! WebGPU is set up once per page ([`init_webgpu`], asynchronous, as browsers require); each
//! model is then loaded onto it or onto the CPU backend (burn's flex), as the page asks, and
//! translates asynchronously (reading WebGPU's results cannot block a browser's thread).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::prelude::*;
use wasm_bindgen::prelude::*;

use crate::Session;

thread_local! {
    /// The WebGPU device once [`init_webgpu`] has tried: the device, or why there is none.
    static WEBGPU: RefCell<Option<Result<Device, String>>> = const { RefCell::new(None) };
}

/// Sets up burn's wgpu backend on the browser's WebGPU, once; later calls give the first
/// call's answer. Resolves to nothing when WebGPU is ready, and rejects with the reason
/// otherwise (no `navigator.gpu`, no adapter, ...), in which case models run on the CPU.
#[wasm_bindgen(js_name = initWebGpu)]
pub async fn init_webgpu() -> Result<(), JsError> {
    console_error_panic_hook::set_once();
    if let Some(known) = WEBGPU.with(|w| w.borrow().clone()) {
        return known.map(|_| ()).map_err(|e| JsError::new(&e));
    }
    let result = (Device::wgpu_options().init_async().await).map_err(|e| e.to_string());
    WEBGPU.with(|w| *w.borrow_mut() = Some(result.clone()));
    result.map(|_| ()).map_err(|e| JsError::new(&e))
}

/// The device for `backend` (`auto`, `webgpu` or `cpu`) and its name for the page.
fn device(backend: &str) -> Result<(Device, &'static str), String> {
    let webgpu = WEBGPU.with(|w| w.borrow().clone());
    match (backend, webgpu) {
        ("cpu", _) | ("auto", None | Some(Err(_))) => Ok((Device::flex(), "CPU")),
        ("webgpu" | "auto", Some(Ok(device))) => Ok((device, "WebGPU")),
        ("webgpu", Some(Err(reason))) => Err(format!("WebGPU is not available: {reason}")),
        ("webgpu", None) => Err("WebGPU is not set up: call initWebGpu first".into()),
        (other, _) => Err(format!(
            "unknown backend {other:?}: expected auto, webgpu or cpu"
        )),
    }
}

/// A model loaded in the page.
#[wasm_bindgen]
pub struct WebModel {
    session: Rc<RefCell<Session>>,
}

#[wasm_bindgen]
impl WebModel {
    /// Loads a model from its files, fetched by the page: `names[i]` is the name of the file
    /// whose bytes are `contents[i]` (`config.json`, `src_vocab.json`, `tgt_vocab.json`,
    /// `model.bpk`, and for BPE models `src_tokenizer.json` and `tgt_tokenizer.json`). `origin`
    /// (the directory's URL) names them in errors. `backend` is `webgpu` (after
    /// [`init_webgpu`] succeeded), `cpu`, or `auto`: WebGPU when it is set up, else the CPU.
    #[wasm_bindgen(constructor)]
    pub fn new(
        origin: String,
        names: Vec<String>,
        contents: Vec<js_sys::Uint8Array>,
        backend: String,
    ) -> Result<WebModel, JsError> {
        console_error_panic_hook::set_once();
        let (device, name) = device(&backend).map_err(|e| JsError::new(&e))?;
        let mut files: HashMap<String, Vec<u8>> = names
            .into_iter()
            .zip(contents)
            .map(|(name, bytes)| (name, bytes.to_vec()))
            .collect();
        let session = Session::load(&origin, |name| files.remove(name), device, name)
            .map_err(|e| JsError::new(&e))?;
        Ok(WebModel {
            session: Rc::new(RefCell::new(session)),
        })
    }

    /// Which backend runs the model: `WebGPU` or `CPU`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.session.borrow().backend().to_string()
    }

    /// The architecture: `seq2seq`, `luong`, `bahdanau` or `transformer`.
    #[wasm_bindgen(getter)]
    pub fn arch(&self) -> String {
        self.session.borrow().arch().to_string()
    }

    /// Translates `text` with beam search of width `beam` (1 = greedy); resolves to the
    /// [`crate::Translation`] as JSON. One translation at a time: a call made while another is
    /// running rejects.
    pub fn translate(&self, text: String, beam: usize) -> js_sys::Promise {
        let session = Rc::clone(&self.session);
        // The borrow is held across the awaits on purpose: it is what makes a second call,
        // made while this one waits for the device, reject instead of interleaving.
        #[allow(clippy::await_holding_refcell_ref)]
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = session
                .try_borrow_mut()
                .map_err(|_| JsError::new("this model is already translating"))?;
            let translation = session
                .translate(&text, beam)
                .await
                .map_err(|e| JsError::new(&e))?;
            let json = serde_json::to_string(&translation).expect("translations serialise");
            Ok(JsValue::from_str(&json))
        })
    }
}
