use super::*;

fn from(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<(String, String)> {
    move |key| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(k, v)| (v.to_string(), format!("env {k}")))
    }
}

fn none() -> Option<String> {
    None
}

fn machine() -> Option<String> {
    Some("4c4c4544-0042-3510-8051-B2C04F4A4E32".into())
}

fn host() -> Option<String> {
    Some("Alices-MacBook.local".into())
}

fn identity(id: &str, source: IdentitySource) -> Identity {
    Identity {
        id: id.to_owned(),
        source,
    }
}

#[test]
fn explicit_endpoint_id_comes_first() {
    let lookup = from(&[
        ("THOTH_ENDPOINT_ID", " laptop-42 "),
        (
            "THOTH_INTUNE_DEVICE_ID",
            "b2f3c7a0-0000-4000-8000-000000000001",
        ),
        ("JAMF_COMPUTER_ID", "1234"),
    ]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(
        got,
        identity(
            "laptop-42",
            IdentitySource::Explicit("env THOTH_ENDPOINT_ID".into())
        )
    );
    assert_eq!(got.source.name(), "endpoint_id");
}

#[test]
fn thoth_intune_device_id_before_intune_device_id_and_jamf() {
    let lookup = from(&[
        (
            "THOTH_INTUNE_DEVICE_ID",
            "b2f3c7a0-0000-4000-8000-000000000001",
        ),
        ("INTUNE_DEVICE_ID", "other"),
        ("THOTH_JAMF_COMPUTER_ID", "1234"),
    ]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(got.id, "b2f3c7a0-0000-4000-8000-000000000001");
    assert_eq!(
        got.source,
        IdentitySource::Intune("env THOTH_INTUNE_DEVICE_ID".into())
    );
    assert_eq!(got.source.name(), "intune");
}

#[test]
fn intune_device_id_before_jamf() {
    let lookup = from(&[
        ("INTUNE_DEVICE_ID", "dev-1"),
        ("THOTH_JAMF_COMPUTER_ID", "1234"),
    ]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(
        got,
        identity(
            "dev-1",
            IdentitySource::Intune("env INTUNE_DEVICE_ID".into())
        )
    );
}

#[test]
fn thoth_jamf_computer_id_before_jamf_computer_id() {
    let lookup = from(&[
        ("THOTH_JAMF_COMPUTER_ID", "1234"),
        ("JAMF_COMPUTER_ID", "5678"),
    ]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(
        got,
        identity(
            "1234",
            IdentitySource::Jamf("env THOTH_JAMF_COMPUTER_ID".into())
        )
    );
    assert_eq!(got.source.name(), "jamf");
}

#[test]
fn jamf_computer_id() {
    let lookup = from(&[("JAMF_COMPUTER_ID", "5678")]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(
        got,
        identity("5678", IdentitySource::Jamf("env JAMF_COMPUTER_ID".into()))
    );
}

#[test]
fn the_lookup_says_where_a_key_was_set() {
    let lookup = |key: &str| {
        (key == "THOTH_JAMF_COMPUTER_ID").then(|| {
            (
                "77".to_owned(),
                "managed /Library/Managed Preferences/com.atensecurity.thoth.plist".to_owned(),
            )
        })
    };
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(
        got.source.to_string(),
        "jamf (managed /Library/Managed Preferences/com.atensecurity.thoth.plist)"
    );
}

#[test]
fn machine_id_when_no_key_is_set_used_as_is() {
    let got = resolve(&from(&[]), &machine, &host);
    assert_eq!(
        got,
        identity(
            "4c4c4544-0042-3510-8051-B2C04F4A4E32",
            IdentitySource::MachineId
        )
    );
    assert_eq!(got.source.name(), "machine_id");
    assert_eq!(got.source.to_string(), "machine_id");
}

#[test]
fn hostname_lowercased_when_there_is_no_machine_id() {
    let got = resolve(&from(&[]), &none, &host);
    assert_eq!(
        got,
        identity("alices-macbook.local", IdentitySource::Hostname)
    );
    assert_eq!(got.source.name(), "hostname");
}

#[test]
fn unknown_when_nothing_is_usable() {
    let blank = || Some("  ".to_owned());
    let got = resolve(&from(&[("THOTH_ENDPOINT_ID", "")]), &blank, &blank);
    assert_eq!(got, identity("", IdentitySource::Unknown));
    assert_eq!(got.source.name(), "unknown");
    assert_eq!(
        resolve(&from(&[]), &none, &none).source,
        IdentitySource::Unknown
    );
}

#[test]
fn empty_and_blank_values_are_skipped() {
    let lookup = from(&[
        ("THOTH_ENDPOINT_ID", ""),
        ("THOTH_INTUNE_DEVICE_ID", "   "),
        ("JAMF_COMPUTER_ID", "\t12\n"),
    ]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(
        got,
        identity("12", IdentitySource::Jamf("env JAMF_COMPUTER_ID".into()))
    );
}

#[test]
fn unexpanded_mdm_variables_are_skipped() {
    let lookup = from(&[
        ("THOTH_ENDPOINT_ID", "$SERIALNUMBER"),
        ("THOTH_INTUNE_DEVICE_ID", "{{deviceid}}"),
        ("THOTH_JAMF_COMPUTER_ID", "$JSSID"),
        ("JAMF_COMPUTER_ID", " $JSSID "),
    ]);
    let got = resolve(&lookup, &machine, &host);
    assert_eq!(got.source, IdentitySource::MachineId);
}

#[test]
fn ids_unsafe_in_a_url_path_are_skipped() {
    for bad in [
        "..",
        "a/b",
        "a b",
        "x?y=1",
        "é",
        &"a".repeat(MAX_ID_BYTES + 1),
    ] {
        let value = bad.to_owned();
        let lookup = move |key: &str| {
            (key == "THOTH_ENDPOINT_ID")
                .then(|| (value.clone(), "env THOTH_ENDPOINT_ID".to_owned()))
        };
        let got = resolve(&lookup, &machine, &host);
        assert_eq!(got.source, IdentitySource::MachineId, "{bad:?}");
    }
    let ok = from(&[("THOTH_ENDPOINT_ID", "Host_1.corp:7~x")]);
    assert_eq!(resolve(&ok, &none, &none).id, "Host_1.corp:7~x");
}

#[test]
fn an_uninitialized_machine_id_falls_through_to_the_hostname() {
    let uninitialized = || Some("uninitialized\n".to_owned());
    let got = resolve(&from(&[]), &uninitialized, &host);
    assert_eq!(got.source, IdentitySource::Hostname);
}

#[test]
fn resolve_system_finds_something_here() {
    // The test machine has a machine id or a hostname; which one is the machine's business.
    let got = resolve_system(&|_| None);
    assert!(
        matches!(
            got.source,
            IdentitySource::MachineId | IdentitySource::Hostname | IdentitySource::Unknown
        ),
        "{got:?}"
    );
    assert_eq!(got.id.is_empty(), got.source == IdentitySource::Unknown);
}
