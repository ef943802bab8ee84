//! The parts of a closeout around the runner's flow: the CS root (folder or workspace), the
//! proof against Dropbox's listing (creating empty folders on the way), and the finaliser's
//! steps (manifest, classification of the root, hold, move, delete).

use std::collections::HashMap;

use chrono::NaiveDate;
use contentserver_client::api::categories::{AttrValue, CategoryValues};
use contentserver_client::api::category_definition::AttrType;
use contentserver_client::UploadBody;
use dropbox_client::models::files::{
    ListFolderArg, Metadata, MoveBatchArg, RelocationBatchResultEntry, RelocationPath,
};
use dropbox_client::JobWait;
use futures::stream::StreamExt;
use serde_json::json;

use super::project_closeout::{CloseoutSummary, CloseoutTarget, ProjectCloseout};
use crate::error::{Error, Result, Step};
use crate::manifest::Manifest;
use crate::model::DocRef;
use crate::state::DocStatus;

/// Hold calls carry this many node ids each.
const HOLD_BATCH: usize = 200;

/// The finaliser's first step: what was proven (files, bytes, folders).
pub(super) const PROOF_STEP: &str = "proof";

/// What the proof found.
pub(super) struct Proof {
    /// What is missing, one line each; empty when proven.
    pub missing: Vec<String>,
    /// Files listed in Dropbox (and proven, when nothing is missing).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Folders below the project folder.
    pub folders: u64,
}

impl Proof {
    /// The proof as its step's output keeps it.
    pub(super) fn from_output(out: &serde_json::Value) -> Proof {
        let n = |k: &str| out[k].as_u64().unwrap_or_default();
        Proof {
            missing: Vec::new(),
            files: n("files"),
            bytes: n("bytes"),
            folders: n("folders"),
        }
    }
}

fn stop(c: &ProjectCloseout, step: &str) -> Result<()> {
    match &c.stop {
        Some(f) if f(step) => Err(Error::Stopped(format!("closeout before {step}"))),
        _ => Ok(()),
    }
}

fn cs_err(doc: &str, step: Step) -> impl FnOnce(contentserver_client::Error) -> Error + '_ {
    move |e| Error::cs(doc, step, e)
}

/// The CS root of the closeout, found or created once (step `target`).
pub(super) async fn target(c: &ProjectCloseout) -> Result<i64> {
    stop(c, "target")?;
    let find_or_create = || async { root(c).await.map(|id| json!({ "root": id })) };
    let out = c
        .steps()
        .step("target", find_or_create, || async {
            root(c).await.map(|id| Some(json!({ "root": id })))
        })
        .await?;
    out["root"]
        .as_i64()
        .ok_or_else(|| Error::Config(format!("closeout target step output: {out}")))
}

async fn root(c: &ProjectCloseout) -> Result<i64> {
    let name = c.config.folder_name();
    let nodes = c.cs.nodes();
    match &c.config.target {
        CloseoutTarget::Folder { parent, path } => {
            let mut at = match parent {
                Some(p) => *p,
                None => {
                    nodes
                        .enterprise_workspace()
                        .await
                        .map_err(cs_err(&name, Step::Locate))?
                        .id
                }
            };
            for seg in path.split('/').filter(|s| !s.is_empty()) {
                at = child_folder(c, at, seg).await?;
            }
            child_folder(c, at, &name).await
        }
        CloseoutTarget::Workspace {
            type_id,
            template_id,
            parent,
            category_id,
            values,
        } => {
            let ws = c.cs.workspaces();
            if let Some(found) = ws
                .find_by_name(&name, Some(*type_id))
                .await
                .map_err(cs_err(&name, Step::Locate))?
            {
                return Ok(found.id);
            }
            let mut create = ws.create(*template_id, *type_id).name(&name);
            if let Some(p) = parent {
                create = create.parent(*p);
            }
            if let Some(cat) = category_id {
                create = create.categories(category_values(c, *template_id, *cat, values).await?);
            }
            Ok(create.send().await.map_err(cs_err(&name, Step::Locate))?.id)
        }
    }
}

/// The workspace's category values, by attribute name, typed by the category's definition.
async fn category_values(
    c: &ProjectCloseout,
    template: i64,
    category: i64,
    values: &std::collections::BTreeMap<String, String>,
) -> Result<CategoryValues> {
    let name = c.config.folder_name();
    let def =
        c.cs.categories()
            .definition(template, category)
            .await
            .map_err(cs_err(&name, Step::Categories))?;
    let today = chrono::Utc::now().date_naive().to_string();
    let mut out = CategoryValues::new();
    for (attr, raw) in values {
        let a = def.attribute(attr).ok_or_else(|| {
            Error::Config(format!(
                "closeout: category {category} has no attribute {attr:?}"
            ))
        })?;
        let key = a.value_key(category).ok_or_else(|| {
            Error::Config(format!(
                "closeout: attribute {attr:?} is in a set (not supported)"
            ))
        })?;
        let text = raw
            .replace("{project_id}", &c.config.project_id())
            .replace("{today}", &today);
        let bad =
            |e: String| Error::Config(format!("closeout: attribute {attr:?} = {text:?}: {e}"));
        let value = match a.attr_type {
            AttrType::Date => AttrValue::Date(
                NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| bad(e.to_string()))?,
            ),
            AttrType::Integer => AttrValue::Integer(text.parse().map_err(|e| bad(format!("{e}")))?),
            AttrType::Boolean => AttrValue::Boolean(text.parse().map_err(|e| bad(format!("{e}")))?),
            _ => AttrValue::Text(text.clone()),
        };
        out = out.set(key, value);
    }
    Ok(out)
}

/// The folder `name` in `parent`, created when missing.
async fn child_folder(c: &ProjectCloseout, parent: i64, name: &str) -> Result<i64> {
    let nodes = c.cs.nodes();
    if let Some(n) = nodes
        .find_child(parent, name)
        .await
        .map_err(cs_err(name, Step::Locate))?
    {
        return Ok(n.id);
    }
    match nodes.create_folder(parent, name).send().await {
        Ok(n) => Ok(n.id),
        // Created meanwhile (by the sink, or an answer lost on the way back): find it.
        Err(e) => match nodes
            .find_child(parent, name)
            .await
            .map_err(cs_err(name, Step::Locate))?
        {
            Some(n) => Ok(n.id),
            None => Err(Error::cs(name, Step::Locate, e)),
        },
    }
}

/// Lists the project folder in Dropbox and compares each file with its record; creates the
/// CS folders of empty Dropbox folders. Memory: the folder ids seen (not the files).
pub(super) async fn prove(c: &ProjectCloseout, root: i64) -> Result<Proof> {
    stop(c, PROOF_STEP)?;
    let flow = c.flow_name();
    let folder = c.config.folder();
    let barrier = c.steps().barrier().await?;
    let mut missing = Vec::new();
    if !barrier.listing_finished {
        missing.push(format!(
            "the listing of {folder} did not finish in this run (a Dropbox error); run again"
        ));
    }
    let mut proof = Proof {
        missing: Vec::new(),
        files: 0,
        bytes: 0,
        folders: 0,
    };
    let (mut proven, mut proven_bytes) = (0u64, 0u64);
    let mut folders: HashMap<String, i64> = HashMap::new();
    let mut pages = c
        .dropbox
        .files()
        .list_folder(ListFolderArg::new(folder.clone()).recursive(true))
        .pages();
    let prefix = format!("{}/", folder.to_lowercase());
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::dropbox(&folder, Step::List, e))?;
        for entry in page.entries {
            match entry {
                Metadata::Folder(f) => {
                    let Some(rel) = relative(&prefix, f.path_lower.as_deref(), &f.path_display)
                    else {
                        continue;
                    };
                    proof.folders += 1;
                    ensure_folder(c, root, &rel, &mut folders).await?;
                }
                Metadata::File(f) => {
                    let path = relative(&prefix, f.path_lower.as_deref(), &f.path_display)
                        .unwrap_or_else(|| f.path_display.clone().unwrap_or_default());
                    proof.files += 1;
                    proof.bytes += f.size;
                    let key = DocRef::dropbox(&f.id, &f.rev).key();
                    let Some(r) = c.state.record(&flow, &key).await? else {
                        missing.push(format!("{path}: listed in Dropbox, never written"));
                        continue;
                    };
                    if r.status != DocStatus::Done {
                        missing.push(format!(
                            "{path}: {}{}",
                            r.status,
                            r.last_error
                                .as_deref()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        ));
                        continue;
                    }
                    if r.source.version.as_deref() != Some(f.rev.as_str()) {
                        missing.push(format!(
                            "{path}: changed in Dropbox after it was written (rev {} written, {} now)",
                            r.source.version.as_deref().unwrap_or("?"),
                            f.rev
                        ));
                        continue;
                    }
                    let recorded = r.hash.as_ref().map(|h| h.value.as_str());
                    if recorded != f.content_hash.as_deref() || r.size != Some(f.size) {
                        missing.push(format!(
                            "{path}: content differs (Dropbox {} bytes, hash {}; recorded {} bytes, hash {})",
                            f.size,
                            f.content_hash.as_deref().unwrap_or("?"),
                            r.size.map_or("?".into(), |s| s.to_string()),
                            recorded.unwrap_or("?")
                        ));
                        continue;
                    }
                    proven += 1;
                    proven_bytes += f.size;
                }
                _ => {}
            }
        }
    }
    if !barrier.ready() && missing.is_empty() {
        let counts: Vec<String> = barrier
            .counts
            .iter()
            .filter(|(s, n)| s.blocks_job() && **n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        missing.push(format!(
            "job members not finished: {} unrecorded, {}",
            barrier.unrecorded,
            counts.join(", ")
        ));
    }
    if !missing.is_empty() {
        missing.push(format!(
            "counts: Dropbox lists {} file(s) ({} bytes); proven {} ({} bytes)",
            proof.files, proof.bytes, proven, proven_bytes
        ));
    }
    proof.missing = missing;
    Ok(proof)
}

fn relative(prefix: &str, lower: Option<&str>, display: &Option<String>) -> Option<String> {
    let lower = lower?;
    let display = display.as_deref()?;
    lower
        .starts_with(prefix)
        .then(|| display[prefix.len().min(display.len())..].to_owned())
        .filter(|r| !r.is_empty())
}

async fn ensure_folder(
    c: &ProjectCloseout,
    root: i64,
    rel: &str,
    known: &mut HashMap<String, i64>,
) -> Result<i64> {
    let mut at = root;
    let mut so_far = String::new();
    for seg in rel.split('/').filter(|s| !s.is_empty()) {
        if !so_far.is_empty() {
            so_far.push('/');
        }
        so_far.push_str(&seg.to_lowercase());
        at = match known.get(&so_far) {
            Some(id) => *id,
            None => {
                let id = child_folder(c, at, seg).await?;
                known.insert(so_far.clone(), id);
                id
            }
        };
    }
    Ok(at)
}

/// The finaliser: each step once, then the summary as the job's `finalise` output.
pub(super) async fn finalise(
    c: &ProjectCloseout,
    root: i64,
    proof: &Proof,
) -> Result<CloseoutSummary> {
    let steps = c.steps();
    steps.begin().await?;
    let proven = json!({ "files": proof.files, "bytes": proof.bytes, "folders": proof.folders });
    steps
        .step(
            PROOF_STEP,
            || async { Ok(proven.clone()) },
            || async { Ok(Some(proven.clone())) },
        )
        .await?;
    let flow = c.flow_name();
    let job = c.job();
    let name = c.config.folder_name();

    stop(c, "manifest")?;
    let manifest = Manifest::from_job(c.state.as_ref(), &flow, &job).await?;
    let file = |ext: &str| format!("{name} manifest.{ext}");
    let m = steps
        .step(
            "manifest",
            || async { file_manifest(c, root, &manifest, &file("csv"), &file("jsonl")).await },
            || async {
                file_manifest(c, root, &manifest, &file("csv"), &file("jsonl"))
                    .await
                    .map(Some)
            },
        )
        .await?;
    let node = |k: &str| m[k].as_i64().unwrap_or_default();
    let (csv, jsonl) = (node("csv"), node("jsonl"));

    if let Some(class) = &c.config.rm_class {
        stop(c, "classify_root")?;
        steps
            .step(
                "classify_root",
                || async { classify_root(c, root, class, &manifest).await },
                || async { Ok(None) },
            )
            .await?;
    }

    let mut held = 0;
    if let Some(hold) = &c.config.hold {
        stop(c, "hold")?;
        let out = steps
            .step(
                "hold",
                || async { apply_hold(c, root, hold, &manifest, [csv, jsonl]).await },
                || async { Ok(None) },
            )
            .await?;
        held = out["nodes"].as_u64().unwrap_or_default();
    }

    stop(c, "move")?;
    let to = c.config.archived_path();
    steps
        .step(
            "move",
            || async { move_folder(c, &to).await },
            || async { moved(c, &to).await },
        )
        .await?;

    let mut deleted = false;
    if c.config.delete_source && c.config.confirm_delete {
        stop(c, "delete")?;
        steps
            .step(
                "delete",
                || async {
                    match c.dropbox.files().delete(to.as_str()).await {
                        Ok(_) => Ok(json!({ "deleted": to })),
                        Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => {
                            Ok(json!({ "deleted": to }))
                        }
                        Err(e) => Err(Error::dropbox(&to, Step::Mark, e)),
                    }
                },
                || async { Ok(None) },
            )
            .await?;
        deleted = true;
    }

    let summary = CloseoutSummary {
        root,
        files: manifest.files() as u64,
        bytes: manifest.bytes(),
        folders: proof.folders,
        manifest_csv: csv,
        manifest_jsonl: jsonl,
        held,
        moved_to: to,
        deleted,
    };
    let out = serde_json::to_value(&summary)
        .map_err(|e| Error::Config(format!("closeout summary: {e}")))?;
    steps.finish(&out).await?;
    Ok(summary)
}

/// Files (or finds, after a lost answer) the two manifest documents in `root`.
async fn file_manifest(
    c: &ProjectCloseout,
    root: i64,
    m: &Manifest,
    csv_name: &str,
    jsonl_name: &str,
) -> Result<serde_json::Value> {
    let mut ids = Vec::new();
    for (name, path) in [(csv_name, m.csv_path()), (jsonl_name, m.jsonl_path())] {
        let nodes = c.cs.nodes();
        let found = nodes
            .find_child(root, name)
            .await
            .map_err(cs_err(name, Step::Locate))?;
        let id = match found {
            Some(n) => n.id,
            None => {
                let body = UploadBody::from_path(&path)
                    .await
                    .map_err(|e| crate::verify::io_error(name, Step::Write, e))?;
                match c.cs.documents().create(root, name, body).send().await {
                    Ok(n) => n.id,
                    Err(e) => match nodes
                        .find_child(root, name)
                        .await
                        .map_err(cs_err(name, Step::Locate))?
                    {
                        Some(n) => n.id,
                        None => return Err(Error::cs(name, Step::Write, e)),
                    },
                }
            }
        };
        ids.push(id);
    }
    Ok(json!({ "csv": ids[0], "jsonl": ids[1], "files": m.files(), "bytes": m.bytes() }))
}

/// The root gets the class its items got (read from one item's records details).
async fn classify_root(
    c: &ProjectCloseout,
    root: i64,
    class: &str,
    m: &Manifest,
) -> Result<serde_json::Value> {
    let records = c.cs.records();
    let item = m.nodes.first().copied().ok_or_else(|| {
        Error::Config(format!(
            "closeout: no item to read the id of RM class {class:?} from"
        ))
    })?;
    let details = records
        .details(item)
        .await
        .map_err(cs_err(class, Step::Classify))?;
    let class_id = details
        .records
        .first()
        .map(|r| r.class_id)
        .ok_or_else(|| Error::Config(format!("closeout: item {item} is not classified")))?;
    let have = records
        .details(root)
        .await
        .map_err(cs_err(class, Step::Classify))?;
    if !have.has(class_id) {
        records
            .classify(root, class_id)
            .send()
            .await
            .map_err(cs_err(class, Step::Classify))?;
    }
    Ok(json!({ "class_id": class_id }))
}

/// The hold on the root, the manifest and every item, in bulk calls.
async fn apply_hold(
    c: &ProjectCloseout,
    root: i64,
    hold: &str,
    m: &Manifest,
    extra: [i64; 2],
) -> Result<serde_json::Value> {
    let records = c.cs.records();
    let h = records
        .hold_by_name(hold)
        .await
        .map_err(cs_err(hold, Step::Hold))?
        .ok_or_else(|| Error::Config(format!("closeout: no hold named {hold:?}")))?;
    let mut ids: Vec<i64> = vec![root];
    ids.extend(extra.iter().copied().filter(|id| *id != 0));
    ids.extend(m.nodes.iter().copied());
    for chunk in ids.chunks(HOLD_BATCH) {
        records
            .apply_hold_to(h.id, chunk)
            .await
            .map_err(cs_err(hold, Step::Hold))?;
    }
    Ok(json!({ "hold": h.id, "nodes": ids.len() }))
}

/// `Some` when the project folder is at `to` and gone from where it was.
async fn moved(c: &ProjectCloseout, to: &str) -> Result<Option<serde_json::Value>> {
    let exists = |p: String| async move {
        match c.dropbox.files().get_metadata(p.as_str()).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::dropbox(p, Step::Mark, e)),
        }
    };
    let at_target = exists(to.to_owned()).await?;
    let at_source = exists(c.config.folder()).await?;
    Ok((at_target && !at_source).then(|| json!({ "to": to })))
}

async fn move_folder(c: &ProjectCloseout, to: &str) -> Result<serde_json::Value> {
    if let Some(done) = moved(c, to).await? {
        return Ok(done);
    }
    let from = c.config.folder();
    let arg = MoveBatchArg::new([RelocationPath::new(from.clone(), to)]);
    let result = c
        .dropbox
        .files()
        .move_batch_and_wait(&arg, JobWait::every(std::time::Duration::from_millis(200)))
        .await
        .map_err(|e| Error::dropbox(&from, Step::Mark, e))?;
    for entry in result.entries {
        if !matches!(entry, RelocationBatchResultEntry::Success(_)) {
            return Err(Error::Config(format!(
                "closeout: moving {from} to {to} failed: {entry:?}"
            )));
        }
    }
    Ok(json!({ "to": to }))
}
