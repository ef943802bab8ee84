//! Types of the `file_properties` namespace: templates and the property groups attached to files.

use serde::{Deserialize, Serialize};

use super::union::stone_union;

/// `file_properties.PropertyField`: one name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyField {
    /// Field name (as declared in the template).
    pub name: String,
    /// Value (≤ 1024 bytes).
    pub value: String,
}

impl PropertyField {
    /// A field.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        PropertyField {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// `file_properties.PropertyGroup`: values of one template on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyGroup {
    /// The template (`ptid:…`).
    pub template_id: String,
    /// Its values.
    pub fields: Vec<PropertyField>,
}

stone_union! {
    /// `file_properties.PropertyType`.
    pub enum PropertyType {
        void {
            /// A string (the only type today).
            String = "string"
        }
        other Other
    }
}

/// `file_properties.PropertyFieldTemplate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyFieldTemplate {
    /// Field name.
    pub name: String,
    /// What the field is for.
    pub description: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: PropertyType,
}

impl PropertyFieldTemplate {
    /// A string field.
    pub fn string(name: impl Into<String>, description: impl Into<String>) -> Self {
        PropertyFieldTemplate {
            name: name.into(),
            description: description.into(),
            type_: PropertyType::String,
        }
    }
}

/// `file_properties.AddTemplateArg` / `GetTemplateResult`: a template's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyGroupTemplate {
    /// Display name.
    pub name: String,
    /// What the template is for.
    pub description: String,
    /// Up to 32 fields.
    pub fields: Vec<PropertyFieldTemplate>,
}

/// `file_properties.AddTemplateResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddTemplateResult {
    /// The new template's id (`ptid:…`).
    pub template_id: String,
}

/// `file_properties.GetTemplateArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTemplateArg {
    /// The template.
    pub template_id: String,
}

/// `file_properties.ListTemplateResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListTemplateResult {
    /// Ids of the user's templates.
    pub template_ids: Vec<String>,
}

stone_union! {
    /// `file_properties.TemplateFilterBase`: which property groups a listing includes.
    pub enum TemplateFilterBase {
        nested {
            /// Only these templates.
            FilterSome(Vec<String>) = "filter_some"
        }
        other Other
    }
}

/// `file_properties.AddPropertiesArg` / `OverwritePropertyGroupArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertiesArg {
    /// The file or folder.
    pub path: String,
    /// Groups to add (or to replace, with `properties/overwrite`).
    pub property_groups: Vec<PropertyGroup>,
}

/// `file_properties.PropertyGroupUpdate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyGroupUpdate {
    /// The template whose group changes.
    pub template_id: String,
    /// Fields to add or change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_or_update_fields: Option<Vec<PropertyField>>,
    /// Fields to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_fields: Option<Vec<String>>,
}

/// `file_properties.UpdatePropertiesArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdatePropertiesArg {
    /// The file or folder.
    pub path: String,
    /// Changes per template.
    pub update_property_groups: Vec<PropertyGroupUpdate>,
}

/// `file_properties.RemovePropertiesArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovePropertiesArg {
    /// The file or folder.
    pub path: String,
    /// Templates whose groups are removed.
    pub property_template_ids: Vec<String>,
}

stone_union! {
    /// `file_properties.TemplateError`.
    pub enum TemplateError {
        void {
            /// The user may not use this template.
            RestrictedContent = "restricted_content"
        }
        nested {
            /// No such template.
            TemplateNotFound(String) = "template_not_found"
        }
        other Other
    }
}

stone_union! {
    /// Errors of `properties/add`, `update`, `overwrite` and `remove` (`AddPropertiesError`,
    /// `UpdatePropertiesError`, `InvalidPropertyGroupError`, `RemovePropertiesError`).
    pub enum PropertiesError {
        void {
            /// The user may not use this template.
            RestrictedContent = "restricted_content",
            /// Folders cannot carry properties here.
            UnsupportedFolder = "unsupported_folder",
            /// A value is too large.
            PropertyFieldTooLarge = "property_field_too_large",
            /// The fields do not fit the template.
            DoesNotFitTemplate = "does_not_fit_template",
            /// The same template appears twice.
            DuplicatePropertyGroups = "duplicate_property_groups",
            /// A group of this template is already on the item (use update or overwrite).
            PropertyGroupAlreadyExists = "property_group_already_exists"
        }
        nested {
            /// No such template.
            TemplateNotFound(String) = "template_not_found",
            /// The item could not be read.
            Path(super::files::LookupError) = "path",
            /// The group to update is not on the item.
            PropertyGroupLookup(serde_json::Value) = "property_group_lookup"
        }
        other Other
    }
}
