//! The one place thoth turns instants into text and back. Every wire format keeps its precision, named
//! here: `Millis` for audit entries and events (`2025-01-31T10:15:30.123Z`), `Seconds` for the GovAPI
//! endpoint state (`2026-11-22T03:04:05Z`), `Clock` for the enforcer's `occurred_at` (RFC 3339 with the
//! clock's fractional digits, up to 9), and HTTP-dates for `Retry-After`.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How many fractional digits a timestamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// None: `...T03:04:05Z`.
    Seconds,
    /// Always three: `...T10:15:30.123Z`.
    Millis,
    /// What the clock gives, trailing zeros dropped, up to nine: `...T10:15:30.123456789Z`.
    Clock,
}

/// `t` as RFC 3339 in UTC at `precision`. Empty only for years past 9999, which RFC 3339 cannot write.
pub fn rfc3339(t: OffsetDateTime, precision: Precision) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    match precision {
        Precision::Millis => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Precision::Seconds => {
            let t = t.replace_nanosecond(0).unwrap_or(t);
            t.format(&Rfc3339).unwrap_or_default()
        }
        Precision::Clock => t.format(&Rfc3339).unwrap_or_default(),
    }
}

/// A `SystemTime` as RFC 3339 UTC at `precision`.
pub fn rfc3339_at(at: SystemTime, precision: Precision) -> String {
    rfc3339(OffsetDateTime::from(at), precision)
}

/// Now as RFC 3339 UTC at `precision`.
pub fn now_rfc3339(precision: Precision) -> String {
    rfc3339(OffsetDateTime::now_utc(), precision)
}

/// Unix seconds as RFC 3339 UTC, or None when out of range.
pub fn epoch_rfc3339(epoch: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(epoch).ok()?;
    t.format(&Rfc3339).ok()
}

/// RFC 3339 text (any precision, any offset), or None.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms), or None.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_precision_is_pinned() {
        let at = SystemTime::UNIX_EPOCH + Duration::new(1_738_318_530, 123_456_789);
        assert_eq!(
            rfc3339_at(at, Precision::Millis),
            "2025-01-31T10:15:30.123Z"
        );
        assert_eq!(rfc3339_at(at, Precision::Seconds), "2025-01-31T10:15:30Z");
        assert_eq!(
            rfc3339_at(at, Precision::Clock),
            "2025-01-31T10:15:30.123456789Z"
        );
        let whole = SystemTime::UNIX_EPOCH;
        assert_eq!(
            rfc3339_at(whole, Precision::Millis),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(rfc3339_at(whole, Precision::Clock), "1970-01-01T00:00:00Z");
        assert_eq!(epoch_rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(epoch_rfc3339(i64::MAX), None);
    }

    #[test]
    fn parsing_round_trips_and_refuses_other_text() {
        let t = parse_rfc3339("2026-01-02T03:04:05.678+02:00").unwrap();
        assert_eq!(rfc3339(t, Precision::Millis), "2026-01-02T01:04:05.678Z");
        assert!(parse_rfc3339("yesterday").is_none());
        let d = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(rfc3339_at(d, Precision::Seconds), "2015-10-21T07:28:00Z");
        assert!(parse_http_date("2015-10-21").is_none());
    }
}
