//! Governance after the bytes, each part repeatable: categories, RM classification, hold and
//! permissions.

use chrono::NaiveDate;
use contentserver_client::api::categories::AttrValue;
use contentserver_client::{AttrKey, CategoryValues, Permission};
use serde_json::json;

use super::sink::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Value};

/// One attribute of a category definition.
#[derive(Debug, Clone)]
pub(super) struct AttrDef {
    pub(super) key: AttrKey,
    pub(super) name: String,
    pub(super) date: bool,
    pub(super) multi: bool,
}

/// A category definition: its id and attributes by title.
#[derive(Debug, Clone)]
pub(super) struct CategoryDef {
    pub(super) id: i64,
    pub(super) attrs: Vec<AttrDef>,
}

/// What [`CsSink::govern`] does after the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Govern {
    /// A new document whose categories went with the create request.
    Created,
    /// A new version: categories are applied or updated.
    AddedVersion,
    /// A write found again: everything idempotent is re-applied.
    Adopted,
}

impl CsSink {
    /// A model value as an attribute value of `attr`.
    pub(super) async fn attr_value(
        &self,
        doc: &Document,
        attr: &AttrDef,
        v: &Value,
    ) -> Result<AttrValue> {
        let one = match v {
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(
                        Box::pin(self.attr_value(
                            doc,
                            &AttrDef {
                                multi: false,
                                ..attr.clone()
                            },
                            i,
                        ))
                        .await?,
                    );
                }
                return Ok(AttrValue::Multi(out));
            }
            Value::Text(s) if attr.date => {
                let day = s.get(..10).unwrap_or(s);
                AttrValue::Date(NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                    Error::governance(
                        &doc.path,
                        Step::Categories,
                        format!("{:?} needs a date, not {s:?}", attr.name),
                    )
                })?)
            }
            Value::Text(s) => AttrValue::Text(s.clone()),
            Value::Integer(n) => AttrValue::Integer(*n),
            Value::Date(d) => AttrValue::Date(*d),
            Value::Bool(b) => AttrValue::Boolean(*b),
            Value::User(name) => AttrValue::User(self.member(doc, Step::Categories, name).await?),
        };
        Ok(if attr.multi {
            AttrValue::Multi(vec![one])
        } else {
            one
        })
    }

    /// The category values of `doc`, per category.
    pub(super) async fn category_values(
        &self,
        doc: &Document,
        folder: i64,
    ) -> Result<Vec<(i64, CatValues)>> {
        let mut out = Vec::new();
        for (cat_name, attrs) in &doc.governance.categories {
            let def = self.category(doc, cat_name, folder).await?;
            let mut values = Vec::new();
            for (attr_name, v) in attrs {
                let attr = def
                    .attrs
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(attr_name))
                    .ok_or_else(|| {
                        Error::governance(
                            &doc.path,
                            Step::Categories,
                            format!("category {cat_name:?} has no attribute {attr_name:?}"),
                        )
                    })?;
                values.push((attr.key, self.attr_value(doc, attr, v).await?));
            }
            out.push((def.id, values));
        }
        Ok(out)
    }

    /// Everything after the bytes that can be repeated safely: categories (unless they went
    /// with the create request), RM class, hold, permissions. The workflow start is the
    /// sink's step ([`crate::sink::Sink::steps`]).
    pub(super) async fn govern(
        &self,
        doc: &Document,
        node: i64,
        folder: Option<i64>,
        mode: Govern,
    ) -> Result<()> {
        let g = &doc.governance;
        if mode != Govern::Created && !g.categories.is_empty() {
            let err = |e| Error::cs(&doc.path, Step::Categories, e);
            let applied: Vec<i64> = self
                .client
                .categories()
                .list(node)
                .await
                .map_err(err)?
                .iter()
                .map(|c| c.id)
                .collect();
            for (cat, values) in self.category_values(doc, folder.unwrap_or(node)).await? {
                let values = to_values(&[(cat, values)]);
                if applied.contains(&cat) {
                    self.client
                        .categories()
                        .update(node, cat, &values)
                        .await
                        .map_err(err)?;
                } else {
                    self.client
                        .categories()
                        .apply(node, cat, &values)
                        .await
                        .map_err(err)?;
                }
            }
        }
        if let Some(class) = &g.rm_class {
            let id = self.rm_class(doc, class).await?;
            let err = |e| Error::cs(&doc.path, Step::Classify, e);
            let details = self.client.records().details(node).await.map_err(err)?;
            if !details.has(id) {
                let mut call = self.client.records().classify(node, id);
                if !details.records.is_empty() {
                    if let Some(t) = &details.rm_metadata_token {
                        call = call.rm_metadata_token(t.clone());
                    }
                }
                call.send().await.map_err(err)?;
            }
        }
        if let Some(hold) = &g.hold {
            let id = self.hold(doc, hold).await?;
            let err = |e| Error::cs(&doc.path, Step::Hold, e);
            let current = self.client.records().node_holds(node).await.map_err(err)?;
            if !current.iter().any(|h| h.id == id) {
                self.client
                    .records()
                    .apply_hold(node, id)
                    .await
                    .map_err(err)?;
            }
        }
        if !g.permissions.is_empty() {
            let err = |e| Error::cs(&doc.path, Step::Permissions, e);
            let entries = self.client.permissions().get(node).await.map_err(err)?;
            for grant in &g.permissions {
                let member = self.member(doc, Step::Permissions, &grant.member).await?;
                let mut wanted = Vec::new();
                for p in &grant.permissions {
                    let perm: Permission =
                        serde_json::from_value(json!(p)).unwrap_or(Permission::Unknown);
                    if perm == Permission::Unknown {
                        return Err(Error::governance(
                            &doc.path,
                            Step::Permissions,
                            format!("unknown permission {p:?}"),
                        ));
                    }
                    wanted.push(perm);
                }
                let existing = entries
                    .iter()
                    .find(|e| e.kind == "custom" && e.right_id == Some(member));
                match existing {
                    Some(e)
                        if wanted.iter().all(|w| e.permissions.contains(w))
                            && e.permissions.len() == wanted.len() => {}
                    Some(_) => self
                        .client
                        .permissions()
                        .update_custom(node, member, &wanted)
                        .send()
                        .await
                        .map_err(err)?,
                    None => self
                        .client
                        .permissions()
                        .add_custom(node, member, &wanted)
                        .send()
                        .await
                        .map_err(err)?,
                }
            }
        }
        Ok(())
    }
}

/// Attribute values of one category.
pub(super) type CatValues = Vec<(AttrKey, AttrValue)>;

/// The client's value set for these categories (one create request carries them all).
pub(super) fn to_values(cats: &[(i64, CatValues)]) -> CategoryValues {
    let mut out = CategoryValues::new();
    for (cat, values) in cats {
        out = out.category(*cat);
        for (key, value) in values {
            out = out.set(*key, value.clone());
        }
    }
    out
}
