//! [`Sampled`]: a list in a [`super::Report`] that counts every entry but keeps only the first
//! [`Sampled::KEPT`], so a run over a 100,000-file tree holds a bounded report in memory. The
//! whole story of every document is in the store (records, runs, audit), not in the report.

use serde::Serialize;

/// Every entry counted, the first [`Sampled::KEPT`] kept.
///
/// `len` and `is_empty` count every entry pushed; iterating, indexing (through `Deref` to a
/// slice) and sorting see the kept ones. A run with no more than `KEPT` entries of a kind
/// keeps them all, so small runs read exactly as a plain list. Serialized as
/// `{"total": N, "kept": [...]}`.
#[derive(Debug, Clone, Serialize)]
pub struct Sampled<T> {
    total: u64,
    kept: Vec<T>,
}

impl<T> Sampled<T> {
    /// How many entries of each kind a report keeps (its memory is bounded by this, not by
    /// the tree).
    pub const KEPT: usize = 1_000;

    /// Counts `entry`, and keeps it while fewer than [`Self::KEPT`] are kept.
    pub fn push(&mut self, entry: T) {
        self.total += 1;
        if self.kept.len() < Self::KEPT {
            self.kept.push(entry);
        }
    }

    /// Every entry pushed, kept or not.
    pub fn len(&self) -> usize {
        self.total as usize
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many were counted but not kept.
    pub fn omitted(&self) -> u64 {
        self.total - self.kept.len() as u64
    }
}

impl<T> Default for Sampled<T> {
    fn default() -> Self {
        Sampled {
            total: 0,
            kept: Vec::new(),
        }
    }
}

impl<T> std::ops::Deref for Sampled<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.kept
    }
}

impl<T> std::ops::DerefMut for Sampled<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.kept
    }
}

impl<'a, T> IntoIterator for &'a Sampled<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

impl<T> IntoIterator for Sampled<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.kept.into_iter()
    }
}

impl<T> FromIterator<T> for Sampled<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut s = Sampled::default();
        iter.into_iter().for_each(|e| s.push(e));
        s
    }
}

impl<T> Extend<T> for Sampled<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        iter.into_iter().for_each(|e| self.push(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_entry_and_keeps_the_first_ones() {
        let s: Sampled<usize> = (0..Sampled::<usize>::KEPT + 5).collect();
        assert_eq!(s.len(), Sampled::<usize>::KEPT + 5);
        assert_eq!(s.iter().count(), Sampled::<usize>::KEPT);
        assert_eq!(s.omitted(), 5);
        assert_eq!(s[0], 0);
        assert!(!s.is_empty());
        assert!(Sampled::<u8>::default().is_empty());
    }

    #[test]
    fn a_small_list_is_kept_whole() {
        let mut s = Sampled::default();
        s.extend(["b", "a"]);
        s.sort();
        assert_eq!(&*s, &["a", "b"]);
        assert_eq!(s.omitted(), 0);
    }
}
