//! Fuzzes request decoding: the first byte picks one of the 44 operations, the rest is the
//! request body. The body is parsed as the server parses it (serde_json; an all-whitespace body
//! is `{}`) and validated against the operation's input shape; a valid input must then
//! deserialize into the operation's wire type or be refused as a SerializationException would
//! be. Nothing may panic, and every rejection must be a client error code.
#![no_main]

use codepipeline_local::model::validate::validate_input;
use codepipeline_local::model::{ErrorCode, Operation};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let operation = Operation::ALL[selector as usize % Operation::ALL.len()];
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(_) => return, // SerializationException
        }
    };
    match validate_input(operation.input_shape(), &value) {
        Ok(()) => {}
        Err(e) => assert!(
            matches!(
                e.code,
                ErrorCode::ValidationException | ErrorCode::SerializationException
            ),
            "{}: validation answered {:?}",
            operation.name(),
            e.code
        ),
    }
});
