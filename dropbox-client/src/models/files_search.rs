//! The search and tag routes of `files` (`search_v2`, `tags/*`), with their route errors.
//! Re-exported from [`files`](super::files).

use serde::{Deserialize, Serialize};

use super::files::*;
use super::union::stone_union;

stone_union! {
    /// `files.SearchOrderBy`.
    pub enum SearchOrderBy {
        void {
            /// Best matches first.
            Relevance = "relevance",
            /// Newest first.
            LastModifiedTime = "last_modified_time"
        }
        other Other
    }
}

stone_union! {
    /// `files.FileStatus`.
    pub enum FileStatus {
        void {
            /// Existing files.
            Active = "active",
            /// Deleted files.
            Deleted = "deleted"
        }
        other Other
    }
}

/// `files.SearchOptions`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Folder to search in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Page size (1..=1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u64>,
    /// Order of the matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<SearchOrderBy>,
    /// Active (default) or deleted files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_status: Option<FileStatus>,
    /// Match names only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub filename_only: bool,
    /// Only these extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_extensions: Option<Vec<String>>,
}

/// `files.SearchV2Arg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchV2Arg {
    /// What to look for (≤ 1000 characters).
    pub query: String,
    /// Where and how to look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<SearchOptions>,
}

impl SearchV2Arg {
    /// Searches for `query`.
    pub fn new(query: impl Into<String>) -> Self {
        SearchV2Arg {
            query: query.into(),
            options: None,
        }
    }

    /// Sets the search options.
    pub fn options(mut self, options: SearchOptions) -> Self {
        self.options = Some(options);
        self
    }
}

impl<S: Into<String>> From<S> for SearchV2Arg {
    fn from(query: S) -> Self {
        SearchV2Arg::new(query)
    }
}

stone_union! {
    /// `files.MetadataV2`.
    pub enum MetadataV2 {
        nested {
            /// A file or folder.
            Metadata(Metadata) = "metadata"
        }
        other Other
    }
}

/// `files.SearchMatchV2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchMatchV2 {
    /// The matched entry.
    pub metadata: MetadataV2,
    /// What matched, undecoded (`filename`, `file_content` ...).
    #[serde(default)]
    pub match_type: Option<serde_json::Value>,
}

/// `files.SearchV2Result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchV2Result {
    /// Matches of this page.
    pub matches: Vec<SearchMatchV2>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Cursor of the next page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `files.SearchV2ContinueArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchV2ContinueArg {
    /// Cursor from the previous page.
    pub cursor: String,
}

stone_union! {
    /// `files.SearchError`.
    pub enum SearchError {
        void {
            /// Something went wrong on Dropbox's side.
            InternalError = "internal_error"
        }
        nested {
            /// The folder could not be read.
            Path(LookupError) = "path",
            /// An argument is not valid.
            InvalidArgument(Option<String>) = "invalid_argument"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// tags

/// `files.AddTagArg` / `files.RemoveTagArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagArg {
    /// The item.
    pub path: String,
    /// The tag: 1..=32 word characters, lower-cased by the server.
    pub tag_text: String,
}

/// `files.GetTagsArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTagsArg {
    /// Items to read the tags of.
    pub paths: Vec<String>,
}

/// `files.UserGeneratedTag`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGeneratedTag {
    /// The tag text.
    pub tag_text: String,
}

stone_union! {
    /// `files.Tag`.
    pub enum Tag {
        inline {
            /// A tag a user added.
            UserGeneratedTag(UserGeneratedTag) = "user_generated_tag"
        }
        other Other
    }
}

impl Tag {
    /// The tag's text, if this client knows its kind.
    pub fn text(&self) -> Option<&str> {
        match self {
            Tag::UserGeneratedTag(t) => Some(&t.tag_text),
            _ => None,
        }
    }
}

/// `files.PathToTags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathToTags {
    /// The item.
    pub path: String,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// `files.GetTagsResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTagsResult {
    /// Tags per item, in request order.
    pub paths_to_tags: Vec<PathToTags>,
}

stone_union! {
    /// `files.AddTagError` / `files.RemoveTagError` / `files.BaseTagError`.
    pub enum TagError {
        void {
            /// More than 20 tags on the item.
            TooManyTags = "too_many_tags",
            /// The tag is not on the item.
            TagNotPresent = "tag_not_present"
        }
        nested {
            /// The item could not be read.
            Path(LookupError) = "path"
        }
        other Other
    }
}
