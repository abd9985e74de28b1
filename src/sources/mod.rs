//! Commits to local git repositories start pipelines (the repositories are mapped with
//! `[[repositories]]`, see `actions::git`):
//!
//! - `watch`: the watcher of every mapped repository (file-system notification on its refs,
//!   with a polling fallback) that turns a new commit or tag into a `push`;
//! - `push`: a push evaluated against every pipeline (V2 triggers through the git-event filters
//!   of `webhooks::git`, change detection otherwise) and the executions it starts;
//! - `s3_poll`: `PollForSourceChanges` of S3 source actions, with `--s3-endpoint`.

pub mod push;
pub mod s3_poll;
pub mod watch;
