//! Resolving a run's configuration from three layers: built-in defaults, then `--config FILE.json`,
//! then command-line flags. The file is a JSON value deep-merged over the defaults, so it may set
//! any subset of the keys of a saved `config.json` (and a saved one reproduces its run); the
//! flags are then applied, typed, by [`crate::cli::TrainArgs::apply`].

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;
use transduce_data::DataConfig;
use transduce_infer::TrainingConfig;
use transduce_infer::artifact::{RunConfig, merge_json};
use transduce_nn::{Arch, ModelConfig, TransformerConfig};

/// The default config of an architecture named in a config file or flag (vocabulary sizes are
/// filled in from the data later).
pub fn default_model(arch: &str) -> anyhow::Result<ModelConfig> {
    Ok(ModelConfig::default_for(arch.parse::<Arch>()?))
}

/// Reads a `--config` file.
pub fn read_config_file(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the config file", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: not valid JSON: {e}", path.display(), e.line()))?;
    if !value.is_object() {
        bail!("{}: a config file must hold a JSON object", path.display());
    }
    Ok(value)
}

fn arch_of(v: &Value) -> Option<String> {
    v.pointer("/model/arch")
        .and_then(Value::as_str)
        .map(String::from)
}

/// The architecture of a run: the flag's, else the file's `model.arch`, else `transformer`.
pub fn resolve_arch(file: Option<&Value>, flag: Option<&str>) -> String {
    flag.map(String::from)
        .or_else(|| file.and_then(arch_of))
        .unwrap_or_else(|| "transformer".to_string())
}

/// Builds the run config from the defaults (or a Transformer `preset`) and `file`, for the
/// architecture `arch` (from `--arch`) if given. The command-line flags are applied afterwards.
///
/// The architecture is `arch`, else the file's `model.arch`, else `transformer`; a file
/// written for another architecture keeps only its `training` and `data` sections. Keys that no
/// config knows are an error (a typo would otherwise be ignored silently).
pub fn resolve(
    file: Option<(&Path, Value)>,
    arch: Option<&str>,
    preset: Option<&str>,
) -> anyhow::Result<RunConfig> {
    let arch = resolve_arch(file.as_ref().map(|(_, v)| v), arch);
    let model = match preset {
        None => default_model(&arch)?,
        Some(name) if arch == "transformer" => ModelConfig::Transformer(
            TransformerConfig::preset(name, 0, 0)
                .ok_or_else(|| anyhow::anyhow!("unknown preset {name:?}"))?,
        ),
        Some(_) => bail!("presets are Transformer configurations; --arch is {arch}"),
    };
    let defaults = RunConfig {
        model,
        training: TrainingConfig::new(),
        data: DataConfig::default(),
    };
    let mut value = serde_json::to_value(&defaults)?;
    let source = match &file {
        Some((path, _)) => path.display().to_string(),
        None => "the command line".to_string(),
    };
    if let Some((_, mut file_value)) = file {
        if arch_of(&file_value).is_some_and(|a| a != arch) {
            file_value.as_object_mut().map(|o| o.remove("model"));
        }
        merge_json(&mut value, file_value);
    }
    let config: RunConfig = serde_json::from_value(value.clone())
        .map_err(|e| anyhow::anyhow!("invalid configuration from {source}: {e}"))?;
    let known = serde_json::to_value(&config)?;
    if let Some(key) = unknown_key(&value, &known, "") {
        bail!("unknown configuration key {key:?} (from {source})");
    }
    Ok(config)
}

/// The first key path of `value` that `known` does not have.
fn unknown_key(value: &Value, known: &Value, prefix: &str) -> Option<String> {
    let (Value::Object(v), Value::Object(k)) = (value, known) else {
        return None;
    };
    v.iter().find_map(|(key, child)| {
        let path = format!("{prefix}{key}");
        match k.get(key) {
            None if !child.is_null() => Some(path),
            None => None,
            Some(known_child) => unknown_key(child, known_child, &format!("{path}.")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_file_overrides_the_defaults() {
        let file = json!({"training": {"epochs": 3, "lr": 0.01}, "model": {"d_model": 32}});
        let c = resolve(Some((Path::new("f.json"), file)), None, None).unwrap();
        assert_eq!(
            (c.training.epochs, c.training.lr, c.training.seed),
            (3, 0.01, 42)
        );
        let ModelConfig::Transformer(t) = c.model else {
            panic!("the default architecture is the Transformer")
        };
        assert_eq!(t.d_model, 32);
        // Another architecture keeps the file's training and data sections only.
        let file =
            json!({"training": {"epochs": 3}, "model": {"arch": "transformer", "d_model": 32}});
        let c = resolve(Some((Path::new("f.json"), file)), Some("luong"), None).unwrap();
        assert_eq!((c.model.arch(), c.training.epochs), ("luong", 3));
    }

    #[test]
    fn a_saved_config_resolves_to_itself() {
        let c = resolve(None, None, None).unwrap();
        let again = resolve(
            Some((Path::new("c.json"), serde_json::to_value(&c).unwrap())),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::to_value(&again).unwrap()
        );
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let file = |v| Some((Path::new("f.json"), v));
        let err = resolve(file(json!({"training": {"epoch": 3}})), None, None).unwrap_err();
        assert!(
            err.to_string().contains("training.epoch") && err.to_string().contains("f.json"),
            "{err}"
        );
        let err = resolve(file(json!({"training": {"epochs": "many"}})), None, None).unwrap_err();
        assert!(err.to_string().contains("invalid configuration"), "{err}");
        assert!(resolve(file(json!({"model": {"arch": "lstm9"}})), None, None).is_err());
        let base = resolve(file(json!({"model": {"n_heads": 16}})), None, Some("base")).unwrap();
        let ModelConfig::Transformer(t) = base.model else {
            panic!("presets are Transformers")
        };
        assert_eq!((t.d_model, t.n_heads, t.n_encoder_layers), (512, 16, 6));
        assert!(resolve(None, Some("luong"), Some("base")).is_err());
    }
}
