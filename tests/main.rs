//! Integration tests: one binary (STYLE.md §6), a module per concern. Each drives the built `thoth` binary.

mod support;

mod audit;
mod cli;
mod doctor;
mod enforcer;
mod events;
mod govapi;
mod health;
mod hostile;
mod memory;
mod policy;
mod real_peers;
mod schemas;
mod settings_precedence;
mod update;
mod wrap;
