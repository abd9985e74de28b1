//! Optional persistence (`--data-dir`): state in an embedded SQLite database
//! (`DATA_DIR/codepipeline-local.sqlite3`, WAL journal; tables in `schema`):
//! - `pipelines`: a pipeline's metadata, tags and runtime bookkeeping as JSON (one row per
//!   pipeline, keyed by its row id, `PipelineRecord::row`);
//! - `pipeline_versions`: one row per version of its declaration (JSON);
//! - `executions`: one row per pipeline execution, with its action and rule executions,
//!   compressed (`stored`; JSON text in databases written before);
//! - `dictionaries`: the compression dictionaries of those rows;
//! - `items`: custom action types, webhooks and jobs of a region (JSON).
//!
//! Only what changed is written (`Dirty`): `Persistence::collect` serializes a region's changed
//! records under its lock (executions are compressed after it), `Persistence::write` writes the changes of every region collected
//! together in one transaction (group commit, driven by `store::committer`). SQLite's WAL with
//! `synchronous=FULL` (the default, `--data-dir-full-sync`) makes a committed transaction
//! survive a power loss, at one fsync per group; `--data-dir-full-sync=false`
//! (`synchronous=NORMAL`) survives the process being killed (`kill -9`), not a power loss.
//!
//! The database is opened in `locking_mode=EXCLUSIVE` (this process alone uses it, see `lock`):
//! the WAL index then lives in heap memory, not in a memory-mapped `-shm` file, so a data
//! directory that vanishes or turns read-only makes writes fail instead of killing the process
//! with SIGBUS. Before each commit the database file is checked to still be the one opened: a
//! deleted or moved data directory refuses writes rather than acknowledging writes to a file
//! that no longer has a name.

use super::RegionState;
use crate::model::{Tag, Timestamp};
use crate::protocol::Scope;
use crate::store::ids::RecordId;
use crate::store::runtime::{
    ActionExecutionRecord, ActionRevisionRecord, PipelineExecutionRecord, RuleExecutionRecord,
    StageTransitions,
};
use parking_lot::Mutex;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

mod changes;
mod load;
mod schema;
mod stored;
#[cfg(test)]
mod tests;

pub use changes::Changes;
use changes::Op;
pub use load::rebuild_indexes;

pub const DATABASE_FILE: &str = "codepipeline-local.sqlite3";

const ACTION_TYPE: &str = "action_type";
const RETIRED_ACTION_TYPE: &str = "retired_action_type";
const WEBHOOK: &str = "webhook";
const JOB: &str = "job";
const JOB_BOARD: &str = "job_board";

/// The database, shared by every region.
pub struct Persistence {
    /// `None` once closed (at shutdown).
    connection: Mutex<Option<Connection>>,
    path: PathBuf,
    /// The database file as opened (device, inode).
    identity: Option<(u64, u64)>,
    lock: Mutex<Option<super::lock::DataDirLock>>,
    /// The row id the next pipeline written gets (`PipelineRecord::row`).
    next_row: AtomicI64,
}

/// A pipeline's row: everything but its versions and executions.
#[derive(Serialize, Deserialize)]
struct PipelineRow {
    arn: String,
    created: Timestamp,
    updated: Timestamp,
    tags: Vec<Tag>,
    next_sequence: u64,
    next_action_sequence: u64,
    next_rule_sequence: u64,
    stage_latest: HashMap<String, RecordId>,
    action_latest: HashMap<String, u64>,
    current_revisions: HashMap<String, ActionRevisionRecord>,
    transitions: HashMap<String, StageTransitions>,
    client_tokens: HashMap<String, String>,
}

/// An execution's row, with the action and rule executions it made.
#[derive(Serialize, Deserialize)]
struct ExecutionRow {
    execution: PipelineExecutionRecord,
    actions: Vec<ActionExecutionRecord>,
    rules: Vec<RuleExecutionRecord>,
}

#[derive(Serialize, Deserialize)]
struct JobBoardRow {
    next_sequence: u64,
}

type Fallible<T> = Result<T, String>;

fn sql(e: rusqlite::Error) -> String {
    format!("database error: {e}")
}

fn json(e: serde_json::Error) -> String {
    format!("encoding error: {e}")
}

/// The error of a database whose rows do not fit together.
fn inconsistent(path: &Path, what: &str) -> String {
    format!(
        "the database {} is inconsistent: {what}. Restore a backup, or remove the row(s) with the sqlite3 tool",
        path.display()
    )
}

impl Persistence {
    /// Opens (or creates) the database in `dir`, taking the directory's lock in the name of
    /// `holder`. `full_sync` makes every commit fsync; `max_bytes` caps the database's size.
    pub fn open(
        dir: &Path,
        full_sync: bool,
        max_bytes: Option<u64>,
        holder: &str,
    ) -> Fallible<Persistence> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
        let lock = super::lock::DataDirLock::acquire(dir, holder)?;
        let path = dir.join(DATABASE_FILE);
        let mut connection = Connection::open(&path).map_err(sql)?;
        // Before the first access, so that WAL never maps a -shm file (see the module doc).
        connection
            .pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sql)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        connection
            .pragma_update(
                None,
                "synchronous",
                if full_sync { "FULL" } else { "NORMAL" },
            )
            .map_err(sql)?;
        // Group commits write a few MB per second: a larger page cache, and checkpoints (which
        // copy the WAL into the database and fsync) every 32 MB of WAL instead of every 4 MB.
        connection
            .pragma_update(None, "cache_size", -32768)
            .map_err(sql)?;
        connection
            .pragma_update(None, "wal_autocheckpoint", 8192)
            .map_err(sql)?;
        if let Some(max_bytes) = max_bytes {
            let page_size: i64 = connection
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(sql)?;
            let pages = (max_bytes / page_size.max(1) as u64).max(1);
            connection
                .pragma_update(None, "max_page_count", pages as i64)
                .map_err(sql)?;
        }
        schema::create(&mut connection, |what| inconsistent(&path, &what))?;
        let (id, dictionary) = stored::current_dictionary();
        connection
            .execute(
                "INSERT OR IGNORE INTO dictionaries (id, data) VALUES (?1, ?2)",
                params![id, dictionary],
            )
            .map_err(sql)?;
        let last_row: i64 = connection
            .query_row("SELECT coalesce(max(id), 0) FROM pipelines", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        Ok(Persistence {
            next_row: AtomicI64::new(last_row + 1),
            connection: Mutex::new(Some(connection)),
            identity: file_identity(&path),
            path,
            lock: Mutex::new(Some(lock)),
        })
    }

    /// Closes the database and releases the data directory's lock; later writes fail.
    pub fn close(&self) {
        if let Some(connection) = self.connection.lock().take() {
            if let Err((_, e)) = connection.close() {
                tracing::error!("closing the database: {e}");
            }
        }
        self.lock.lock().take();
    }

    /// Fails unless the database file at its path is still the one opened.
    fn check_file(&self) -> Fallible<()> {
        let Some(opened) = self.identity else {
            return Ok(());
        };
        match file_identity(&self.path) {
            Some(now) if now == opened => Ok(()),
            _ => Err(format!(
                "the database file {} was deleted or replaced (data directory removed or moved?): writes are refused",
                self.path.display()
            )),
        }
    }

    /// Serializes what changed in a region and clears its change marks (under its lock);
    /// pipelines written for the first time get their row ids.
    pub fn collect(&self, scope: &Scope, state: &mut RegionState) -> Fallible<Changes> {
        changes::collect(scope, state, &|| {
            self.next_row.fetch_add(1, Ordering::Relaxed)
        })
    }

    /// Reads one region's committed state back (empty when it has no rows).
    pub fn load_region(&self, scope: &Scope) -> Fallible<RegionState> {
        Ok(self
            .load(Some(scope))?
            .into_iter()
            .find(|(s, _)| s == scope)
            .map(|(_, state)| state)
            .unwrap_or_default())
    }

    /// Writes the changes of one or more regions in one transaction: all of them or none.
    pub fn write(&self, batch: &[&Changes]) -> Fallible<()> {
        self.check_file()?;
        let mut connection = self.connection.lock();
        let connection = connection
            .as_mut()
            .ok_or_else(|| "the database is closed (the server is shutting down)".to_string())?;
        let tx = connection.transaction().map_err(sql)?;
        for changes in batch {
            write_changes(&tx, changes)?;
        }
        tx.commit().map_err(sql)
    }
}

/// Runs one statement (cached: the same few run for every commit).
fn run(tx: &rusqlite::Transaction, statement: &str, params: impl rusqlite::Params) -> Fallible<()> {
    tx.prepare_cached(statement)
        .and_then(|mut s| s.execute(params))
        .map_err(sql)?;
    Ok(())
}

fn write_changes(tx: &rusqlite::Transaction, changes: &Changes) -> Fallible<()> {
    let (account, region) = (
        changes.scope.account.as_str(),
        changes.scope.region.as_str(),
    );
    for op in &changes.ops {
        match op {
            Op::ClearRegion => {
                for table in ["executions", "pipeline_versions"] {
                    run(
                        tx,
                        &format!("DELETE FROM {table} WHERE pipeline IN (SELECT id FROM pipelines WHERE account = ?1 AND region = ?2)"),
                        params![account, region],
                    )?;
                }
                for table in ["pipelines", "items"] {
                    run(
                        tx,
                        &format!("DELETE FROM {table} WHERE account = ?1 AND region = ?2"),
                        params![account, region],
                    )?;
                }
            }
            Op::DeletePipeline { row } => {
                for statement in [
                    "DELETE FROM executions WHERE pipeline = ?1",
                    "DELETE FROM pipeline_versions WHERE pipeline = ?1",
                    "DELETE FROM pipelines WHERE id = ?1",
                ] {
                    run(tx, statement, params![row])?;
                }
            }
            Op::Version { row, version, data } => run(
                tx,
                "INSERT OR REPLACE INTO pipeline_versions (pipeline, version, data) VALUES (?1, ?2, ?3)",
                params![row, version, data],
            )?,
            Op::Pipeline { row, name, data } => run(
                tx,
                "INSERT OR REPLACE INTO pipelines (id, account, region, name, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row, account, region, name, data],
            )?,
            Op::DeleteExecution { row, seq } => run(
                tx,
                "DELETE FROM executions WHERE pipeline = ?1 AND seq = ?2",
                params![row, seq],
            )?,
            Op::Execution {
                row,
                seq,
                declared,
                records,
            } => {
                let declared = match declared {
                    stored::Declared::Version(v) => stored::Declared::Version(*v),
                    stored::Declared::Own(d) => stored::Declared::Own(&**d),
                };
                let data = stored::encode(
                    stored::current_dictionary().0,
                    declared,
                    &records.compressed()?,
                )?;
                run(
                    tx,
                    "INSERT OR REPLACE INTO executions (pipeline, seq, data) VALUES (?1, ?2, ?3)",
                    params![row, seq, data],
                )?
            }
            Op::Item { kind, key, data } => run(
                tx,
                "INSERT OR REPLACE INTO items (account, region, kind, key, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account, region, kind, key, data],
            )?,
            Op::DeleteItem { kind, key } => run(
                tx,
                "DELETE FROM items WHERE account = ?1 AND region = ?2 AND kind = ?3 AND key = ?4",
                params![account, region, kind, key],
            )?,
        }
    }
    Ok(())
}

/// The (device, inode) of a file, where the OS has them.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
