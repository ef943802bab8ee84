//! Which seed data the emulators start with.

use std::str::FromStr;

/// The data both emulators are populated with at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    /// Accounts, folders, files, categories, RM classes, holds, workflow maps and a workspace
    /// template that give every use case something real to work on.
    #[default]
    Demo,
    /// Only what a server cannot exist without: accounts and credentials on Dropbox; the admin
    /// user, the volumes and the Enterprise Workspace on Content Server.
    Empty,
}

impl FromStr for Seed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "demo" => Ok(Seed::Demo),
            "empty" => Ok(Seed::Empty),
            other => Err(format!("unknown seed {other:?}: expected demo or empty")),
        }
    }
}
