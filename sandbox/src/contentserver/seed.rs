//! The data the Content Server emulator starts with, and the manifest that lists its ids.
//!
//! Ids are assigned in a fixed order, so they are the same on every start for a given seed.
//! The demo seed follows the contract in the sandbox README (users, groups, volumes, folders,
//! categories, RM classifications, a hold, workflow maps, a workspace type and template).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::auth::{OTDS_TICKET, OTDS_TOKEN};
use super::blobs::{guess_mime, index_text, Blobs};
use super::state::{
    subtype, Acl, Assignee, AttrDef, AttrKind, CategoryDef, Hold, Member, Perms, StepDef, Store,
    Version, WorkflowMap, WorkspaceType,
};
use crate::seed::Seed;

const ADMIN: i64 = 1000;
const EDITOR: i64 = 1001;
const COUNSEL: i64 = 1002;
const DEFAULT_GROUP: i64 = 2001;
const OUTSIDE_COUNSEL: i64 = 2002;
const RECORDS_MANAGERS: i64 = 2003;

fn seed_date() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("a valid fixed date")
}

fn perms(names: &[&str]) -> Perms {
    Perms::from_names(names.iter().copied()).expect("seed permission names are valid")
}

/// Builds the seed into an empty store, writing seeded document contents through `blobs`.
pub(crate) fn populate(store: &mut Store, blobs: &Blobs, seed: Seed) -> std::io::Result<()> {
    let mut b = Builder {
        store,
        blobs,
        manifest: Manifest::default(),
    };
    b.store.next_id = 2001;
    b.store.next_version_id = 1;
    b.store.next_work_id = 50001;
    b.store.seed_date = Some(seed_date());
    b.members(seed);
    b.volumes();
    if seed == Seed::Demo {
        b.demo()?;
    }
    let manifest = b.manifest.into_json(b.store);
    b.store.manifest = manifest;
    Ok(())
}

/// The manifest of the seeded ids, as built.
pub(crate) fn manifest(store: &Store) -> Value {
    store.manifest.clone()
}

#[derive(Default)]
struct Manifest {
    folders: BTreeMap<String, i64>,
    documents: BTreeMap<String, i64>,
    categories: Map<String, Value>,
    rm: BTreeMap<String, i64>,
    holds: BTreeMap<String, i64>,
    maps: Map<String, Value>,
    ws_types: Map<String, Value>,
}

impl Manifest {
    fn into_json(self, store: &Store) -> Value {
        let users: Map<String, Value> = store
            .members
            .values()
            .filter(|m| m.kind == 0)
            .map(|m| (m.name.clone(), json!(m.id)))
            .collect();
        let groups: Map<String, Value> = store
            .members
            .values()
            .filter(|m| m.kind == 1)
            .map(|m| (m.name.clone(), json!(m.id)))
            .collect();
        let credentials: Vec<Value> = store
            .members
            .values()
            .filter(|m| m.kind == 0)
            .map(|m| json!({"username": m.name, "password": m.password, "id": m.id, "admin": m.admin}))
            .collect();
        let personal: Map<String, Value> = store
            .personal
            .iter()
            .filter_map(|(u, id)| store.member(*u).map(|m| (m.name.clone(), json!(id))))
            .collect();
        let vol = |t: i64| store.volumes.get(&t).copied();
        json!({
            "users": users,
            "groups": groups,
            "credentials": {
                "users": credentials,
                "otds_ticket": OTDS_TICKET,
                "otds_bearer_token": OTDS_TOKEN,
                "otds_exchanges_for": "admin",
            },
            "volumes": {
                "enterprise_workspace": vol(subtype::ENTERPRISE_WORKSPACE),
                "personal_workspaces": personal,
                "categories": vol(subtype::CATEGORIES_VOLUME),
                "classifications": vol(subtype::CLASSIFICATION_VOLUME),
                "records_management": vol(subtype::RM_VOLUME),
                "business_workspaces": vol(subtype::BUSINESS_WORKSPACES_VOLUME),
                "templates": vol(subtype::TEMPLATES_VOLUME),
            },
            "folders": self.folders,
            "documents": self.documents,
            "categories": self.categories,
            "rm_classifications": self.rm,
            "holds": self.holds,
            "workflow_maps": self.maps,
            "workspace_types": self.ws_types,
        })
    }
}

struct Builder<'a> {
    store: &'a mut Store,
    blobs: &'a Blobs,
    manifest: Manifest,
}

impl Builder<'_> {
    fn member(&mut self, id: i64, name: &str, kind: i64, first: &str, last: &str, admin: bool) {
        self.store.members.insert(
            id,
            Member {
                id,
                name: name.to_owned(),
                kind,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                email: if kind == 0 {
                    format!("{name}@example.com")
                } else {
                    String::new()
                },
                group_id: if kind == 0 { DEFAULT_GROUP } else { 0 },
                password: if kind == 0 {
                    name.to_owned()
                } else {
                    String::new()
                },
                admin,
                members: BTreeSet::new(),
            },
        );
    }

    fn join(&mut self, group: i64, user: i64) {
        if let Some(g) = self.store.members.get_mut(&group) {
            g.members.insert(user);
        }
    }

    fn members(&mut self, seed: Seed) {
        self.member(ADMIN, "admin", 0, "Ada", "Admin", true);
        self.member(DEFAULT_GROUP, "DefaultGroup", 1, "", "", false);
        self.join(DEFAULT_GROUP, ADMIN);
        if seed == Seed::Demo {
            self.member(EDITOR, "editor", 0, "Eddie", "Editor", false);
            self.member(COUNSEL, "counsel", 0, "Cora", "Counsel", false);
            self.member(OUTSIDE_COUNSEL, "Outside Counsel", 1, "", "", false);
            self.member(RECORDS_MANAGERS, "Records Managers", 1, "", "", false);
            self.join(DEFAULT_GROUP, EDITOR);
            self.join(OUTSIDE_COUNSEL, COUNSEL);
            self.join(RECORDS_MANAGERS, ADMIN);
            if let Some(c) = self.store.members.get_mut(&COUNSEL) {
                c.group_id = OUTSIDE_COUNSEL;
                c.email = "counsel@example.org".to_owned();
            }
        }
    }

    /// A node with the seed date, owned by admin.
    fn node(
        &mut self,
        id: Option<i64>,
        parent_id: i64,
        kind: i64,
        name: &str,
        acl: Option<Acl>,
    ) -> i64 {
        let mut node = self
            .store
            .new_node(parent_id, kind, name, ADMIN, seed_date(), 0);
        if let Some(id) = id {
            // The node counter moved for nothing; fixed ids are outside its range.
            self.store.next_id -= 1;
            node.id = id;
        }
        if parent_id == -1 {
            node.volume_id = -node.id;
            node.owner_group_id = DEFAULT_GROUP;
        }
        if let Some(acl) = acl {
            node.acl = acl;
        }
        self.store.insert(node)
    }

    fn volume(&mut self, kind: i64, name: &str, acl: Acl) -> i64 {
        let id = self.node(None, -1, kind, name, Some(acl));
        self.store.volumes.insert(kind, id);
        id
    }

    fn volumes(&mut self) {
        let full = Perms::FULL;
        let mut ew_acl = Acl {
            owner: full,
            group: Perms::NONE,
            public: Perms::NONE,
            custom: BTreeMap::new(),
        };
        ew_acl
            .custom
            .insert(DEFAULT_GROUP, perms(&["see", "see_contents"]));
        let ew = self.node(
            Some(2000),
            -1,
            subtype::ENTERPRISE_WORKSPACE,
            "Enterprise Workspace",
            Some(ew_acl.clone()),
        );
        self.store.volumes.insert(subtype::ENTERPRISE_WORKSPACE, ew);
        let users: Vec<(i64, String)> = self
            .store
            .members
            .values()
            .filter(|m| m.kind == 0)
            .map(|m| (m.id, m.name.clone()))
            .collect();
        for (uid, name) in users {
            let acl = Acl {
                owner: full,
                ..Acl::default()
            };
            let id = self.node(None, -1, subtype::PERSONAL_WORKSPACE, &name, Some(acl));
            if let Some(n) = self.store.nodes.get_mut(&id) {
                n.owner_user_id = uid;
                n.create_user_id = uid;
            }
            self.store.personal.insert(uid, id);
        }
        let read_all = ew_acl;
        self.volume(subtype::CATEGORIES_VOLUME, "Categories", read_all.clone());
        self.volume(
            subtype::CLASSIFICATION_VOLUME,
            "Classifications",
            read_all.clone(),
        );
        self.volume(subtype::RM_VOLUME, "Records Management", read_all.clone());
        let mut ws_acl = read_all.clone();
        ws_acl.custom.insert(
            DEFAULT_GROUP,
            perms(&[
                "see",
                "see_contents",
                "modify",
                "edit_attributes",
                "add_items",
            ]),
        );
        self.volume(
            subtype::BUSINESS_WORKSPACES_VOLUME,
            "Business Workspaces",
            ws_acl,
        );
        self.volume(
            subtype::TEMPLATES_VOLUME,
            "Content Server Templates",
            read_all.clone(),
        );
        // Workflow maps and the attachment folders of processes live in a volume the
        // volume listing does not show.
        let wf = self.node(None, -1, 161, "Workflow Volume", Some(read_all));
        if let Some(n) = self.store.nodes.get_mut(&wf) {
            n.hidden = true;
        }
        self.store.workflow_volume = wf;
    }

    fn folder(&mut self, parent: i64, path: &str) -> i64 {
        let name = path.rsplit('/').next().unwrap_or(path);
        let id = self.node(None, parent, subtype::FOLDER, name, None);
        self.manifest.folders.insert(path.to_owned(), id);
        id
    }

    fn document(&mut self, parent: i64, path: &str, text: &str) -> std::io::Result<i64> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let body = format!(
            "{text}\n\nThis is sandbox demo content for \"{name}\".\n{}",
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(40)
        );
        let version_id = self.store.next_version_id;
        self.store.next_version_id += 1;
        let blob = self.blobs.write_seed(version_id, body.as_bytes())?;
        let id = self.node(None, parent, subtype::DOCUMENT, name, None);
        if let Some(n) = self.store.nodes.get_mut(&id) {
            n.versions.push(Version {
                number: 1,
                major: 1,
                minor: 0,
                version_id,
                file_name: name.to_owned(),
                size: body.len() as u64,
                mime_type: guess_mime(name).to_owned(),
                description: String::new(),
                created: seed_date(),
                owner_id: ADMIN,
                blob,
                locked: false,
                text: index_text(body.as_bytes()),
            });
        }
        self.manifest.documents.insert(path.to_owned(), id);
        Ok(id)
    }

    fn grant(&mut self, node: i64, member: i64, names: &[&str]) {
        if let Some(n) = self.store.nodes.get_mut(&node) {
            n.acl.custom.insert(member, perms(names));
        }
    }

    fn demo(&mut self) -> std::io::Result<()> {
        let ew = 2000;
        let archive = self.folder(ew, "Archive");
        for sub in ["Marketing", "HR", "Finance"] {
            self.folder(archive, &format!("Archive/{sub}"));
        }
        self.folder(ew, "Projects");
        self.folder(ew, "Backups");
        let intake = self.folder(ew, "Intake");
        self.grant(
            intake,
            DEFAULT_GROUP,
            &[
                "see",
                "see_contents",
                "modify",
                "edit_attributes",
                "add_items",
                "reserve",
                "delete_versions",
                "delete",
            ],
        );
        let published = self.folder(ew, "Published");
        self.grant(published, OUTSIDE_COUNSEL, &["see"]);
        let oc = self.folder(published, "Published/Outside Counsel");
        self.grant(oc, OUTSIDE_COUNSEL, &["see", "see_contents"]);
        let summary = self.document(
            oc,
            "Published/Outside Counsel/Contract Summary.pdf",
            "%PDF-1.4\nContract Summary: Riverside Tower main contract, key terms and obligations.",
        )?;
        let letter = self.document(
            oc,
            "Published/Outside Counsel/Engagement Letter.pdf",
            "%PDF-1.4\nEngagement Letter: terms of engagement of outside counsel.",
        )?;
        self.categories();
        self.records();
        self.workflows();
        self.workspaces();
        // Last, so that every id above stays what it was before it was added.
        self.intake_classification();
        self.intake_category();
        self.publication(&[summary, letter]);
        self.joint_venture()?;
        Ok(())
    }

    /// The documents of the `version_sync` demo (use case 5): `Collaboration/Joint Venture`,
    /// three documents under advanced versioning (a Dropbox edit waits in one as a minor
    /// version until it is promoted). Appended last, so every id above stays what it was.
    fn joint_venture(&mut self) -> std::io::Result<()> {
        let collaboration = self.folder(2000, "Collaboration");
        let jv = self.folder(collaboration, "Collaboration/Joint Venture");
        for (name, text) in [
            (
                "Term Sheet.docx",
                "Term Sheet: the joint venture's parties, shares and governance.",
            ),
            (
                "Budget 2027.xlsx",
                "Budget 2027: the joint venture's first-year budget.",
            ),
            (
                "Site Plan.pdf",
                "%PDF-1.4\nSite Plan: the shared site and its phases.",
            ),
        ] {
            let id = self.document(jv, &format!("Collaboration/Joint Venture/{name}"), text)?;
            if let Some(n) = self.store.nodes.get_mut(&id) {
                n.advanced_versioning = true;
            }
        }
        Ok(())
    }

    /// The category of the `classify_and_route` demo: what the intake rules set, and the
    /// original name of a file whose name Content Server refuses.
    fn intake_classification(&mut self) {
        use AttrKind::*;
        let mut department = Self::attr(3, "Department", Text);
        department.valid_values = ["Finance", "Projects", "HR", "Legal", "Marketing"]
            .map(String::from)
            .to_vec();
        self.category(
            "Intake Classification",
            vec![
                Self::attr(2, "Project Id", Text),
                department,
                Self::attr(4, "Document Type", Text),
                Self::attr(5, "Retention Schedule", Text),
                Self::attr(6, "Original Name", Text),
            ],
        );
    }

    /// `Intake Submission`: how an outside party's submission arrived (use case 7).
    fn intake_category(&mut self) {
        use AttrKind::*;
        let mut title = Self::attr(2, "Request Title", Text);
        title.required = true;
        self.category(
            "Intake Submission",
            vec![
                title,
                Self::attr(3, "Request Id", Text),
                Self::attr(4, "Submitter Name", Text),
                Self::attr(5, "Submitter Email", Text),
                Self::attr(6, "Received On", Date),
                Self::attr(7, "Received At", Text),
            ],
        );
    }

    fn attr(id: i64, name: &str, kind: AttrKind) -> AttrDef {
        AttrDef {
            id,
            name: name.to_owned(),
            kind,
            required: false,
            valid_values: Vec::new(),
            max_values: 1,
            set: Vec::new(),
            max_rows: 0,
        }
    }

    fn category(&mut self, name: &str, attributes: Vec<AttrDef>) -> i64 {
        let vol = self.store.volumes[&subtype::CATEGORIES_VOLUME];
        let id = self.node(None, vol, subtype::CATEGORY, name, None);
        let mut attrs = Map::new();
        for a in &attributes {
            attrs.insert(a.name.clone(), attr_manifest(id, a, None));
        }
        self.manifest
            .categories
            .insert(name.to_owned(), json!({ "id": id, "attributes": attrs }));
        self.store.categories.insert(
            id,
            CategoryDef {
                id,
                name: name.to_owned(),
                attributes,
            },
        );
        id
    }

    fn categories(&mut self) {
        use AttrKind::*;
        let mut source_system = Self::attr(2, "Source System", Text);
        source_system.required = true;
        let mut doc_type = Self::attr(4, "Document Type", Text);
        doc_type.valid_values = [
            "Contract",
            "Policy",
            "Report",
            "Marketing",
            "Drawing",
            "Tax",
            "Other",
        ]
        .map(String::from)
        .to_vec();
        let mut keywords = Self::attr(8, "Keywords", Text);
        keywords.max_values = 5;
        let mut review = Self::attr(9, "Review", Set);
        review.max_rows = 10;
        review.set = vec![
            Self::attr(10, "Reviewer", User),
            Self::attr(11, "Reviewed On", Date),
        ];
        self.category(
            "Document Governance",
            vec![
                source_system,
                Self::attr(3, "Source Path", Text),
                doc_type,
                Self::attr(5, "Approved On", Date),
                Self::attr(6, "Project Id", Text),
                Self::attr(7, "Team", Text),
                keywords,
                review,
            ],
        );
        let mut project_id = Self::attr(2, "Project Id", Text);
        project_id.required = true;
        let mut closed_on = Self::attr(3, "Closed On", Date);
        closed_on.required = true;
        self.category(
            "Project Closeout",
            vec![
                project_id,
                closed_on,
                Self::attr(4, "Project Manager", Text),
                Self::attr(5, "Final", Boolean),
            ],
        );
    }

    /// The `Publication` category (use case 2, `publish_to_dropbox`): `External` selects a
    /// document for outside collaborators; `Published To`, `Published On` and `Published
    /// Version` record where, when and as which version it was published. The two documents
    /// of `Published/Outside Counsel` carry `External = yes`.
    fn publication(&mut self, external: &[i64]) {
        use AttrKind::*;
        let mut flag = Self::attr(2, "External", Text);
        flag.valid_values = ["yes", "no"].map(String::from).to_vec();
        let cat = self.category(
            "Publication",
            vec![
                flag,
                Self::attr(3, "Published To", Text),
                Self::attr(4, "Published On", Date),
                Self::attr(5, "Published Version", Text),
            ],
        );
        for id in external {
            let values: BTreeMap<String, Value> = [
                (format!("{cat}_2"), json!("yes")),
                (format!("{cat}_3"), Value::Null),
                (format!("{cat}_4"), Value::Null),
                (format!("{cat}_5"), Value::Null),
            ]
            .into_iter()
            .collect();
            if let Some(n) = self.store.nodes.get_mut(id) {
                n.categories.insert(cat, values);
            }
        }
    }

    fn records(&mut self) {
        let vol = self.store.volumes[&subtype::CLASSIFICATION_VOLUME];
        let tree = self.node(
            None,
            vol,
            subtype::CLASSIFICATION_TREE,
            "Records Classifications",
            None,
        );
        for (name, retention) in [
            ("MKT-01 Marketing Records", "7 years"),
            ("PRJ-10 Project Records", "10 years"),
            ("HR-03 Policies", "permanent"),
            ("FIN-07 Tax Records", "10 years"),
            ("GEN-00 General", "3 years"),
        ] {
            let id = self.node(None, tree, subtype::RM_CLASSIFICATION, name, None);
            if let Some(n) = self.store.nodes.get_mut(&id) {
                n.description = format!("Retention: {retention}");
            }
            self.manifest.rm.insert(name.to_owned(), id);
        }
        let rm_vol = self.store.volumes[&subtype::RM_VOLUME];
        let id = self.store.alloc_id();
        let date = seed_date().format("%Y-%m-%dT%H:%M:%S").to_string();
        self.store.holds.insert(
            id,
            Hold {
                id,
                name: "Riverside Tower Litigation".to_owned(),
                kind: "LEGAL".to_owned(),
                comment: "Litigation hold for the Riverside Tower project".to_owned(),
                alternate_id: "LIT-2026-001".to_owned(),
                parent_id: rm_vol,
                date_applied: date.clone(),
                date_to_remove: None,
                apply_patron: ADMIN,
                edit_date: date,
            },
        );
        self.manifest
            .holds
            .insert("Riverside Tower Litigation".to_owned(), id);
    }

    fn workflow(&mut self, name: &str, steps: Vec<StepDef>, form: &[(&str, &str, &str)]) {
        let vol = self.store.workflow_volume;
        let id = self.node(None, vol, subtype::WORKFLOW_MAP, name, None);
        let form_fields: Vec<(String, String, String)> = form
            .iter()
            .map(|(k, t, ty)| (k.to_string(), t.to_string(), ty.to_string()))
            .collect();
        self.manifest.maps.insert(
            name.to_owned(),
            json!({
                "id": id,
                "steps": steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                "form_fields": form_fields.iter().map(|(k, t, ty)| json!({"key": k, "title": t, "type": ty})).collect::<Vec<_>>(),
            }),
        );
        self.store
            .maps
            .insert(id, WorkflowMap { steps, form_fields });
    }

    fn workflows(&mut self) {
        let step = |name: &str, assignee| StepDef {
            name: name.to_owned(),
            assignee,
        };
        self.workflow(
            "Policy Approval",
            vec![
                step("Review", Assignee::Initiator),
                step("Approve", Assignee::Initiator),
            ],
            &[
                ("WorkflowForm_Title", "Title", "string"),
                ("WorkflowForm_WorkflowDueDate", "Due Date", "date"),
                ("WorkflowForm_1", "Policy Owner", "string"),
            ],
        );
        self.workflow(
            "Intake Review",
            vec![
                step("Triage", Assignee::Initiator),
                step("Accept", Assignee::Member(ADMIN)),
            ],
            &[
                ("WorkflowForm_Title", "Title", "string"),
                ("WorkflowForm_WorkflowDueDate", "Due Date", "date"),
            ],
        );
    }

    fn workspaces(&mut self) {
        let templates = self.store.volumes[&subtype::TEMPLATES_VOLUME];
        let template = self.node(
            None,
            templates,
            subtype::BUSINESS_WORKSPACE,
            "Project Workspace Template",
            None,
        );
        for sub in ["Drawings", "Contracts", "Correspondence", "Handover"] {
            self.node(None, template, subtype::FOLDER, sub, None);
        }
        let closeout = self
            .store
            .categories
            .values()
            .find(|c| c.name == "Project Closeout")
            .map(|c| c.id);
        if let Some(cat) = closeout {
            let values: BTreeMap<String, Value> = self.store.categories[&cat]
                .attributes
                .iter()
                .map(|a| (format!("{cat}_{}", a.id), Value::Null))
                .collect();
            if let Some(n) = self.store.nodes.get_mut(&template) {
                n.categories.insert(cat, values);
            }
        }
        let id = self.store.alloc_id();
        let location = self.store.volumes[&subtype::BUSINESS_WORKSPACES_VOLUME];
        self.store.ws_types.insert(
            id,
            WorkspaceType {
                id,
                name: "Project".to_owned(),
                templates: vec![template],
                ext_system_id: "SAP".to_owned(),
                bo_type: "PROJECT".to_owned(),
                location_id: location,
            },
        );
        self.manifest.ws_types.insert(
            "Project".to_owned(),
            json!({
                "id": id,
                "templates": {"Project Workspace Template": template},
                "ext_system_id": "SAP",
                "bo_type": "PROJECT",
                "location_id": location,
            }),
        );
    }
}

fn attr_manifest(cat: i64, a: &AttrDef, set: Option<i64>) -> Value {
    let key = match set {
        Some(s) => format!("{cat}_{s}_x_{}", a.id),
        None => format!("{cat}_{}", a.id),
    };
    let kind = match a.kind {
        AttrKind::Text => "text",
        AttrKind::Date => "date",
        AttrKind::Boolean => "boolean",
        AttrKind::User => "user",
        AttrKind::Set => "set",
    };
    let mut v = json!({
        "id": a.id,
        "key": key,
        "type": kind,
        "required": a.required,
        "max_values": a.max_values,
        "valid_values": a.valid_values,
    });
    if a.kind == AttrKind::Set {
        let members: Map<String, Value> = a
            .set
            .iter()
            .map(|m| (m.name.clone(), attr_manifest(cat, m, Some(a.id))))
            .collect();
        v["max_rows"] = json!(a.max_rows);
        v["attributes"] = Value::Object(members);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contentserver::state::Perm;

    #[test]
    fn demo_seed_ids_are_stable() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path()).unwrap();
        let mut a = Store::default();
        populate(&mut a, &blobs, Seed::Demo).unwrap();
        let mut b = Store::default();
        populate(&mut b, &blobs, Seed::Demo).unwrap();
        assert_eq!(manifest(&a), manifest(&b));
        assert_eq!(a.volumes[&subtype::ENTERPRISE_WORKSPACE], 2000);
        let m = manifest(&a);
        assert!(m["folders"]["Published/Outside Counsel"].is_i64());
        assert_eq!(m["users"]["editor"], 1001);
    }

    #[test]
    fn perm_names_normalise_prerequisites() {
        let p = perms(&["delete"]);
        assert!(p.has(Perm::See) && p.has(Perm::SeeContents) && p.has(Perm::Delete));
        assert!(!p.has(Perm::Modify));
    }
}
