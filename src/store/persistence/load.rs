//! Reading the database back: every region at start, one region after a failed commit.

use super::stored::{self, Declared};
use super::{
    json, sql, ExecutionRow, Fallible, JobBoardRow, Persistence, PipelineRow, ACTION_TYPE, JOB,
    JOB_BOARD, RETIRED_ACTION_TYPE, WEBHOOK,
};
use crate::jobs::JobRecord;
use crate::model::PipelineDeclaration;
use crate::protocol::Scope;
use crate::store::runtime::PipelineRuntime;
use crate::store::{PipelineRecord, RegionState};
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

impl Persistence {
    /// Reads every region's state back, or one region's. Rows that do not fit together (a
    /// pipeline without versions, versions or executions without their pipeline, an unknown
    /// item kind) fail the load: nothing acknowledged is dropped silently.
    pub fn load(&self, only: Option<&Scope>) -> Fallible<Vec<(Scope, RegionState)>> {
        let connection = self.connection.lock();
        let connection = connection
            .as_ref()
            .ok_or_else(|| "the database is closed".to_string())?;
        let mut regions: BTreeMap<Scope, RegionState> = BTreeMap::new();
        let scope = |account: String, region: String| Scope { account, region };
        let inconsistent = |what: String| super::inconsistent(&self.path, &what);

        let mut versions: HashMap<i64, Vec<Arc<PipelineDeclaration>>> = HashMap::new();
        for (pipeline, data) in rows(
            connection,
            &format!("SELECT pipeline, data FROM pipeline_versions {OF_SCOPE} ORDER BY pipeline, version"),
            only,
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )? {
            let declaration: PipelineDeclaration = serde_json::from_str(&data).map_err(json)?;
            versions
                .entry(pipeline)
                .or_default()
                .push(Arc::new(declaration));
        }

        // Each pipeline's region and name, by row id.
        let mut pipelines: HashMap<i64, (Scope, String)> = HashMap::new();
        for (id, account, region, name, data) in rows(
            connection,
            "SELECT id, account, region, name, data FROM pipelines \
             WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR region = ?2)",
            only,
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )? {
            let row: PipelineRow = serde_json::from_str(&data).map_err(json)?;
            let scope = scope(account, region);
            let versions = versions.remove(&id).unwrap_or_default();
            let runtime = PipelineRuntime {
                next_sequence: row.next_sequence,
                next_action_sequence: row.next_action_sequence,
                next_rule_sequence: row.next_rule_sequence,
                stage_latest: row.stage_latest.into_iter().collect(),
                action_latest: row.action_latest.into_iter().collect(),
                current_revisions: row.current_revisions.into_iter().collect(),
                transitions: row.transitions.into_iter().collect(),
                client_tokens: row.client_tokens.into_iter().collect(),
                ..PipelineRuntime::default()
            };
            let mut record = PipelineRecord::from_versions(
                row.arn,
                versions,
                row.created,
                row.updated,
                row.tags,
                runtime,
            )
            .ok_or_else(|| {
                inconsistent(format!(
                    "pipeline '{name}' of account {} in {} has no version rows",
                    scope.account, scope.region
                ))
            })?;
            record.row = id;
            pipelines.insert(id, (scope.clone(), name.clone()));
            regions
                .entry(scope)
                .or_default()
                .pipelines
                .insert(name, Box::new(record));
        }
        if let Some(id) = versions.into_keys().next() {
            return Err(inconsistent(format!(
                "versions of the pipeline of row {id} have no pipeline row"
            )));
        }

        let dictionaries = dictionaries(connection)?;
        // Older versions named by execution rows, decoded once each.
        let mut older: HashMap<(i64, i64), Arc<PipelineDeclaration>> = HashMap::new();
        for (row, seq, data) in rows(
            connection,
            &format!(
                "SELECT pipeline, seq, data FROM executions {OF_SCOPE} ORDER BY pipeline, seq"
            ),
            only,
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Value>(2)?,
                ))
            },
        )? {
            let Some((scope, pipeline)) = pipelines.get(&row) else {
                return Err(inconsistent(format!(
                    "execution {seq} of the pipeline of row {row} has no pipeline row"
                )));
            };
            let Some(record) = regions
                .get_mut(scope)
                .and_then(|r| r.pipelines.get_mut(pipeline))
            else {
                return Err(inconsistent(format!(
                    "the pipeline of row {row} is not loaded"
                )));
            };
            let (execution, actions, rules) = match data {
                Value::Text(text) => {
                    let row: ExecutionRow = serde_json::from_str(&text).map_err(json)?;
                    (row.execution, row.actions, row.rules)
                }
                Value::Blob(bytes) => {
                    let unreadable = |e: String| {
                        inconsistent(format!(
                            "execution {seq} of pipeline '{pipeline}' of account {} in {} cannot be read ({e})",
                            scope.account, scope.region
                        ))
                    };
                    let (mut group, declared) =
                        stored::decode(&bytes, &dictionaries).map_err(unreadable)?;
                    group.execution.declaration = match declared {
                        Declared::Own(declaration) => Arc::new(declaration),
                        Declared::Version(v) if v == record.version() => record.current().clone(),
                        Declared::Version(v) => {
                            let key = (row, v);
                            match older.get(&key) {
                                Some(declaration) => declaration.clone(),
                                None => {
                                    let declaration = record.at_version(v).ok_or_else(|| {
                                        unreadable(format!("it ran version {v}, which has no row"))
                                    })?;
                                    older.insert(key, declaration.clone());
                                    declaration
                                }
                            }
                        }
                    };
                    (group.execution, group.actions, group.rules)
                }
                _ => {
                    return Err(inconsistent(format!(
                        "execution {seq} of pipeline '{pipeline}' of account {} in {} is neither text nor a blob",
                        scope.account, scope.region
                    )))
                }
            };
            let runtime = &mut record.runtime;
            for action in actions {
                runtime
                    .action_execution_ids
                    .insert(&action.id, action.sequence);
                runtime
                    .action_executions
                    .insert(action.sequence, Arc::new(action));
            }
            for rule in rules {
                runtime
                    .rule_executions
                    .insert(rule.sequence, Arc::new(rule));
            }
            runtime
                .execution_ids
                .insert(&execution.id, execution.sequence);
            runtime
                .executions
                .insert(execution.sequence, Arc::new(execution));
        }

        for [account, region, kind, key, data] in select(
            connection,
            "SELECT account, region, kind, key, data FROM items",
            only,
        )? {
            let state = regions.entry(scope(account, region)).or_default();
            match kind.as_str() {
                ACTION_TYPE => {
                    state
                        .action_types
                        .insert(key, serde_json::from_str(&data).map_err(json)?);
                }
                RETIRED_ACTION_TYPE => {
                    state.retired_action_types.insert(key);
                }
                WEBHOOK => {
                    state
                        .webhooks
                        .insert(key, serde_json::from_str(&data).map_err(json)?);
                }
                JOB => {
                    let job: JobRecord = serde_json::from_str(&data).map_err(json)?;
                    state.jobs.jobs.insert(key, job);
                }
                JOB_BOARD => {
                    let board: JobBoardRow = serde_json::from_str(&data).map_err(json)?;
                    state.jobs.next_sequence = board.next_sequence;
                }
                other => {
                    return Err(inconsistent(format!(
                        "item '{key}' has an unknown kind '{other}'"
                    )))
                }
            }
        }
        for state in regions.values_mut() {
            rebuild_indexes(state);
        }
        Ok(regions.into_iter().collect())
    }
}

/// The rows of a `SELECT` of N text columns from `items`, all or one scope's (`only`).
fn select<const N: usize>(
    connection: &Connection,
    query: &str,
    only: Option<&Scope>,
) -> Fallible<Vec<[String; N]>> {
    let query =
        format!("{query} WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR region = ?2)");
    rows(connection, &query, only, |r| {
        let mut row: [String; N] = std::array::from_fn(|_| String::new());
        for (i, column) in row.iter_mut().enumerate() {
            *column = r.get(i)?;
        }
        Ok(row)
    })
}

/// Rows of a table keyed by pipeline row id whose pipeline is in the scope `only` (all when
/// `None`).
const OF_SCOPE: &str = "WHERE ?1 IS NULL OR pipeline IN \
    (SELECT id FROM pipelines WHERE account = ?1 AND region = ?2)";

/// The rows of `query`, whose parameters ?1 and ?2 are the account and region of `only`.
fn rows<T>(
    connection: &Connection,
    query: &str,
    only: Option<&Scope>,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Fallible<Vec<T>> {
    let mut statement = connection.prepare(query).map_err(sql)?;
    let rows = statement
        .query_map(
            params![only.map(|s| &s.account), only.map(|s| &s.region)],
            row,
        )
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

/// The compression dictionaries of execution rows, by id.
fn dictionaries(connection: &Connection) -> Fallible<HashMap<i64, Vec<u8>>> {
    let mut statement = connection
        .prepare("SELECT id, data FROM dictionaries")
        .map_err(sql)?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

/// Rebuilds what a region's state derives from its records (the active executions, the job
/// queue), after a load or an import; finished executions are packed.
pub fn rebuild_indexes(state: &mut RegionState) {
    for record in state.pipelines.values_mut() {
        record.runtime.rebuild_active();
        record.share_declarations();
        record.runtime.pack_all_finished();
    }
    let mut jobs: Vec<&JobRecord> = state.jobs.jobs.values().collect();
    jobs.sort_by_key(|j| j.sequence);
    state.jobs.finished.clear();
    state.jobs.queued = crate::jobs::JobQueues::default();
    for job in jobs {
        if job.is_finished() {
            state.jobs.finished.push_back(job.id.clone());
        } else if job.status == crate::model::JobStatus::Queued {
            state.jobs.queued.insert(job);
        }
    }
}
