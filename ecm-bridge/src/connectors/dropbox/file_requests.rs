//! [`FileRequestIntake`]: which Dropbox file request (or plain intake folder) a listed file
//! arrived through, who submitted it and when, read from the file requests and the team log.
//!
//! Dropbox does not say on a file that it came through a file request. What does:
//! - `file_requests/list_v2`: every request of the account with its destination folder, open
//!   or closed, before or after its deadline (a closed or expired request's late files are still
//!   in its destination, and are still taken in);
//! - the team log (`team_log/get_events`, event type `file_request_receive_file`, a team token
//!   with `events.read`): per received file, the request id, the name and e-mail the submitter
//!   typed in, and when it arrived. The log is read once and then continued from its cursor
//!   whenever a file is not found in what was read (Dropbox logs with a delay; the sandbox at
//!   once).
//!
//! A file in a request's destination for which the log has no submission (yet) fails with an
//! error naming it, so the next run looks again, unless [`UnknownSubmitter::File`] says to file
//! it anyway. A file of a request deleted since is still recognised through the log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dropbox_client::models::file_requests::FileRequest;
use dropbox_client::models::team_log::{FileRequestSubmission, GetTeamEventsArg};
use dropbox_client::Client;
use futures::TryStreamExt;
use tokio::sync::Mutex;

use super::normalize_root;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Value};
use crate::state::fold_path;
use crate::transform::{AsyncTransform, Outcome};

/// Metadata key: the file request's title (or the intake folder's name).
pub const META_REQUEST_TITLE: &str = "Request Title";
/// Metadata key: the file request's id (absent for an intake folder).
pub const META_REQUEST_ID: &str = "Request Id";
/// Metadata key: the name the submitter typed in.
pub const META_SUBMITTER_NAME: &str = "Submitter Name";
/// Metadata key: the e-mail address the submitter typed in.
pub const META_SUBMITTER_EMAIL: &str = "Submitter Email";
/// Metadata key: who submitted it, for people and folder names: `Name (email)`, the one of
/// them known, or the [`UnknownSubmitter::File`] label.
pub const META_SUBMITTER: &str = "Submitter";
/// Metadata key: when it was received (RFC 3339, UTC).
pub const META_RECEIVED: &str = "Received";
/// Metadata key: the day it was received (a date).
pub const META_RECEIVED_ON: &str = "Received On";
/// Metadata key: `file request` or `intake folder`.
pub const META_INTAKE: &str = "Intake";

/// What to do with a file in a request's destination that the team log names no submitter for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownSubmitter {
    /// Fail it (named in the report), so the next run looks in the log again (default).
    Retry,
    /// File it with this label as the submitter.
    File(String),
}

/// How one file came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The request's id, `None` for a plain intake folder.
    pub request_id: Option<String>,
    /// The request's title (the folder's name for an intake folder).
    pub title: String,
    /// Whether the request still takes files (`true` for a folder).
    pub open: bool,
    /// The name the submitter typed in.
    pub submitter_name: Option<String>,
    /// The e-mail address the submitter typed in.
    pub submitter_email: Option<String>,
    /// `Name (email)`, the one known, or the unknown-submitter label.
    pub submitter: String,
    /// When it was received: the log's time, else the file's modification time.
    pub received: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Request {
    id: String,
    title: String,
    open: bool,
    /// Folded destination path.
    destination: String,
}

impl Request {
    /// The request, when it has a destination (absent when the folder is gone).
    fn of(r: &FileRequest) -> Option<Request> {
        let destination = r.destination.as_deref()?;
        Some(Request {
            id: r.id.clone(),
            title: r.title.clone(),
            open: r.is_open,
            destination: fold_path(&normalize_root(destination)),
        })
    }
}

#[derive(Default)]
struct Cache {
    requests: Option<(Instant, Vec<Request>)>,
    by_id: HashMap<String, FileRequestSubmission>,
    by_path: HashMap<String, FileRequestSubmission>,
    log_cursor: Option<String>,
    log_read: bool,
}

impl Cache {
    fn submission(&self, doc: &Document) -> Option<FileRequestSubmission> {
        if let Some(s) = self.by_id.get(&doc.source.id) {
            return Some(s.clone());
        }
        let full = doc.context.full_path.as_deref()?;
        self.by_path.get(&fold_path(full)).cloned()
    }

    fn add(&mut self, s: FileRequestSubmission) {
        for id in &s.file_ids {
            self.by_id.insert(id.clone(), s.clone());
        }
        for p in &s.paths {
            self.by_path.insert(fold_path(p), s.clone());
        }
    }
}

/// An [`AsyncTransform`] that passes the files that came in through a file request (or sit in
/// an intake folder) with their [intake metadata](META_REQUEST_TITLE), and skips every other
/// file. Paths are compared case-insensitively on the source's full paths.
///
/// ```no_run
/// # fn demo(user: dropbox_client::Client, team: dropbox_client::Client) {
/// use ecm_bridge::connectors::dropbox::FileRequestIntake;
/// let intake = FileRequestIntake::new(user)
///     .team_log(team)
///     .intake_folder("/Shared/Outside Counsel")
///     .exclude("/Intake Processed");
/// # }
/// ```
pub struct FileRequestIntake {
    user: Client,
    team: Option<Client>,
    requests: bool,
    folders: Vec<(String, String)>,
    exclude: Vec<String>,
    unknown: UnknownSubmitter,
    refresh_after: Duration,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for FileRequestIntake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRequestIntake")
            .field("requests", &self.requests)
            .field("folders", &self.folders)
            .field("exclude", &self.exclude)
            .field("unknown", &self.unknown)
            .finish_non_exhaustive()
    }
}

impl FileRequestIntake {
    /// Files that arrive through the file requests of the account `user` reads as. Without
    /// [`FileRequestIntake::team_log`] no submitter is known ([`UnknownSubmitter`] decides).
    pub fn new(user: Client) -> Self {
        FileRequestIntake {
            user,
            team: None,
            requests: true,
            folders: Vec::new(),
            exclude: Vec::new(),
            unknown: UnknownSubmitter::Retry,
            refresh_after: Duration::from_secs(30),
            cache: Mutex::default(),
        }
    }

    /// Reads submitters from the team log with this client (a team token; the sandbox's is
    /// `sandbox-team-token`).
    pub fn team_log(mut self, team: Client) -> Self {
        self.team = Some(team);
        self
    }

    /// Whether file requests are a source of intake (default yes; with no, only the intake
    /// folders are).
    pub fn file_requests(mut self, yes: bool) -> Self {
        self.requests = yes;
        self
    }

    /// Also takes in the files dropped into this Dropbox folder (a full path), titled with
    /// the folder's name.
    pub fn intake_folder(mut self, path: impl AsRef<str>) -> Self {
        let path = normalize_root(path.as_ref());
        let name = path.rsplit('/').next().unwrap_or_default().to_owned();
        self.folders.push((fold_path(&path), name));
        self
    }

    /// Never takes in files below this folder (where processed files are moved to).
    pub fn exclude(mut self, path: impl AsRef<str>) -> Self {
        self.exclude.push(fold_path(&normalize_root(path.as_ref())));
        self
    }

    /// What to do when the log names no submitter (default [`UnknownSubmitter::Retry`];
    /// files of intake folders always use [`UnknownSubmitter::File`]'s label, or `unknown`).
    pub fn unknown_submitter(mut self, policy: UnknownSubmitter) -> Self {
        self.unknown = policy;
        self
    }

    /// How old the list of file requests may be before a file in no known destination makes
    /// it be read again (default 30 s; zero reads it again at every such file).
    pub fn refresh_after(mut self, age: Duration) -> Self {
        self.refresh_after = age;
        self
    }

    async fn load_requests(&self) -> Result<Vec<Request>> {
        let all: Vec<FileRequest> = self
            .user
            .file_requests()
            .list(1000)
            .into_stream()
            .try_collect()
            .await
            .map_err(|e| Error::dropbox("file requests", Step::List, e))?;
        Ok(all.iter().filter_map(Request::of).collect())
    }

    /// The request whose destination holds `folder` (the deepest one).
    async fn request_for(&self, cache: &mut Cache, folder: &str) -> Result<Option<Request>> {
        if !self.requests {
            return Ok(None);
        }
        let find = |list: &[Request]| {
            list.iter()
                .filter(|r| below(folder, &r.destination))
                .max_by_key(|r| r.destination.len())
                .cloned()
        };
        if let Some((at, list)) = &cache.requests {
            if let Some(r) = find(list) {
                return Ok(Some(r));
            }
            if at.elapsed() < self.refresh_after {
                return Ok(None);
            }
        }
        let list = self.load_requests().await?;
        let found = find(&list);
        cache.requests = Some((Instant::now(), list));
        Ok(found)
    }

    /// Reads the team log from where it was left (from the start the first time).
    async fn read_log(&self, cache: &mut Cache) -> Result<()> {
        let Some(team) = &self.team else {
            return Ok(());
        };
        let log = team.team_log();
        let err = |e| Error::dropbox("team log", Step::List, e);
        let mut pages = match cache.log_cursor.clone() {
            Some(cursor) => log
                .get_events(GetTeamEventsArg::file_request_submissions())
                .resume(cursor)
                .pages(),
            None => log
                .get_events(GetTeamEventsArg::file_request_submissions())
                .pages(),
        };
        while let Some(page) = pages.try_next().await.map_err(err)? {
            for event in &page.events {
                if let Some(s) = event.file_request_submission() {
                    cache.add(s);
                }
            }
            cache.log_cursor = Some(page.cursor);
        }
        cache.log_read = true;
        Ok(())
    }

    async fn submission(
        &self,
        cache: &mut Cache,
        doc: &Document,
        refresh: bool,
    ) -> Result<Option<FileRequestSubmission>> {
        if let Some(s) = cache.submission(doc) {
            return Ok(Some(s));
        }
        if refresh || !cache.log_read {
            self.read_log(cache).await?;
        }
        Ok(cache.submission(doc))
    }

    async fn title_of(&self, id: &str) -> String {
        match self.user.file_requests().get(id).await {
            Ok(r) => r.title,
            Err(e) => {
                tracing::debug!(request = id, error = %e, "file request not readable; titled by its id");
                format!("File request {id}")
            }
        }
    }

    /// How `doc` came in, `None` when it is not intake (or is excluded).
    pub async fn lookup(&self, doc: &Document) -> Result<Option<Intake>> {
        let full = fold_path(doc.context.full_path.as_deref().unwrap_or(&doc.path));
        let full = normalize_root(&full);
        let folder = full.rsplit_once('/').map_or("", |(f, _)| f).to_owned();
        if self.exclude.iter().any(|x| below(&folder, x)) {
            return Ok(None);
        }
        let mut cache = self.cache.lock().await;
        let request = self.request_for(&mut cache, &folder).await?;
        let intake_folder = self
            .folders
            .iter()
            .filter(|(path, _)| below(&folder, path))
            .max_by_key(|(path, _)| path.len())
            .map(|(_, name)| name.clone());
        // A file of a request deleted since: known by the log alone (no new read for it).
        let sub = match (&request, &intake_folder) {
            (Some(_), _) => self.submission(&mut cache, doc, true).await?,
            (None, _) if self.requests => self.submission(&mut cache, doc, false).await?,
            (None, _) => None,
        };
        drop(cache);
        let (request_id, title, open) = match (&request, &sub, &intake_folder) {
            (Some(r), _, _) => (Some(r.id.clone()), r.title.clone(), r.open),
            (None, Some(s), _) if s.file_request_id.is_some() => {
                let id = s.file_request_id.clone().unwrap_or_default();
                let title = self.title_of(&id).await;
                (Some(id), title, false)
            }
            (None, _, Some(name)) => (None, name.clone(), true),
            (None, _, None) => return Ok(None),
        };
        let name = sub.as_ref().and_then(|s| s.submitter_name.clone());
        let email = sub.as_ref().and_then(|s| s.submitter_email.clone());
        let submitter = match (&name, &email) {
            (Some(n), Some(e)) => format!("{n} ({e})"),
            (Some(n), None) => n.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) => match (&self.unknown, &request_id) {
                (UnknownSubmitter::File(label), _) => label.clone(),
                (UnknownSubmitter::Retry, None) => "unknown".to_owned(),
                (UnknownSubmitter::Retry, Some(id)) => {
                    return Err(Error::governance(
                        &doc.path,
                        Step::List,
                        format!(
                            "the team log names no submitter (yet) for this file of file request {id} ({title:?}); looked for again on the next run"
                        ),
                    ))
                }
            },
        };
        let received = sub
            .as_ref()
            .map(|s| s.timestamp)
            .or(doc.modified)
            .unwrap_or_else(Utc::now);
        Ok(Some(Intake {
            request_id,
            title,
            open,
            submitter_name: name,
            submitter_email: email,
            submitter,
            received,
        }))
    }
}

/// Whether the folded `path` is `root` or below it.
fn below(path: &str, root: &str) -> bool {
    match path.strip_prefix(root) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || root.is_empty(),
        None => false,
    }
}

impl Intake {
    /// Writes this intake into `doc`'s metadata under the `META_*` keys.
    pub fn describe(&self, doc: &mut Document) {
        let m = &mut doc.metadata;
        m.insert(META_REQUEST_TITLE.into(), Value::Text(self.title.clone()));
        if let Some(id) = &self.request_id {
            m.insert(META_REQUEST_ID.into(), Value::Text(id.clone()));
        }
        if let Some(n) = &self.submitter_name {
            m.insert(META_SUBMITTER_NAME.into(), Value::Text(n.clone()));
        }
        if let Some(e) = &self.submitter_email {
            m.insert(META_SUBMITTER_EMAIL.into(), Value::Text(e.clone()));
        }
        m.insert(META_SUBMITTER.into(), Value::Text(self.submitter.clone()));
        m.insert(
            META_RECEIVED.into(),
            Value::Text(
                self.received
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        );
        m.insert(
            META_RECEIVED_ON.into(),
            Value::Date(self.received.date_naive()),
        );
        let kind = if self.request_id.is_some() {
            "file request"
        } else {
            "intake folder"
        };
        m.insert(META_INTAKE.into(), Value::Text(kind.into()));
    }
}

#[async_trait]
impl AsyncTransform for FileRequestIntake {
    async fn apply(&self, mut doc: Document) -> Result<Outcome> {
        match self.lookup(&doc).await? {
            Some(intake) => {
                intake.describe(&mut doc);
                Ok(Outcome::Pass(doc))
            }
            None => Ok(Outcome::skip(
                "not in a file request's destination or an intake folder",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, DocRef};

    #[test]
    fn folders_below_roots() {
        assert!(below("/finance/tax intake", "/finance/tax intake"));
        assert!(below("/finance/tax intake/2026", "/finance/tax intake"));
        assert!(!below("/finance/tax intake 2", "/finance/tax intake"));
        assert!(!below("/finance", "/finance/tax intake"));
    }

    #[test]
    fn an_intake_describes_the_document() {
        let mut doc = Document::new(
            DocRef::dropbox("id:1", "1"),
            "a.pdf",
            1,
            Body::from_bytes("x"),
        );
        let received = DateTime::parse_from_rfc3339("2026-02-03T10:11:12Z")
            .unwrap()
            .with_timezone(&Utc);
        Intake {
            request_id: Some("fr1".into()),
            title: "Outside tax documents".into(),
            open: false,
            submitter_name: Some("Avery".into()),
            submitter_email: Some("avery@cpa.example".into()),
            submitter: "Avery (avery@cpa.example)".into(),
            received,
        }
        .describe(&mut doc);
        assert_eq!(doc.metadata[META_REQUEST_ID], Value::from("fr1"));
        assert_eq!(
            doc.metadata[META_RECEIVED],
            Value::from("2026-02-03T10:11:12Z")
        );
        assert_eq!(
            doc.metadata[META_RECEIVED_ON],
            Value::Date(received.date_naive())
        );
        assert_eq!(doc.metadata[META_INTAKE], Value::from("file request"));
    }
}
