use super::*;
use crate::platform::managed_paths::RegistryValue;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude_desktop")
        .join(name)
}

#[test]
fn nothing_deployed_means_the_defaults() {
    let policy = from_sources(vec![RawSource {
        origin: "x".into(),
        content: RawContent::Missing,
    }]);
    assert_eq!(policy.source, None);
    assert!(policy.keys.values().all(Option::is_none));
    assert!(policy.extensions_allowed() && policy.effective("isLocalDevMcpEnabled"));
    assert!(!policy.effective("isDesktopExtensionSignatureRequired"));
}

#[test]
fn a_plist_gives_booleans_strings_and_integers() {
    let policy = from_sources(vec![stand_in(&fixture("policy.plist"))]);
    assert_eq!(policy.keys["isDesktopExtensionEnabled"], Some(false));
    assert_eq!(
        policy.keys["isDesktopExtensionDirectoryEnabled"],
        Some(false)
    );
    assert_eq!(policy.keys["isLocalDevMcpEnabled"], Some(false));
    assert_eq!(policy.keys["isDesktopExtensionSignatureRequired"], None);
    assert!(!policy.extensions_allowed() && policy.problems.is_empty());
}

#[test]
fn a_reg_export_reads_only_the_claude_key() {
    let policy = from_sources(vec![stand_in(&fixture("policy.reg"))]);
    assert_eq!(policy.keys["isDesktopExtensionEnabled"], Some(false));
    assert_eq!(
        policy.keys["isDesktopExtensionSignatureRequired"],
        Some(true)
    );
    assert_eq!(policy.keys["isLocalDevMcpEnabled"], Some(true));
    assert_eq!(policy.keys["isDesktopExtensionDirectoryEnabled"], None);
}

#[test]
fn the_first_source_wins_and_bad_values_are_named() {
    let dword = |name: &str, n: u32| RegistryValue {
        name: name.into(),
        kind: REG_DWORD,
        data: n.to_le_bytes().to_vec(),
    };
    let policy = from_sources(vec![
        RawSource {
            origin: "HKLM".into(),
            content: RawContent::Registry(vec![dword("isDesktopExtensionEnabled", 7)]),
        },
        RawSource {
            origin: "HKCU".into(),
            content: RawContent::Registry(vec![
                dword("isDesktopExtensionEnabled", 1),
                dword("isLocalDevMcpEnabled", 0),
            ]),
        },
        RawSource {
            origin: "json".into(),
            content: RawContent::Json(br#"{"isLocalDevMcpEnabled": true}"#.to_vec()),
        },
    ]);
    assert_eq!(policy.source.as_deref(), Some("HKLM"));
    // A bad machine value does not let the user's key choose: it counts as unset, then HKCU fills it.
    assert_eq!(policy.keys["isDesktopExtensionEnabled"], Some(true));
    assert_eq!(policy.keys["isLocalDevMcpEnabled"], Some(false));
    assert!(policy.problems[0].contains("HKLM: isDesktopExtensionEnabled is dword 7"));
    let broken = from_sources(vec![RawSource {
        origin: "/etc/claude-desktop/managed-settings.json".into(),
        content: RawContent::Json(b"{oops".to_vec()),
    }]);
    assert!(broken.problems[0].starts_with("/etc/claude-desktop/managed-settings.json: not JSON"));
}

proptest::proptest! {
    /// Any bytes in any source: never a panic, and every key is a boolean or unset.
    #[test]
    fn hostile_sources_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256), kind in 0u32..12) {
        let sources = vec![
            RawSource { origin: "p".into(), content: RawContent::Plist(bytes.clone()) },
            RawSource { origin: "j".into(), content: RawContent::Json(bytes.clone()) },
            RawSource { origin: "r".into(), content: RawContent::Registry(vec![RegistryValue {
                name: "isDesktopExtensionEnabled".into(), kind, data: bytes }]) },
        ];
        let policy = from_sources(sources);
        proptest::prop_assert_eq!(policy.keys.len(), 4);
    }
}
