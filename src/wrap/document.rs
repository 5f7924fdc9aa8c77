//! A Claude Desktop config as a concrete syntax tree: every byte the edits do not touch comes out as it went
//! in (key order, spacing, comments, a BOM). Checks that the file is JSON with an object at the top and an
//! object (or nothing) under `mcpServers`, naming the position when it is not. A key twice in one object
//! (at any depth) is refused: Claude Desktop's `JSON.parse` keeps the last, so thoth cannot read it the same
//! way with certainty, and "wrapped, then bare" would otherwise pass as governed (issue 12 §2).

use std::path::{Path, PathBuf};

use jsonc_parser::ast::Value as Ast;
use jsonc_parser::cst::{CstObject, CstObjectProp, CstRootNode};
use jsonc_parser::{CollectOptions, ParseOptions};

use super::Error;

pub const SERVERS_KEY: &str = "mcpServers";
const BOM: &str = "\u{feff}";

/// Where a client's JSON config keeps its servers, and how loosely it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The client's name in messages ("Claude Desktop").
    pub client: &'static str,
    /// The top-level object of server entries (`mcpServers`, VS Code `servers`, Zed `context_servers`).
    pub key: &'static str,
    /// Claude Code's `~/.claude.json`: `projects["<abs path>"].mcpServers` hold servers too (local scope).
    pub projects: bool,
    /// JSONC (VS Code, Zed): comments and trailing commas are the client's own format, not a risk.
    pub jsonc: bool,
}

pub const CLAUDE_DESKTOP: Layout = Layout {
    client: "Claude Desktop",
    key: SERVERS_KEY,
    projects: false,
    jsonc: false,
};

/// One server entry: its name, where it sits, and the key its unwrap record is kept under.
pub struct ServerRef {
    pub name: String,
    /// `None`: the file's own servers object; `Some("local:<abs path>")`: a Claude Code project's.
    pub scope: Option<String>,
    pub record_key: String,
    pub prop: CstObjectProp,
}

pub struct Document {
    pub path: PathBuf,
    pub layout: Layout,
    root: CstRootNode,
    bom: bool,
    /// JSON with `//` or `/* */` comments: read (and kept), but Claude Desktop's own JSON.parse rejects them.
    pub has_comments: bool,
}

/// JSON as Claude Desktop reads it, plus comments (which thoth keeps but reports).
pub fn options() -> ParseOptions {
    options_for(&CLAUDE_DESKTOP)
}

/// The parse options for a layout: JSONC clients also take trailing commas.
pub fn options_for(layout: &Layout) -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: layout.jsonc,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

impl Document {
    /// A Claude Desktop config.
    pub fn parse(path: &Path, text: &str) -> Result<Document, Error> {
        Document::parse_as(path, text, CLAUDE_DESKTOP)
    }

    pub fn parse_as(path: &Path, text: &str, layout: Layout) -> Result<Document, Error> {
        let options = options_for(&layout);
        let bom = text.starts_with(BOM);
        let body = text.strip_prefix(BOM).unwrap_or(text);
        let syntax = |detail: String| Error::Syntax {
            path: path.to_owned(),
            detail,
        };
        let has_comments = match serde_json::from_str::<serde::de::IgnoredAny>(body) {
            Ok(_) => false,
            Err(strict) => {
                match jsonc_parser::parse_to_ast(body, &CollectOptions::default(), &options) {
                    Ok(_) => true,
                    Err(_) => return Err(syntax(strict.to_string())),
                }
            }
        };
        check_shape(path, body, &layout)?;
        let root = CstRootNode::parse(body, &options).map_err(|e| syntax(e.to_string()))?;
        Ok(Document {
            path: path.to_owned(),
            layout,
            root,
            bom,
            has_comments,
        })
    }

    /// The top-level object (`parse` checked there is one).
    pub fn top(&self) -> CstObject {
        self.root.object_value_or_set()
    }

    /// The servers object (`mcpServers` for Claude Desktop), if the file has one.
    pub fn servers(&self) -> Option<CstObject> {
        self.top().object_value(self.layout.key)
    }

    /// The servers object, added at the end of the top-level object when missing.
    pub fn servers_or_create(&self) -> CstObject {
        self.top().object_value_or_set(self.layout.key)
    }

    /// Server entries in file order, every scope: (name, property).
    pub fn server_props(&self) -> Vec<(String, CstObjectProp)> {
        self.server_refs()
            .into_iter()
            .map(|r| (r.name, r.prop))
            .collect()
    }

    /// Server entries in file order: the file's own, then (Claude Code) each project's.
    pub fn server_refs(&self) -> Vec<ServerRef> {
        let mut refs = Vec::new();
        let mut add = |servers: CstObject, scope: Option<String>| {
            for prop in servers.properties() {
                let Some(name) = prop.decoded_name() else {
                    continue;
                };
                let record_key = match &scope {
                    None => name.clone(),
                    Some(scope) => format!("{scope}::{name}"),
                };
                refs.push(ServerRef {
                    name,
                    scope: scope.clone(),
                    record_key,
                    prop,
                });
            }
        };
        if let Some(servers) = self.servers() {
            add(servers, None);
        }
        if self.layout.projects {
            if let Some(projects) = self.top().object_value("projects") {
                for project in projects.properties() {
                    let (Some(dir), Some(object)) =
                        (project.decoded_name(), project.object_value())
                    else {
                        continue;
                    };
                    if let Some(servers) = object.object_value(self.layout.key) {
                        add(servers, Some(format!("local:{dir}")));
                    }
                }
            }
        }
        refs
    }

    pub fn to_text(&self) -> String {
        let body = self.root.to_string();
        if self.bom {
            format!("{BOM}{body}")
        } else {
            body
        }
    }
}

/// The top level must be an object, and the servers object (when present) an object of server entries.
fn check_shape(path: &Path, body: &str, layout: &Layout) -> Result<(), Error> {
    let shape = |detail: String| Error::Shape {
        path: path.to_owned(),
        client: layout.client,
        detail,
    };
    let parsed = jsonc_parser::parse_to_ast(body, &CollectOptions::default(), &options_for(layout))
        .map_err(|e| Error::Syntax {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    let Some(Ast::Object(top)) = parsed.value else {
        return Err(shape("the top level is not a JSON object".into()));
    };
    if let Some(dup) = super::duplicates::find(&top) {
        let (line, column) = line_column(body, dup.second);
        let (first_line, first_column) = line_column(body, dup.first);
        return Err(Error::DuplicateKey {
            path: path.to_owned(),
            client: layout.client,
            key: dup.pointer,
            line,
            column,
            first_line,
            first_column,
        });
    }
    let must_be_object = |prop: &jsonc_parser::ast::ObjectProp, what: &str| {
        if matches!(prop.value, Ast::Object(_)) {
            return Ok(());
        }
        let (line, column) = line_column(body, prop.range.start);
        Err(shape(format!(
            "{what} at line {line} column {column} is {}, not an object",
            kind(&prop.value)
        )))
    };
    let key = layout.key;
    for prop in &top.properties {
        if prop.name.as_str() == key {
            must_be_object(prop, &format!("\"{key}\""))?;
        }
        if !(layout.projects && prop.name.as_str() == "projects") {
            continue;
        }
        must_be_object(prop, "\"projects\"")?;
        let Ast::Object(projects) = &prop.value else {
            continue;
        };
        for project in &projects.properties {
            let Ast::Object(object) = &project.value else {
                continue;
            };
            for inner in object.properties.iter().filter(|p| p.name.as_str() == key) {
                let dir = project.name.as_str();
                must_be_object(inner, &format!("\"projects\" / \"{dir}\" / \"{key}\""))?;
            }
        }
    }
    Ok(())
}

fn kind(value: &Ast) -> &'static str {
    match value {
        Ast::StringLit(_) => "a string",
        Ast::NumberLit(_) => "a number",
        Ast::BooleanLit(_) => "a boolean",
        Ast::Object(_) => "an object",
        Ast::Array(_) => "an array",
        Ast::NullKeyword(_) => "null",
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
