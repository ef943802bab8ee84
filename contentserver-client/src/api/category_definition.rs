//! The definition of a category: its attributes with key, name, type, required, maximum
//! length, valid values, multi-value maximum, and sets with the attributes of their rows.
//!
//! Read through REST from the create form (`GET /api/v1/forms/nodes/categories/create?id=
//! {node}&category_id={cat}`, an Alpaca `{data, options, schema}` form), the REST way the
//! reference names for a category not yet applied (§8; pyxecm reads definitions by SOAP).
//! `schema.properties` holds one entry per attribute keyed `{cat}_{attr}`: `title`, `type`
//! (`string`, `integer`, `boolean`, `object` for a set row), `format: date`, `maxLength`,
//! `enum`, `required`; a multi-valued attribute or a set is an `array` with `maxItems` and its
//! `items`; the attributes of a set's rows are `items.properties`, keyed `{cat}_{set}_x_{attr}`
//! as in metadata. `options.fields.{key}.type` (e.g. `otcs_user_picker`) refines the type.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::categories::{AttrKey, Categories};
use crate::error::Result;
use crate::transport::Call;

/// The value type of an attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum AttrType {
    /// Text (`string`).
    Text,
    /// An integer.
    Integer,
    /// A date (`format: date` or `date-time`), sent as `YYYY-MM-DD`.
    Date,
    /// A boolean.
    Boolean,
    /// A user, by member id (a user picker).
    User,
    /// A set: rows of attributes ([`AttributeDefinition::attributes`]).
    Set,
    /// Anything else, with the form's type name.
    Other(String),
}

/// One attribute of a category definition.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct AttributeDefinition {
    /// The key as the form gives it: `{cat}_{attr}`, or `{cat}_{set}_x_{attr}` for an
    /// attribute of a set's rows.
    pub key: String,
    /// The attribute id inside the category.
    pub id: i64,
    /// The set's attribute id, for an attribute of a set's rows.
    pub set_id: Option<i64>,
    /// The display name (`title`).
    pub name: String,
    /// The value type.
    pub attr_type: AttrType,
    /// Whether a value is required.
    pub required: bool,
    /// The longest text accepted (`maxLength`), for text attributes.
    pub max_length: Option<u32>,
    /// The values allowed (`enum`); empty when any value is.
    pub valid_values: Vec<String>,
    /// For a multi-valued attribute, the most values it takes (for a set, the most rows);
    /// `None` for a single value.
    pub multi_value_max: Option<u32>,
    /// For a set: the attributes of each row.
    pub attributes: Vec<AttributeDefinition>,
}

impl AttributeDefinition {
    /// Whether several values (or, for a set, rows) are allowed.
    pub fn is_multi_value(&self) -> bool {
        self.multi_value_max.is_some()
    }

    /// The key of this attribute's value: `{cat}_{attr}` for a plain attribute, `None` for a
    /// set or an attribute of a set's rows (use [`AttributeDefinition::key_in_row`]).
    pub fn value_key(&self, category: i64) -> Option<AttrKey> {
        (self.set_id.is_none() && self.attr_type != AttrType::Set)
            .then(|| AttrKey::attr(category, self.id))
    }

    /// The key of this set-row attribute's value in row `row` (from 1):
    /// `{cat}_{set}_{row}_{attr}`. `None` for a plain attribute.
    pub fn key_in_row(&self, category: i64, row: u32) -> Option<AttrKey> {
        self.set_id
            .map(|set| AttrKey::set_row(category, set, row, self.id))
    }
}

/// A category's definition.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CategoryDefinition {
    /// The category id.
    pub id: i64,
    /// Its name (`schema.title`), when the form gave it.
    pub name: Option<String>,
    /// The attributes in id order; sets hold their rows' attributes.
    pub attributes: Vec<AttributeDefinition>,
    /// The whole form.
    pub raw: Value,
}

impl CategoryDefinition {
    /// The top-level attribute named `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDefinition> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn u32_of(v: Option<&Value>) -> Option<u32> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.as_str()?.trim().parse().ok())
        .and_then(|n| u32::try_from(n).ok())
}

fn flag(v: Option<&Value>) -> bool {
    v.is_some_and(|v| v.as_bool().unwrap_or(v.as_str() == Some("true")))
}

/// The ids in a key: `9830_2` → (None, 2); `9830_3_x_4` → (Some(3), 4).
fn key_ids(category: i64, key: &str) -> Option<(Option<i64>, i64)> {
    let parts: Vec<&str> = key.split('_').collect();
    if parts.first()?.parse::<i64>().ok()? != category {
        return None;
    }
    match parts.as_slice() {
        [_, a] => Some((None, a.parse().ok()?)),
        [_, set, "x", a] => Some((Some(set.parse().ok()?), a.parse().ok()?)),
        _ => None,
    }
}

fn parse_attribute(
    category: i64,
    key: &str,
    schema: &Value,
    fields: Option<&Map<String, Value>>,
) -> Option<AttributeDefinition> {
    let (set_id, id) = key_ids(category, key)?;
    let is_array = schema.get("type").and_then(Value::as_str) == Some("array");
    let item = if is_array {
        schema.get("items").unwrap_or(schema)
    } else {
        schema
    };
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
    let format = item
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let option_type = fields
        .and_then(|f| f.get(key))
        .and_then(|o| o.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let attr_type = if kind == "object" {
        AttrType::Set
    } else if option_type.contains("user") {
        AttrType::User
    } else if format.starts_with("date") || option_type.starts_with("date") {
        AttrType::Date
    } else {
        match kind {
            "string" => AttrType::Text,
            "integer" | "number" => AttrType::Integer,
            "boolean" => AttrType::Boolean,
            other => AttrType::Other(other.to_string()),
        }
    };
    let mut attributes: Vec<AttributeDefinition> = item
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, s)| parse_attribute(category, k, s, fields))
        .filter(|a| a.set_id == Some(id))
        .collect();
    attributes.sort_by_key(|a| a.id);
    let name = [item, schema]
        .iter()
        .find_map(|s| s.get("title").and_then(text_of))
        .unwrap_or_default();
    Some(AttributeDefinition {
        key: key.to_string(),
        id,
        set_id,
        name,
        attr_type,
        required: flag(schema.get("required")) || flag(item.get("required")),
        max_length: u32_of(item.get("maxLength")),
        valid_values: item
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(text_of)
            .collect(),
        multi_value_max: if is_array {
            Some(u32_of(schema.get("maxItems")).unwrap_or(u32::MAX))
        } else {
            None
        },
        attributes,
    })
}

/// Reads a create (or update) form into a definition.
pub(crate) fn parse_form(category: i64, form: Value) -> Option<CategoryDefinition> {
    let body = form
        .pointer("/forms/0")
        .filter(|f| f.get("schema").is_some())
        .unwrap_or(&form);
    let schema = body.get("schema")?;
    let props = schema.get("properties")?.as_object()?;
    let fields = body.pointer("/options/fields").and_then(Value::as_object);
    let mut attributes: Vec<AttributeDefinition> = props
        .iter()
        .filter_map(|(k, s)| parse_attribute(category, k, s, fields))
        .filter(|a| a.set_id.is_none())
        .collect();
    attributes.sort_by_key(|a| a.id);
    Some(CategoryDefinition {
        id: category,
        name: schema.get("title").and_then(text_of),
        attributes,
        raw: form.clone(),
    })
}

impl Categories {
    /// `GET /api/v1/forms/nodes/categories/create?id={node}&category_id={cat}`: the definition
    /// of `category` as it would apply to `node` (a folder to create into, or the node to
    /// apply it to).
    pub async fn definition(&self, node: i64, category: i64) -> Result<CategoryDefinition> {
        let call = Call::get("api/v1/forms/nodes/categories/create")
            .query("id", node)
            .query("category_id", category);
        let json = self.client.transport.json(call).await?;
        parse_form(category, json.value.clone())
            .ok_or_else(|| json.decode_error("the category form has no schema.properties"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_attributes_sets_and_types() {
        let form = json!({"forms": [{
            "data": {},
            "options": {"fields": {"9_5": {"type": "otcs_user_picker"}}},
            "schema": {"title": "Doc Info", "type": "object", "properties": {
                "9_10": {"title": "Notes", "type": "string", "maxLength": 248},
                "9_2": {"title": "Kind", "type": "string", "required": true,
                        "enum": ["Memo", "Letter"], "maxLength": 248},
                "9_3": {"title": "Due", "type": "string", "format": "date"},
                "9_4": {"title": "Tags", "type": "array", "maxItems": 5,
                        "items": {"title": "Tags", "type": "string", "maxLength": 248}},
                "9_5": {"title": "Owner", "type": "integer"},
                "9_6": {"title": "Parties", "type": "array", "maxItems": 3, "items": {
                    "type": "object", "properties": {
                        "9_6_x_7": {"title": "Party", "type": "string"},
                        "9_6_x_8": {"title": "Signed", "type": "boolean"}}}},
            }},
        }]});
        let def = parse_form(9, form).unwrap();
        assert_eq!(def.name.as_deref(), Some("Doc Info"));
        let ids: Vec<i64> = def.attributes.iter().map(|a| a.id).collect();
        assert_eq!(ids, [2, 3, 4, 5, 6, 10]);
        let kind = def.attribute("kind").unwrap();
        assert!(kind.required);
        assert_eq!(kind.max_length, Some(248));
        assert_eq!(kind.valid_values, ["Memo", "Letter"]);
        assert_eq!(kind.value_key(9), Some(AttrKey::attr(9, 2)));
        assert_eq!(def.attribute("Due").unwrap().attr_type, AttrType::Date);
        assert_eq!(def.attribute("Tags").unwrap().multi_value_max, Some(5));
        assert_eq!(def.attribute("Owner").unwrap().attr_type, AttrType::User);
        let parties = def.attribute("Parties").unwrap();
        assert_eq!(parties.attr_type, AttrType::Set);
        assert_eq!(parties.multi_value_max, Some(3));
        assert_eq!(parties.attributes.len(), 2);
        assert_eq!(parties.attributes[1].attr_type, AttrType::Boolean);
        assert_eq!(
            parties.attributes[0].key_in_row(9, 2),
            Some(AttrKey::set_row(9, 6, 2, 7))
        );
        assert!(parse_form(9, json!({"data": {}})).is_none());
    }
}
