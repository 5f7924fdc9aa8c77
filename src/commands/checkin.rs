//! `thoth checkin`: one registration (when needed) and one check-in now, for a Jamf policy or a scheduled
//! task, with the live `thoth run` agents of the user; the result is saved to their
//! `~/.thoth/state/endpoint.json` like the heartbeat's (run as root: the console user's, or `--for-user`'s,
//! handed to them). Before it, the user's client configs are checked for drift (`fleet::drift`: reported in
//! the check-in, and wrapped again with the managed THOTH_AUTO_WRAP=true). Says what happened on stderr; exits 0 on success, 1 otherwise (DESIGN.md §5).

use crate::cli::CheckinArgs;
use crate::fleet::drift::Setup;
use crate::fleet::endpoint_state;
use crate::fleet::heartbeat::Link;
use crate::settings::Settings;
use crate::{home, Error, Exit};

pub fn run(args: CheckinArgs, settings: &Settings) -> Result<Exit, Error> {
    // An expired SSO session is renewed (or refused) before anything is sent with it.
    let settings = &crate::auth::refresh::ensure_fresh(settings.clone())?;
    // As root (a Jamf policy) the state is the console user's, where their `thoth run` and `health` look.
    let (user, is_current) = crate::wrap::locate::resolve_user(args.for_user.as_deref())?;
    let thoth_dir = if is_current {
        settings.thoth_dir.clone().ok_or(home::Error::NoHome)?
    } else {
        crate::platform::paths::thoth_dir(&user.home)
    };
    let mut link = Link::prepare(settings, thoth_dir)?.ok_or(crate::fleet::Error::NoGovApi)?;
    // Like the heartbeat leader, a check-in first checks the user's client configs for drift.
    link.drift = Some(Setup::new(settings, user.clone(), is_current));
    let path = link.state_path();
    let mut state = endpoint_state::load(&path)
        .unwrap_or_else(|problem| {
            tracing::warn!("{problem}; starting from an empty state");
            None
        })
        .unwrap_or_default();
    if args.register {
        state.registered_at = None;
    }
    let agents = crate::fleet::agents::live(&link.agents_dir());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(crate::proxy::Error::Runtime)?;
    let result = runtime.block_on(link.attempt(&mut state, &agents));
    endpoint_state::save(&path, &state)?;
    if !is_current {
        endpoint_state::give_to_user(&link.thoth_dir, &path, user.uid, user.gid).map_err(
            |error| home::Error::Io {
                path: path.clone(),
                error,
            },
        )?;
    }
    result.map_err(crate::fleet::Error::Checkin)?;
    crate::output::message(&format!(
        "checked in to {} as {} ({} live agent(s))",
        link.api.base_url(),
        link.registration.endpoint_id,
        agents.len()
    ));
    Ok(Exit::Ok)
}
