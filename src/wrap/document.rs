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

pub struct Document {
    pub path: PathBuf,
    root: CstRootNode,
    bom: bool,
    /// JSON with `//` or `/* */` comments: read (and kept), but Claude Desktop's own JSON.parse rejects them.
    pub has_comments: bool,
}

/// JSON as Claude Desktop reads it, plus comments (which thoth keeps but reports).
pub fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
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
    pub fn parse(path: &Path, text: &str) -> Result<Document, Error> {
        let bom = text.starts_with(BOM);
        let body = text.strip_prefix(BOM).unwrap_or(text);
        let syntax = |detail: String| Error::Syntax {
            path: path.to_owned(),
            detail,
        };
        let has_comments = match serde_json::from_str::<serde::de::IgnoredAny>(body) {
            Ok(_) => false,
            Err(strict) => {
                match jsonc_parser::parse_to_ast(body, &CollectOptions::default(), &options()) {
                    Ok(_) => true,
                    Err(_) => return Err(syntax(strict.to_string())),
                }
            }
        };
        check_shape(path, body)?;
        let root = CstRootNode::parse(body, &options()).map_err(|e| syntax(e.to_string()))?;
        Ok(Document {
            path: path.to_owned(),
            root,
            bom,
            has_comments,
        })
    }

    /// The top-level object (`parse` checked there is one).
    pub fn top(&self) -> CstObject {
        self.root.object_value_or_set()
    }

    /// The `mcpServers` object, if the file has one.
    pub fn servers(&self) -> Option<CstObject> {
        self.top().object_value(SERVERS_KEY)
    }

    /// The `mcpServers` object, added at the end of the top-level object when missing.
    pub fn servers_or_create(&self) -> CstObject {
        self.top().object_value_or_set(SERVERS_KEY)
    }

    /// Server entries in file order: (name, property).
    pub fn server_props(&self) -> Vec<(String, CstObjectProp)> {
        let Some(servers) = self.servers() else {
            return Vec::new();
        };
        servers
            .properties()
            .into_iter()
            .filter_map(|prop| Some((prop.decoded_name()?, prop)))
            .collect()
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

/// The top level must be an object, and `mcpServers` (when present) an object of server entries.
fn check_shape(path: &Path, body: &str) -> Result<(), Error> {
    let shape = |detail: String| Error::Shape {
        path: path.to_owned(),
        detail,
    };
    let parsed =
        jsonc_parser::parse_to_ast(body, &CollectOptions::default(), &options()).map_err(|e| {
            Error::Syntax {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        })?;
    let Some(Ast::Object(top)) = parsed.value else {
        return Err(shape("the top level is not a JSON object".into()));
    };
    if let Some(dup) = super::duplicates::find(&top) {
        let (line, column) = line_column(body, dup.second);
        let (first_line, first_column) = line_column(body, dup.first);
        return Err(Error::DuplicateKey {
            path: path.to_owned(),
            key: dup.pointer,
            line,
            column,
            first_line,
            first_column,
        });
    }
    for prop in &top.properties {
        if prop.name.as_str() != SERVERS_KEY {
            continue;
        }
        if !matches!(prop.value, Ast::Object(_)) {
            let (line, column) = line_column(body, prop.range.start);
            return Err(shape(format!(
                "\"{SERVERS_KEY}\" at line {line} column {column} is {}, not an object",
                kind(&prop.value)
            )));
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
