//! Permissions: read owner, owner group, public and assigned (custom) access, effective
//! permissions; set them by name with `apply_to`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::Result;
use crate::transport::Call;

/// One permission, by the name the REST API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Permission {
    /// See the item.
    See,
    /// See its contents.
    SeeContents,
    /// Modify.
    Modify,
    /// Edit attributes.
    EditAttributes,
    /// Add items.
    AddItems,
    /// Reserve.
    Reserve,
    /// Add major versions.
    AddMajorVersion,
    /// Delete versions.
    DeleteVersions,
    /// Delete.
    Delete,
    /// Edit permissions.
    EditPermissions,
    /// A name this client does not know (read only).
    #[serde(other)]
    Unknown,
}

impl Permission {
    /// Every known permission, in the order CS lists them.
    pub const ALL: [Permission; 10] = [
        Permission::See,
        Permission::SeeContents,
        Permission::Modify,
        Permission::EditAttributes,
        Permission::AddItems,
        Permission::Reserve,
        Permission::AddMajorVersion,
        Permission::DeleteVersions,
        Permission::Delete,
        Permission::EditPermissions,
    ];
}

/// Where a permission change applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ApplyTo {
    /// This item only (0). The only choice for non-containers.
    #[default]
    ThisItem,
    /// Its sub-items only (1).
    SubItems,
    /// This item and all sub-items (2).
    ThisAndSubItems,
    /// This item and its immediate sub-items (3).
    ThisAndImmediateSubItems,
}

impl ApplyTo {
    /// The wire value, 0 to 3.
    pub fn code(self) -> u8 {
        match self {
            ApplyTo::ThisItem => 0,
            ApplyTo::SubItems => 1,
            ApplyTo::ThisAndSubItems => 2,
            ApplyTo::ThisAndImmediateSubItems => 3,
        }
    }
}

/// One entry of a node's permissions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PermissionEntry {
    /// `owner`, `group`, `public` or `custom`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The member the entry is for (none for public access).
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub right_id: Option<i64>,
    /// The granted permissions.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which entry a [`SetPermissions`] writes.
#[derive(Clone, Copy, Debug)]
enum Target {
    Owner,
    Group,
    Public,
    AddCustom(i64),
    UpdateCustom(i64),
}

/// Permission calls; see [`Client::permissions`].
#[derive(Clone, Debug)]
pub struct Permissions {
    client: Client,
}

impl Permissions {
    pub(crate) fn new(client: Client) -> Self {
        Permissions { client }
    }

    /// `GET /api/v2/nodes/{id}/permissions`: owner, group, public and custom entries.
    pub async fn get(&self, node: i64) -> Result<Vec<PermissionEntry>> {
        let json = self
            .client
            .transport
            .json(Call::get(format!("api/v2/nodes/{node}/permissions")))
            .await?;
        Ok(json.v2_collection("permissions")?.items)
    }

    /// `GET /api/v2/nodes/{id}/permissions/effective/{member}`: what `member` may do.
    pub async fn effective(&self, node: i64, member: i64) -> Result<Vec<Permission>> {
        let json = self
            .client
            .transport
            .json(Call::get(format!(
                "api/v2/nodes/{node}/permissions/effective/{member}"
            )))
            .await?;
        // results.data.permissions.permissions; lenient about a flat list.
        let section: Value = json.v2_section("permissions")?;
        let list = match section {
            Value::Object(mut m) => m.remove("permissions").unwrap_or(Value::Null),
            other => other,
        };
        Ok(serde_json::from_value(list).unwrap_or_default())
    }

    /// `PUT /api/v2/nodes/{id}/permissions/owner`.
    pub fn set_owner(&self, node: i64, permissions: &[Permission]) -> SetPermissions {
        self.set(node, Target::Owner, permissions)
    }

    /// `PUT /api/v2/nodes/{id}/permissions/group` (the owner group).
    pub fn set_group(&self, node: i64, permissions: &[Permission]) -> SetPermissions {
        self.set(node, Target::Group, permissions)
    }

    /// `PUT /api/v2/nodes/{id}/permissions/public`.
    pub fn set_public(&self, node: i64, permissions: &[Permission]) -> SetPermissions {
        self.set(node, Target::Public, permissions)
    }

    /// `POST /api/v2/nodes/{id}/permissions/custom`: grants `member` assigned access.
    pub fn add_custom(&self, node: i64, member: i64, permissions: &[Permission]) -> SetPermissions {
        self.set(node, Target::AddCustom(member), permissions)
    }

    /// `PUT /api/v2/nodes/{id}/permissions/custom/{member}` (path UNCONFIRMED: the spec shows
    /// it without the member but describes it per member).
    pub fn update_custom(
        &self,
        node: i64,
        member: i64,
        permissions: &[Permission],
    ) -> SetPermissions {
        self.set(node, Target::UpdateCustom(member), permissions)
    }

    /// `DELETE /api/v2/nodes/{id}/permissions/custom/{member}`: removes assigned access.
    pub async fn remove_custom(&self, node: i64, member: i64, apply_to: ApplyTo) -> Result<()> {
        let call = Call::delete(format!("api/v2/nodes/{node}/permissions/custom/{member}"))
            .body_json(&json!({"apply_to": apply_to.code()}));
        self.client.transport.json(call).await.map(|_| ())
    }

    fn set(&self, node: i64, target: Target, permissions: &[Permission]) -> SetPermissions {
        SetPermissions {
            client: self.client.clone(),
            node,
            target,
            permissions: permissions.to_vec(),
            apply_to: None,
            right_id: None,
            include_sub_types: Vec::new(),
        }
    }
}

/// Builder of a permission write.
#[derive(Clone, Debug)]
pub struct SetPermissions {
    client: Client,
    node: i64,
    target: Target,
    permissions: Vec<Permission>,
    apply_to: Option<ApplyTo>,
    right_id: Option<i64>,
    include_sub_types: Vec<i64>,
}

impl SetPermissions {
    /// Where the change applies (default: this item).
    pub fn apply_to(mut self, apply_to: ApplyTo) -> Self {
        self.apply_to = Some(apply_to);
        self
    }

    /// For owner/group: makes `member` the new owner or owner group.
    pub fn right_id(mut self, member: i64) -> Self {
        self.right_id = Some(member);
        self
    }

    /// Sub-types the change also applies to (e.g. 204, 207).
    pub fn include_sub_types(mut self, types: impl IntoIterator<Item = i64>) -> Self {
        self.include_sub_types.extend(types);
        self
    }

    /// Sends the change.
    pub async fn send(self) -> Result<()> {
        if self.permissions.contains(&Permission::Unknown) {
            return Err(crate::error::Error::invalid(
                "Permission::Unknown cannot be sent",
            ));
        }
        let mut body = json!({"permissions": self.permissions});
        if let Some(a) = self.apply_to {
            body["apply_to"] = json!(a.code());
        }
        if !self.include_sub_types.is_empty() {
            body["include_sub_types"] = json!(self.include_sub_types);
        }
        let base = format!("api/v2/nodes/{}/permissions", self.node);
        let call = match self.target {
            Target::Owner | Target::Group | Target::Public => {
                if let Some(r) = self.right_id {
                    body["right_id"] = json!(r);
                }
                let which = match self.target {
                    Target::Owner => "owner",
                    Target::Group => "group",
                    _ => "public",
                };
                Call::put(format!("{base}/{which}"))
            }
            Target::AddCustom(member) => {
                body["right_id"] = json!(member);
                Call::post(format!("{base}/custom"))
            }
            Target::UpdateCustom(member) => Call::put(format!("{base}/custom/{member}")),
        };
        self.client
            .transport
            .json(call.body_json(&body))
            .await
            .map(|_| ())
    }
}
into_future!(SetPermissions => ());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let names: Vec<String> = Permission::ALL
            .iter()
            .map(|p| {
                serde_json::to_value(p)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "see",
                "see_contents",
                "modify",
                "edit_attributes",
                "add_items",
                "reserve",
                "add_major_version",
                "delete_versions",
                "delete",
                "edit_permissions"
            ]
        );
        let p: Permission = serde_json::from_str("\"something_new\"").unwrap();
        assert_eq!(p, Permission::Unknown);
        assert_eq!(ApplyTo::ThisAndImmediateSubItems.code(), 3);
    }
}
