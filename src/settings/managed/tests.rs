use super::*;

macro_rules! fixture {
    ($name:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/managed/",
            $name
        )
    };
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Name -> value, origins dropped.
fn plain(values: &ManagedValues) -> Vec<(&str, &str)> {
    values
        .iter()
        .map(|(key, v)| (key.as_str(), v.value.as_str()))
        .collect()
}

/// What every fixture of the same settings reads as.
const EXPECTED: &[(&str, &str)] = &[
    ("THOTH_ENFORCEMENT_MODE", "block"),
    ("THOTH_ENFORCER_URL", "https://enforce.acme.example.com"),
    ("THOTH_ENV", "prod"),
    ("THOTH_HEARTBEAT_INTERVAL_SECONDS", "60"),
    ("THOTH_JAMF_COMPUTER_ID", "1234"),
    ("THOTH_POLICY_FILE", r"C:\ProgramData\Thoth\policy.json"),
    ("THOTH_REQUIRE_NON_ROOT", "true"),
    ("THOTH_TENANT_ID", "acme"),
    ("THOTH_UNRELEASED_SETTING", r#"say "hi" \ bye"#),
];

fn registry_value(name: &str, kind: u32, data: &[u8]) -> RegistryValue {
    RegistryValue {
        name: name.to_owned(),
        kind,
        data: data.to_vec(),
    }
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

const REG_HEADER: &str = "Windows Registry Editor Version 5.00\r\n\r\n";
const MACHINE_SECTION: &str = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\AtenSecurity\\Thoth]\r\n";

/// A UTF-8 export of the machine key holding `lines`.
fn machine_export(lines: &str) -> String {
    format!("{REG_HEADER}{MACHINE_SECTION}{lines}")
}

// Every format reads into the same values.

#[test]
fn every_format_reads_into_identical_values() {
    let plist_origin = "/Library/Managed Preferences/com.atensecurity.thoth.plist";
    let reads = [
        (
            "xml plist",
            from_plist_at(&read(fixture!("managed.plist")), plist_origin),
        ),
        (
            "binary plist",
            from_plist_at(&read(fixture!("managed-binary.plist")), plist_origin),
        ),
        (
            "utf-16 reg",
            from_reg_export_bytes_at(&read(fixture!("thoth-utf16.reg")), "thoth-utf16.reg"),
        ),
        (
            "utf-8 reg",
            from_reg_export_bytes_at(&read(fixture!("thoth-utf8.reg")), "thoth-utf8.reg"),
        ),
        (
            "utf-8 reg as text",
            from_reg_export_at(&text(fixture!("thoth-utf8.reg")), "thoth-utf8.reg"),
        ),
        (
            "json",
            from_json_at(&text(fixture!("managed.json")), "/etc/thoth/managed.json"),
        ),
    ];
    for (format, values) in reads {
        let values = values.unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(plain(&values), EXPECTED, "{format}");
    }
}

#[test]
fn origins_name_the_file_or_the_registry_value() {
    let origin = "/Library/Managed Preferences/com.atensecurity.thoth.plist";
    let values = from_plist_at(&read(fixture!("managed.plist")), origin).unwrap();
    assert!(values.values().all(|v| v.origin == origin));

    let values = from_reg_export_bytes_at(&read(fixture!("thoth-utf16.reg")), "thoth.reg").unwrap();
    assert_eq!(
        values["THOTH_TENANT_ID"].origin,
        r"HKLM\SOFTWARE\Policies\AtenSecurity\Thoth\THOTH_TENANT_ID"
    );

    let values = from_json_at(&text(fixture!("managed.json")), "/etc/thoth/managed.json").unwrap();
    assert_eq!(values["THOTH_ENV"].origin, "/etc/thoth/managed.json");
}

#[test]
fn without_a_file_name_origins_and_errors_name_the_format() {
    let values = from_plist(&read(fixture!("managed.plist"))).unwrap();
    assert_eq!(values["THOTH_ENV"].origin, UNNAMED_PLIST);
    let values = from_json(&text(fixture!("managed.json"))).unwrap();
    assert_eq!(values["THOTH_ENV"].origin, UNNAMED_JSON);
    let values = from_reg_export_bytes(&read(fixture!("thoth-utf16.reg"))).unwrap();
    assert_eq!(plain(&values), EXPECTED);
    let values = from_reg_export(&text(fixture!("thoth-utf8.reg"))).unwrap();
    assert_eq!(
        values["THOTH_ENV"].origin,
        r"HKLM\SOFTWARE\Policies\AtenSecurity\Thoth\THOTH_ENV"
    );
    let err = from_reg_export_bytes(&read(fixture!("bad-line.reg"))).unwrap_err();
    assert!(
        err.to_string().starts_with("registry export: line 5: "),
        "{err}"
    );
}

// Plists.

#[test]
fn a_plist_must_be_a_dictionary() {
    let err = from_plist_at(&read(fixture!("top-level-array.plist")), "array.plist").unwrap_err();
    assert!(matches!(
        err,
        ManagedError::NotADictionary { found: "array", .. }
    ));
    assert_eq!(
        err.to_string(),
        "array.plist: the top level must be a dictionary of settings, not array"
    );
}

#[test]
fn plist_arrays_dicts_data_and_dates_are_refused_by_key_and_file() {
    let cases = [
        ("<array><string>a</string></array>", "array"),
        ("<dict><key>a</key><string>b</string></dict>", "dictionary"),
        ("<data>AAEC</data>", "data"),
        ("<date>2026-01-01T00:00:00Z</date>", "date"),
    ];
    for (xml, found) in cases {
        let plist = format!(
            "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict>\
             <key>THOTH_TENANT_ID</key><string>acme</string><key>THOTH_FLEET_ID</key>{xml}</dict></plist>"
        );
        let err = from_plist_at(plist.as_bytes(), "managed.plist").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("managed.plist: THOTH_FLEET_ID: ") && message.contains(found),
            "{message}"
        );
    }
}

#[test]
fn plist_reals_read_as_short_decimals() {
    let plist =
        "<plist version=\"1.0\"><dict><key>A</key><real>60</real><key>B</key><real>0.5</real>\
                 <key>C</key><integer>-3</integer><key>D</key><false/></dict></plist>";
    let values = from_plist_at(plist.as_bytes(), "p").unwrap();
    assert_eq!(
        plain(&values),
        [("A", "60"), ("B", "0.5"), ("C", "-3"), ("D", "false")]
    );
}

#[test]
fn garbage_is_not_a_plist() {
    let err = from_plist_at(b"not a plist at all <", "junk.plist").unwrap_err();
    assert!(matches!(err, ManagedError::Plist { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("junk.plist: not a readable property list"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_kept() {
    let plist =
        "<plist version=\"1.0\"><dict><key>SomeVendorKey</key><string>x</string></dict></plist>";
    let values = from_plist_at(plist.as_bytes(), "p").unwrap();
    assert_eq!(plain(&values), [("SomeVendorKey", "x")]);
}

// JSON.

#[test]
fn json_must_be_an_object_of_scalars() {
    let err = from_json_at("[1, 2]", "/etc/thoth/managed.json").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/thoth/managed.json: the top level must be a dictionary of settings, not array"
    );
    for (value, found) in [("[]", "array"), ("{}", "object"), ("null", "null")] {
        let err = from_json_at(&format!(r#"{{"THOTH_ENV": {value}}}"#), "m.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "m.json: THOTH_ENV: {found} values are not supported; use a string, an integer or a boolean"
            )
        );
    }
}

#[test]
fn json_syntax_errors_name_the_file() {
    let err = from_json_at("{\"THOTH_ENV\": ", "/etc/thoth/managed.json").unwrap_err();
    assert!(matches!(err, ManagedError::Json { .. }));
    assert!(
        err.to_string()
            .starts_with("/etc/thoth/managed.json: not valid JSON"),
        "{err}"
    );
}

#[test]
fn json_numbers_and_a_byte_order_mark() {
    let values = from_json_at(
        "\u{feff}{\"A\": 60.0, \"B\": -1, \"C\": 18446744073709551615, \"D\": false}",
        "m",
    )
    .unwrap();
    assert_eq!(
        plain(&values),
        [
            ("A", "60"),
            ("B", "-1"),
            ("C", "18446744073709551615"),
            ("D", "false")
        ]
    );
}

// Live registry values (what platform::registry returns on Windows).

#[test]
fn registry_strings_and_numbers_decode() {
    let key = r"HKLM\SOFTWARE\Policies\AtenSecurity\Thoth";
    let mut sz = utf16("acme");
    sz.extend([0, 0]);
    let values = from_registry(
        key,
        &[
            registry_value("THOTH_TENANT_ID", REG_SZ, &sz),
            registry_value(
                "THOTH_POLICY_FILE",
                REG_EXPAND_SZ,
                &utf16(r"%ProgramData%\thoth.json"),
            ),
            registry_value(
                "THOTH_HEARTBEAT_INTERVAL_SECONDS",
                REG_DWORD,
                &60u32.to_le_bytes(),
            ),
            registry_value("THOTH_JAMF_COMPUTER_ID", REG_QWORD, &1234u64.to_le_bytes()),
            registry_value("", REG_SZ, &utf16("the default value is not a setting")),
        ],
    )
    .unwrap();
    assert_eq!(
        plain(&values),
        [
            ("THOTH_HEARTBEAT_INTERVAL_SECONDS", "60"),
            ("THOTH_JAMF_COMPUTER_ID", "1234"),
            ("THOTH_POLICY_FILE", r"%ProgramData%\thoth.json"),
            ("THOTH_TENANT_ID", "acme"),
        ]
    );
    assert_eq!(
        values["THOTH_TENANT_ID"].origin,
        format!(r"{key}\THOTH_TENANT_ID")
    );
}

#[test]
fn registry_names_are_case_insensitive() {
    let values = from_registry(
        "HKLM",
        &[registry_value("thoth_Env", REG_SZ, &utf16("dev"))],
    )
    .unwrap();
    assert_eq!(plain(&values), [("THOTH_ENV", "dev")]);
    assert_eq!(values["THOTH_ENV"].origin, r"HKLM\thoth_Env");
}

#[test]
fn registry_types_without_one_text_are_refused() {
    let cases = [
        (
            REG_MULTI_SZ,
            utf16("a\0b\0\0"),
            "multi-string (REG_MULTI_SZ) values are not supported",
        ),
        (
            REG_BINARY,
            vec![1, 2],
            "binary (REG_BINARY) values are not supported",
        ),
        (
            REG_DWORD,
            vec![1, 2, 3],
            "a DWORD is 4 bytes, this one is 3",
        ),
        (REG_SZ, vec![0x41, 0, 0x42], "3 bytes cannot be UTF-16 text"),
        (
            REG_SZ,
            vec![0x00, 0xd8, 0x41, 0x00],
            "not valid UTF-16 text",
        ),
        (99, vec![], "registry type 99 is not supported"),
    ];
    for (kind, data, expected) in cases {
        let err =
            from_registry("HKLM\\Thoth", &[registry_value("THOTH_ENV", kind, &data)]).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("HKLM\\Thoth: THOTH_ENV: "), "{message}");
        assert!(message.contains(expected), "{message}");
    }
}

// regedit exports.

#[test]
fn a_bad_export_line_is_named_by_file_and_line() {
    let err =
        from_reg_export_bytes_at(&read(fixture!("bad-line.reg")), "bad-line.reg").unwrap_err();
    assert!(
        matches!(err, ManagedError::RegExportLine { line: 5, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "bad-line.reg: line 5: THOTH_ENV: `prod` is not a registry value (expected \"text\", dword:, hex: or hex(N):)"
    );
}

#[test]
fn an_export_needs_its_header() {
    let err =
        from_reg_export_at(&format!("{MACHINE_SECTION}\"A\"=\"b\"\r\n"), "x.reg").unwrap_err();
    assert!(matches!(err, ManagedError::NotARegExport { .. }));
    let err = from_reg_export_at("REGEDIT4\r\n", "x.reg").unwrap_err();
    assert!(
        err.to_string().starts_with("x.reg: not a registry export"),
        "{err}"
    );
}

#[test]
fn only_the_thoth_keys_own_values_count() {
    let text = format!(
        "{REG_HEADER}[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\AtenSecurity]\r\n\"THOTH_ENV\"=\"dev\"\r\n\r\n\
         [hkey_local_machine\\software\\policies\\atensecurity\\thoth]\r\n\"THOTH_TENANT_ID\"=\"acme\"\r\n\
         [HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\AtenSecurity\\Thoth\\Sub]\r\n\"THOTH_FLEET_ID\"=\"f\"\r\n\
         [HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n\"THOTH_ENV\"=not even parsed\r\n"
    );
    let values = from_reg_export_at(&text, "x.reg").unwrap();
    assert_eq!(plain(&values), [("THOTH_TENANT_ID", "acme")]);
}

#[test]
fn user_policy_fills_what_machine_policy_lacks() {
    let text = format!(
        "{REG_HEADER}[HKEY_CURRENT_USER\\SOFTWARE\\Policies\\AtenSecurity\\Thoth]\r\n\
         \"THOTH_ENV\"=\"dev\"\r\n\"THOTH_USER_ID\"=\"a@example.com\"\r\n\r\n\
         {MACHINE_SECTION}\"THOTH_ENV\"=\"prod\"\r\n"
    );
    let values = from_reg_export_at(&text, "x.reg").unwrap();
    assert_eq!(
        plain(&values),
        [("THOTH_ENV", "prod"), ("THOTH_USER_ID", "a@example.com")]
    );
    assert_eq!(
        values["THOTH_ENV"].origin,
        r"HKLM\SOFTWARE\Policies\AtenSecurity\Thoth\THOTH_ENV"
    );
    assert_eq!(
        values["THOTH_USER_ID"].origin,
        r"HKCU\SOFTWARE\Policies\AtenSecurity\Thoth\THOTH_USER_ID"
    );
}

#[test]
fn export_comments_default_values_and_wrapped_hex() {
    let text = machine_export(
        "; a comment\r\n@=\"default\"\r\n\"A\"=hex(2):61,00,\\\r\n  62,00,00,00\r\n\"B\"=dword:0000000A\r\n\"C\"=\"\"\r\n",
    );
    let values = from_reg_export_at(&text, "x.reg").unwrap();
    assert_eq!(plain(&values), [("A", "ab"), ("B", "10"), ("C", "")]);
}

#[test]
fn export_line_errors_say_what_is_wrong() {
    let cases = [
        ("THOTH_ENV=\"prod\"", "expected `\"NAME\"=value`"),
        ("\"THOTH_ENV\"", "expected `=` after \"THOTH_ENV\""),
        (
            "\"THOTH_ENV\"=\"prod",
            "THOTH_ENV: the string has no closing `\"`",
        ),
        ("\"THOTH_ENV\"=\"a\\nb\"", "THOTH_ENV: unknown escape `\\n`"),
        (
            "\"THOTH_ENV\"=\"a\" junk",
            "THOTH_ENV: unexpected `junk` after the string",
        ),
        (
            "\"THOTH_ENV\"=dword:xyz",
            "THOTH_ENV: dword:xyz is not 8 hexadecimal digits",
        ),
        (
            "\"THOTH_ENV\"=dword:123456789",
            "is not 8 hexadecimal digits",
        ),
        ("\"THOTH_ENV\"=hex(7:00", "expected `hex(TYPE):`"),
        ("\"THOTH_ENV\"=hex(2):6,00", "`6` is not a hex byte"),
        ("\"THOTH_ENV\"=-", "deletes the value"),
        (
            "\"THOTH_ENV\"=hex(7):61,00,00,00,00,00",
            "THOTH_ENV: multi-string (REG_MULTI_SZ) values are not supported",
        ),
        (
            "\"THOTH_ENV\"=hex:01",
            "THOTH_ENV: binary (REG_BINARY) values are not supported",
        ),
        (
            "[HKEY_LOCAL_MACHINE\\SOFTWARE",
            "a key line must end with `]`",
        ),
    ];
    for (line, expected) in cases {
        let err = from_reg_export_at(
            &machine_export(&format!("\"A\"=\"b\"\r\n{line}\r\n")),
            "x.reg",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("x.reg: line 5: "), "{line}: {message}");
        assert!(message.contains(expected), "{line}: {message}");
    }
}

#[test]
fn export_encodings() {
    let utf8 = machine_export("\"A\"=\"é\"\r\n");
    let mut utf16_bom = vec![0xff, 0xfe];
    utf16_bom.extend(utf16(&utf8));
    let mut utf8_bom = vec![0xef, 0xbb, 0xbf];
    utf8_bom.extend(utf8.as_bytes());
    for bytes in [utf8.as_bytes().to_vec(), utf16_bom, utf8_bom] {
        let values = from_reg_export_bytes_at(&bytes, "x.reg").unwrap();
        assert_eq!(plain(&values), [("A", "é")]);
    }
    let err = from_reg_export_bytes_at(&[0xff, 0xfe, 0x41], "x.reg").unwrap_err();
    assert_eq!(err.to_string(), "x.reg: not UTF-8 or UTF-16LE text");
    assert!(from_reg_export_bytes_at(&[0xc3, 0x28], "x.reg").is_err());
}

// The system lookup around the parsers.

fn source(origin: &str, content: RawContent) -> RawSource {
    RawSource {
        origin: origin.to_owned(),
        content,
    }
}

#[test]
fn earlier_sources_win_and_broken_ones_are_reported_and_skipped() {
    let system = source(
        "system.plist",
        RawContent::Plist(br#"<plist version="1.0"><dict><key>THOTH_ENV</key><string>prod</string></dict></plist>"#.to_vec()),
    );
    let user = source(
        "user.plist",
        RawContent::Plist(
            br#"<plist version="1.0"><dict><key>THOTH_ENV</key><string>dev</string><key>THOTH_FLEET_ID</key><string>f</string></dict></plist>"#
                .to_vec(),
        ),
    );
    let loaded = merge_sources(vec![
        source("missing", RawContent::Missing),
        source(
            "unreadable",
            RawContent::Unreadable(std::io::ErrorKind::PermissionDenied.into()),
        ),
        source(
            "broken.json",
            RawContent::Json(b"{\"THOTH_ENV\": [".to_vec()),
        ),
        source("latin1.json", RawContent::Json(vec![b'{', 0xe9, b'}'])),
        system,
        user,
    ]);
    let values = &loaded.values;
    assert_eq!(
        plain(values),
        [("THOTH_ENV", "prod"), ("THOTH_FLEET_ID", "f")]
    );
    assert_eq!(values["THOTH_ENV"].origin, "system.plist");
    assert_eq!(values["THOTH_FLEET_ID"].origin, "user.plist");
    let problems: Vec<String> = loaded.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("unreadable: cannot be read: "),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("broken.json: not valid JSON"),
        "{problems:?}"
    );
    assert_eq!(problems[2], "latin1.json: not UTF-8 text");
}

#[test]
fn registry_sources_merge_like_files() {
    let machine = source(
        r"HKLM\K",
        RawContent::Registry(vec![registry_value("THOTH_ENV", REG_SZ, &utf16("prod"))]),
    );
    let user = source(
        r"HKCU\K",
        RawContent::Registry(vec![
            registry_value("THOTH_ENV", REG_SZ, &utf16("dev")),
            registry_value("THOTH_USER_ID", REG_SZ, &utf16("a@example.com")),
        ]),
    );
    let values = merge_sources(vec![machine, user]).values;
    assert_eq!(
        plain(&values),
        [("THOTH_ENV", "prod"), ("THOTH_USER_ID", "a@example.com")]
    );
    assert_eq!(values["THOTH_USER_ID"].origin, r"HKCU\K\THOTH_USER_ID");
}

#[test]
fn load_system_never_panics() {
    // Whatever this machine has, loading it twice gives the same answer, and what it reports agrees with
    // what the sources are: nothing at all exactly when no source exists.
    let sources = crate::platform::managed_paths::system_sources(None);
    let exists = sources
        .iter()
        .any(|s| !matches!(s.content, RawContent::Missing));
    let loaded = load_system_checked(None);
    assert_eq!(loaded.present, exists);
    if !exists {
        assert!(loaded.values.is_empty() && loaded.bad.is_empty() && loaded.problems.is_empty());
    }
    assert_eq!(load_system(None), loaded.values);
    // A user name that is not a plain folder name never reaches a path.
    assert_eq!(load_system(Some("../../etc")), load_system(None));
}

#[test]
fn a_bad_value_spoils_only_its_own_key_in_every_format() {
    let json = r#"{"THOTH_TENANT_ID": "acme", "THOTH_ENV": [1], "THOTH_FLEET_ID": "f"}"#;
    let plist = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>THOTH_TENANT_ID</key><string>acme</string>
<key>THOTH_ENV</key><array><string>dev</string></array>
<key>THOTH_FLEET_ID</key><string>f</string>
</dict></plist>"#;
    let reg = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\AtenSecurity\\Thoth]\r\n\"THOTH_TENANT_ID\"=\"acme\"\r\n\"THOTH_ENV\"=hex:01,02\r\n\"THOTH_FLEET_ID\"=\"f\"\r\n";
    for entries in [
        json_entries(json, "m.json").unwrap(),
        plist_entries(plist.as_bytes(), "m.plist").unwrap(),
        reg_export_entries(reg.as_bytes(), "m.reg").unwrap(),
    ] {
        let mut loaded = Loaded::default();
        loaded.add(entries);
        assert_eq!(
            plain(&loaded.values),
            [("THOTH_FLEET_ID", "f"), ("THOTH_TENANT_ID", "acme")]
        );
        assert_eq!(loaded.bad.keys().collect::<Vec<_>>(), ["THOTH_ENV"]);
        assert!(loaded.present);
    }
}
