//! The four architectures and the Transformer's size presets, by name: what a config file's
//! `"arch"` and a command line's `--arch`/`--preset` choose between.

use std::fmt;
use std::str::FromStr;

use crate::error::NnError;
use crate::{BahdanauConfig, LuongConfig, ModelConfig, RnnSeq2SeqConfig, TransformerConfig};

/// An architecture, in the order the lecture teaches them.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// Sutskever et al. 2014: encoder-decoder with one fixed context vector.
    Seq2seq,
    /// Luong et al. 2015: global attention (dot, general, concat).
    Luong,
    /// Bahdanau et al. 2015: additive attention.
    Bahdanau,
    /// Vaswani et al. 2017.
    Transformer,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 4] = [
        Arch::Seq2seq,
        Arch::Luong,
        Arch::Bahdanau,
        Arch::Transformer,
    ];

    /// The name in configs (`"arch": "luong"`) and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Seq2seq => "seq2seq",
            Arch::Luong => "luong",
            Arch::Bahdanau => "bahdanau",
            Arch::Transformer => "transformer",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = NnError;

    fn from_str(s: &str) -> Result<Self, NnError> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
                NnError::Config(format!(
                    "unknown architecture {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// A Transformer size, see [`TransformerConfig::preset`].
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// N=2, d_model 64, 4 heads, d_ff 256 (the defaults; for the built-in tasks).
    Tiny,
    /// N=3, d_model 256, 4 heads, d_ff 512 (small corpora such as Multi30k).
    Small,
    /// The paper's base: N=6, d_model 512, 8 heads, d_ff 2048.
    Base,
}

impl Preset {
    /// The name given to [`TransformerConfig::preset`] and `--preset`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::Base => "base",
        }
    }

    /// The preset's configuration for the given vocabulary sizes.
    pub fn config(self, src_vocab_size: usize, tgt_vocab_size: usize) -> TransformerConfig {
        match self {
            Preset::Tiny => TransformerConfig::tiny(src_vocab_size, tgt_vocab_size),
            Preset::Small => TransformerConfig::small(src_vocab_size, tgt_vocab_size),
            Preset::Base => TransformerConfig::base(src_vocab_size, tgt_vocab_size),
        }
    }
}

impl ModelConfig {
    /// An architecture's default configuration. The vocabulary sizes are 0 until the data sets
    /// them ([`ModelConfig::set_vocab_sizes`]).
    pub fn default_for(arch: Arch) -> ModelConfig {
        match arch {
            Arch::Seq2seq => ModelConfig::Seq2seq(RnnSeq2SeqConfig::new(0, 0)),
            Arch::Luong => ModelConfig::Luong(LuongConfig::new(0, 0)),
            Arch::Bahdanau => ModelConfig::Bahdanau(BahdanauConfig::new(0, 0)),
            Arch::Transformer => ModelConfig::Transformer(TransformerConfig::new(0, 0)),
        }
    }

    /// Which architecture this configures.
    pub fn kind(&self) -> Arch {
        match self {
            ModelConfig::Seq2seq(_) => Arch::Seq2seq,
            ModelConfig::Luong(_) => Arch::Luong,
            ModelConfig::Bahdanau(_) => Arch::Bahdanau,
            ModelConfig::Transformer(_) => Arch::Transformer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_configs() {
        for arch in Arch::ALL {
            assert_eq!(arch.name().parse::<Arch>().unwrap(), arch);
            let config = ModelConfig::default_for(arch);
            assert_eq!(config.kind(), arch);
            assert_eq!(config.arch(), arch.name());
        }
        let err = "lstm".parse::<Arch>().unwrap_err().to_string();
        assert!(
            err.contains("\"lstm\"") && err.contains("seq2seq, luong"),
            "{err}"
        );
    }

    #[test]
    fn presets_match_their_names() {
        for preset in [Preset::Tiny, Preset::Small, Preset::Base] {
            let by_name = TransformerConfig::preset(preset.name(), 5, 7).unwrap();
            let by_enum = preset.config(5, 7);
            assert_eq!(
                (by_name.d_model, by_name.n_encoder_layers, by_name.d_ff),
                (by_enum.d_model, by_enum.n_encoder_layers, by_enum.d_ff)
            );
        }
    }
}
