//! `thoth secrets set|list|rm|get`: values come in on stdin only (never as an argument: shell history and
//! `ps` would keep them) and go out only to a terminal (`get --reveal`).

use std::ffi::OsString;
use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::secrets::{Entry, Error, Store};
use crate::settings::Settings;
use crate::Exit;

/// `thoth secrets`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a secret read from stdin (one trailing newline dropped); replaces an existing one.
    Set(SetArgs),
    /// List the stored secrets: names, backend, created (never values).
    List(ListArgs),
    /// Remove a secret.
    Rm(NameArgs),
    /// Print a secret's value; only with --reveal and only to a terminal.
    Get(GetArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// `<server>/<KEY>`, e.g. github/GITHUB_PERSONAL_ACCESS_TOKEN.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Read the value from stdin (the only way a value comes in; the flag says so in scripts).
    #[arg(long)]
    pub from_stdin: bool,
    /// Refused: a value on the command line ends up in shell history and `ps`.
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub value: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the list as JSON (schemas/secrets-list.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Print the value (only when stdout is a terminal).
    #[arg(long)]
    pub reveal: bool,
}

/// schemas/secrets-list.schema.json
#[derive(Debug, Serialize)]
struct ListReport<'a> {
    schema_version: u32,
    backend: &'static str,
    store: &'a std::path::Path,
    secrets: Vec<Entry>,
}

pub fn run(args: SecretsArgs, settings: &Settings) -> Result<Exit, crate::Error> {
    let store = Store::open(settings.thoth_dir.as_deref())?;
    match args.command {
        SecretsCommand::Set(args) => set(&store, args),
        SecretsCommand::List(args) => list(&store, args.json),
        SecretsCommand::Rm(args) => {
            if !store.remove(&args.name)? {
                return Err(Error::NotFound { name: args.name }.into());
            }
            crate::output::message(&format!("removed {}", args.name));
            Ok(Exit::Ok)
        }
        SecretsCommand::Get(args) => get(&store, args),
    }
}

fn set(store: &Store, args: SetArgs) -> Result<Exit, crate::Error> {
    if !args.value.is_empty() {
        // Named without the value itself: stderr may be logged.
        crate::output::message(&format!(
            "error: `thoth secrets set {}` takes the value on stdin, not as an argument (it would stay in shell \
             history and be visible in `ps`); nothing was stored\n  usage: thoth secrets set NAME --from-stdin",
            args.name
        ));
        return Ok(Exit::Usage);
    }
    crate::secrets::check_name(&args.name)?;
    if std::io::stdin().is_terminal() {
        crate::output::message("type the value, then Enter and Ctrl-D (it is not shown again)");
    }
    let mut raw = Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut raw)
        .map_err(|e| Error::Usage(format!("could not read the value from stdin: {e}")))?;
    let mut value = Zeroizing::new(String::from_utf8(raw.to_vec()).map_err(|_| {
        Error::Usage("the value on stdin is not UTF-8 text (configs hold JSON strings)".into())
    })?);
    let keep = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .map(str::len);
    if let Some(keep) = keep {
        value.truncate(keep);
    }
    store.set(&args.name, &value)?;
    crate::output::message(&format!(
        "stored {} ({}); reference it as {}",
        args.name,
        store.backend_name(),
        crate::secrets::reference(&args.name)
    ));
    Ok(Exit::Ok)
}

fn list(store: &Store, json: bool) -> Result<Exit, crate::Error> {
    let secrets = store.list()?;
    if json {
        crate::output::json(&ListReport {
            schema_version: 1,
            backend: store.backend_name(),
            store: store.dir(),
            secrets,
        });
        return Ok(Exit::Ok);
    }
    let mut text = String::new();
    for entry in &secrets {
        text.push_str(&format!(
            "{}  {}  {}\n",
            entry.name, entry.backend, entry.created
        ));
    }
    if secrets.is_empty() {
        text.push_str(&format!(
            "(no secrets in {}; backend {})\n",
            store.dir().display(),
            store.backend_name()
        ));
    }
    crate::output::text(&text);
    Ok(Exit::Ok)
}

fn get(store: &Store, args: GetArgs) -> Result<Exit, crate::Error> {
    if !args.reveal {
        return Err(Error::Usage(format!(
            "`thoth secrets get {}` prints the value only with --reveal",
            args.name
        ))
        .into());
    }
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "`thoth secrets get --reveal` prints only to a terminal (not to a pipe or file, where the value \
             would be kept)"
                .into(),
        )
        .into());
    }
    let value = store.get(&args.name)?.ok_or(Error::NotFound {
        name: args.name.clone(),
    })?;
    crate::output::text(&format!("{}\n", value.as_str()));
    Ok(Exit::Ok)
}
