//! The checkpoint tracker: items finish out of order; the checkpoint saved is the latest one
//! whose item and every item before it are finished.

use std::collections::BTreeMap;

use crate::model::Checkpoint;

/// Items finished out of order → the highest checkpoint with a finished prefix.
#[derive(Debug, Default)]
pub(crate) struct Acks {
    next: u64,
    done: BTreeMap<u64, Option<Checkpoint>>,
}

impl Acks {
    /// Marks item `seq` finished; returns the checkpoint to save when the finished prefix grew
    /// over an item that carries one.
    pub(crate) fn finish(
        &mut self,
        seq: u64,
        checkpoint: Option<Checkpoint>,
    ) -> Option<Checkpoint> {
        self.done.insert(seq, checkpoint);
        let mut latest = None;
        while let Some(cp) = self.done.remove(&self.next) {
            if cp.is_some() {
                latest = cp;
            }
            self.next += 1;
        }
        latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(s: &str) -> Option<Checkpoint> {
        Some(Checkpoint(s.into()))
    }

    #[test]
    fn acks_advance_over_finished_prefixes_only() {
        let mut a = Acks::default();
        // Page 1 = items 0..=2 (cursor c1 on item 2), page 2 = items 3..=4 (c2 on item 4).
        assert_eq!(a.finish(1, None), None);
        assert_eq!(a.finish(2, cp("c1")), None, "item 0 is not finished");
        assert_eq!(a.finish(4, cp("c2")), None);
        assert_eq!(a.finish(0, None), cp("c1"));
        assert_eq!(a.finish(3, None), cp("c2"));
        assert_eq!(a.finish(5, None), None);
    }
}
