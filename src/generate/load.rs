//! Placeholder until the backends land.
use super::{GenerateError, Generator};
use crate::hub::ResolvedGenerator;
use candle_core::Device;

pub fn load(r: &ResolvedGenerator, _device: &Device) -> Result<Generator, GenerateError> {
    Err(GenerateError::Family(r.manifest.family.clone()))
}
