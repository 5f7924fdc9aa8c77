//! `thoth set-api-key --api-key K|-`: save the enforcer key to `~/.thoth/proxy_api_key.json`, 0600. With `-`
//! the key is read from stdin, so it never lands in shell history. Nothing is printed on stdout.

use std::io::Read;

use crate::cli::SetApiKeyArgs;
use crate::settings::Settings;
use crate::{home, Error, Exit};

pub fn run(args: SetApiKeyArgs, settings: &Settings) -> Result<Exit, Error> {
    let key = if args.api_key == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::Input(format!("cannot read the API key from stdin: {e}")))?;
        text.trim().to_owned()
    } else {
        args.api_key.trim().to_owned()
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::Input("the API key is empty or contains spaces (give --api-key KEY, or --api-key - and the key on stdin)".into()));
    }
    let dir = settings.thoth_dir.as_deref().ok_or(home::Error::NoHome)?;
    let path = home::save_api_key(dir, &key, args.key_id.as_deref())?;
    crate::output::message(&format!(
        "saved the API key to {} (readable only by you)",
        path.display()
    ));
    Ok(Exit::Ok)
}
