//! PLACEHOLDER until endpoint identity lands (helper in progress): same API.
pub struct Identity {
    pub id: String,
    pub source: IdentitySource,
}

pub enum IdentitySource {
    Explicit(String),
    Jamf(String),
    MachineId,
}

impl IdentitySource {
    pub fn name(&self) -> &'static str {
        match self {
            IdentitySource::Explicit(_) => "endpoint_id",
            IdentitySource::Jamf(_) => "jamf",
            IdentitySource::MachineId => "machine_id",
        }
    }
}

pub fn resolve_system(lookup: &dyn Fn(&str) -> Option<(String, String)>) -> Identity {
    if let Some((id, origin)) = lookup("THOTH_ENDPOINT_ID") {
        return Identity {
            id,
            source: IdentitySource::Explicit(origin),
        };
    }
    if let Some((id, origin)) = lookup("THOTH_JAMF_COMPUTER_ID") {
        return Identity {
            id,
            source: IdentitySource::Jamf(origin),
        };
    }
    Identity {
        id: "unknown".into(),
        source: IdentitySource::MachineId,
    }
}
