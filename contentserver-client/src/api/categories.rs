//! Categories on nodes: read with metadata, apply with values, update values, remove; typed
//! attribute values and attribute keys (`{cat}_{attr}`, `{cat}_{set}_{row}_{attr}`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::Call;

/// The key of an attribute value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttrKey {
    /// A plain attribute: `{cat}_{attr}`.
    Attr {
        /// The category id.
        category: i64,
        /// The attribute id.
        attr: i64,
    },
    /// An attribute in a row of a set: `{cat}_{set}_{row}_{attr}` (rows count from 1).
    SetRow {
        /// The category id.
        category: i64,
        /// The set's attribute id.
        set: i64,
        /// The row, from 1.
        row: u32,
        /// The attribute id.
        attr: i64,
    },
}

impl AttrKey {
    /// `{cat}_{attr}`.
    pub fn attr(category: i64, attr: i64) -> Self {
        AttrKey::Attr { category, attr }
    }

    /// `{cat}_{set}_{row}_{attr}`.
    pub fn set_row(category: i64, set: i64, row: u32, attr: i64) -> Self {
        AttrKey::SetRow {
            category,
            set,
            row,
            attr,
        }
    }

    /// The category id.
    pub fn category(&self) -> i64 {
        match self {
            AttrKey::Attr { category, .. } | AttrKey::SetRow { category, .. } => *category,
        }
    }
}

impl fmt::Display for AttrKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrKey::Attr { category, attr } => write!(f, "{category}_{attr}"),
            AttrKey::SetRow {
                category,
                set,
                row,
                attr,
            } => write!(f, "{category}_{set}_{row}_{attr}"),
        }
    }
}

impl FromStr for AttrKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid(format!("not an attribute key: {s:?}"));
        let parts: Vec<&str> = s.split('_').collect();
        let num = |p: &str| p.parse::<i64>().map_err(|_| bad());
        match parts.as_slice() {
            [c, a] => Ok(AttrKey::attr(num(c)?, num(a)?)),
            [c, set, row, a] => Ok(AttrKey::set_row(
                num(c)?,
                num(set)?,
                row.parse().map_err(|_| bad())?,
                num(a)?,
            )),
            _ => Err(bad()),
        }
    }
}

/// A typed attribute value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AttrValue {
    /// Text (also used for `""` padding in multi-values).
    Text(String),
    /// An integer.
    Integer(i64),
    /// A date, sent as `YYYY-MM-DD`.
    Date(NaiveDate),
    /// A date and time, sent as `YYYY-MM-DDTHH:MM:SS`.
    DateTime(NaiveDateTime),
    /// A boolean.
    Boolean(bool),
    /// A user, by member id.
    User(i64),
    /// Several values of a multi-value attribute.
    Multi(Vec<AttrValue>),
}

impl AttrValue {
    /// The value as JSON (inside a `body` field).
    pub fn to_json(&self) -> Value {
        match self {
            AttrValue::Text(s) => json!(s),
            AttrValue::Integer(i) | AttrValue::User(i) => json!(i),
            AttrValue::Date(_) | AttrValue::DateTime(_) => json!(self.scalar_text()),
            AttrValue::Boolean(b) => json!(b),
            AttrValue::Multi(values) => Value::Array(values.iter().map(|v| v.to_json()).collect()),
        }
    }

    pub(crate) fn scalar_text(&self) -> String {
        match self {
            AttrValue::Text(s) => s.clone(),
            AttrValue::Integer(i) | AttrValue::User(i) => i.to_string(),
            AttrValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            AttrValue::DateTime(d) => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
            AttrValue::Boolean(b) => b.to_string(),
            AttrValue::Multi(_) => String::new(),
        }
    }

    /// The value as plain form values: one for a scalar, one per element (a repeated key) for
    /// a multi-value.
    pub fn to_form_values(&self) -> Vec<String> {
        match self {
            AttrValue::Multi(values) => values.iter().flat_map(|v| v.to_form_values()).collect(),
            other => vec![other.scalar_text()],
        }
    }
}

impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::Text(v.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::Text(v)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Integer(v)
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Boolean(v)
    }
}
impl From<NaiveDate> for AttrValue {
    fn from(v: NaiveDate) -> Self {
        AttrValue::Date(v)
    }
}
impl From<NaiveDateTime> for AttrValue {
    fn from(v: NaiveDateTime) -> Self {
        AttrValue::DateTime(v)
    }
}

/// Values for one or more categories, used when creating a document or workspace and when
/// applying or updating a category.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CategoryValues {
    categories: BTreeSet<i64>,
    values: BTreeMap<AttrKey, AttrValue>,
}

impl CategoryValues {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Includes category `category` even without values (applied with its defaults:
    /// `"{cat}_1": {}`).
    pub fn category(mut self, category: i64) -> Self {
        self.categories.insert(category);
        self
    }

    /// Sets one value (and includes its category).
    pub fn set(mut self, key: AttrKey, value: impl Into<AttrValue>) -> Self {
        self.categories.insert(key.category());
        self.values.insert(key, value.into());
        self
    }

    /// The category ids included.
    pub fn category_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.categories.iter().copied()
    }

    /// Whether nothing is included.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// The v2 create form: one flat map, `{"9830_1": {}, "9830_2": "x"}`.
    pub fn to_flat_json(&self) -> Value {
        let mut map = Map::new();
        for cat in &self.categories {
            map.insert(format!("{cat}_1"), json!({}));
        }
        for (key, value) in &self.values {
            map.insert(key.to_string(), value.to_json());
        }
        Value::Object(map)
    }

    /// The nested form (v1 create, business workspaces): `{"9830": {"9830_2": "x"}}`.
    pub fn to_nested_json(&self) -> Value {
        let mut map = Map::new();
        for cat in &self.categories {
            let mut inner = Map::new();
            for (key, value) in self.values.iter().filter(|(k, _)| k.category() == *cat) {
                inner.insert(key.to_string(), value.to_json());
            }
            map.insert(cat.to_string(), Value::Object(inner));
        }
        Value::Object(map)
    }

    /// Plain form fields for category `category`: `category_id` then each key (repeated for
    /// multi-values). Fails when a value belongs to another category.
    fn form_fields(&self, category: i64) -> Result<Vec<(String, String)>> {
        let mut fields = vec![("category_id".to_string(), category.to_string())];
        for (key, value) in &self.values {
            if key.category() != category {
                return Err(Error::invalid(format!(
                    "attribute {key} does not belong to category {category}"
                )));
            }
            for v in value.to_form_values() {
                fields.push((key.to_string(), v));
            }
        }
        Ok(fields)
    }
}

/// The description of one attribute, from `?metadata`.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct AttributeInfo {
    /// The key, e.g. `9830_2`, or `9830_3_x_4` for a set member.
    pub key: String,
    /// The display name.
    pub name: Option<String>,
    /// The type name (`String`, `Integer`, `Date`, `Boolean`, `User`, ...).
    pub type_name: Option<String>,
    /// The numeric type, when given.
    pub type_id: Option<i64>,
    /// `category`, `set`, `user`, ... when given.
    pub persona: Option<String>,
    /// Whether a value is required.
    pub required: bool,
    /// Whether several values are allowed.
    pub multi_value: bool,
    /// The maximum text length, when given.
    pub max_length: Option<i64>,
    /// Every field of the metadata entry.
    pub raw: Value,
}

/// A category applied to a node, with its values and attribute metadata.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeCategory {
    /// The category id.
    pub id: i64,
    /// The category's name, when the metadata gave it.
    pub name: Option<String>,
    /// The values by key (`{cat}_{attr}`, `{cat}_{set}_{row}_{attr}`), as sent by the server.
    pub values: BTreeMap<String, Value>,
    /// The attributes, from the metadata (empty without `?metadata`).
    pub attributes: Vec<AttributeInfo>,
}

impl NodeCategory {
    /// The value of `key`, if set.
    pub fn value(&self, key: &AttrKey) -> Option<&Value> {
        self.values.get(&key.to_string())
    }

    /// The value of the attribute named `name` (case-insensitive; from the metadata, so the
    /// category must have been read with it), if set.
    pub fn value_named(&self, name: &str) -> Option<&Value> {
        let info = self.attributes.iter().find(|a| {
            a.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })?;
        self.values.get(&info.key)
    }

    pub(crate) fn from_item(item: &Value) -> Option<NodeCategory> {
        let values: BTreeMap<String, Value> = item
            .pointer("/data/categories")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let meta = item
            .pointer("/metadata/categories")
            .and_then(Value::as_object);
        // The category id: a metadata key without '_', else the prefix of any value key.
        let id = meta
            .and_then(|m| m.keys().find(|k| !k.contains('_')))
            .or_else(|| values.keys().next())
            .and_then(|k| k.split('_').next())
            .and_then(|k| k.parse::<i64>().ok())?;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let flag = |v: &Value, k: &str| {
            v.get(k)
                .map(|f| f.as_bool().unwrap_or(f.as_str() == Some("true")))
                .unwrap_or(false)
        };
        let mut name = None;
        let mut attributes = Vec::new();
        if let Some(meta) = meta {
            for (key, entry) in meta {
                if !key.contains('_') {
                    name = text(entry, "name");
                    continue;
                }
                attributes.push(AttributeInfo {
                    key: key.clone(),
                    name: text(entry, "name"),
                    type_name: text(entry, "type_name"),
                    type_id: entry.get("type").and_then(Value::as_i64),
                    persona: text(entry, "persona"),
                    required: flag(entry, "required"),
                    multi_value: flag(entry, "multi_value"),
                    max_length: entry.get("max_length").and_then(Value::as_i64),
                    raw: entry.clone(),
                });
            }
        }
        Some(NodeCategory {
            id,
            name,
            values,
            attributes,
        })
    }
}

/// Category calls; see [`Client::categories`].
#[derive(Clone, Debug)]
pub struct Categories {
    pub(super) client: Client,
}

impl Categories {
    pub(crate) fn new(client: Client) -> Self {
        Categories { client }
    }

    /// `GET /api/v2/nodes/{id}/categories?metadata`: every category on the node.
    pub async fn list(&self, node: i64) -> Result<Vec<NodeCategory>> {
        let json = self
            .client
            .transport
            .json(Call::get(format!("api/v2/nodes/{node}/categories")).flag("metadata"))
            .await?;
        Ok(json
            .v2_items()?
            .items
            .iter()
            .filter_map(NodeCategory::from_item)
            .collect())
    }

    /// `GET /api/v2/nodes/{id}/categories/{cat}?metadata`: one category on the node.
    pub async fn get(&self, node: i64, category: i64) -> Result<NodeCategory> {
        let json = self
            .client
            .transport
            .json(Call::get(format!("api/v2/nodes/{node}/categories/{category}")).flag("metadata"))
            .await?;
        let item: Value = json.results()?;
        let mut found = NodeCategory::from_item(&item)
            .ok_or_else(|| json.decode_error("no category in results"))?;
        found.id = category;
        Ok(found)
    }

    /// `POST /api/v2/nodes/{id}/categories`: applies `category` with `values` (plain form
    /// fields, as pyxecm sends them). Already applied → `400` "already exists".
    pub async fn apply(&self, node: i64, category: i64, values: &CategoryValues) -> Result<()> {
        let mut call = Call::post(format!("api/v2/nodes/{node}/categories"));
        for (k, v) in values.form_fields(category)? {
            call = call.form(k, v);
        }
        self.client.transport.json(call).await.map(|_| ())
    }

    /// `PUT /api/v2/nodes/{id}/categories/{cat}`: updates values of an applied category.
    pub async fn update(&self, node: i64, category: i64, values: &CategoryValues) -> Result<()> {
        self.update_guarded(node, category, values, None).await
    }

    /// Like [`Categories::update`], guarded by a `metadata_token` (stale → [`ErrorKind::Conflict`](crate::ErrorKind::Conflict)).
    pub async fn update_guarded(
        &self,
        node: i64,
        category: i64,
        values: &CategoryValues,
        metadata_token: Option<&str>,
    ) -> Result<()> {
        let mut call = Call::put(format!("api/v2/nodes/{node}/categories/{category}"));
        for (k, v) in values.form_fields(category)? {
            call = call.form(k, v);
        }
        call = call.form_opt("metadata_token", metadata_token);
        self.client.transport.json(call).await.map(|_| ())
    }

    /// `DELETE /api/v2/nodes/{id}/categories/{cat}`.
    pub async fn remove(&self, node: i64, category: i64) -> Result<()> {
        self.client
            .transport
            .json(Call::delete(format!(
                "api/v2/nodes/{node}/categories/{category}"
            )))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(AttrKey::attr(9830, 2).to_string(), "9830_2");
        assert_eq!(AttrKey::set_row(9830, 3, 2, 4).to_string(), "9830_3_2_4");
        assert_eq!(
            "9830_3_2_4".parse::<AttrKey>().unwrap(),
            AttrKey::set_row(9830, 3, 2, 4)
        );
        assert!("9830".parse::<AttrKey>().is_err());
        assert!("9830_3_x_4".parse::<AttrKey>().is_err());
    }

    #[test]
    fn values_encode() {
        let date = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
        let v = CategoryValues::new()
            .category(7)
            .set(AttrKey::attr(9830, 2), "x")
            .set(AttrKey::attr(9830, 3), date)
            .set(
                AttrKey::attr(9830, 4),
                AttrValue::Multi(vec!["".into(), "b".into()]),
            )
            .set(AttrKey::set_row(9830, 5, 1, 6), AttrValue::User(1000));
        assert_eq!(
            v.to_flat_json(),
            json!({"7_1": {}, "9830_1": {}, "9830_2": "x", "9830_3": "2025-01-31",
                   "9830_4": ["", "b"], "9830_5_1_6": 1000})
        );
        assert_eq!(v.to_nested_json()["9830"]["9830_2"], "x");
        assert_eq!(v.to_nested_json()["7"], json!({}));
        // Category 7 has no values of its own, and the 9830 values do not belong to it.
        assert!(v.form_fields(7).is_err());
        let only = CategoryValues::new()
            .set(
                AttrKey::attr(9830, 4),
                AttrValue::Multi(vec!["a".into(), "b".into()]),
            )
            .set(AttrKey::attr(9830, 5), true);
        assert_eq!(
            only.form_fields(9830).unwrap(),
            vec![
                ("category_id".to_string(), "9830".to_string()),
                ("9830_4".into(), "a".into()),
                ("9830_4".into(), "b".into()),
                ("9830_5".into(), "true".into()),
            ]
        );
        assert!(only.form_fields(1).is_err());
    }
}
