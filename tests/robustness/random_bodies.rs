//! Every operation against random and mutated bodies built from its model.

use super::*;

fn is_read_only(op: Operation) -> bool {
    let name = op.name();
    name.starts_with("Get") || name.starts_with("List")
}

/// Every operation, random and mutated bodies: protocol-correct answers, no 5xx, no hang, and
/// no state change from a rejected request.
#[test]
fn every_operation_survives_random_and_mutated_bodies() {
    let rt = runtime();
    let mut config = manual_config();
    config.max_pipelines = 10_000;
    let server = rt.block_on(common::start_with(config));
    let wire = wire(&server.url);
    let outcomes: RefCell<BTreeMap<String, usize>> = RefCell::default();
    for (i, op) in Operation::ALL.iter().copied().enumerate() {
        rt.block_on(seed(&wire));
        let baseline = RefCell::new(rt.block_on(snapshot(&wire)));
        let strategy = body_for(op);
        let mut runner = runner(i as u8);
        let result = runner.run(&strategy, |(body, description)| {
            let answer = rt
                .block_on(wire.send(op.name(), body.clone()))
                .map_err(|e| TestCaseError::fail(format!("{e}\n{description}\nbody: {}", excerpt(&body))))?;
            let code = check_answer(op, &answer).map_err(|e| {
                TestCaseError::fail(format!("{e}\n{description}\nbody: {}", excerpt(&body)))
            })?;
            *outcomes
                .borrow_mut()
                .entry(code.clone().unwrap_or_else(|| "200".into()))
                .or_default() += 1;
            if is_read_only(op) {
                return Ok(());
            }
            let after = rt.block_on(snapshot(&wire));
            if code.is_some() {
                if let Some(diff) = first_difference(&baseline.borrow(), &after) {
                    return Err(TestCaseError::fail(format!(
                        "{}: a rejected request ({code:?}) changed state: {diff}\n{description}\nbody: {}",
                        op.name(),
                        excerpt(&body)
                    )));
                }
            } else {
                // An accepted change: the new state is the baseline from here on.
                *baseline.borrow_mut() = after;
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{}: {e}", op.name());
        }
    }
    let outcomes = outcomes.into_inner();
    eprintln!("outcomes: {outcomes:?}");
    // The generator reaches past validation: some requests succeed, some hit the handlers.
    assert!(
        outcomes.get("200").copied().unwrap_or(0) > 20,
        "{outcomes:?}"
    );
    assert!(outcomes.get("SerializationException").copied().unwrap_or(0) > 20);
    assert!(outcomes.get("ValidationException").copied().unwrap_or(0) > 20);
    rt.block_on(server.server.shutdown()).unwrap();
}
