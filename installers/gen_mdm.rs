//! The MDM settings files, generated from `schemas/managed-settings.schema.json` so they never drift from the
//! settings thoth reads: the Jamf configuration profile (`mdm/jamf/com.atensecurity.thoth.mobileconfig`), the
//! Jamf Application & Custom Settings manifest (`mdm/jamf/com.atensecurity.thoth.json`) and the Intune ADMX /
//! ADML (`mdm/intune/admx/`). Run by `installers/gen-mdm.sh`; `--check` exits 1 when a committed file is stale
//! (tests/mdm.rs runs it). Output is deterministic: UUIDs derive from names, keys come sorted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const DOMAIN: &str = "com.atensecurity.thoth";
const REG_KEY: &str = r"Software\Policies\AtenSecurity\Thoth";

/// What the profile template sets (every other key is listed in a comment beside them). `$JSSID` is filled
/// by Jamf with the computer's id.
const PROFILE_VALUES: &[(&str, Preset)] = &[
    ("THOTH_TENANT_ID", Preset::Text("your-tenant-id")),
    (
        "THOTH_APEX_DOMAIN",
        Preset::Text("your-apex-domain.example"),
    ),
    ("THOTH_ENV", Preset::Text("prod")),
    ("THOTH_ENFORCEMENT_MODE", Preset::Text("block")),
    ("THOTH_ENROLLMENT_SOURCE", Preset::Text("jamf")),
    ("THOTH_JAMF_COMPUTER_ID", Preset::Text("$JSSID")),
    ("THOTH_UPDATE_DISABLED", Preset::Bool(true)),
    ("THOTH_WRAP_ON_INSTALL", Preset::Bool(true)),
];

enum Preset {
    Text(&'static str),
    Bool(bool),
}

/// One managed key as the schema declares it.
struct Setting {
    name: String,
    description: String,
    /// The schema's allowed types, in its order.
    types: Vec<String>,
    raw: Value,
}

impl Setting {
    /// The one type an MDM form offers: the most specific the schema allows (a number or a boolean before a
    /// string: the string spellings exist for env-style values).
    fn form_type(&self) -> &str {
        for t in ["boolean", "integer", "number"] {
            if self.types.iter().any(|x| x == t) {
                return t;
            }
        }
        "string"
    }

    fn is_secret(&self) -> bool {
        self.name.ends_with("_API_KEY") || self.name.ends_with("_TOKEN")
    }

    fn help(&self) -> String {
        let mut text = self.description.clone();
        if self.is_secret() {
            text.push_str(
                ". A secret: every local user can read managed settings, prefer a file only root can read",
            );
        }
        text
    }
}

fn load(root: &Path) -> Result<Vec<Setting>, String> {
    let path = root.join("schemas/managed-settings.schema.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let props = schema["properties"]
        .as_object()
        .ok_or_else(|| format!("{}: no properties object", path.display()))?;
    props
        .iter()
        .map(|(name, p)| {
            let types = match &p["type"] {
                Value::String(t) => vec![t.clone()],
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect(),
                _ => vec!["string".to_owned()],
            };
            Ok(Setting {
                name: name.clone(),
                description: p["description"].as_str().unwrap_or(name).to_owned(),
                types,
                raw: p.clone(),
            })
        })
        .collect()
}

/// A stable UUID (version 5 layout) for a name, so regenerating changes nothing.
fn uuid_for(name: &str) -> String {
    let d = Sha256::digest(format!("thoth-mdm:{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Text safe inside an XML comment (no `--`).
fn comment(text: &str) -> String {
    let mut t = xml(text);
    while t.contains("--") {
        t = t.replace("--", "- -");
    }
    t
}

fn mobileconfig(settings: &[Setting]) -> Result<String, String> {
    let by_name: BTreeMap<&str, &Setting> = settings.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut set = String::new();
    for (name, preset) in PROFILE_VALUES {
        let s = by_name.get(name).ok_or_else(|| {
            format!("the profile sets {name}, which the managed schema does not declare")
        })?;
        let (value, ty) = match preset {
            Preset::Text(t) => (format!("<string>{}</string>", xml(t)), "string"),
            Preset::Bool(b) => (format!("<{b}/>"), "boolean"),
        };
        if !s.types.iter().any(|t| t == ty) {
            return Err(format!(
                "the profile sets {name} as a {ty}; the schema allows {:?}",
                s.types
            ));
        }
        let _ = writeln!(set, "\t\t\t<!-- {} -->", comment(&s.help()));
        let _ = writeln!(set, "\t\t\t<key>{name}</key>\n\t\t\t{value}");
    }
    let mut others = String::new();
    for s in settings
        .iter()
        .filter(|s| !PROFILE_VALUES.iter().any(|(n, _)| *n == s.name))
    {
        let _ = writeln!(
            others,
            "\t\t\t<!-- <key>{}</key> ({}): {} -->",
            s.name,
            s.form_type(),
            comment(&s.help())
        );
    }
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- GENERATED by installers/gen-mdm.sh from schemas/managed-settings.schema.json: edit the values, not the keys.
     Upload in Jamf Pro: Computers > Configuration Profiles > Upload. Jamf fills $JSSID with the computer id. -->
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadDisplayName</key>
			<string>Thoth managed settings</string>
			<key>PayloadIdentifier</key>
			<string>{DOMAIN}.settings</string>
			<key>PayloadType</key>
			<string>{DOMAIN}</string>
			<key>PayloadUUID</key>
			<string>{inner}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
{set}			<!-- Every other setting thoth reads; uncomment and set the ones you need. -->
{others}		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Settings of the Thoth MCP governance proxy. Managed values win over the user's environment and flags.</string>
	<key>PayloadDisplayName</key>
	<string>Thoth</string>
	<key>PayloadIdentifier</key>
	<string>{DOMAIN}.profile</string>
	<key>PayloadOrganization</key>
	<string>Aten Security</string>
	<key>PayloadScope</key>
	<string>System</string>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>{outer}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
"#,
        inner = uuid_for("payload"),
        outer = uuid_for("profile"),
    ))
}

fn manifest(settings: &[Setting]) -> String {
    let mut props = serde_json::Map::new();
    for (i, s) in settings.iter().enumerate() {
        let mut p = json!({
            "title": s.name,
            "description": s.help(),
            "type": s.form_type(),
            "property_order": (i + 1) * 5,
        });
        for extra in ["enum", "default", "pattern"] {
            if let Some(v) = s.raw.get(extra) {
                p[extra] = v.clone();
            }
        }
        props.insert(s.name.clone(), p);
    }
    let doc = json!({
        "title": format!("Thoth ({DOMAIN})"),
        "description": "Settings of the Thoth MCP governance proxy (GENERATED by installers/gen-mdm.sh from schemas/managed-settings.schema.json). Managed values win over the user's environment and flags.",
        "properties": props,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn admx(settings: &[Setting]) -> String {
    let mut policies = String::new();
    for s in settings {
        let n = &s.name;
        let head = format!(
            "    <policy name=\"{n}\" class=\"Machine\" displayName=\"$(string.{n})\" explainText=\"$(string.{n}_Explain)\" key=\"{REG_KEY}\""
        );
        let common = "      <parentCategory ref=\"Thoth\" />\n      <supportedOn ref=\"SUPPORTED_Windows10\" />\n";
        let body = match s.form_type() {
            "boolean" => format!(
                "{head} valueName=\"{n}\">\n{common}      <enabledValue><decimal value=\"1\" /></enabledValue>\n      <disabledValue><decimal value=\"0\" /></disabledValue>\n    </policy>\n"
            ),
            "integer" | "number" => format!(
                "{head} presentation=\"$(presentation.{n})\">\n{common}      <elements>\n        <decimal id=\"{n}\" key=\"{REG_KEY}\" valueName=\"{n}\" minValue=\"0\" maxValue=\"4294967295\" />\n      </elements>\n    </policy>\n"
            ),
            _ => format!(
                "{head} presentation=\"$(presentation.{n})\">\n{common}      <elements>\n        <text id=\"{n}\" key=\"{REG_KEY}\" valueName=\"{n}\" maxLength=\"2048\" />\n      </elements>\n    </policy>\n"
            ),
        };
        policies.push_str(&body);
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<!-- GENERATED by installers/gen-mdm.sh from schemas/managed-settings.schema.json. -->
<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">
  <policyNamespaces>
    <target prefix="thoth" namespace="AtenSecurity.Policies.Thoth" />
  </policyNamespaces>
  <resources minRequiredRevision="1.0" />
  <supportedOn>
    <definitions>
      <definition name="SUPPORTED_Windows10" displayName="$(string.SUPPORTED_Windows10)" />
    </definitions>
  </supportedOn>
  <categories>
    <category name="Thoth" displayName="$(string.Thoth)" />
  </categories>
  <policies>
{policies}  </policies>
</policyDefinitions>
"#
    )
}

fn adml(settings: &[Setting]) -> String {
    let mut strings = String::new();
    let mut presentations = String::new();
    for s in settings {
        let n = &s.name;
        let reg = match s.form_type() {
            "boolean" => "REG_DWORD 1 or 0",
            "integer" | "number" => "REG_DWORD",
            _ => "REG_SZ",
        };
        let _ = writeln!(strings, "      <string id=\"{n}\">{n}</string>");
        let _ = writeln!(
            strings,
            "      <string id=\"{n}_Explain\">{}.\n\nRegistry: HKLM\\{REG_KEY}\\{n} ({reg}).</string>",
            xml(&s.help())
        );
        match s.form_type() {
            "boolean" => {}
            "integer" | "number" => {
                let _ = writeln!(
                    presentations,
                    "      <presentation id=\"{n}\">\n        <decimalTextBox refId=\"{n}\" spin=\"false\">{n}</decimalTextBox>\n      </presentation>"
                );
            }
            _ => {
                let _ = writeln!(
                    presentations,
                    "      <presentation id=\"{n}\">\n        <textBox refId=\"{n}\">\n          <label>{n}</label>\n        </textBox>\n      </presentation>"
                );
            }
        }
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<!-- GENERATED by installers/gen-mdm.sh from schemas/managed-settings.schema.json. -->
<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">
  <displayName>Thoth</displayName>
  <description>Settings of the Thoth MCP governance proxy (HKLM\{REG_KEY}).</description>
  <resources>
    <stringTable>
      <string id="Thoth">Thoth</string>
      <string id="SUPPORTED_Windows10">Windows 10 or later</string>
{strings}    </stringTable>
    <presentationTable>
{presentations}    </presentationTable>
  </resources>
</policyDefinitionResources>
"#
    )
}

fn outputs(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let settings = load(root)?;
    Ok(vec![
        (
            root.join("mdm/jamf/com.atensecurity.thoth.mobileconfig"),
            mobileconfig(&settings)?,
        ),
        (
            root.join("mdm/jamf/com.atensecurity.thoth.json"),
            manifest(&settings),
        ),
        (root.join("mdm/intune/admx/Thoth.admx"), admx(&settings)),
        (
            root.join("mdm/intune/admx/en-US/Thoth.adml"),
            adml(&settings),
        ),
    ])
}

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let files = match outputs(&root) {
        Ok(files) => files,
        Err(e) => {
            report(&format!("gen-mdm: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let mut stale = Vec::new();
    for (path, text) in files {
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        if check {
            stale.push(path.display().to_string());
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            report(&format!("gen-mdm: cannot write {}: {e}", path.display()));
            return ExitCode::FAILURE;
        }
        report(&format!("gen-mdm: wrote {}", path.display()));
    }
    if stale.is_empty() {
        return ExitCode::SUCCESS;
    }
    report(&format!(
        "gen-mdm: out of date with schemas/managed-settings.schema.json: {}\nhint: run installers/gen-mdm.sh and commit the result",
        stale.join(", ")
    ));
    ExitCode::FAILURE
}

fn usage() -> ExitCode {
    report("usage: gen-mdm [--check] [--root DIR]");
    ExitCode::from(2)
}

/// The generator's only output: stderr (stdout stays free, as everywhere in this project).
#[allow(clippy::print_stderr)]
fn report(line: &str) {
    eprintln!("{line}");
}
