//! Optional persistence (`--data-dir`): state in an embedded SQLite database
//! (`DATA_DIR/codepipeline-local.sqlite3`, WAL journal). Rows hold JSON documents:
//! - `pipelines`: a pipeline's metadata, tags and runtime bookkeeping (one row per pipeline);
//! - `pipeline_versions`: one row per version of its declaration;
//! - `executions`: one row per pipeline execution, with its action and rule executions;
//! - `items`: custom action types, webhooks and jobs of a region.
//!
//! Only what changed is written (`Dirty`), in one transaction, when the region's lock is
//! released. SQLite's WAL with `synchronous=NORMAL` makes a committed transaction survive the
//! process being killed (`kill -9`); `--data-dir-sync full` also survives power loss.
//!
//! The database is opened in `locking_mode=EXCLUSIVE` (this process alone uses it, see `lock`):
//! the WAL index then lives in heap memory, not in a memory-mapped `-shm` file, so a data
//! directory that vanishes or turns read-only makes writes fail instead of killing the process
//! with SIGBUS. Before each commit the database file is checked to still be the one opened: a
//! deleted or moved data directory refuses writes rather than acknowledging writes to a file
//! that no longer has a name.

use super::{Dirty, PipelineRecord, RegionState};
use crate::model::{PipelineDeclaration, Tag, Timestamp};
use crate::protocol::Scope;
use crate::store::runtime::{
    ActionExecutionRecord, ActionRevisionRecord, PipelineExecutionRecord, RuleExecutionRecord,
    StageTransitions,
};
use parking_lot::Mutex;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod load;

pub use load::rebuild_indexes;

pub const DATABASE_FILE: &str = "codepipeline-local.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pipelines (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (account, region, name));
CREATE TABLE IF NOT EXISTS pipeline_versions (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (account, region, name, version));
CREATE TABLE IF NOT EXISTS executions (
    account TEXT NOT NULL, region TEXT NOT NULL, pipeline TEXT NOT NULL, seq INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (account, region, pipeline, seq));
CREATE TABLE IF NOT EXISTS items (
    account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (account, region, kind, key));
";

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
    stage_latest: HashMap<String, String>,
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
        let connection = Connection::open(&path).map_err(sql)?;
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
        if let Some(max_bytes) = max_bytes {
            let page_size: i64 = connection
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(sql)?;
            let pages = (max_bytes / page_size.max(1) as u64).max(1);
            connection
                .pragma_update(None, "max_page_count", pages as i64)
                .map_err(sql)?;
        }
        connection.execute_batch(SCHEMA).map_err(sql)?;
        Ok(Persistence {
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

    /// Reads one region's committed state back (empty when it has no rows).
    pub fn load_region(&self, scope: &Scope) -> Fallible<RegionState> {
        Ok(self
            .load(Some(scope))?
            .into_iter()
            .find(|(s, _)| s == scope)
            .map(|(_, state)| state)
            .unwrap_or_default())
    }

    /// Writes what changed in a region (and clears the change marks).
    pub fn flush(&self, scope: &Scope, state: &mut RegionState) -> Fallible<()> {
        let mut dirty = std::mem::take(&mut state.dirty);
        let mut dirty_jobs = std::mem::take(&mut state.jobs.dirty);
        self.check_file()?;
        let mut connection = self.connection.lock();
        let connection = connection
            .as_mut()
            .ok_or_else(|| "the database is closed (the server is shutting down)".to_string())?;
        let tx = connection.transaction().map_err(sql)?;
        let (account, region) = (scope.account.as_str(), scope.region.as_str());
        if dirty.all {
            for table in ["pipelines", "pipeline_versions", "executions", "items"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE account = ?1 AND region = ?2"),
                    params![account, region],
                )
                .map_err(sql)?;
            }
            dirty = Dirty {
                pipelines: state.pipelines.keys().cloned().collect(),
                action_types: state.action_types.keys().cloned().collect(),
                webhooks: state.webhooks.keys().cloned().collect(),
                ..Dirty::default()
            };
            for (name, record) in state.pipelines.iter_mut() {
                record.runtime.touched = record.runtime.executions.keys().copied().collect();
                for (i, version) in record.versions().enumerate() {
                    write_version(&tx, account, region, name, i as i64 + 1, version)?;
                }
            }
            for key in &state.retired_action_types {
                upsert_item(&tx, account, region, RETIRED_ACTION_TYPE, key, "{}")?;
            }
            dirty_jobs = state.jobs.jobs.keys().cloned().collect();
        }
        for name in &dirty.deleted_pipelines {
            for (table, column) in [
                ("pipelines", "name"),
                ("pipeline_versions", "name"),
                ("executions", "pipeline"),
            ] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE account = ?1 AND region = ?2 AND {column} = ?3"
                    ),
                    params![account, region, name],
                )
                .map_err(sql)?;
            }
        }
        for name in &dirty.versions {
            if let Some(record) = state.pipelines.get(name) {
                write_version(
                    &tx,
                    account,
                    region,
                    name,
                    record.version(),
                    record.current(),
                )?;
            }
        }
        for name in &dirty.pipelines {
            let Some(record) = state.pipelines.get_mut(name) else {
                continue;
            };
            write_pipeline(&tx, account, region, name, record)?;
        }
        for key in &dirty.action_types {
            match state.action_types.get(key) {
                Some(t) => upsert_item(
                    &tx,
                    account,
                    region,
                    ACTION_TYPE,
                    key,
                    &serde_json::to_string(t).map_err(json)?,
                )?,
                None => delete_item(&tx, account, region, ACTION_TYPE, key)?,
            }
            if state.retired_action_types.contains(key) {
                upsert_item(&tx, account, region, RETIRED_ACTION_TYPE, key, "{}")?;
            }
        }
        for key in &dirty.webhooks {
            match state.webhooks.get(key) {
                Some(w) => upsert_item(
                    &tx,
                    account,
                    region,
                    WEBHOOK,
                    key,
                    &serde_json::to_string(w).map_err(json)?,
                )?,
                None => delete_item(&tx, account, region, WEBHOOK, key)?,
            }
        }
        if !dirty_jobs.is_empty() {
            for id in &dirty_jobs {
                match state.jobs.jobs.get(id) {
                    Some(job) => upsert_item(
                        &tx,
                        account,
                        region,
                        JOB,
                        id,
                        &serde_json::to_string(job).map_err(json)?,
                    )?,
                    None => delete_item(&tx, account, region, JOB, id)?,
                }
            }
            let board = JobBoardRow {
                next_sequence: state.jobs.next_sequence,
            };
            upsert_item(
                &tx,
                account,
                region,
                JOB_BOARD,
                "",
                &serde_json::to_string(&board).map_err(json)?,
            )?;
        }
        tx.commit().map_err(sql)
    }
}

fn write_version(
    tx: &rusqlite::Transaction,
    account: &str,
    region: &str,
    name: &str,
    version: i64,
    declaration: &PipelineDeclaration,
) -> Fallible<()> {
    tx.execute(
        "INSERT OR REPLACE INTO pipeline_versions (account, region, name, version, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account, region, name, version, serde_json::to_string(declaration).map_err(json)?],
    )
    .map_err(sql)?;
    Ok(())
}

/// Writes a pipeline's row and the rows of its touched executions (dropping trimmed ones).
fn write_pipeline(
    tx: &rusqlite::Transaction,
    account: &str,
    region: &str,
    name: &str,
    record: &mut PipelineRecord,
) -> Fallible<()> {
    let runtime = &mut record.runtime;
    let row = PipelineRow {
        arn: record.arn.clone(),
        created: record.created,
        updated: record.updated,
        tags: record.tags.clone(),
        next_sequence: runtime.next_sequence,
        next_action_sequence: runtime.next_action_sequence,
        next_rule_sequence: runtime.next_rule_sequence,
        stage_latest: runtime
            .stage_latest
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        action_latest: runtime
            .action_latest
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        current_revisions: runtime
            .current_revisions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        transitions: runtime
            .transitions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        client_tokens: runtime.client_tokens.clone(),
    };
    tx.execute(
        "INSERT OR REPLACE INTO pipelines (account, region, name, data) VALUES (?1, ?2, ?3, ?4)",
        params![
            account,
            region,
            name,
            serde_json::to_string(&row).map_err(json)?
        ],
    )
    .map_err(sql)?;
    for seq in std::mem::take(&mut runtime.trimmed) {
        tx.execute(
            "DELETE FROM executions WHERE account = ?1 AND region = ?2 AND pipeline = ?3 AND seq = ?4",
            params![account, region, name, seq as i64],
        )
        .map_err(sql)?;
    }
    for seq in std::mem::take(&mut runtime.touched) {
        let Some(execution) = runtime.executions.get(&seq) else {
            continue;
        };
        let row = ExecutionRow {
            execution: (**execution).clone(),
            actions: execution
                .action_sequences
                .iter()
                .filter_map(|s| runtime.action_executions.get(s).map(|a| (**a).clone()))
                .collect(),
            rules: execution
                .rule_sequences
                .iter()
                .filter_map(|s| runtime.rule_executions.get(s).map(|r| (**r).clone()))
                .collect(),
        };
        tx.execute(
            "INSERT OR REPLACE INTO executions (account, region, pipeline, seq, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account, region, name, seq as i64, serde_json::to_string(&row).map_err(json)?],
        )
        .map_err(sql)?;
    }
    Ok(())
}

fn upsert_item(
    tx: &rusqlite::Transaction,
    account: &str,
    region: &str,
    kind: &str,
    key: &str,
    data: &str,
) -> Fallible<()> {
    tx.execute(
        "INSERT OR REPLACE INTO items (account, region, kind, key, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account, region, kind, key, data],
    )
    .map_err(sql)?;
    Ok(())
}

fn delete_item(
    tx: &rusqlite::Transaction,
    account: &str,
    region: &str,
    kind: &str,
    key: &str,
) -> Fallible<()> {
    tx.execute(
        "DELETE FROM items WHERE account = ?1 AND region = ?2 AND kind = ?3 AND key = ?4",
        params![account, region, kind, key],
    )
    .map_err(sql)?;
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
