//! Integration tests: one binary (STYLE.md §6), a module per concern. Each drives the built `thoth` binary.

mod support;

mod audit;
mod audit_chain;
mod auth;
mod cli;
mod doctor;
mod enforcer;
mod events;
mod govapi;
mod health;
mod hostile;
mod hostile_lines;
mod lock;
mod memory;
mod policy;
mod real_peers;
mod redaction;
mod schemas;
mod settings_precedence;
mod update;
mod wrap;

mod drift;
mod health_clients;
mod mdm;
mod packages;
mod remote;
mod remote_bounds;
mod remote_governed;
mod remote_kit;
mod remote_oauth;
mod remote_restart;
mod remote_stream;
#[cfg(unix)]
mod secrets;
mod status_clients;
#[cfg(unix)]
mod wrap_clients;
mod wrap_duplicates;
mod wrap_hardening;
mod wrap_remote;

// Issue 15: the clients' own managed allowlists (helper CB).
mod client_policy;
mod house;
