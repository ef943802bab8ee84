//! Page-number paging as a lazy `Stream` (children, search, members, versions).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::future::Future;
use std::hash::Hasher;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `collection.paging` object of a v2 collection. Every field is optional: servers differ.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Paging {
    /// The page number (1-based).
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    pub page: Option<u64>,
    /// The page size.
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    pub limit: Option<u64>,
    /// The number of pages.
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    pub page_total: Option<u64>,
    /// The 1-based index of the first item of this page.
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    pub range_min: Option<u64>,
    /// The 1-based index of the last item of this page.
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    pub range_max: Option<u64>,
    /// The number of items over all pages.
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    pub total_count: Option<u64>,
}

/// One page of a collection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The paging information, when the server sent it.
    pub paging: Option<Paging>,
}

impl<T> Page<T> {
    /// Whether a page after `page` (asked with page size `limit`) exists.
    pub fn has_next(&self, page: u64, limit: u64) -> bool {
        if self.items.is_empty() {
            return false;
        }
        if let Some(paging) = &self.paging {
            if let Some(total) = paging.page_total {
                return page < total;
            }
            if let (Some(max), Some(total)) = (paging.range_max, paging.total_count) {
                return max < total;
            }
        }
        // No usable paging information: a full page may have a successor.
        self.items.len() as u64 >= limit
    }
}

/// A lazy stream of pages: nothing is sent until it is polled; it stops after the last page
/// and ends with the first error.
///
/// A server that ignores `page` would otherwise be read forever: a page that reports another
/// page number than the one asked for, or that repeats an earlier page item for item, ends the
/// stream with an [`Error::Decode`].
pub(crate) fn pages<T, F, Fut>(limit: u64, fetch: F) -> BoxStream<'static, Result<Page<T>>>
where
    T: Serialize + Send + 'static,
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    let start = (Some(1u64), HashSet::<u64>::new(), fetch);
    stream::try_unfold(start, move |(next, mut seen, fetch)| async move {
        let Some(page_no) = next else {
            return Ok(None);
        };
        let page = fetch(page_no).await?;
        let reported = page.paging.as_ref().and_then(|p| p.page);
        if reported.is_some_and(|r| r != page_no) {
            return Err(ignored_page(
                page_no,
                &format!("it answered page {reported:?}"),
            ));
        }
        let mut hasher = DefaultHasher::new();
        hasher.write(&serde_json::to_vec(&page.items).unwrap_or_default());
        if !page.items.is_empty() && !seen.insert(hasher.finish()) {
            return Err(ignored_page(page_no, "it repeated an earlier page"));
        }
        let next = page.has_next(page_no, limit).then_some(page_no + 1);
        Ok(Some((page, (next, seen, fetch))))
    })
    .boxed()
}

fn ignored_page(page_no: u64, what: &str) -> Error {
    Error::Decode {
        method: reqwest::Method::GET,
        path: "(paged listing)".into(),
        status: 200,
        reason: format!("asked for page {page_no}, {what}: the server ignores paging"),
        excerpt: String::new(),
        not_json: false,
        // A listing reads: not in doubt (and not retried, as the answer is JSON).
        repeatable: true,
    }
}

/// The items of [`pages`], one by one.
pub(crate) fn items<T: Send + 'static>(
    pages: BoxStream<'static, Result<Page<T>>>,
) -> BoxStream<'static, Result<T>> {
    pages
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn stops_at_last_page_and_is_lazy() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let s = pages(2, move |n| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                let items = match n {
                    1 => vec![1, 2],
                    2 => vec![3, 4],
                    _ => vec![5],
                };
                Ok(Page {
                    items,
                    paging: Some(Paging {
                        page: Some(n),
                        page_total: Some(3),
                        ..Paging::default()
                    }),
                })
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let all: Vec<i32> = items(s).try_collect().await.unwrap();
        assert_eq!(all, vec![1, 2, 3, 4, 5]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// A server that ignores `page` and sends full pages without paging information ends the
    /// stream with an error instead of being read forever.
    #[tokio::test]
    async fn a_server_that_ignores_the_page_is_not_read_forever() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let s = pages(2, move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Page {
                    items: vec![1, 2],
                    paging: None,
                })
            }
        });
        let err = items(s).try_collect::<Vec<i32>>().await.unwrap_err();
        assert!(err.to_string().contains("ignores paging"), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Or one that cycles through two pages: page 3 repeats page 1.
        let s = pages(2, |n| async move {
            Ok(Page {
                items: if n % 2 == 1 { vec![1, 2] } else { vec![3, 4] },
                paging: None,
            })
        });
        let err = items(s).try_collect::<Vec<i32>>().await.unwrap_err();
        assert!(err.to_string().contains("page 3"), "{err}");
        // Or one that reports the page it sent: page 1, whatever was asked.
        let s = pages(2, |_| async move {
            Ok(Page {
                items: vec![1, 2],
                paging: Some(Paging {
                    page: Some(1),
                    ..Paging::default()
                }),
            })
        });
        assert!(items(s).try_collect::<Vec<i32>>().await.is_err());
    }

    #[tokio::test]
    async fn without_paging_a_short_page_ends() {
        let s = pages(2, |n| async move {
            Ok(Page {
                items: if n == 1 { vec![1, 2] } else { vec![3] },
                paging: None,
            })
        });
        let all: Vec<i32> = items(s).try_collect().await.unwrap();
        assert_eq!(all, vec![1, 2, 3]);
    }
}
