//! The commands: each owns its composition (settings in, domain modules called, a report out) and how the
//! report is rendered. Domain modules below never import a command or the CLI (ARCHITECTURE.md).

pub mod audit;
pub mod auth;
pub mod checkin;
pub mod client_policy;
pub mod doctor;
pub mod health;
pub mod lock;
pub mod run;
pub mod secrets;
pub mod set_api_key;
pub mod status;
pub mod status_clients;
pub mod status_glyphs;
pub mod update;
pub mod wrap_config;
