//! Routes of the `file_properties` namespace: property templates and the values attached to
//! files. (The deprecated `files/properties/*` routes are not used.)

use crate::client::Client;
use crate::error::Result;
use crate::models::file_properties::*;

/// The `file_properties` routes. Get it with [`Client::file_properties`]. Route errors:
/// [`TemplateError`], [`PropertiesError`].
#[derive(Debug, Clone)]
pub struct FileProperties {
    client: Client,
}

impl Client {
    /// The `file_properties` namespace.
    pub fn file_properties(&self) -> FileProperties {
        FileProperties {
            client: self.clone(),
        }
    }
}

impl FileProperties {
    /// `file_properties/templates/add_for_user`: a new template owned by the user.
    pub async fn add_template_for_user(
        &self,
        template: &PropertyGroupTemplate,
    ) -> Result<AddTemplateResult> {
        self.client
            .rpc(route::TEMPLATES_ADD_FOR_USER, template)
            .await
    }

    /// `file_properties/templates/get_for_user`.
    pub async fn get_template_for_user(
        &self,
        template_id: impl Into<String>,
    ) -> Result<PropertyGroupTemplate> {
        let arg = GetTemplateArg {
            template_id: template_id.into(),
        };
        self.client.rpc(route::TEMPLATES_GET_FOR_USER, &arg).await
    }

    /// `file_properties/templates/list_for_user`: ids of the user's templates.
    pub async fn list_templates_for_user(&self) -> Result<ListTemplateResult> {
        self.client.rpc(route::TEMPLATES_LIST_FOR_USER, &()).await
    }

    /// `file_properties/properties/add`: attaches groups that are not on the item yet.
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client, template_id: String) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::file_properties::{PropertyField, PropertyGroup};
    /// client
    ///     .file_properties()
    ///     .add("/Marketing/Approved/Press Release.pdf", vec![PropertyGroup {
    ///         template_id,
    ///         fields: vec![PropertyField::new("status", "archived"), PropertyField::new("cs_node_id", "41234")],
    ///     }])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn add(
        &self,
        path: impl Into<String>,
        property_groups: Vec<PropertyGroup>,
    ) -> Result<()> {
        let arg = PropertiesArg {
            path: path.into(),
            property_groups,
        };
        self.client.rpc(route::PROPERTIES_ADD, &arg).await
    }

    /// `file_properties/properties/overwrite`: replaces whole groups.
    pub async fn overwrite(
        &self,
        path: impl Into<String>,
        property_groups: Vec<PropertyGroup>,
    ) -> Result<()> {
        let arg = PropertiesArg {
            path: path.into(),
            property_groups,
        };
        self.client.rpc(route::PROPERTIES_OVERWRITE, &arg).await
    }

    /// `file_properties/properties/update`: adds, changes or removes single fields.
    pub async fn update(
        &self,
        path: impl Into<String>,
        updates: Vec<PropertyGroupUpdate>,
    ) -> Result<()> {
        let arg = UpdatePropertiesArg {
            path: path.into(),
            update_property_groups: updates,
        };
        self.client.rpc(route::PROPERTIES_UPDATE, &arg).await
    }

    /// `file_properties/properties/remove`: removes the groups of these templates.
    pub async fn remove(&self, path: impl Into<String>, template_ids: Vec<String>) -> Result<()> {
        let arg = RemovePropertiesArg {
            path: path.into(),
            property_template_ids: template_ids,
        };
        self.client.rpc(route::PROPERTIES_REMOVE, &arg).await
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const PROPERTIES_ADD: Route =
        Route::not_idempotent("file_properties/properties/add");
    pub(super) const PROPERTIES_OVERWRITE: Route =
        Route::idempotent("file_properties/properties/overwrite");
    pub(super) const PROPERTIES_REMOVE: Route =
        Route::idempotent("file_properties/properties/remove");
    pub(super) const PROPERTIES_UPDATE: Route =
        Route::idempotent("file_properties/properties/update");
    pub(super) const TEMPLATES_ADD_FOR_USER: Route =
        Route::not_idempotent("file_properties/templates/add_for_user");
    pub(super) const TEMPLATES_GET_FOR_USER: Route =
        Route::idempotent("file_properties/templates/get_for_user");
    pub(super) const TEMPLATES_LIST_FOR_USER: Route =
        Route::idempotent("file_properties/templates/list_for_user");
}
