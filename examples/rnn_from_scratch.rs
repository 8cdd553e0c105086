//! The Elman RNN, `h_t = tanh(W_h h_{t-1} + W_x x_t + b)`, first stepped by hand with plain
//! `Vec` arithmetic on a toy sequence, then the same weights in transduce's recurrent cell (the
//! one every recurrent model here uses), which must give the same hidden states; and finally an
//! Elman encoder-decoder trained to reverse short digit strings.
//!
//! ```sh
//! cargo run --release --example rnn_from_scratch
//! ```

use std::collections::HashMap;

use transduce::nn::pytorch::{Importer, TorchTensor};
use transduce::nn::rnn::cell::CellConfig;
use transduce::prelude::*;

fn main() -> anyhow::Result<()> {
    let device = Device::flex();
    // 1. By hand: 2 inputs, 3 hidden units, a sequence of 4 steps.
    let (d_in, d_h) = (2, 3);
    let w_x = [[0.5, -0.3], [0.8, 0.2], [-0.4, 0.6]]; // [d_h][d_in]
    let w_h = [[0.1, -0.2, 0.3], [0.0, 0.4, -0.1], [0.2, 0.1, -0.3]]; // [d_h][d_h]
    let b = [0.05, -0.1, 0.0];
    let xs = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]];
    let mut h = [0.0f32; 3];
    let mut by_hand = Vec::new();
    println!("by hand: h_t = tanh(W_h h_(t-1) + W_x x_t + b)");
    for (t, x) in xs.iter().enumerate() {
        let mut next = [0.0f32; 3];
        for i in 0..d_h {
            let recurrent: f32 = (0..d_h).map(|j| w_h[i][j] * h[j]).sum();
            let input: f32 = (0..d_in).map(|j| w_x[i][j] * x[j]).sum();
            next[i] = (recurrent + input + b[i]).tanh();
        }
        h = next;
        println!(
            "  t={t}: x = {x:?} -> h = [{:+.4}, {:+.4}, {:+.4}]",
            h[0], h[1], h[2]
        );
        by_hand.push(h);
    }

    // 2. The same weights in the library's cell (named as PyTorch's nn.RNN names them).
    let tensor = |shape: Vec<usize>, data: Vec<f32>| TorchTensor { shape, data };
    let flat = |m: &[[f32; 3]]| m.iter().flatten().copied().collect::<Vec<f32>>();
    let mut dict = HashMap::new();
    dict.insert(
        "weight_ih_l0".to_string(),
        tensor(vec![d_h, d_in], w_x.iter().flatten().copied().collect()),
    );
    dict.insert(
        "weight_hh_l0".to_string(),
        tensor(vec![d_h, d_h], flat(&w_h)),
    );
    dict.insert("bias_ih_l0".to_string(), tensor(vec![d_h], b.to_vec()));
    dict.insert("bias_hh_l0".to_string(), tensor(vec![d_h], vec![0.0; d_h]));
    let cell = CellConfig::new(CellKind::Rnn, d_in, d_h)
        .init(&device)
        .load_torch(&Importer::new(&dict, &device), 0, false)?;
    let mut state = cell.zero_state(1, &device);
    let bound = cell.bind();
    let mut largest = 0.0f32;
    for (x, expected) in xs.iter().zip(&by_hand) {
        let x = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, d_in]), &device);
        state = bound.step_projected(bound.project_input(x), state);
        let h: Vec<f32> = state
            .h
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for (a, b) in h.iter().zip(expected) {
            largest = largest.max((a - b).abs());
        }
    }
    println!("the library's cell, same weights: largest difference from by hand {largest:.1e}");
    anyhow::ensure!(
        largest < 1e-5,
        "the cell and the equation disagree by {largest}"
    );

    // 3. An Elman encoder-decoder (Sutskever et al. 2014's layout with the tanh cell) learns
    //    to reverse strings of 3 to 6 digits.
    let mut config = RunConfig::new(ModelConfig::Seq2seq(
        RnnSeq2SeqConfig::new(0, 0)
            .with_cell(CellKind::Rnn)
            .with_d_hidden(128)
            .with_d_embedding(32)
            .with_dropout(0.0),
    ));
    config.training = TrainingConfig::new().with_epochs(6);
    config.data.n_train = 5000;
    config.data.max_len = 6;
    let (data, _) = config.prepare()?;
    let dir = std::env::temp_dir().join("transduce-rnn-from-scratch");
    let report = train(&config, &data, &device, &dir)?;
    println!(
        "Elman seq2seq, {} parameters, {:.0} s: held-out exact match {:.1}%",
        report.n_params,
        report.train_seconds,
        100.0 * report.test.exact_match
    );
    let translator = Artifact::open(&dir)?.translator(&device)?;
    let sources: Vec<String> = ["123", "90210", "554433"].map(String::from).to_vec();
    for (src, out) in sources.iter().zip(translator.translate(&sources)?) {
        println!("  {src} -> {out}");
    }
    Ok(())
}
