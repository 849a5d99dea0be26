//! The journal: the append-only record of every action an apply takes, in the state directory.
//!
//! State lives in an embedded SQLite database, `shed.db`. A run is one apply; each of its
//! actions gets an entry in phase `started` before the engine is asked anything that changes
//! state, and a second entry (`done`, `skipped` or `failed`) after (DESIGN.md invariant 6). An
//! action skipped by the re-check gets only the `skipped` entry: nothing was attempted. An
//! action with a `started` entry and no second one was interrupted, and
//! [`Journal::interrupted`] lists it.
//!
//! Only one apply may run at a time: [`Journal::begin_run`] takes an exclusive lock on
//! `apply.lock` in the state directory and holds it until [`Journal::finish_run`] or until the
//! journal is dropped (the operating system releases it if the process dies).

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use shed_core::inventory::Timestamp;

/// The database file in the state directory.
pub const DATABASE_FILE: &str = "shed.db";
/// The lock file that keeps two applies apart.
pub const LOCK_FILE: &str = "apply.lock";

/// WAL with `synchronous = NORMAL`: each entry is one small transaction appended to the log,
/// with no fsync until a checkpoint. A committed entry survives shed being killed; only a power
/// loss can take the last few, which an entry's order on disk keeps consistent (a `done` is
/// never kept without its `started`).
const PRAGMAS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    selection   TEXT NOT NULL,
    actions     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    seq          INTEGER NOT NULL,
    at           TEXT NOT NULL,
    phase        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    image_id     TEXT NOT NULL,
    refs         TEXT NOT NULL,
    repo_digests TEXT NOT NULL,
    message      TEXT
);
CREATE INDEX IF NOT EXISTS entries_by_run ON entries (run_id, seq);
";

/// What can go wrong with the state directory.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another shed apply is running: {path} is locked")]
    Locked { path: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("journal {path}: no run is in progress")]
    NoRun { path: PathBuf },
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Started,
    Done,
    Skipped,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Started => "started",
            Phase::Done => "done",
            Phase::Skipped => "skipped",
            Phase::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Phase> {
        [Phase::Started, Phase::Done, Phase::Skipped, Phase::Failed]
            .into_iter()
            .find(|phase| phase.as_str() == text)
    }
}

/// One row of the journal: an action of a run, in one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub run: i64,
    /// The action's position in the plan.
    pub seq: usize,
    pub at: Timestamp,
    pub phase: Phase,
    /// `untag` or `delete`.
    pub kind: String,
    pub image_id: String,
    /// The references the action removes.
    pub references: Vec<String>,
    /// The image's repo digests, so that a deleted image can be pulled again by digest.
    pub repo_digests: Vec<String>,
    pub message: Option<String>,
}

/// One apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: i64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub selection: String,
    /// How many actions the plan had.
    pub actions: usize,
}

/// The journal in one state directory.
#[derive(Debug)]
pub struct Journal {
    connection: Connection,
    state_dir: PathBuf,
    /// Held from `begin_run` to `finish_run`; closing the file releases the lock.
    lock: Option<File>,
    run: Option<i64>,
}

impl Journal {
    /// Opens (creating if needed) the state directory and its database.
    pub fn open(state_dir: &Path) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(state_dir).map_err(|source| JournalError::StateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let path = state_dir.join(DATABASE_FILE);
        let database = |source| JournalError::Database {
            path: path.clone(),
            source,
        };
        let connection = Connection::open(&path).map_err(database)?;
        connection.execute_batch(PRAGMAS).map_err(database)?;
        connection.execute_batch(SCHEMA).map_err(database)?;
        Ok(Journal {
            connection,
            state_dir: state_dir.to_owned(),
            lock: None,
            run: None,
        })
    }

    /// Takes the apply lock and records a new run; fails with [`JournalError::Locked`] naming
    /// the lock file when another apply holds it.
    pub fn begin_run(
        &mut self,
        at: Timestamp,
        selection: &str,
        actions: usize,
    ) -> Result<i64, JournalError> {
        let path = self.state_dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| JournalError::Lock {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(JournalError::Locked { path }),
            Err(TryLockError::Error(source)) => return Err(JournalError::Lock { path, source }),
        }
        self.lock = Some(file);

        self.connection
            .execute(
                "INSERT INTO runs (started_at, selection, actions) VALUES (?1, ?2, ?3)",
                params![at.to_rfc3339(), selection, actions as i64],
            )
            .map_err(|e| self.database(e))?;
        let run = self.connection.last_insert_rowid();
        self.run = Some(run);
        Ok(run)
    }

    /// Appends one entry to the current run.
    pub fn record(
        &mut self,
        seq: usize,
        at: Timestamp,
        phase: Phase,
        action: &shed_core::plan::Action,
        message: Option<&str>,
    ) -> Result<(), JournalError> {
        let run = self
            .run
            .ok_or_else(|| JournalError::NoRun { path: self.path() })?;
        let references = json_list(&action.references);
        let digests = json_list(&action.expected_repo_digests);
        self.connection
            .execute(
                "INSERT INTO entries (run_id, seq, at, phase, kind, image_id, refs, repo_digests,
                                      message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    run,
                    seq as i64,
                    at.to_rfc3339(),
                    phase.as_str(),
                    action.kind.as_str(),
                    action.image_id.to_string(),
                    references,
                    digests,
                    message
                ],
            )
            .map_err(|e| self.database(e))?;
        Ok(())
    }

    /// Marks the current run finished and releases the apply lock.
    pub fn finish_run(&mut self, at: Timestamp) -> Result<(), JournalError> {
        let run = self
            .run
            .take()
            .ok_or_else(|| JournalError::NoRun { path: self.path() })?;
        self.connection
            .execute(
                "UPDATE runs SET finished_at = ?1 WHERE id = ?2",
                params![at.to_rfc3339(), run],
            )
            .map_err(|e| self.database(e))?;
        self.lock = None;
        Ok(())
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<Run>, JournalError> {
        let sql = "SELECT id, started_at, finished_at, selection, actions FROM runs ORDER BY id";
        let mut statement = self.connection.prepare(sql).map_err(|e| self.database(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(Run {
                    id: row.get(0)?,
                    started_at: time_column(row, 1)?,
                    finished_at: row
                        .get::<_, Option<String>>(2)?
                        .map(|text| parse_time(2, &text))
                        .transpose()?,
                    selection: row.get(3)?,
                    actions: row.get::<_, i64>(4)? as usize,
                })
            })
            .map_err(|e| self.database(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.database(e))
    }

    /// The entries of one run in plan order, each action's entries in the order they were
    /// written. (Independent actions run a few at a time, so entries of neighbouring actions
    /// interleave on disk.)
    pub fn entries(&self, run: i64) -> Result<Vec<Entry>, JournalError> {
        self.query_entries(
            &format!("{ENTRY_COLUMNS} WHERE run_id = ?1 ORDER BY seq, id"),
            params![run],
        )
    }

    /// The actions that were started and never finished, in every run: each one's `started`
    /// entry.
    pub fn interrupted(&self) -> Result<Vec<Entry>, JournalError> {
        let sql = format!(
            "{ENTRY_COLUMNS} WHERE phase = 'started' AND NOT EXISTS (
                 SELECT 1 FROM entries later
                 WHERE later.run_id = entries.run_id AND later.seq = entries.seq
                   AND later.phase != 'started')
             ORDER BY id"
        );
        self.query_entries(&sql, params![])
    }

    /// The last run, if any.
    pub fn last_run(&self) -> Result<Option<i64>, JournalError> {
        self.connection
            .query_row("SELECT max(id) FROM runs", [], |row| {
                row.get::<_, Option<i64>>(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.database(e))
    }

    fn query_entries(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Entry>, JournalError> {
        let mut statement = self.connection.prepare(sql).map_err(|e| self.database(e))?;
        let rows = statement
            .query_map(params, entry_from_row)
            .map_err(|e| self.database(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.database(e))
    }

    fn path(&self) -> PathBuf {
        self.state_dir.join(DATABASE_FILE)
    }

    fn database(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Database {
            path: self.path(),
            source,
        }
    }
}

const ENTRY_COLUMNS: &str =
    "SELECT run_id, seq, at, phase, kind, image_id, refs, repo_digests, message FROM entries";

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let phase: String = row.get(3)?;
    Ok(Entry {
        run: row.get(0)?,
        seq: row.get::<_, i64>(1)? as usize,
        at: time_column(row, 2)?,
        phase: Phase::parse(&phase).ok_or_else(|| conversion(3, format!("phase {phase:?}")))?,
        kind: row.get(4)?,
        image_id: row.get(5)?,
        references: list_column(row, 6)?,
        repo_digests: list_column(row, 7)?,
        message: row.get(8)?,
    })
}

fn json_list(items: &[String]) -> String {
    // A list of strings always serializes.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn list_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| conversion(index, e.to_string()))
}

fn time_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    parse_time(index, &row.get::<_, String>(index)?)
}

fn parse_time(index: usize, text: &str) -> rusqlite::Result<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.to_utc())
        .map_err(|e| conversion(index, e.to_string()))
}

fn conversion(index: usize, detail: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, detail.into())
}

#[cfg(test)]
mod tests {
    use shed_core::ids::ImageId;
    use shed_core::plan::{Action, ActionKind};

    use super::*;

    fn action(n: u8) -> Action {
        Action {
            kind: ActionKind::Delete,
            image_id: ImageId::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap(),
            references: vec![format!("app:{n}")],
            expected_tags: vec![format!("app:{n}")],
            expected_repo_digests: vec![format!("app@sha256:{}", "d".repeat(64))],
            parent: None,
            created: time(0),
            size: 10,
            bytes: 10,
            reasons: Vec::new(),
        }
    }

    fn time(seconds: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn entries_are_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        let run = journal.begin_run(time(0), "dangling images", 1).unwrap();
        journal
            .record(0, time(1), Phase::Started, &action(1), None)
            .unwrap();
        journal
            .record(0, time(2), Phase::Skipped, &action(1), Some("conflict"))
            .unwrap();
        journal.finish_run(time(3)).unwrap();

        let entries = journal.entries(run).unwrap();
        let phases: Vec<Phase> = entries.iter().map(|e| e.phase).collect();
        assert_eq!(phases, [Phase::Started, Phase::Skipped]);
        assert_eq!(entries[1].message.as_deref(), Some("conflict"));
        assert_eq!(entries[0].references, ["app:1"]);
        assert_eq!(
            entries[0].repo_digests,
            [format!("app@sha256:{}", "d".repeat(64))]
        );
        let runs = journal.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].finished_at, runs[0].actions), (Some(time(3)), 1));
        assert!(journal.interrupted().unwrap().is_empty());
    }

    #[test]
    fn started_actions_without_an_end_are_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.begin_run(time(0), "all", 2).unwrap();
            journal
                .record(0, time(1), Phase::Started, &action(1), None)
                .unwrap();
            journal
                .record(0, time(2), Phase::Done, &action(1), None)
                .unwrap();
            journal
                .record(1, time(3), Phase::Started, &action(2), None)
                .unwrap();
            // Dropped here, as if the process died mid-action.
        }
        let journal = Journal::open(dir.path()).unwrap();
        let interrupted = journal.interrupted().unwrap();
        assert_eq!(interrupted.len(), 1);
        assert_eq!(
            (interrupted[0].seq, interrupted[0].image_id.as_str()),
            (1, action(2).image_id.to_string().as_str())
        );
    }

    #[test]
    fn a_second_apply_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Journal::open(dir.path()).unwrap();
        let mut second = Journal::open(dir.path()).unwrap();
        first.begin_run(time(0), "all", 0).unwrap();

        let error = second.begin_run(time(1), "all", 0).unwrap_err();
        let expected = format!(
            "another shed apply is running: {} is locked",
            dir.path().join(LOCK_FILE).display()
        );
        assert_eq!(error.to_string(), expected);

        first.finish_run(time(2)).unwrap();
        second.begin_run(time(3), "all", 0).unwrap();
    }
}
