//! Where the client resumes a relay-hosted room: the highest relay `seq` it has seen, in memory
//! and, if configured, in a file (so a restarted client asks for exactly what it missed).
//!
//! Only the relay's `seq` counts: a member hosting a `host` room numbers nothing, and a file
//! written for another room is ignored.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The last relay `seq` seen in one room.
#[derive(Debug)]
pub struct ResumePoint {
    room: String,
    last: Option<u64>,
    file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    room: String,
    after: u64,
}

impl ResumePoint {
    /// The point for `room`, read from `file` when it holds one for this room.
    pub fn load(room: &str, file: Option<PathBuf>) -> ResumePoint {
        let last = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| serde_json::from_str::<Saved>(&text).ok())
            .filter(|saved| saved.room == room)
            .map(|saved| saved.after);
        ResumePoint {
            room: room.to_string(),
            last,
            file,
        }
    }

    /// The highest `seq` seen, if any.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// The relay delivered message `seq`.
    pub fn saw(&mut self, seq: u64) {
        if self.last.is_some_and(|last| last >= seq) {
            return;
        }
        self.last = Some(seq);
        self.save();
    }

    /// Writes the file (a temporary file renamed over it, so a crash leaves the old or the new).
    fn save(&self) {
        let (Some(file), Some(after)) = (&self.file, self.last) else {
            return;
        };
        let saved = Saved {
            room: self.room.clone(),
            after,
        };
        let Ok(text) = serde_json::to_string(&saved) else {
            return;
        };
        let tmp = file.with_extension("tmp");
        let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, file));
        if let Err(e) = written {
            tracing::warn!(file = %file.display(), error = %e, "cannot save the resume point");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_point_only_moves_forward_and_survives_in_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resume.json");
        let mut point = ResumePoint::load("lobby", Some(file.clone()));
        assert_eq!(point.last(), None);
        point.saw(5);
        point.saw(3);
        assert_eq!(point.last(), Some(5));
        assert_eq!(
            ResumePoint::load("lobby", Some(file.clone())).last(),
            Some(5)
        );
        assert_eq!(ResumePoint::load("other", Some(file)).last(), None);
    }
}
