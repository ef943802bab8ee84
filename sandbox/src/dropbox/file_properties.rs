//! `file_properties/*`: user-owned property templates and the property groups attached to
//! files and folders.

use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::files::existing;
use super::state::{PathForms, PropertyGroup, Store};
use super::wire::{parse, ApiError};
use super::App;

/// A property template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// Owner account.
    pub owner: usize,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Fields: (name, description); every field is of type `string`.
    pub fields: Vec<(String, String)>,
}

impl Template {
    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "fields": self.fields.iter().map(|(n, d)| json!({"name": n, "description": d, "type": {".tag": "string"}})).collect::<Vec<_>>(),
        })
    }
}

/// Adds a template (used by the seed too) and returns its id.
pub(crate) fn insert_template(store: &mut Store, template: Template) -> String {
    let n = store.next();
    let id = format!("ptid:sbx{n:010}");
    store.templates.insert(id.clone(), template);
    id
}

#[derive(Debug, Deserialize)]
struct FieldTemplate {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "type")]
    kind: Value,
}

#[derive(Debug, Deserialize)]
struct AddTemplateArg {
    name: String,
    description: String,
    fields: Vec<FieldTemplate>,
}

fn check_fields(fields: &[FieldTemplate]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for f in fields {
        if super::wire::union_tag(&f.kind) != Some("string") {
            return Err(ApiError::BadRequest(
                "request body: fields: type must be string".into(),
            ));
        }
        if f.name.len() > 256 || f.description.len() > 1024 {
            return Err(ApiError::tag("template_attribute_too_large"));
        }
        if out.iter().any(|(n, _)| *n == f.name) {
            return Err(ApiError::tag("conflicting_property_names"));
        }
        out.push((f.name.clone(), f.description.clone()));
    }
    Ok(out)
}

/// `file_properties/templates/add_for_user`.
pub(crate) fn add_template(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: AddTemplateArg = parse(arg)?;
    if arg.fields.len() > 32 {
        return Err(ApiError::tag("too_many_properties"));
    }
    if arg.name.len() > 256 || arg.description.len() > 1024 {
        return Err(ApiError::tag("template_attribute_too_large"));
    }
    let fields = check_fields(&arg.fields)?;
    let mut store = app.store();
    if store
        .templates
        .values()
        .filter(|t| t.owner == caller.account)
        .count()
        >= 10
    {
        return Err(ApiError::tag("too_many_templates"));
    }
    let id = insert_template(
        &mut store,
        Template {
            owner: caller.account,
            name: arg.name,
            description: arg.description,
            fields,
        },
    );
    Ok(json!({"template_id": id}))
}

#[derive(Debug, Deserialize)]
struct TemplateIdArg {
    template_id: String,
}

fn template_not_found(id: &str) -> ApiError {
    ApiError::Route(json!({".tag": "template_not_found", "template_not_found": id}))
}

/// `file_properties/templates/get_for_user`.
pub(crate) fn get_template(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: TemplateIdArg = parse(arg)?;
    let store = app.store();
    store
        .templates
        .get(&arg.template_id)
        .filter(|t| t.owner == caller.account)
        .map(Template::json)
        .ok_or_else(|| template_not_found(&arg.template_id))
}

/// `file_properties/templates/list_for_user`.
pub(crate) fn list_templates(app: &App, caller: &Caller, _arg: Value) -> Result<Value, ApiError> {
    let store = app.store();
    let ids: Vec<&String> = store
        .templates
        .iter()
        .filter(|(_, t)| t.owner == caller.account)
        .map(|(id, _)| id)
        .collect();
    Ok(json!({"template_ids": ids}))
}

#[derive(Debug, Deserialize)]
struct UpdateTemplateArg {
    template_id: String,
    name: Option<String>,
    description: Option<String>,
    add_fields: Option<Vec<FieldTemplate>>,
}

/// `file_properties/templates/update_for_user`.
pub(crate) fn update_template(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: UpdateTemplateArg = parse(arg)?;
    let added = check_fields(arg.add_fields.as_deref().unwrap_or_default())?;
    let mut store = app.store();
    let template = store
        .templates
        .get_mut(&arg.template_id)
        .filter(|t| t.owner == caller.account)
        .ok_or_else(|| template_not_found(&arg.template_id))?;
    if added
        .iter()
        .any(|(n, _)| template.fields.iter().any(|(m, _)| m == n))
    {
        return Err(ApiError::tag("conflicting_property_names"));
    }
    if template.fields.len() + added.len() > 32 {
        return Err(ApiError::tag("too_many_properties"));
    }
    if let Some(name) = arg.name {
        template.name = name;
    }
    if let Some(description) = arg.description {
        template.description = description;
    }
    template.fields.extend(added);
    Ok(json!({"template_id": arg.template_id}))
}

/// `file_properties/templates/remove_for_user`.
pub(crate) fn remove_template(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: TemplateIdArg = parse(arg)?;
    let mut store = app.store();
    match store.templates.get(&arg.template_id) {
        Some(t) if t.owner == caller.account => {}
        _ => return Err(template_not_found(&arg.template_id)),
    }
    store.templates.remove(&arg.template_id);
    for space in store.namespaces.values_mut() {
        for node in space.nodes.values_mut() {
            node.props.retain(|g| g.template_id != arg.template_id);
        }
    }
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
struct FieldArg {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct GroupArg {
    template_id: String,
    fields: Vec<FieldArg>,
}

/// Parses a list of `PropertyGroup`s.
pub(crate) fn parse_groups(v: &Value) -> Result<Vec<PropertyGroup>, ApiError> {
    let groups: Vec<GroupArg> = parse(v.clone())?;
    Ok(groups
        .into_iter()
        .map(|g| PropertyGroup {
            template_id: g.template_id,
            fields: g.fields.into_iter().map(|f| (f.name, f.value)).collect(),
        })
        .collect())
}

/// Checks groups against the caller's templates; the error is an `InvalidPropertyGroupError`.
pub(crate) fn check_groups(
    store: &Store,
    account: usize,
    groups: &[PropertyGroup],
) -> Result<(), Value> {
    for (i, g) in groups.iter().enumerate() {
        let Some(t) = store
            .templates
            .get(&g.template_id)
            .filter(|t| t.owner == account)
        else {
            return Err(json!({".tag": "template_not_found", "template_not_found": g.template_id}));
        };
        if groups[..i].iter().any(|o| o.template_id == g.template_id) {
            return Err(json!({".tag": "duplicate_property_groups"}));
        }
        for (name, value) in &g.fields {
            if !t.fields.iter().any(|(n, _)| n == name) {
                return Err(json!({".tag": "does_not_fit_template"}));
            }
            if value.len() > 1024 {
                return Err(json!({".tag": "property_field_too_large"}));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct AddPropertiesArg {
    path: String,
    property_groups: Value,
}

fn with_node<R>(
    app: &App,
    caller: &Caller,
    path: &str,
    f: impl FnOnce(&Store, &mut Vec<PropertyGroup>) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    let mut store = app.store();
    let (loc, node) = existing(&store, caller, path, PathForms::ID, "path")?;
    let mut props = node.props.clone();
    let result = f(&store, &mut props)?;
    if let Some(node) = store.node_mut(loc.ns(), &loc.lower) {
        node.props = props;
    }
    Ok(result)
}

/// `file_properties/properties/add`.
pub(crate) fn properties_add(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: AddPropertiesArg = parse(arg)?;
    let groups = parse_groups(&arg.property_groups)?;
    with_node(app, caller, &arg.path, |store, props| {
        check_groups(store, caller.account, &groups).map_err(ApiError::Route)?;
        if groups
            .iter()
            .any(|g| props.iter().any(|p| p.template_id == g.template_id))
        {
            return Err(ApiError::tag("property_group_already_exists"));
        }
        props.extend(groups);
        Ok(Value::Null)
    })
}

/// `file_properties/properties/overwrite`.
pub(crate) fn properties_overwrite(
    app: &App,
    caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: AddPropertiesArg = parse(arg)?;
    let groups = parse_groups(&arg.property_groups)?;
    if groups.is_empty() {
        return Err(ApiError::BadRequest(
            "request body: property_groups: at least one group".into(),
        ));
    }
    with_node(app, caller, &arg.path, |store, props| {
        check_groups(store, caller.account, &groups).map_err(ApiError::Route)?;
        for g in groups {
            match props.iter_mut().find(|p| p.template_id == g.template_id) {
                Some(p) => *p = g,
                None => props.push(g),
            }
        }
        Ok(Value::Null)
    })
}

#[derive(Debug, Deserialize)]
struct GroupUpdate {
    template_id: String,
    add_or_update_fields: Option<Vec<FieldArg>>,
    remove_fields: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct UpdatePropertiesArg {
    path: String,
    update_property_groups: Vec<GroupUpdate>,
}

fn group_not_found() -> ApiError {
    ApiError::Route(
        json!({".tag": "property_group_lookup", "property_group_lookup": {".tag": "property_group_not_found"}}),
    )
}

/// `file_properties/properties/update`.
pub(crate) fn properties_update(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: UpdatePropertiesArg = parse(arg)?;
    with_node(app, caller, &arg.path, |store, props| {
        for update in arg.update_property_groups {
            let template = store
                .templates
                .get(&update.template_id)
                .filter(|t| t.owner == caller.account)
                .ok_or_else(|| template_not_found(&update.template_id))?;
            let group = props
                .iter_mut()
                .find(|p| p.template_id == update.template_id)
                .ok_or_else(group_not_found)?;
            for f in update.add_or_update_fields.unwrap_or_default() {
                if !template.fields.iter().any(|(n, _)| *n == f.name) {
                    return Err(ApiError::tag("does_not_fit_template"));
                }
                if f.value.len() > 1024 {
                    return Err(ApiError::tag("property_field_too_large"));
                }
                match group.fields.iter_mut().find(|(n, _)| *n == f.name) {
                    Some(field) => field.1 = f.value,
                    None => group.fields.push((f.name, f.value)),
                }
            }
            let remove = update.remove_fields.unwrap_or_default();
            group.fields.retain(|(n, _)| !remove.contains(n));
        }
        Ok(Value::Null)
    })
}

#[derive(Debug, Deserialize)]
struct RemovePropertiesArg {
    path: String,
    property_template_ids: Vec<String>,
}

/// `file_properties/properties/remove`.
pub(crate) fn properties_remove(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: RemovePropertiesArg = parse(arg)?;
    with_node(app, caller, &arg.path, |_, props| {
        for id in &arg.property_template_ids {
            if !props.iter().any(|p| p.template_id == *id) {
                return Err(group_not_found());
            }
        }
        props.retain(|p| !arg.property_template_ids.contains(&p.template_id));
        Ok(Value::Null)
    })
}
