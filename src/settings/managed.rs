//! PLACEHOLDER until the managed-settings readers land (helper in progress): same API, no values.
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct ManagedValue {
    pub value: String,
    pub origin: String,
}

pub type ManagedValues = BTreeMap<String, ManagedValue>;

#[derive(Debug, thiserror::Error)]
#[error("managed settings are not readable yet")]
pub struct ManagedError;

pub fn from_plist(_bytes: &[u8]) -> Result<ManagedValues, ManagedError> {
    Err(ManagedError)
}

pub fn from_reg_export_bytes(_bytes: &[u8]) -> Result<ManagedValues, ManagedError> {
    Err(ManagedError)
}

pub fn from_json(text: &str) -> Result<ManagedValues, ManagedError> {
    let map: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| ManagedError)?;
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| {
            super::inputs::scalar_text(&v).map(|value| {
                (
                    k,
                    ManagedValue {
                        value,
                        origin: "managed.json".into(),
                    },
                )
            })
        })
        .collect())
}

pub fn load_system(_user: Option<&str>) -> ManagedValues {
    BTreeMap::new()
}
