//! The database's tables, and the move of a database written by an earlier build to them.
//!
//! A pipeline's rows are keyed by its row id (`PipelineRecord::row`), given in the order
//! pipelines are first written: the rows a commit adds go to the end of each table instead of
//! wherever the pipeline's name sorts, so a commit rewrites a few pages per table (measured
//! with 5 new pipelines per commit: 9.5 pages written against 21 with the name as key).
//! Earlier builds keyed the rows by account, region and pipeline name; such a database is
//! moved to these tables, in one transaction, when it is opened.

use super::{sql, Fallible};
use rusqlite::{Connection, OptionalExtension};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pipelines (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pipelines_by_region ON pipelines (account, region);
CREATE TABLE IF NOT EXISTS pipeline_versions (
    pipeline INTEGER NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (pipeline, version));
CREATE TABLE IF NOT EXISTS executions (
    pipeline INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (pipeline, seq));
CREATE TABLE IF NOT EXISTS items (
    account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (account, region, kind, key));
CREATE TABLE IF NOT EXISTS dictionaries (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
";

/// Moving rows keyed by name to rows keyed by pipeline row id (the legacy tables renamed
/// first, dropped last).
const MOVE: &str = "
INSERT INTO pipelines (account, region, name, data)
    SELECT account, region, name, data FROM legacy_pipelines ORDER BY account, region, name;
INSERT INTO pipeline_versions (pipeline, version, data)
    SELECT p.id, v.version, v.data FROM pipelines p JOIN legacy_pipeline_versions v
    ON v.account = p.account AND v.region = p.region AND v.name = p.name;
INSERT INTO executions (pipeline, seq, data)
    SELECT p.id, e.seq, e.data FROM pipelines p JOIN legacy_executions e
    ON e.account = p.account AND e.region = p.region AND e.pipeline = p.name;
DROP TABLE legacy_pipelines;
DROP TABLE legacy_pipeline_versions;
DROP TABLE legacy_executions;
";

/// Creates the tables, moving an earlier build's rows to them; `inconsistent` words the
/// error when rows of the earlier build do not fit together (nothing is moved then).
pub fn create(
    connection: &mut Connection,
    inconsistent: impl Fn(String) -> String,
) -> Fallible<()> {
    let legacy = connection
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pipelines' \
             AND sql NOT LIKE '%id INTEGER PRIMARY KEY%'",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(sql)?
        .is_some();
    let tx = connection.transaction().map_err(sql)?;
    if legacy {
        for table in ["pipelines", "pipeline_versions", "executions"] {
            tx.execute_batch(&format!("ALTER TABLE {table} RENAME TO legacy_{table}"))
                .map_err(sql)?;
        }
        // Rows without their pipeline's row would be left behind by the move.
        for (table, column, what) in [
            ("legacy_pipeline_versions", "name", "versions"),
            ("legacy_executions", "pipeline", "executions"),
        ] {
            let orphan: Option<(String, String, String)> = tx
                .query_row(
                    &format!(
                        "SELECT r.account, r.region, r.{column} FROM {table} r WHERE NOT EXISTS \
                         (SELECT 1 FROM legacy_pipelines p WHERE p.account = r.account \
                         AND p.region = r.region AND p.name = r.{column}) LIMIT 1"
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(sql)?;
            if let Some((account, region, name)) = orphan {
                return Err(inconsistent(format!(
                    "{what} of pipeline '{name}' of account {account} in {region} have no pipeline row"
                )));
            }
        }
    }
    tx.execute_batch(SCHEMA).map_err(sql)?;
    if legacy {
        tx.execute_batch(MOVE).map_err(sql)?;
    }
    tx.commit().map_err(sql)
}
