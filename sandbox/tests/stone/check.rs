//! Checks a JSON value against a Stone type the way Dropbox serialises it: structs are objects
//! whose required fields are present with the right JSON type and which have no other keys;
//! a struct with enumerated subtypes carries `.tag`; unions are `{".tag": tag}` objects whose
//! payload is flattened (a plain struct) or under the tag's key (anything else).

use serde_json::{Map, Value};

use super::{Def, Field, Prim, Spec, Ty};

/// What went wrong, one line per problem, each with the JSON path.
pub type Problems = Vec<String>;

impl Spec {
    /// Checks `value` against `ty`; `at` names the place for messages (e.g. `files/upload`).
    pub fn check(&self, ty: &Ty, value: &Value, at: &str) -> Problems {
        let mut problems = Vec::new();
        self.value(ty, value, at, &mut problems);
        problems
    }

    /// A Dropbox error envelope: `{"error_summary", "error": ty, "user_message"?}`.
    pub fn check_error(&self, ty: &Ty, value: &Value, at: &str) -> Problems {
        let mut problems = Vec::new();
        let Some(object) = value.as_object() else {
            return vec![format!("{at}: error body is not an object: {value}")];
        };
        if !object.get("error_summary").is_some_and(Value::is_string) {
            problems.push(format!("{at}: error_summary missing or not a string"));
        }
        match object.get("error") {
            Some(error) => self.value(ty, error, &format!("{at}.error"), &mut problems),
            None => problems.push(format!("{at}: error missing")),
        }
        if let Some(message) = object.get("user_message") {
            let ok = message.get("locale").is_some_and(Value::is_string)
                && message.get("text").is_some_and(Value::is_string)
                && message.as_object().is_some_and(|m| m.len() == 2);
            if !ok {
                problems.push(format!(
                    "{at}.user_message: not {{locale, text}}: {message}"
                ));
            }
        }
        for key in object.keys() {
            if !["error_summary", "error", "user_message"].contains(&key.as_str()) {
                problems.push(format!("{at}: unknown key {key:?} in the error envelope"));
            }
        }
        problems
    }

    /// The definition of a named type.
    pub fn def(&self, ns: &str, name: &str) -> Option<&Def> {
        self.types.get(&(ns.to_owned(), name.to_owned()))
    }

    /// Follows aliases (keeping nullability) until a non-alias type.
    fn resolve(&self, ty: &Ty) -> Ty {
        match ty {
            Ty::Named { ns, name } => match self.def(ns, name) {
                Some(Def::Alias(inner)) => self.resolve(inner),
                _ => ty.clone(),
            },
            Ty::Nullable(inner) => Ty::Nullable(Box::new(self.resolve(inner))),
            other => other.clone(),
        }
    }

    fn value(&self, ty: &Ty, v: &Value, at: &str, p: &mut Problems) {
        match self.resolve(ty) {
            Ty::Nullable(inner) => {
                if !v.is_null() {
                    self.value(&inner, v, at, p);
                }
            }
            Ty::Prim(prim) => prim_value(&prim, v, at, p),
            Ty::List { item, min, max } => match v.as_array() {
                Some(items) => {
                    let n = items.len() as u64;
                    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                        p.push(format!("{at}: {n} items, outside {min:?}..={max:?}"));
                    }
                    for (i, item_value) in items.iter().enumerate() {
                        self.value(&item, item_value, &format!("{at}[{i}]"), p);
                    }
                }
                None => p.push(format!("{at}: expected a list, got {v}")),
            },
            Ty::Map(value_ty) => match v.as_object() {
                Some(map) => {
                    for (k, item) in map {
                        self.value(&value_ty, item, &format!("{at}.{k}"), p);
                    }
                }
                None => p.push(format!("{at}: expected a map, got {v}")),
            },
            Ty::Named { ns, name } => match self.def(&ns, &name) {
                None => p.push(format!("{at}: no Stone type {ns}.{name} in the table")),
                Some(Def::Alias(_)) => unreachable!("resolved above"),
                Some(Def::Struct { .. }) => self.struct_value(&ns, &name, v, at, &[], p),
                Some(Def::Union { .. }) => self.union_value(&ns, &name, v, at, p),
            },
        }
    }

    /// The fields of a struct, its ancestors' first.
    fn fields(&self, ns: &str, name: &str) -> Vec<Field> {
        match self.def(ns, name) {
            Some(Def::Struct { parent, fields, .. }) => {
                let mut all = match parent {
                    Some((pns, pname)) => self.fields(pns, pname),
                    None => Vec::new(),
                };
                all.extend(fields.iter().cloned());
                all
            }
            _ => Vec::new(),
        }
    }

    fn subtypes(&self, ns: &str, name: &str) -> &[(String, Ty)] {
        match self.def(ns, name) {
            Some(Def::Struct { subtypes, .. }) => subtypes,
            _ => &[],
        }
    }

    fn has_subtypes(&self, ty: &Ty) -> bool {
        match self.resolve(ty) {
            Ty::Named { ns, name } => !self.subtypes(&ns, &name).is_empty(),
            _ => false,
        }
    }

    /// A struct value; `extra` are keys that belong to an enclosing union (its `.tag`).
    fn struct_value(
        &self,
        ns: &str,
        name: &str,
        v: &Value,
        at: &str,
        extra: &[&str],
        p: &mut Problems,
    ) {
        let Some(object) = v.as_object() else {
            p.push(format!("{at}: expected a {ns}.{name} object, got {v}"));
            return;
        };
        let subtypes = self.subtypes(ns, name);
        if !subtypes.is_empty() {
            // Enumerated subtypes: `.tag` names the subtype, whose fields are checked.
            let tag = object.get(".tag").and_then(Value::as_str);
            let sub = tag.and_then(|t| subtypes.iter().find(|(s, _)| s == t));
            match sub.map(|(_, ty)| self.resolve(ty)) {
                Some(Ty::Named {
                    ns: sns,
                    name: sname,
                }) => {
                    let mut keys = extra.to_vec();
                    keys.push(".tag");
                    return self.struct_value(&sns, &sname, v, at, &keys, p);
                }
                _ => {
                    let known: Vec<&str> = subtypes.iter().map(|(t, _)| t.as_str()).collect();
                    p.push(format!(
                        "{at}: {ns}.{name} needs .tag one of {known:?}, got {:?}",
                        object.get(".tag")
                    ));
                    return;
                }
            }
        }
        let fields = self.fields(ns, name);
        self.fields_value(&fields, object, at, extra, &format!("{ns}.{name}"), p);
    }

    fn fields_value(
        &self,
        fields: &[Field],
        object: &Map<String, Value>,
        at: &str,
        extra: &[&str],
        type_name: &str,
        p: &mut Problems,
    ) {
        for field in fields {
            let here = format!("{at}.{}", field.name);
            match object.get(&field.name) {
                None if field.required() => {
                    p.push(format!("{here}: required by {type_name}, missing"))
                }
                Some(Value::Null) if !matches!(self.resolve(&field.ty), Ty::Nullable(_)) => {
                    if field.required() {
                        p.push(format!("{here}: required by {type_name}, null"));
                    } else {
                        p.push(format!("{here}: null for a field that is not nullable"));
                    }
                }
                Some(value) => self.value(&field.ty, value, &here, p),
                None => {}
            }
        }
        for key in object.keys() {
            if !fields.iter().any(|f| &f.name == key) && !extra.contains(&key.as_str()) {
                p.push(format!("{at}: unknown field {key:?} for {type_name}"));
            }
        }
    }

    /// The tags of a union, its ancestors' first.
    fn tags(&self, ns: &str, name: &str) -> (Vec<(String, Ty)>, bool) {
        match self.def(ns, name) {
            Some(Def::Union {
                parent,
                tags,
                closed,
            }) => {
                let (mut all, parent_closed) = match parent {
                    Some((pns, pname)) => self.tags(pns, pname),
                    None => (Vec::new(), true),
                };
                all.extend(tags.iter().cloned());
                (all, *closed && parent_closed)
            }
            _ => (Vec::new(), true),
        }
    }

    fn union_value(&self, ns: &str, name: &str, v: &Value, at: &str, p: &mut Problems) {
        let Some(object) = v.as_object() else {
            p.push(format!(
                "{at}: expected a {ns}.{name} union object {{\".tag\": …}}, got {v}"
            ));
            return;
        };
        let Some(tag) = object.get(".tag").and_then(Value::as_str) else {
            p.push(format!("{at}: {ns}.{name} without a string .tag: {v}"));
            return;
        };
        let (tags, closed) = self.tags(ns, name);
        let member = tags
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, ty)| ty.clone());
        let member = match member {
            Some(ty) => ty,
            None if tag == "other" && !closed => Ty::Prim(Prim::Void),
            None => {
                let known: Vec<&str> = tags.iter().map(|(t, _)| t.as_str()).collect();
                p.push(format!(
                    "{at}: unknown tag {tag:?} for {ns}.{name} (known: {known:?})"
                ));
                return;
            }
        };
        let here = format!("{at}.{tag}");
        let resolved = self.resolve(&member);
        match &resolved {
            Ty::Prim(Prim::Void) => {
                if object.len() != 1 {
                    p.push(format!("{here}: a void tag carries only .tag, got {v}"));
                }
            }
            // A plain struct is flattened next to `.tag`.
            Ty::Named {
                ns: sns,
                name: sname,
            } if matches!(self.def(sns, sname), Some(Def::Struct { .. }))
                && !self.has_subtypes(&resolved) =>
            {
                self.struct_value(sns, sname, v, &here, &[".tag"], p);
            }
            // Anything else sits under the tag's key; a nullable one may be left out.
            _ => {
                for key in object.keys() {
                    if key != ".tag" && key != tag {
                        p.push(format!("{here}: unknown key {key:?} next to .tag"));
                    }
                }
                match object.get(tag) {
                    Some(value) => self.value(&member, value, &here, p),
                    None if matches!(resolved, Ty::Nullable(_)) => {}
                    None => p.push(format!("{here}: payload missing under {tag:?}")),
                }
            }
        }
    }
}

fn prim_value(prim: &Prim, v: &Value, at: &str, p: &mut Problems) {
    let ok = match prim {
        Prim::String { min, max, pattern } => match v.as_str() {
            Some(s) => {
                let n = s.chars().count() as u64;
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    p.push(format!(
                        "{at}: {s:?} has {n} characters, outside {min:?}..={max:?}"
                    ));
                }
                if pattern.as_ref().is_some_and(|re| !re.full_match(s)) {
                    p.push(format!(
                        "{at}: {s:?} does not match the pattern of its type"
                    ));
                }
                true
            }
            None => false,
        },
        Prim::Boolean => v.is_boolean(),
        Prim::Integer { min, max } => {
            match v.as_i64().map(i128::from).or(v.as_u64().map(i128::from)) {
                Some(n) => {
                    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                        p.push(format!("{at}: {n} outside {min:?}..={max:?}"));
                    }
                    true
                }
                None => false,
            }
        }
        Prim::Float => v.is_number(),
        Prim::Timestamp(format) => match v.as_str() {
            Some(s) => {
                if chrono::NaiveDateTime::parse_from_str(s, format).is_err()
                    && chrono::NaiveDate::parse_from_str(s, format).is_err()
                {
                    p.push(format!("{at}: {s:?} is not a timestamp in {format:?}"));
                }
                true
            }
            None => false,
        },
        Prim::Bytes => v.is_string(),
        Prim::Void => v.is_null(),
    };
    if !ok {
        p.push(format!("{at}: expected {}, got {v}", prim_name(prim)));
    }
}

fn prim_name(prim: &Prim) -> &'static str {
    match prim {
        Prim::String { .. } => "a string",
        Prim::Boolean => "a boolean",
        Prim::Integer { .. } => "an integer",
        Prim::Float => "a number",
        Prim::Timestamp(_) => "a timestamp string",
        Prim::Bytes => "a base64 string",
        Prim::Void => "null",
    }
}
