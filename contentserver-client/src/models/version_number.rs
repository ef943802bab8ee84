//! Version numbers: `2` under standard versioning, `1.1` (major.minor) under advanced
//! versioning.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A version's number as CS names it.
///
/// Every version also has a plain sequence number (`version_number`: 1, 2, 3, ... in the order
/// the versions were added), which is what the `/versions/{n}` paths take. Under standard
/// versioning the major number is that sequence number and the minor is 0; under advanced
/// versioning (`advanced_versioning` on the document) minor versions count up within a
/// major (`1.1`, `1.2`), a major version resets the minor (`2.0`), and a promotion adds a new
/// major version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VersionNumber {
    /// `version_number_major`.
    pub major: u32,
    /// `version_number_minor` (0 for a major version).
    pub minor: u32,
}

impl VersionNumber {
    /// `major.minor`.
    pub fn new(major: u32, minor: u32) -> Self {
        VersionNumber { major, minor }
    }

    /// Whether this is a major version (minor 0).
    pub fn is_major(self) -> bool {
        self.minor == 0
    }
}

/// `major.minor`, e.g. `1.1` or `2.0` (CS's `version_number_name` shows a standard version
/// as `2`; [`FromStr`] reads both).
impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for VersionNumber {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::invalid(format!("not a version number: {s:?}"));
        let s = s.trim();
        let (major, minor) = match s.split_once('.') {
            Some((a, b)) => (a, b),
            None => (s, "0"),
        };
        Ok(VersionNumber {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(
            "2".parse::<VersionNumber>().unwrap(),
            VersionNumber::new(2, 0)
        );
        assert_eq!(
            "1.1".parse::<VersionNumber>().unwrap(),
            VersionNumber::new(1, 1)
        );
        assert!("x.1".parse::<VersionNumber>().is_err());
        assert!(VersionNumber::new(1, 2) < VersionNumber::new(2, 0));
        assert_eq!(VersionNumber::new(2, 0).to_string(), "2.0");
        assert!(VersionNumber::new(2, 0).is_major());
    }
}
