//! A small reader of Stone, Dropbox's API description language, enough to know what every
//! response of the Dropbox emulator must look like: structs (fields, required or not, their
//! types, `extends`, enumerated subtypes), unions (tags and payload types, `extends`, open or
//! closed), aliases and routes (argument, result, error, `style`).
//!
//! Its input lives next to it, so the conformance test needs nothing outside the repository:
//! `spec/` holds the `.stone` files of the project's reference copied verbatim (Dropbox's MIT
//! licence in `spec/LICENSE`), `extra/` hand-written entries in the same syntax for what the
//! reference lacks (team, team_log, OAuth), each with its source.
//!
//! What is read and what is skipped: docstrings, annotations (`@...`), `example` blocks, route
//! `attrs` other than `style`, and `annotation`/`annotation_type` declarations are skipped.
//! String lengths and patterns, list sizes and integer bounds are checked.

#![allow(dead_code)]

pub mod check;
pub mod harness;
pub mod pattern;

use std::collections::BTreeMap;
use std::path::Path;

/// A primitive Stone type with the constraints the checker applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Prim {
    /// `String(min_length, max_length, pattern)`.
    String {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<pattern::Pattern>,
    },
    Boolean,
    /// Any integer type, with its bounds (`UInt64` has min 0).
    Integer {
        min: Option<i128>,
        max: Option<i128>,
    },
    Float,
    /// `Timestamp("%Y-%m-%dT%H:%M:%SZ")`: the chrono format.
    Timestamp(String),
    Bytes,
    Void,
}

/// A type expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Prim(Prim),
    List {
        item: Box<Ty>,
        min: Option<u64>,
        max: Option<u64>,
    },
    Map(Box<Ty>),
    /// A user-defined type, resolved in `ns`.
    Named {
        ns: String,
        name: String,
    },
    Nullable(Box<Ty>),
}

/// A struct field.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    /// Declared with `= value`: may be left out.
    pub has_default: bool,
}

impl Field {
    /// Neither nullable nor defaulted: must be present and not null.
    pub fn required(&self) -> bool {
        !self.has_default && !matches!(self.ty, Ty::Nullable(_))
    }
}

/// A user-defined type.
#[derive(Debug, Clone)]
pub enum Def {
    Struct {
        parent: Option<(String, String)>,
        fields: Vec<Field>,
        /// Enumerated subtypes: `.tag` → struct.
        subtypes: Vec<(String, Ty)>,
    },
    Union {
        parent: Option<(String, String)>,
        /// Tag → payload (`Prim::Void` for none).
        tags: Vec<(String, Ty)>,
        closed: bool,
    },
    Alias(Ty),
}

/// A route: `route name:version (Arg, Result, Error)` in a namespace.
#[derive(Debug, Clone)]
pub struct Route {
    pub ns: String,
    pub arg: Ty,
    pub result: Ty,
    pub error: Ty,
    /// `rpc`, `upload` or `download`.
    pub style: String,
}

/// Every type and route of a set of Stone files.
#[derive(Debug, Default)]
pub struct Spec {
    /// `(namespace, name)` → definition.
    pub types: BTreeMap<(String, String), Def>,
    /// URL path (`/2/files/copy_v2`) → route.
    pub routes: BTreeMap<String, Route>,
}

/// A logical line: indentation and text, with docstrings, comments and annotations gone.
struct Line {
    indent: usize,
    text: String,
    number: usize,
}

/// Splits a file into logical lines: strings may span lines (they are kept inline, newlines
/// folded), `#` comments end a line, and lines that are only a string (docstrings) or an
/// annotation are dropped.
fn lines(source: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut chars = source.chars().peekable();
    let mut current = String::new();
    let mut number = 1;
    let mut start = 1;
    let mut in_string = false;
    let mut in_comment = false;
    let push = |current: &mut String, start: usize, out: &mut Vec<Line>| {
        let indent = current.len() - current.trim_start().len();
        let text = current.trim().to_owned();
        current.clear();
        let docstring = text.starts_with('"') && text.ends_with('"');
        if !text.is_empty() && !docstring && !text.starts_with('@') {
            out.push(Line {
                indent,
                text,
                number: start,
            });
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    current.push(c);
                    if let Some(next) = chars.next() {
                        if next == '\n' {
                            number += 1;
                        }
                        current.push(next);
                    }
                }
                '"' => {
                    current.push(c);
                    in_string = false;
                }
                '\n' => {
                    number += 1;
                    current.push(' ');
                }
                _ => current.push(c),
            }
            continue;
        }
        match c {
            '\n' => {
                push(&mut current, start, &mut out);
                in_comment = false;
                number += 1;
                start = number;
            }
            _ if in_comment => {}
            '#' => in_comment = true,
            '"' => {
                current.push(c);
                in_string = true;
            }
            _ => current.push(c),
        }
    }
    push(&mut current, start, &mut out);
    out
}

/// Splits `s` at top-level commas (outside parentheses and strings).
fn split_args(s: &str) -> Vec<String> {
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    let mut parts = vec![String::new()];
    for c in s.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else {
            match c {
                '"' => in_string = true,
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(String::new());
                    continue;
                }
                _ => {}
            }
        }
        parts.last_mut().expect("one part").push(c);
    }
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Parses a type expression such as `List(String(min_length=1), max_items=10)?` in `ns`.
pub fn parse_type(ns: &str, s: &str) -> Result<Ty, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_suffix('?') {
        return Ok(Ty::Nullable(Box::new(parse_type(ns, inner)?)));
    }
    let (head, args) = match s.find('(') {
        Some(i) if s.ends_with(')') => (&s[..i], split_args(&s[i + 1..s.len() - 1])),
        Some(_) => return Err(format!("unbalanced type {s:?}")),
        None => (s, Vec::new()),
    };
    let named = |key: &str| -> Option<String> {
        args.iter().find_map(|a| {
            let (k, v) = a.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    let num = |key: &str| named(key).and_then(|v| v.parse::<i128>().ok());
    let unsigned = |key: &str| num(key).map(|v| v as u64);
    let int = |min: i128, max: i128| Prim::Integer {
        min: Some(num("min_value").unwrap_or(min)),
        max: Some(num("max_value").unwrap_or(max)),
    };
    let prim = match head {
        "String" => Prim::String {
            min: unsigned("min_length"),
            max: unsigned("max_length"),
            pattern: named("pattern")
                .map(|p| pattern::Pattern::compile(&unquote(&p)))
                .transpose()?,
        },
        "Boolean" => Prim::Boolean,
        "UInt32" => int(0, u32::MAX.into()),
        "UInt64" => int(0, u64::MAX.into()),
        "Int32" => int(i32::MIN.into(), i32::MAX.into()),
        "Int64" => int(i64::MIN.into(), i64::MAX.into()),
        "Float32" | "Float64" => Prim::Float,
        "Bytes" => Prim::Bytes,
        "Void" => Prim::Void,
        "Timestamp" => {
            let format = args
                .first()
                .map(|a| a.trim_matches('"').to_owned())
                .ok_or_else(|| format!("Timestamp without a format: {s:?}"))?;
            Prim::Timestamp(format)
        }
        "List" => {
            let item = args
                .first()
                .ok_or_else(|| format!("List without an item type: {s:?}"))?;
            return Ok(Ty::List {
                item: Box::new(parse_type(ns, item)?),
                min: unsigned("min_items"),
                max: unsigned("max_items"),
            });
        }
        "Map" => {
            let value = args
                .get(1)
                .ok_or_else(|| format!("Map without a value type: {s:?}"))?;
            return Ok(Ty::Map(Box::new(parse_type(ns, value)?)));
        }
        name => {
            if !args.is_empty() {
                return Err(format!("arguments on a named type: {s:?}"));
            }
            let (ns, name) = match name.split_once('.') {
                Some((ns, name)) => (ns, name),
                None => (ns, name),
            };
            return Ok(Ty::Named {
                ns: ns.to_owned(),
                name: name.to_owned(),
            });
        }
    };
    Ok(Ty::Prim(prim))
}

/// The text of a Stone string literal: quotes removed, `\\` and `\"` undone (other escapes
/// are the regular expression's own and stay).
fn unquote(literal: &str) -> String {
    let inner = literal
        .trim()
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or(literal);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('\\' | '"'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// `Name` or `ns.Name` after `extends`, qualified.
fn qualify(ns: &str, name: &str) -> (String, String) {
    match name.split_once('.') {
        Some((n, t)) => (n.to_owned(), t.to_owned()),
        None => (ns.to_owned(), name.to_owned()),
    }
}

/// The URL path of a route: `copy:2` in `files` → `/2/files/copy_v2`.
fn route_path(ns: &str, name: &str) -> String {
    match name.split_once(':') {
        Some((name, version)) if version != "1" => format!("/2/{ns}/{name}_v{version}"),
        Some((name, _)) => format!("/2/{ns}/{name}"),
        None => format!("/2/{ns}/{name}"),
    }
}

impl Spec {
    /// Reads every `.stone` file in each of `dirs`.
    pub fn load(dirs: &[&Path]) -> Result<Spec, String> {
        let mut spec = Spec::default();
        for dir in dirs {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "stone"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                spec.parse_file(&text)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
            }
        }
        Ok(spec)
    }

    /// Adds the declarations of one file.
    pub fn parse_file(&mut self, text: &str) -> Result<(), String> {
        let lines = lines(text);
        let mut ns = String::new();
        let mut i = 0;
        while i < lines.len() {
            let line = &lines[i];
            let err = |m: String| format!("line {}: {m}", line.number);
            if line.indent != 0 {
                return Err(err(format!("unexpected indented line {:?}", line.text)));
            }
            // The block of this declaration: the following lines indented deeper.
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].indent == 0)
                .unwrap_or(lines.len());
            let block = &lines[i + 1..end];
            let words: Vec<&str> = line.text.split_whitespace().collect();
            match words[0] {
                "namespace" => ns = words[1].to_owned(),
                "import" | "annotation" | "annotation_type" => {}
                "alias" => {
                    let (name, ty) = line.text["alias".len()..]
                        .split_once('=')
                        .ok_or_else(|| err("alias without =".into()))?;
                    let ty = parse_type(&ns, ty).map_err(err)?;
                    self.types
                        .insert((ns.clone(), name.trim().to_owned()), Def::Alias(ty));
                }
                "struct" => {
                    let parent = (words.get(2) == Some(&"extends")).then(|| qualify(&ns, words[3]));
                    let def = parse_struct(&ns, parent, block).map_err(err)?;
                    self.types.insert((ns.clone(), words[1].to_owned()), def);
                }
                "union" | "union_closed" => {
                    let parent = (words.get(2) == Some(&"extends")).then(|| qualify(&ns, words[3]));
                    let tags = parse_tags(&ns, block, line.indent).map_err(err)?;
                    let def = Def::Union {
                        parent,
                        tags,
                        closed: words[0] == "union_closed",
                    };
                    self.types.insert((ns.clone(), words[1].to_owned()), def);
                }
                "route" => {
                    let open = line
                        .text
                        .find('(')
                        .ok_or_else(|| err("route without (".into()))?;
                    let close = line
                        .text
                        .rfind(')')
                        .ok_or_else(|| err("route without )".into()))?;
                    let types = split_args(&line.text[open + 1..close]);
                    if types.len() != 3 {
                        return Err(err(format!("route with {} types", types.len())));
                    }
                    let style = block
                        .iter()
                        .find_map(|l| {
                            let (k, v) = l.text.split_once('=')?;
                            (k.trim() == "style").then(|| v.trim().trim_matches('"').to_owned())
                        })
                        .unwrap_or_else(|| "rpc".to_owned());
                    let route = Route {
                        ns: ns.clone(),
                        arg: parse_type(&ns, &types[0]).map_err(err)?,
                        result: parse_type(&ns, &types[1]).map_err(err)?,
                        error: parse_type(&ns, &types[2]).map_err(err)?,
                        style,
                    };
                    self.routes.insert(route_path(&ns, words[1]), route);
                }
                other => return Err(err(format!("unknown declaration {other:?}"))),
            }
            i = end;
        }
        Ok(())
    }
}

/// The members of a struct: fields and an enumerated-subtypes block, `example` blocks skipped.
fn parse_struct(ns: &str, parent: Option<(String, String)>, block: &[Line]) -> Result<Def, String> {
    let mut fields = Vec::new();
    let mut subtypes = Vec::new();
    let Some(member) = block.first().map(|l| l.indent) else {
        return Ok(Def::Struct {
            parent,
            fields,
            subtypes,
        });
    };
    let mut i = 0;
    while i < block.len() {
        let line = &block[i];
        let end = (i + 1..block.len())
            .find(|&j| block[j].indent <= member)
            .unwrap_or(block.len());
        if line.indent == member {
            let first = line.text.split_whitespace().next().unwrap_or_default();
            match first {
                "example" => {}
                "union" | "union_closed" => {
                    subtypes = parse_tags(ns, &block[i + 1..end], member)?;
                }
                _ => fields.push(parse_field(ns, &line.text)?),
            }
        }
        i = end;
    }
    Ok(Def::Struct {
        parent,
        fields,
        subtypes,
    })
}

/// `name Type` or `name Type = default`.
fn parse_field(ns: &str, text: &str) -> Result<Field, String> {
    let (name, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("field without a type: {text:?}"))?;
    let (ty, has_default) = match top_level_eq(rest) {
        Some(i) => (&rest[..i], true),
        None => (rest, false),
    };
    Ok(Field {
        name: name.to_owned(),
        ty: parse_type(ns, ty)?,
        has_default,
    })
}

/// The position of a `=` outside parentheses and strings (a default value).
fn top_level_eq(s: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => depth -= 1,
            '=' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Union tags (`tag` or `tag Type`) of a block, `example` blocks skipped.
fn parse_tags(ns: &str, block: &[Line], outer: usize) -> Result<Vec<(String, Ty)>, String> {
    let Some(member) = block.first().map(|l| l.indent).filter(|m| *m > outer) else {
        return Ok(Vec::new());
    };
    let mut tags = Vec::new();
    let mut skipping = false;
    for line in block {
        if line.indent > member {
            continue;
        }
        let mut words = line.text.splitn(2, char::is_whitespace);
        let tag = words.next().unwrap_or_default();
        if tag == "example" {
            skipping = true;
        }
        if skipping {
            continue;
        }
        // A tag may carry a default (`too_many_members UInt64 = 0`): it does not change the
        // type.
        let ty = match words.next() {
            Some(ty) => parse_type(ns, &ty[..top_level_eq(ty).unwrap_or(ty.len())])?,
            None => Ty::Prim(Prim::Void),
        };
        tags.push((tag.trim_end_matches('*').to_owned(), ty));
    }
    Ok(tags)
}
