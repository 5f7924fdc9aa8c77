//! The MDM forms of the health report, as exact text and exit decisions (printed by `output`): Jamf Pro
//! Extension Attributes (`<result>VALUE</result>`), Intune detection (one line and exit 0 only when detected,
//! nothing on stdout otherwise) and Intune remediation detection (exit 1 with one last line <= 2048
//! characters naming what to fix). Pure functions, tested byte for byte.

use super::model::{CheckStatus, HealthReport};

/// The longest last line Intune keeps from a remediation detection script.
pub const INTUNE_LINE_MAX: usize = 2048;

/// The values a Jamf EA can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JamfField {
    Status,
    Version,
    Governed,
    #[value(name = "last_checkin", alias = "last-checkin")]
    LastCheckin,
    #[value(name = "endpoint_id", alias = "endpoint-id")]
    EndpointId,
}

/// `<result>VALUE</result>\n`; dates as `YYYY-MM-DD hh:mm:ss` (UTC), a missing value as empty.
pub fn jamf_ea(report: &HealthReport, field: JamfField) -> String {
    let value = match field {
        JamfField::Status => report.status.as_str().to_owned(),
        JamfField::Version => report.version.to_owned(),
        JamfField::Governed => report.governed.to_string(),
        JamfField::LastCheckin => report
            .govapi
            .last_checkin_at
            .as_deref()
            .and_then(jamf_date)
            .unwrap_or_default(),
        JamfField::EndpointId => report.endpoint.id.clone().unwrap_or_default(),
    };
    format!("<result>{}</result>\n", escape(&value))
}

/// RFC 3339 to Jamf's date format (UTC).
pub fn jamf_date(rfc3339: &str) -> Option<String> {
    let t = crate::time::parse_rfc3339(rfc3339)?.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .ok()
}

/// Keep the EA's XML well formed whatever a value holds.
fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Intune detection: the line to print (exit 0), or None (print nothing, exit 1). Detected means this thoth
/// is at `min_version` or newer, its settings resolve, and the Claude config is governed.
pub fn intune_detect(
    report: &HealthReport,
    min_version: Option<&semver::Version>,
) -> Option<String> {
    let installed = semver::Version::parse(report.version).ok()?;
    // Settings thoth cannot resolve mean `thoth run` refuses to start: not a working install.
    let settings_broken = report.checks.iter().any(|c| c.name == "settings");
    if settings_broken || min_version.is_some_and(|min| installed < *min) || !report.governed {
        return None;
    }
    Some(format!(
        "thoth {installed} installed; Claude Desktop config governed ({} server(s) behind thoth)\n",
        report.claude_config.governed_servers.len()
    ))
}

/// Intune remediation detection: (stdout text, needs fixing). Nothing to fix: `ok: ...` and exit 0; else
/// exit 1 with one line naming every warning and failure, cut to `INTUNE_LINE_MAX` characters.
pub fn intune_remediation(report: &HealthReport) -> (String, bool) {
    let problems: Vec<String> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Warn | CheckStatus::Fail))
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if problems.is_empty() {
        return (
            format!("ok: thoth {} {}\n", report.version, report.status.as_str()),
            false,
        );
    }
    let line = format!(
        "needs fixing ({}): {}",
        report.status.as_str(),
        problems.join("; ")
    );
    let line: String = line.replace(['\r', '\n'], " ");
    (format!("{}\n", cut(&line, INTUNE_LINE_MAX)), true)
}

/// At most `max` characters, ending in `...` when cut.
fn cut(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let mut out: String = line.chars().take(max - 3).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jamf_dates_are_utc_without_t_or_zone() {
        assert_eq!(
            jamf_date("2026-11-22T03:04:05Z").as_deref(),
            Some("2026-11-22 03:04:05")
        );
        assert_eq!(
            jamf_date("2026-11-22T05:04:05+02:00").as_deref(),
            Some("2026-11-22 03:04:05")
        );
        assert_eq!(jamf_date("never"), None);
    }

    #[test]
    fn long_lines_are_cut_to_the_intune_limit() {
        let long = "x".repeat(5000);
        let cut = cut(&long, INTUNE_LINE_MAX);
        assert_eq!(cut.chars().count(), INTUNE_LINE_MAX);
        assert!(cut.ends_with("..."));
        assert_eq!(super::cut("short", INTUNE_LINE_MAX), "short");
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
