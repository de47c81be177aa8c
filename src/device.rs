//! `--device auto|cpu|cuda[:N]|metal` and `--dtype`.

use candle_core::{DType, Device};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device {0:?}: use auto, cpu, cuda, cuda:N or metal")]
    Unknown(String),
    #[error("device {0} needs a bantin built with `--features {1}`")]
    NotBuilt(String, &'static str),
    #[error("device {0}: {1}")]
    Candle(String, #[source] candle_core::Error),
    #[error("dtype {0:?}: use f32, f16 or bf16 (f16/bf16 on GPU only)")]
    DType(String),
}

pub fn parse(spec: &str) -> Result<Device, DeviceError> {
    let s = spec.trim().to_ascii_lowercase();
    match s.as_str() {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(auto()),
        "metal" => metal(0, spec),
        _ => {
            if let Some(rest) = s.strip_prefix("cuda") {
                let ordinal = match rest.strip_prefix(':') {
                    Some(n) => n.parse().map_err(|_| DeviceError::Unknown(spec.into()))?,
                    None if rest.is_empty() => 0,
                    None => return Err(DeviceError::Unknown(spec.into())),
                };
                cuda(ordinal, spec)
            } else {
                Err(DeviceError::Unknown(spec.into()))
            }
        }
    }
}

fn auto() -> Device {
    if candle_core::utils::cuda_is_available() {
        if let Ok(d) = Device::new_cuda(0) {
            return d;
        }
    }
    if candle_core::utils::metal_is_available() {
        if let Ok(d) = Device::new_metal(0) {
            return d;
        }
    }
    Device::Cpu
}

fn cuda(ordinal: usize, spec: &str) -> Result<Device, DeviceError> {
    if !cfg!(feature = "cuda") {
        return Err(DeviceError::NotBuilt(spec.into(), "cuda"));
    }
    Device::new_cuda(ordinal).map_err(|e| DeviceError::Candle(spec.into(), e))
}

fn metal(ordinal: usize, spec: &str) -> Result<Device, DeviceError> {
    if !cfg!(feature = "metal") {
        return Err(DeviceError::NotBuilt(spec.into(), "metal"));
    }
    Device::new_metal(ordinal).map_err(|e| DeviceError::Candle(spec.into(), e))
}

pub fn describe(d: &Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(_) => format!("cuda:{}", ordinal(d)),
        Device::Metal(_) => "metal".into(),
    }
}

fn ordinal(d: &Device) -> usize {
    match d.location() {
        candle_core::DeviceLocation::Cuda { gpu_id } => gpu_id,
        _ => 0,
    }
}

/// f32 on CPU always (half precision is slower there and changes results); f16/bf16 on GPU
/// when asked.
pub fn dtype(spec: &str, device: &Device) -> Result<DType, DeviceError> {
    let dt = match spec.to_ascii_lowercase().as_str() {
        "f32" | "float32" => DType::F32,
        "f16" | "float16" => DType::F16,
        "bf16" | "bfloat16" => DType::BF16,
        _ => return Err(DeviceError::DType(spec.into())),
    };
    if device.is_cpu() && dt != DType::F32 {
        return Err(DeviceError::DType(spec.into()));
    }
    Ok(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_specs() {
        assert!(parse("cpu").unwrap().is_cpu());
        assert!(parse("CPU").unwrap().is_cpu());
        assert!(matches!(parse("tpu"), Err(DeviceError::Unknown(_))));
        assert!(matches!(parse("cuda:x"), Err(DeviceError::Unknown(_))));
        if !cfg!(feature = "cuda") {
            assert!(matches!(
                parse("cuda:1"),
                Err(DeviceError::NotBuilt(_, "cuda"))
            ));
        }
        assert!(dtype("bf16", &Device::Cpu).is_err());
        assert_eq!(dtype("f32", &Device::Cpu).unwrap(), DType::F32);
    }
}
