//! Whose files a command works on: the current user, a named user, or the console user (the person at the
//! screen, which is who a Jamf policy or an Intune script running as root means). The OS lookups live in
//! `unix.rs` / `windows.rs`; choosing among what they return is here and tested everywhere.

use std::path::PathBuf;

/// A user and the home folder their files live under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUser {
    pub name: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: PathBuf,
}

/// The user thoth runs as. The home folder honours `$HOME` (as every other thoth path does).
pub fn current_user() -> Option<TargetUser> {
    let home = std::env::home_dir()?;
    let name = super::user_name().unwrap_or_default();
    let (uid, gid) = super::os::ids();
    Some(TargetUser {
        name,
        uid,
        gid,
        home,
    })
}

/// A user by login name, from the OS user database.
pub fn lookup_user(name: &str) -> Option<TargetUser> {
    super::os::lookup_user(name)
}

/// The user at the console: macOS the owner of /dev/console, Linux `SUDO_USER` or the lowest regular uid with
/// a graphical session, Windows the active console session's user. `None` at a login window or headless.
pub fn console_user() -> Option<TargetUser> {
    super::os::console_user()
}

/// A Linux graphical login: a `/run/user/<uid>` folder holding a Wayland or X display socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeDir {
    pub uid: u32,
    pub has_display: bool,
}

/// The console user among the runtime folders: the lowest regular uid (>= 1000) with a display.
pub fn pick_graphical_uid(dirs: &[RuntimeDir]) -> Option<u32> {
    dirs.iter()
        .filter(|d| d.uid >= 1000 && d.has_display)
        .map(|d| d.uid)
        .min()
}

/// macOS reports the login window as root owning /dev/console: that is nobody at the screen.
pub fn console_owner(uid: u32) -> Option<u32> {
    (uid != 0).then_some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphical_uid_is_the_lowest_regular_user_with_a_display() {
        let dirs = [
            RuntimeDir {
                uid: 0,
                has_display: true,
            },
            RuntimeDir {
                uid: 1002,
                has_display: true,
            },
            RuntimeDir {
                uid: 1001,
                has_display: false,
            },
            RuntimeDir {
                uid: 1003,
                has_display: true,
            },
        ];
        assert_eq!(pick_graphical_uid(&dirs), Some(1002));
        assert_eq!(pick_graphical_uid(&dirs[..1]), None);
        assert_eq!(pick_graphical_uid(&[]), None);
    }

    #[test]
    fn login_window_is_nobody() {
        assert_eq!(console_owner(0), None);
        assert_eq!(console_owner(501), Some(501));
    }

    #[test]
    fn current_user_honours_home() {
        let user = current_user().expect("tests run with a home folder");
        assert_eq!(Some(user.home), std::env::home_dir());
    }
}
