//! Parameters copied out of a tch `VarStore` by name, as contiguous CPU f32 vectors.
use crate::error::{Error, Result};
use std::collections::HashMap;
use tch::{nn, Device, Kind, Tensor};

pub struct Weights {
    vars: HashMap<String, Tensor>,
}

impl Weights {
    pub fn from_varstore(vs: &nn::VarStore) -> Self {
        Weights { vars: vs.variables() }
    }

    /// The variable `name`, which must hold exactly `len` values.
    pub fn get(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        let t = self.vars.get(name).ok_or_else(|| Error::Config(format!("host model: no weight `{name}`")))?;
        if t.numel() != len {
            return Err(Error::Config(format!("host model: weight `{name}` has {} values, expected {len}", t.numel())));
        }
        let flat = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).contiguous().view([-1]);
        Vec::<f32>::try_from(&flat).map_err(Error::Torch)
    }
}
