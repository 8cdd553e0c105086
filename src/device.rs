//! Run-time choice of the backend: `--device flex|ndarray|wgpu|cuda|auto`, optionally `name:index`.
//!
//! Every backend that was compiled in (cargo features `flex`, `ndarray`, `wgpu`, `cuda`) can be
//! chosen when the program runs; asking for one that was not compiled in is an error that names
//! the feature to enable.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;

/// A backend name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Pure-Rust CPU backend (feature `flex`, on by default).
    Flex,
    /// ndarray CPU backend (feature `ndarray`; deprecated upstream).
    Ndarray,
    /// Vulkan, Metal or DX12 through wgpu (feature `wgpu`).
    Wgpu,
    /// NVIDIA CUDA (feature `cuda`).
    Cuda,
    /// The best compiled-in backend: cuda, then wgpu, then flex, then ndarray.
    Auto,
}

/// A `--device` value: a backend and, for GPUs, an optional device index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Which backend.
    pub backend: Backend,
    /// Which device of that backend (GPU backends only).
    pub index: Option<usize>,
}

impl FromStr for DeviceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, index) = match s.split_once(':') {
            Some((name, i)) => {
                let i = i
                    .parse()
                    .map_err(|_| format!("device index {i:?} is not a number"))?;
                (name, Some(i))
            }
            None => (s, None),
        };
        let backend = match name.to_ascii_lowercase().as_str() {
            "flex" => Backend::Flex,
            "ndarray" => Backend::Ndarray,
            "wgpu" => Backend::Wgpu,
            "cuda" => Backend::Cuda,
            "auto" => Backend::Auto,
            other => {
                return Err(format!(
                    "unknown device {other:?}: expected flex, ndarray, wgpu, cuda or auto"
                ));
            }
        };
        if index.is_some() && !matches!(backend, Backend::Wgpu | Backend::Cuda) {
            return Err(format!("device {name:?} takes no index"));
        }
        Ok(DeviceSpec { backend, index })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.backend {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
            Backend::Auto => "auto",
        };
        match self.index {
            Some(i) => write!(f, "{name}:{i}"),
            None => f.write_str(name),
        }
    }
}

/// A `--device` value for training: one device, or several separated by commas for
/// data-parallel training (`wgpu:0,wgpu:1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceList(pub Vec<DeviceSpec>);

impl FromStr for DeviceList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let specs = s
            .split(',')
            .map(|d| d.trim().parse())
            .collect::<Result<Vec<DeviceSpec>, _>>()?;
        Ok(DeviceList(specs))
    }
}

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&names.join(","))
    }
}

impl DeviceList {
    /// The burn devices.
    pub fn devices(&self) -> Result<Vec<Device>, String> {
        self.0.iter().map(DeviceSpec::device).collect()
    }
}

/// The backends compiled into this binary, best first.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    v
}

fn not_compiled(name: &str) -> String {
    format!(
        "device {name:?} is not compiled into this binary; rebuild with `--features {name}` \
         (compiled in: {})",
        compiled_backends().join(", ")
    )
}

impl DeviceSpec {
    /// The backend's name as burn's `BURN_DEVICE` variable spells it, `auto` resolved to the
    /// best compiled-in backend.
    pub fn backend_name(&self) -> Result<&'static str, String> {
        Ok(match self.backend {
            Backend::Auto => compiled_backends()
                .first()
                .copied()
                .ok_or("no backend is compiled in")?,
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        })
    }

    /// The burn device.
    pub fn device(&self) -> Result<Device, String> {
        match self.backend {
            Backend::Auto => {
                let best = *compiled_backends()
                    .first()
                    .ok_or("no backend is compiled in")?;
                DeviceSpec {
                    backend: best.parse::<DeviceSpec>()?.backend,
                    index: self.index,
                }
                .device()
            }
            Backend::Flex => {
                #[cfg(feature = "flex")]
                return Ok(Device::flex());
                #[cfg(not(feature = "flex"))]
                return Err(not_compiled("flex"));
            }
            Backend::Ndarray => {
                #[cfg(feature = "ndarray")]
                #[allow(deprecated)]
                return Ok(Device::ndarray());
                #[cfg(not(feature = "ndarray"))]
                return Err(not_compiled("ndarray"));
            }
            Backend::Wgpu => {
                #[cfg(feature = "wgpu")]
                {
                    use burn::tensor::DeviceKind;
                    let kind = match self.index {
                        None => DeviceKind::DefaultDevice,
                        Some(i) => DeviceKind::DiscreteGpu(i),
                    };
                    Ok(Device::wgpu(kind))
                }
                #[cfg(not(feature = "wgpu"))]
                return Err(not_compiled("wgpu"));
            }
            Backend::Cuda => {
                #[cfg(feature = "cuda")]
                return Ok(Device::cuda(self.index.unwrap_or(0)));
                #[cfg(not(feature = "cuda"))]
                return Err(not_compiled("cuda"));
            }
        }
    }
}

/// Makes `spec`'s backend burn's default device for this process (`BURN_DEVICE`).
///
/// burn materialises a few things on its default device without being given one: burn-optim
/// loads a resumed run's optimizer state there before moving it to the parameters' device. With
/// the `wgpu` feature compiled in, that default is the GPU, so `train --resume --device flex`
/// would open a Vulkan device (and, headless, print Mesa's `XDG_RUNTIME_DIR` errors). Pinning the
/// default to the chosen backend keeps a run on the device the user named.
///
/// # Safety
///
/// Sets an environment variable: call it before any other thread exists (first thing in `main`).
pub unsafe fn pin_default(spec: &DeviceSpec) {
    // A backend that is not compiled in (or none at all) is left to `device()`, whose error names
    // the feature (burn would panic on such a `BURN_DEVICE`).
    if let Ok(name) = spec.backend_name()
        && compiled_backends().contains(&name)
    {
        // SAFETY: the caller guarantees that no other thread reads or writes the environment.
        unsafe { std::env::set_var("BURN_DEVICE", name) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_indices() {
        assert_eq!("flex".parse::<DeviceSpec>().unwrap().backend, Backend::Flex);
        let s: DeviceSpec = "wgpu:1".parse().unwrap();
        assert_eq!((s.backend, s.index), (Backend::Wgpu, Some(1)));
        assert_eq!(s.to_string(), "wgpu:1");
        assert!(
            "tpu"
                .parse::<DeviceSpec>()
                .unwrap_err()
                .contains("unknown device")
        );
        assert!("flex:1".parse::<DeviceSpec>().is_err());
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
    }

    #[test]
    fn device_lists_for_data_parallel_training() {
        let list: DeviceList = "wgpu:0, wgpu:1".parse().unwrap();
        assert_eq!(list.0.len(), 2);
        assert_eq!(list.to_string(), "wgpu:0,wgpu:1");
        assert!("flex,tpu".parse::<DeviceList>().is_err());
        assert_eq!(
            "flex,flex"
                .parse::<DeviceList>()
                .unwrap()
                .devices()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn auto_and_flex_resolve() {
        assert!("flex".parse::<DeviceSpec>().unwrap().device().is_ok());
        assert!("auto".parse::<DeviceSpec>().unwrap().device().is_ok());
        let name = |s: &str| s.parse::<DeviceSpec>().unwrap().backend_name().unwrap();
        assert_eq!(name("flex"), "flex");
        assert_eq!(name("wgpu:1"), "wgpu");
        assert_eq!(name("auto"), compiled_backends()[0]);
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_backend_not_compiled_in_names_its_feature() {
        let err = "cuda".parse::<DeviceSpec>().unwrap().device().unwrap_err();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
