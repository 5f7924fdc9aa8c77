//! `wrap-config --vault-secrets` (issue 17): plain-text secrets in the selected servers' `env` move to the
//! secret store as `<server>/<KEY>` and the config keeps `thoth-secret:<server>/<KEY>`; so does the unwrap
//! record, the new backup and every older `<name>.thoth-backup-*` beside the config. `--unwrap` puts the
//! values back from the store (or, with `--keep-vaulted`, refuses: the server could not resolve them).

use std::path::Path;

use jsonc_parser::cst::{CstInputValue, CstObject};
use serde::Serialize;

use super::cli_args::WrapConfigArgs;
use crate::secrets::{self, findings, Store};
use crate::settings::Settings;
use crate::wrap::document::Document;
use crate::wrap::edit::{Outcome, Plan, ServerResult};
use crate::wrap::entry::{self, Entry};
use crate::wrap::record::Records;
use crate::wrap::Error;

/// One value moved to the store (the value itself is wiped when dropped and never serialized).
pub struct Vaulted {
    pub server: String,
    pub key: String,
    pub name: String,
    value: secrets::Value,
}

/// What the report says of a moved key (schemas/wrap-report.schema.json `vaulted`).
#[derive(Debug, Clone, Serialize)]
pub struct VaultedKey {
    pub server: String,
    pub key: String,
    pub reference: String,
}

/// Is vaulting asked for (`--vault-secrets` or `--vault KEY`)? Refuses flags that do not go together.
pub fn wanted(args: &WrapConfigArgs) -> Result<bool, Error> {
    let vault = args.vault_secrets || !args.vault.is_empty();
    if vault && args.unwrap {
        return Err(Error::Usage(
            "--unwrap puts vaulted values back; it does not go with --vault-secrets / --vault"
                .into(),
        ));
    }
    if args.keep_vaulted && !args.unwrap {
        return Err(Error::Usage(
            "--keep-vaulted only goes with --unwrap".into(),
        ));
    }
    Ok(vault)
}

fn open(settings: &Settings) -> Result<Store, crate::Error> {
    let store = Store::open(settings.thoth_dir.as_deref())?;
    // Refuses a store open to group or others before anything moves into it.
    store.list()?;
    Ok(store)
}

/// Before the wrap: replace each plain-text secret of the selected stdio servers by its reference, in the
/// document and in the unwrap records (whose original entry text would otherwise keep the value).
pub fn before_wrap(
    args: &WrapConfigArgs,
    settings: &Settings,
    doc: &Document,
    plan: &Plan,
    records: &mut Records,
) -> Result<Vec<Vaulted>, crate::Error> {
    if !wanted(args)? {
        return Ok(Vec::new());
    }
    open(settings)?;
    let mut moved = Vec::new();
    for (server, prop) in doc.server_props() {
        let selected = crate::wrap::edit::selects(plan, &server);
        if !selected || !matches!(entry::read(&prop), Entry::Stdio(_)) {
            continue;
        }
        if let Some(env) = prop.object_value().and_then(|o| o.object_value("env")) {
            vault_env(&server, &env, &args.vault, &mut moved);
        }
        if let Some(record) = records.servers.get_mut(&server) {
            if let Some(text) = &record.original_text {
                record.original_text = Some(vault_text(&server, text, &args.vault, &mut moved));
            }
            for (key, value) in record.env_replaced.iter_mut() {
                if let Some(plain) = value
                    .as_str()
                    .filter(|v| findings::is_plaintext_secret(key, v, &args.vault))
                {
                    push(&mut moved, &server, key, plain);
                    *value = serde_json::Value::String(secrets::reference(&secrets::name_for(
                        &server, key,
                    )));
                }
            }
        }
    }
    Ok(moved)
}

fn push(moved: &mut Vec<Vaulted>, server: &str, key: &str, value: &str) {
    let name = secrets::name_for(server, key);
    // The config's current value wins over an older one the record kept.
    if moved.iter().any(|v| v.name == name) {
        return;
    }
    moved.push(Vaulted {
        server: server.to_owned(),
        key: key.to_owned(),
        name,
        value: secrets::Value::new(value.to_owned()),
    });
}

/// Vault the secrets of one `env` object in place.
fn vault_env(server: &str, env: &CstObject, named: &[String], moved: &mut Vec<Vaulted>) {
    for var in env.properties() {
        let Some(key) = var.decoded_name() else {
            continue;
        };
        let Some(serde_json::Value::String(value)) = var.value().and_then(|v| v.to_serde_value())
        else {
            continue;
        };
        if findings::is_plaintext_secret(&key, &value, named) {
            push(moved, server, &key, &value);
            var.set_value(CstInputValue::String(secrets::reference(
                &secrets::name_for(server, &key),
            )));
        }
    }
}

/// An entry's text (the record's `original_text`) with its secrets vaulted.
fn vault_text(server: &str, text: &str, named: &[String], moved: &mut Vec<Vaulted>) -> String {
    let Ok(root) = jsonc_parser::cst::CstRootNode::parse(text, &crate::wrap::document::options())
    else {
        return text.to_owned();
    };
    if let Some(env) = root.object_value().and_then(|o| o.object_value("env")) {
        vault_env(server, &env, named, moved);
    }
    root.to_string()
}

/// Keep the moved values in the store (before the config that refers to them is written).
pub fn store(settings: &Settings, moved: &[Vaulted]) -> Result<(), crate::Error> {
    if moved.is_empty() {
        return Ok(());
    }
    let store = open(settings)?;
    for item in moved {
        store.set(&item.name, &item.value)?;
    }
    Ok(())
}

/// The moved values, for masking a dry run's diff.
pub fn values(moved: &[Vaulted]) -> Vec<String> {
    moved.iter().map(|v| v.value.to_string()).collect()
}

pub fn report(moved: &[Vaulted]) -> Vec<VaultedKey> {
    moved
        .iter()
        .map(|v| VaultedKey {
            server: v.server.clone(),
            key: v.key.clone(),
            reference: secrets::reference(&v.name),
        })
        .collect()
}

/// The report's lines for the moved keys (names and references, never values).
pub fn render(vaulted: &[VaultedKey], dry_run: bool) -> String {
    let verb = if dry_run { "would move" } else { "moved" };
    vaulted
        .iter()
        .map(|v| {
            format!(
                "vault ({verb}) {}: {} -> {}\n",
                v.server, v.key, v.reference
            )
        })
        .collect()
}

/// After an unwrap: put the stored values back in place of the references of the servers it restored.
/// `--keep-vaulted` (or a dry run, which reads no store) leaves them; `--keep-vaulted` refuses when a
/// restored server would start with a reference nothing resolves.
pub fn after_unwrap(
    args: &WrapConfigArgs,
    settings: &Settings,
    path: &Path,
    text: String,
    servers: &[ServerResult],
) -> Result<(String, Vec<String>), crate::Error> {
    if !args.unwrap {
        return Ok((text, Vec::new()));
    }
    let doc = Document::parse(path, &text)?;
    let mut refs = Vec::new();
    for (server, prop) in doc.server_props() {
        let unwrapped = servers
            .iter()
            .any(|s| s.name == server && s.outcome == Outcome::Unwrapped);
        let Some(env) = prop.object_value().and_then(|o| o.object_value("env")) else {
            continue;
        };
        for var in env.properties().into_iter().filter(|_| unwrapped) {
            let value = var.value().and_then(|v| v.to_serde_value());
            if let Some(name) = value
                .as_ref()
                .and_then(|v| secrets::referenced(v.as_str()?))
            {
                refs.push((
                    server.clone(),
                    var.decoded_name().unwrap_or_default(),
                    name.to_owned(),
                    var,
                ));
            }
        }
    }
    if refs.is_empty() || args.dry_run {
        return Ok((text, Vec::new()));
    }
    if args.keep_vaulted {
        let named: Vec<String> = refs
            .iter()
            .map(|(server, key, _, _)| format!("{server}: {key}"))
            .collect();
        return Err(Error::Usage(format!(
            "--keep-vaulted: the unwrapped servers would start without thoth, and nothing resolves their \
             thoth-secret: references ({}); unwrap without --keep-vaulted to put the values back",
            named.join(", ")
        ))
        .into());
    }
    let store = open(settings)?;
    let mut restored = Vec::new();
    for (_, key, name, var) in &refs {
        let value = store
            .get(name)?
            .ok_or_else(|| secrets::Error::MissingReference {
                name: name.clone(),
                env: key.clone(),
            })?;
        restored.push(value.to_string());
        var.set_value(CstInputValue::String(value.to_string()));
    }
    Ok((doc.to_text(), restored))
}

/// Replace each moved value by its reference in the `<name>.thoth-backup-*` files beside `config`: a
/// backup must not keep what was just vaulted. Each file keeps its mode and owner.
pub fn scrub_backups(config: &Path, moved: &[Vaulted]) -> Result<Vec<std::path::PathBuf>, Error> {
    let mut scrubbed = Vec::new();
    let (Some(dir), Some(name)) = (config.parent(), config.file_name()) else {
        return Ok(scrubbed);
    };
    if moved.is_empty() {
        return Ok(scrubbed);
    }
    let prefix = format!("{}.thoth-backup-", name.to_string_lossy());
    let items = std::fs::read_dir(dir).map_err(|error| Error::Read {
        path: dir.to_owned(),
        error,
    })?;
    for item in items.flatten() {
        let path = item.path();
        if !item.file_name().to_string_lossy().starts_with(&prefix) || !path.is_file() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let text = zeroize::Zeroizing::new(text);
        let new = scrub_text(&text, moved);
        if new.as_str() != text.as_str() {
            let like = std::fs::metadata(&path).ok();
            crate::wrap::save::write_new(&path, new.as_bytes(), like.as_ref(), None, false)?;
            scrubbed.push(path);
        }
    }
    Ok(scrubbed)
}

/// `text` with every moved value, as any JSON string spells it, replaced by its reference: through the
/// syntax tree when the text parses (any escaping), then literally (what is left, or text that does not).
fn scrub_text(text: &str, moved: &[Vaulted]) -> zeroize::Zeroizing<String> {
    let mut out = text.to_owned();
    if let Ok(doc) = Document::parse(Path::new("-"), text) {
        for (server, prop) in doc.server_props() {
            let Some(env) = prop.object_value().and_then(|o| o.object_value("env")) else {
                continue;
            };
            for var in env.properties() {
                let value = var.value().and_then(|v| v.to_serde_value());
                let Some(value) = value.as_ref().and_then(|v| v.as_str()) else {
                    continue;
                };
                let key = var.decoded_name().unwrap_or_default();
                let own = secrets::name_for(&server, &key);
                let hit = moved
                    .iter()
                    .filter(|m| m.value.as_str() == value)
                    .min_by_key(|m| m.name != own);
                if let Some(m) = hit {
                    var.set_value(CstInputValue::String(secrets::reference(&m.name)));
                }
            }
        }
        out = doc.to_text();
    }
    let mut by_length: Vec<&Vaulted> = moved.iter().filter(|m| !m.value.is_empty()).collect();
    by_length.sort_by_key(|m| std::cmp::Reverse(m.value.len()));
    for m in by_length {
        let Ok(quoted) = serde_json::to_string(m.value.as_str()) else {
            continue;
        };
        let spelled = &quoted[1..quoted.len() - 1];
        out = out.replace(spelled, &secrets::reference(&m.name));
    }
    zeroize::Zeroizing::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_replaces_any_spelling_by_the_reference() {
        let moved = vec![Vaulted {
            server: "s".into(),
            key: "TOKEN".into(),
            name: "s/TOKEN".into(),
            value: secrets::Value::new("tü\"k".into()),
        }];
        let text = "{\"mcpServers\": {\"s\": {\"command\": \"x\", \"env\": {\"TOKEN\": \"t\\u00fc\\\"k\"}}}}\n";
        let out = scrub_text(text, &moved);
        assert_eq!(
            out.as_str(),
            "{\"mcpServers\": {\"s\": {\"command\": \"x\", \"env\": {\"TOKEN\": \"thoth-secret:s/TOKEN\"}}}}\n"
        );
        let broken = "{not json \"tü\\\"k\"";
        assert_eq!(
            scrub_text(broken, &moved).as_str(),
            "{not json \"thoth-secret:s/TOKEN\""
        );
    }
}
