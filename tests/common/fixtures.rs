//! The committed template fixtures (`tests/fixtures/`).

use std::path::PathBuf;

/// A fixture's path.
pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Every fixture that loads clean, in an order that satisfies their imports.
pub fn good_fixtures() -> Vec<PathBuf> {
    [
        "templates/shared.yaml",
        "templates/release.yaml",
        "templates/cross-region.json",
        "templates/pipeline.json",
        "cdk/cdk-pipelines.out",
        "cdk/classic.out",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect()
}
