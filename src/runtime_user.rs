//! The runtime user checks (DESIGN.md §4): who thoth runs as, against THOTH_REQUIRE_NON_ROOT,
//! THOTH_EXPECTED_PROXY_USER and THOTH_EXPECTED_PROXY_UID. A failed check refuses `thoth run`; `doctor`
//! shows the same report.

use serde::Serialize;

use crate::settings::Settings;

/// Who thoth runs as and what the settings say about it.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeUser {
    pub user: Option<String>,
    pub uid: Option<u32>,
    /// Root on Unix; an elevated or SYSTEM token on Windows.
    pub is_root: bool,
    pub require_non_root: bool,
    /// Every check that failed, as a sentence naming the setting.
    pub problems: Vec<String>,
}

impl RuntimeUser {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check the current process.
pub fn check(settings: &Settings) -> RuntimeUser {
    evaluate(
        settings,
        crate::platform::user_name(),
        crate::platform::uid(),
        crate::platform::is_root(),
    )
}

/// The checks over given facts (tests).
pub fn evaluate(
    settings: &Settings,
    user: Option<String>,
    uid: Option<u32>,
    is_root: bool,
) -> RuntimeUser {
    let mut problems = Vec::new();
    if settings.require_non_root.value && is_root {
        problems.push(format!(
            "thoth is running as root or elevated, and THOTH_REQUIRE_NON_ROOT is true ({}; THOTH_ENV={})",
            settings.require_non_root.source,
            settings.environment.value.as_str()
        ));
    }
    if let Some(expected) = &settings.expected_user {
        if user.as_deref() != Some(expected.value.as_str()) {
            problems.push(format!(
                "thoth is running as user {}, but THOTH_EXPECTED_PROXY_USER is {} ({})",
                user.as_deref().unwrap_or("(unknown)"),
                expected.value,
                expected.source
            ));
        }
    }
    if let Some(expected) = &settings.expected_uid {
        if uid != Some(expected.value) {
            problems.push(format!(
                "thoth is running as uid {}, but THOTH_EXPECTED_PROXY_UID is {} ({})",
                uid.map_or("(none)".into(), |u| u.to_string()),
                expected.value,
                expected.source
            ));
        }
    }
    RuntimeUser {
        user,
        uid,
        is_root,
        require_non_root: settings.require_non_root.value,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{resolve::resolve, Inputs};

    fn settings(env: &[(&str, &str)]) -> Settings {
        let i = Inputs {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Inputs::default()
        };
        resolve(i).unwrap()
    }

    #[test]
    fn root_is_refused_in_prod_and_allowed_in_dev() {
        let r = evaluate(&settings(&[]), Some("root".into()), Some(0), true);
        assert!(!r.ok() && r.problems[0].contains("THOTH_REQUIRE_NON_ROOT"));
        assert!(evaluate(
            &settings(&[("THOTH_ENV", "dev")]),
            Some("root".into()),
            Some(0),
            true
        )
        .ok());
        assert!(evaluate(&settings(&[]), Some("alice".into()), Some(501), false).ok());
    }

    #[test]
    fn expected_user_and_uid() {
        let s = settings(&[
            ("THOTH_EXPECTED_PROXY_USER", "alice"),
            ("THOTH_EXPECTED_PROXY_UID", "501"),
        ]);
        assert!(evaluate(&s, Some("alice".into()), Some(501), false).ok());
        let r = evaluate(&s, Some("bob".into()), Some(502), false);
        assert_eq!(r.problems.len(), 2);
        assert!(
            r.problems[0].contains("THOTH_EXPECTED_PROXY_USER") && r.problems[0].contains("bob")
        );
        assert!(
            r.problems[1].contains("THOTH_EXPECTED_PROXY_UID") && r.problems[1].contains("502")
        );
    }
}
