//! Execution rows read back in every format a database may hold: compressed with this
//! process's dictionary, compressed with another (an earlier build's), and JSON text (databases
//! written before rows were compressed).

use super::stored::{self, Declared};
use super::{ExecutionRow, Persistence};
use crate::protocol::Scope;
use crate::store::packed::sample_runtime;
use crate::store::{PipelineRecord, RegionState};
use rusqlite::params;

fn scope() -> Scope {
    Scope {
        account: "123456789012".into(),
        region: "eu-west-1".into(),
    }
}

/// The sample execution with its action and rule executions, as a row holds them.
fn export(state: &RegionState) -> serde_json::Value {
    let group = state.pipelines["sample"]
        .runtime
        .group_at(1)
        .expect("the sample execution");
    assert_eq!((group.actions.len(), group.rules.len()), (2, 1));
    serde_json::to_value(ExecutionRow {
        execution: group.execution,
        actions: group.actions,
        rules: group.rules,
    })
    .expect("serializes")
}

fn sample_state() -> RegionState {
    let mut runtime = sample_runtime();
    let rules: Vec<u64> = runtime.rule_executions.keys().copied().collect();
    let execution = runtime
        .executions
        .values_mut()
        .next()
        .expect("one execution");
    std::sync::Arc::make_mut(execution).rule_sequences = rules;
    let declaration = runtime.executions.values().next().expect("one execution");
    let mut record = PipelineRecord::new(
        "arn:aws:codepipeline:eu-west-1:123456789012:sample".into(),
        (*declaration.declaration).clone(),
        Vec::new(),
    );
    *record.runtime = runtime;
    let mut state = RegionState::default();
    state.pipelines.insert("sample".into(), Box::new(record));
    state.dirty.all = true;
    state
}

/// Replaces the sample execution's row.
fn rewrite_row(persistence: &Persistence, data: rusqlite::types::Value) {
    let connection = persistence.connection.lock();
    let connection = connection.as_ref().expect("open");
    let updated = connection
        .execute("UPDATE executions SET data = ?1", params![data])
        .expect("update");
    assert_eq!(updated, 1);
}

#[test]
fn execution_rows_load_in_every_stored_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let persistence = Persistence::open(dir.path(), false, None, "test").expect("opens");
    let mut state = sample_state();
    let expected = export(&state);
    let group = state.pipelines["sample"]
        .runtime
        .group_at(1)
        .expect("the sample execution");
    let changes = persistence.collect(&scope(), &mut state).expect("collects");
    persistence.write(&[&changes]).expect("writes");
    assert_eq!(
        export(&persistence.load_region(&scope()).expect("loads")),
        expected,
        "compressed with this process's dictionary"
    );

    let row = ExecutionRow {
        execution: group.execution,
        actions: group.actions,
        rules: group.rules,
    };
    let json = serde_json::to_string(&row).expect("serializes");
    rewrite_row(&persistence, rusqlite::types::Value::Text(json));
    assert_eq!(
        export(&persistence.load_region(&scope()).expect("loads")),
        expected,
        "JSON text"
    );

    let other: &[u8] = b"another build's dictionary: Succeeded InProgress Failed actionName";
    let id = stored::dictionary_id(other);
    assert_ne!(id, stored::current_dictionary().0);
    let records = rmp_serde::encode::to_vec_named(&row).expect("encodes");
    let compressed = crate::store::codec::compress(&records, other).expect("compresses");
    let data = stored::encode(id, Declared::Own(&row.execution.declaration), &compressed)
        .expect("encodes");
    rewrite_row(&persistence, rusqlite::types::Value::Blob(data));
    let loaded = persistence.load_region(&scope());
    let error = loaded.err().expect("an unknown dictionary fails the load");
    assert!(error.contains("dictionary"), "{error}");
    {
        let connection = persistence.connection.lock();
        let connection = connection.as_ref().expect("open");
        connection
            .execute(
                "INSERT INTO dictionaries (id, data) VALUES (?1, ?2)",
                params![id, other],
            )
            .expect("insert");
    }
    assert_eq!(
        export(&persistence.load_region(&scope()).expect("loads")),
        expected,
        "compressed with another dictionary"
    );
}

#[test]
fn a_row_in_no_known_format_fails_the_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let persistence = Persistence::open(dir.path(), false, None, "test").expect("opens");
    let mut state = sample_state();
    let changes = persistence.collect(&scope(), &mut state).expect("collects");
    persistence.write(&[&changes]).expect("writes");
    for data in [vec![], vec![9; 40], vec![1; 21]] {
        rewrite_row(&persistence, rusqlite::types::Value::Blob(data));
        let error = persistence.load_region(&scope()).err().expect("fails");
        assert!(
            error.contains("execution 1 of pipeline 'sample'"),
            "{error}"
        );
    }
}
