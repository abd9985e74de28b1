//! The zstd dictionary that packed executions (`store::packed`) are compressed against: a
//! dictionary trained (`zstd`'s dictionary builder) on finished executions' packed encodings —
//! variants of `packed_dictionary.json`, a 2-stage execution with an action and a rule, whose
//! unique values (ids, timestamps, revisions, artifact keys, names) differ from one sample to
//! the next. Besides the text that records share (field names, statuses, common values), a
//! trained dictionary carries entropy tables, which zstd reuses instead of building its own for
//! each blob: blobs are about a tenth smaller (444 against 497 bytes for `tests/memory.rs`'s
//! 2-stage execution), and zstd spends about a fifth fewer instructions on them, than against
//! the sample's bare text (the dictionary of earlier builds, which persistence still reads).
//!
//! `cargo test --lib store::dictionary -- --ignored` trains it again (after a change to the
//! records' fields) into `packed_dictionary.zdict`.

/// The dictionary's bytes.
pub fn dictionary() -> &'static [u8] {
    include_bytes!("packed_dictionary.zdict")
}

#[cfg(test)]
mod training {
    use crate::store::packed::{encode_group, Group};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::Value;

    const ZERO_ID: &str = "00000000-0000-0000-0000-000000000000";

    fn alphanumeric(rng: &mut StdRng, len: usize) -> String {
        (0..len)
            .map(|_| char::from(rng.sample(rand::distributions::Alphanumeric)))
            .collect()
    }

    fn hex(rng: &mut StdRng, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect()
    }

    fn uuid(rng: &mut StdRng) -> String {
        uuid::Builder::from_random_bytes(rng.gen())
            .into_uuid()
            .to_string()
    }

    /// What varies between two runs of the sample's pipeline.
    struct Run {
        pipeline: String,
        project: String,
        execution_id: String,
        version_id: String,
        etag: String,
        start: f64,
    }

    fn vary(value: &mut Value, key: &str, run: &Run, rng: &mut StdRng) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    vary(child, key, run, rng);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| vary(v, key, run, rng)),
            Value::Number(n) if n.as_u64() == Some(0) => {
                if matches!(
                    key,
                    "start_time" | "last_update_time" | "created" | "entered"
                ) {
                    let at = run.start + f64::from(rng.gen_range(0..2_000)) / 1000.0;
                    *value = serde_json::json!(at);
                }
            }
            Value::String(s) => {
                let varied = match (key, s.as_str()) {
                    ("pipeline_execution_id", _) => Some(run.execution_id.clone()),
                    ("id", ZERO_ID) | ("id", "") => Some(uuid(rng)),
                    ("name", "") => Some(run.pipeline.clone()),
                    ("roleArn", "") => Some(format!(
                        "arn:aws:iam::{}:role/{}-role",
                        rng.gen_range(100_000_000_000u64..999_999_999_999),
                        run.pipeline
                    )),
                    ("key", "/") => Some(format!(
                        "{}/{}/{}",
                        run.pipeline.chars().take(20).collect::<String>(),
                        ["SourceOutp", "BuildOutpu"][rng.gen_range(0..2)],
                        alphanumeric(rng, 7)
                    )),
                    ("revisionId" | "VersionId" | "revision", "") => Some(run.version_id.clone()),
                    ("revisionChangeIdentifier" | "ETag", "") => Some(run.etag.clone()),
                    ("revisionSummary" | "summary", "Amazon S3 version id: ") => {
                        Some(format!("Amazon S3 version id: {}", run.version_id))
                    }
                    ("external_execution_id", _) if s.contains(ZERO_ID) => {
                        Some(format!("{}:{}", run.project, uuid(rng)))
                    }
                    ("external_execution_url", _) if s.contains(ZERO_ID) => Some(format!(
                        "https://console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/{}:{}/view/new",
                        run.project,
                        uuid(rng)
                    )),
                    _ => None,
                };
                if let Some(varied) = varied {
                    *s = varied;
                }
            }
            _ => {}
        }
    }

    /// The packed encodings of `count` runs of the sample, from `seed`.
    pub(crate) fn samples(seed: u64, count: usize) -> Vec<Vec<u8>> {
        let sample: Value = serde_json::from_slice(include_bytes!("packed_dictionary.json"))
            .expect("the sample is JSON");
        let mut rng = StdRng::seed_from_u64(seed);
        (0..count)
            .map(|i| {
                let words = ["app", "service", "api", "web", "release", "deploy", "infra"];
                let pipeline = format!(
                    "{}-{}-{i}",
                    words[rng.gen_range(0..words.len())],
                    words[rng.gen_range(0..words.len())]
                );
                let run = Run {
                    project: format!("{pipeline}-build"),
                    pipeline,
                    execution_id: uuid(&mut rng),
                    version_id: alphanumeric(&mut rng, 32),
                    etag: hex(&mut rng, 32),
                    start: 1_765_000_000.0 + f64::from(rng.gen_range(0..30_000_000)),
                };
                let mut value = sample.clone();
                vary(&mut value, "", &run, &mut rng);
                let group: Group = serde_json::from_value(value).expect("a varied sample decodes");
                encode_group(&group).expect("a sample encodes")
            })
            .collect()
    }

    /// The dictionary's size: the sample's text with room for its variants, and the tables.
    const SIZE: usize = 8 * 1024;

    #[test]
    #[ignore = "writes src/store/packed_dictionary.zdict"]
    fn train() {
        let dictionary =
            zstd::dict::from_samples(&samples(1, 1_000), SIZE).expect("the samples train");
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/store/packed_dictionary.zdict"
        );
        std::fs::write(path, &dictionary).expect("the dictionary is written");
        println!("{} bytes written to {path}", dictionary.len());
    }

    #[test]
    fn the_dictionary_is_trained_and_fits_the_records() {
        let dictionary = super::dictionary();
        assert!(
            zstd::zstd_safe::get_dict_id(dictionary).is_some(),
            "a trained dictionary (with its entropy tables), not bare text"
        );
        // Runs the training did not see compress to a few hundred bytes each: a change to the
        // records' fields that the dictionary does not know (train it again) fails this.
        let runs = samples(2, 50);
        let total: usize = runs
            .iter()
            .map(|run| {
                let blob = crate::store::codec::compress(run, dictionary).expect("compresses");
                let back = crate::store::codec::decompress(&blob, dictionary).expect("decodes");
                assert_eq!(&back, run);
                blob.len()
            })
            .sum();
        let average = total / runs.len();
        assert!(average < 660, "{average} bytes per packed execution");
    }
}
