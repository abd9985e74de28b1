//! Hand-picked hostile bodies on every operation.

use super::*;

/// Bodies no model shape produces: the protocol answers each with an AWS error, on every
/// operation.
#[test]
fn hostile_bodies_on_every_operation() {
    let rt = runtime();
    let server = rt.block_on(common::start_with(manual_config()));
    let wire = wire(&server.url);
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"[]".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"\"string\"".to_vec(),
        b"{".to_vec(),
        b"{}}".to_vec(),
        b"\xff\xfe\x00{}".to_vec(),
        b"{\"name\": \"\xff\"}".to_vec(),
        b"{\"name\": 1e400}".to_vec(),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        deep_object.into_bytes(),
        format!("{{\"name\": \"{}\"}}", "x".repeat(1 << 20)).into_bytes(),
        format!(
            "{{{}}}",
            (0..20_000)
                .map(|i| format!("\"k{i}\": {i}"))
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_bytes(),
    ];
    rt.block_on(async {
        for op in Operation::ALL {
            for body in &bodies {
                let answer = wire.send(op.name(), body.clone()).await.unwrap();
                let code = check_answer(op, &answer)
                    .unwrap_or_else(|e| panic!("{e}\nbody: {}", excerpt(body)));
                // Nothing here is a valid request, except objects whose members are all unknown
                // (ignored, as AWS does) for an operation without required members.
                if code.is_none() {
                    let parsed: Result<Value, _> = serde_json::from_slice(body);
                    assert!(
                        parsed.is_ok_and(|v| v.is_object()),
                        "{}: accepted {}",
                        op.name(),
                        excerpt(body)
                    );
                }
            }
        }
    });
    rt.block_on(server.server.shutdown()).unwrap();
}
