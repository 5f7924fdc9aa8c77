//! What MDM fixes, as wrap-config writes it: a managed tenant or enforcement mode is the one written (a
//! wrap-config flag that says otherwise is overridden, with a warning), and flags of an older wrap that
//! contradict a managed setting (`--policy` when the policy is managed; `--approved-scope`, which would add
//! tools to a managed policy) are dropped when the entry is wrapped again (issue 12 §3).

use crate::policy::Mode;
use crate::settings::{keys, Settings, Source, Sourced};

pub struct Managed<'a> {
    settings: &'a Settings,
}

fn is_managed<T>(value: &Sourced<T>) -> bool {
    matches!(value.source, Source::Managed(_))
}

impl<'a> Managed<'a> {
    pub fn of(settings: &'a Settings) -> Managed<'a> {
        Managed { settings }
    }

    fn managed(&self, name: &str) -> bool {
        self.settings.get(name).is_some_and(is_managed)
    }

    /// The managed tenant, when there is one (warning when `--tenant-id` says otherwise).
    pub fn tenant_id(&self, flag: Option<String>, warnings: &mut Vec<String>) -> Option<String> {
        let tenant = self.settings.tenant_id.as_ref().filter(|t| is_managed(t))?;
        if flag.as_ref().is_some_and(|f| *f != tenant.value) {
            warnings.push(format!(
                "--tenant-id is ignored: THOTH_TENANT_ID is managed ({}) and wins",
                tenant.source
            ));
        }
        Some(tenant.value.clone())
    }

    /// The managed enforcement mode, when there is one (warning when `--enforcement-mode` differs).
    pub fn enforcement_mode(&self, flag: Option<Mode>, warnings: &mut Vec<String>) -> Option<Mode> {
        let mode = &self.settings.enforcement_mode;
        if !is_managed(mode) {
            return None;
        }
        if flag.is_some_and(|f| f != mode.value) {
            warnings.push(format!(
                "--enforcement-mode is ignored: THOTH_ENFORCEMENT_MODE is managed ({}) and wins",
                mode.source
            ));
        }
        Some(mode.value)
    }

    /// `thoth run` flags a re-wrap drops from an older entry: every flag of a managed lockable setting, and
    /// `--approved-scope` when the policy is managed.
    pub fn drop_flags(&self) -> Vec<String> {
        let mut names: Vec<String> = keys::KEYS
            .iter()
            .filter(|k| k.lockable && self.managed(k.name))
            .filter_map(|k| k.flag.map(str::to_owned))
            .collect();
        if self.managed("THOTH_POLICY_FILE") {
            names.push("--approved-scope".into());
        }
        names
    }
}
