//! The shell script of a build: the buildspec's phases in one shell (variables and the working
//! directory carry over from command to command, as in CodeBuild), with CodeBuild's phase
//! transitions:
//!
//! - a phase runs its `commands` up to the first failure, then its `finally` commands;
//! - a failed `install` or `pre_build` ends the build, a failed `build` still runs
//!   `post_build` (`CODEBUILD_BUILD_SUCCEEDING` is then `0`), unless the phase says
//!   `on-failure: CONTINUE` (the next phase runs; the build still fails);
//! - the first failure (phase, exit status, command) goes to the `failed` file, the exported
//!   variables to one file each in `exports`, whatever way the script ends.

use super::spec::{Buildspec, OnFailure};
use std::path::Path;

/// Single-quotes a string for `/bin/sh`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Files the script reports through.
pub struct Reports<'a> {
    pub exports: &'a Path,
    pub failed: &'a Path,
    /// Made writable for the host at the end (a container runs as root).
    pub open_up: Option<&'a Path>,
}

const PRELUDE: &str = r#"cpl_now() { date -u '+%Y/%m/%d %H:%M:%S'; }
cpl_record() {
  if [ -z "$cpl_failed" ]; then
    cpl_failed=1
    printf '%s\n%s\n%s' "$cpl_phase" "$1" "$cpl_command" > "$cpl_failed_file"
  fi
}
cpl_run() {
  cpl_command=$1
  printf '[Container] %s Running command %s\n' "$(cpl_now)" "$1"
  eval "$1"
  cpl_status=$?
  if [ "$cpl_status" -ne 0 ]; then
    printf '[Container] %s Command did not exit successfully %s exit status %s\n' "$(cpl_now)" "$1" "$cpl_status"
    cpl_record "$cpl_status"
    return 1
  fi
  return 0
}
CODEBUILD_BUILD_SUCCEEDING=1
export CODEBUILD_BUILD_SUCCEEDING
cpl_stop=0
cpl_any_failed=0
cpl_failed=
"#;

/// The script of a buildspec. `notes` are printed first (what the run does not do).
pub fn script(spec: &Buildspec, notes: &[String], reports: &Reports) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "cpl_failed_file={}\n",
        quote(&reports.failed.to_string_lossy())
    ));
    s.push_str(PRELUDE);
    // On any exit: the exported variables, then (container) the files made the host's.
    // An `exit` in a command ends the shell: its status is the failure.
    s.push_str(
        "cpl_finish() {\n  cpl_exit=$?\n  if [ \"$cpl_exit\" -ne 0 ]; then cpl_record \"$cpl_exit\"; fi\n",
    );
    for name in &spec.env.exported_variables {
        s.push_str(&format!(
            "  if [ -n \"${{{name}+x}}\" ]; then printf '%s' \"${name}\" > {}; fi\n",
            quote(&reports.exports.join(name).to_string_lossy())
        ));
    }
    if let Some(dir) = reports.open_up {
        s.push_str(&format!(
            "  chmod -R a+rwX {} 2>/dev/null\n",
            quote(&dir.to_string_lossy())
        ));
    }
    s.push_str(
        "  exit \"$cpl_exit\"\n}\ntrap cpl_finish EXIT\ncd \"$CODEBUILD_SRC_DIR\" || exit 1\n",
    );
    for note in notes {
        s.push_str(&format!(
            "printf '[Container] %s %s\\n' \"$(cpl_now)\" {}\n",
            quote(note)
        ));
    }
    for (name, phase) in spec.phases.in_order() {
        let Some(phase) = phase else { continue };
        let runs = if name == "POST_BUILD" {
            "[ \"$cpl_stop\" != 1 ]"
        } else {
            "[ \"$cpl_stop\" = 0 ]"
        };
        s.push_str(&format!("cpl_phase={name}\nif {runs}; then\n"));
        s.push_str(&format!(
            "  printf '[Container] %s Entering phase {name}\\n' \"$(cpl_now)\"\n  cpl_ok=1\n"
        ));
        for command in &phase.commands {
            s.push_str(&format!(
                "  if [ \"$cpl_ok\" = 1 ]; then cpl_run {} || cpl_ok=0; fi\n",
                quote(command)
            ));
        }
        if !phase.finally.is_empty() {
            s.push_str("  cpl_finally_ok=1\n");
            for command in &phase.finally {
                s.push_str(&format!(
                    "  if [ \"$cpl_finally_ok\" = 1 ]; then cpl_run {} || {{ cpl_finally_ok=0; cpl_ok=0; }}; fi\n",
                    quote(command)
                ));
            }
        }
        let on_failure = match (phase.on_failure, name) {
            (Some(OnFailure::Continue), _) => "",
            (_, "BUILD") => "    cpl_stop=2\n",
            (_, "POST_BUILD") => "",
            _ => "    cpl_stop=1\n",
        };
        s.push_str(&format!(
            "  if [ \"$cpl_ok\" = 1 ]; then\n    printf '[Container] %s Phase complete: {name} State: SUCCEEDED\\n' \"$(cpl_now)\"\n  else\n    printf '[Container] %s Phase complete: {name} State: FAILED\\n' \"$(cpl_now)\"\n    CODEBUILD_BUILD_SUCCEEDING=0\n    cpl_any_failed=1\n{on_failure}  fi\nfi\n"
        ));
    }
    s.push_str("exit \"$cpl_any_failed\"\n");
    s
}

/// The first failure the script recorded: (phase, exit status, command).
pub fn failure(failed: &Path) -> Option<(String, String, String)> {
    let text = std::fs::read_to_string(failed).ok()?;
    let mut parts = text.splitn(3, '\n');
    Some((
        parts.next()?.to_string(),
        parts.next()?.to_string(),
        parts.next().unwrap_or_default().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::codebuild::spec::parse;
    use crate::actions::process::execute;

    async fn run(yaml: &str) -> (i32, String, Option<(String, String, String)>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("exports");
        std::fs::create_dir_all(&exports).unwrap();
        let failed = dir.path().join("failed");
        let spec = parse(yaml, "buildspec.yml").unwrap();
        let text = script(
            &spec,
            &["a note".to_string()],
            &Reports {
                exports: &exports,
                failed: &failed,
                open_up: None,
            },
        );
        let path = dir.path().join("script.sh");
        std::fs::write(&path, text).unwrap();
        let log = dir.path().join("log");
        let env = vec![(
            "CODEBUILD_SRC_DIR".to_string(),
            dir.path().to_string_lossy().into_owned(),
        )];
        let status = execute(&path, dir.path(), &env, &log).await.unwrap();
        let mut exported: Vec<String> = std::fs::read_dir(&exports)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                format!(
                    "{}={}",
                    e.file_name().to_string_lossy(),
                    std::fs::read_to_string(e.path()).unwrap()
                )
            })
            .collect();
        exported.sort();
        (
            status,
            std::fs::read_to_string(&log).unwrap(),
            failure(&failed),
            exported,
        )
    }

    #[tokio::test]
    async fn phases_follow_codebuilds_transitions() {
        // A failed build still runs post_build and finally; the first failure is reported.
        let (status, log, failed, exported) = run(r#"
version: 0.2
env:
  exported-variables: [V]
phases:
  pre_build:
    commands: ["V=1", "cd /"]
  build:
    commands: ["echo in $(pwd)", "exit_with() { return $1; }; exit_with 4", "echo never"]
    finally: ["echo finally ran"]
  post_build:
    commands: ["echo post $CODEBUILD_BUILD_SUCCEEDING", "false"]
"#)
        .await;
        assert_eq!(status, 1, "{log}");
        assert!(log.contains("a note"), "{log}");
        assert!(log.contains("in /\n"), "the directory carries over: {log}");
        assert!(!log.contains("never\n"), "{log}");
        assert!(log.contains("finally ran"), "{log}");
        assert!(log.contains("post 0"), "{log}");
        assert!(log.contains("Phase complete: BUILD State: FAILED"), "{log}");
        assert_eq!(
            failed,
            Some((
                "BUILD".into(),
                "4".into(),
                "exit_with() { return $1; }; exit_with 4".into()
            ))
        );
        assert_eq!(exported, ["V=1"]);

        // A failed install ends the build; CONTINUE goes on to the next phase.
        let (status, log, failed, _) = run(r#"
version: 0.2
phases:
  install:
    commands: ["false"]
  build:
    commands: ["echo build ran"]
  post_build:
    commands: ["echo post ran"]
"#)
        .await;
        assert_eq!(status, 1);
        assert!(
            !log.contains("build ran") && !log.contains("post ran"),
            "{log}"
        );
        assert_eq!(failed.unwrap().0, "INSTALL");
        let (status, log, failed, _) = run(r#"
version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands: ["false"]
  build:
    commands: ["echo build ran"]
"#)
        .await;
        assert_eq!(status, 1, "the build still fails");
        assert!(log.contains("build ran"), "{log}");
        assert_eq!(failed.unwrap().0, "INSTALL");
        let (status, log, failed, _) =
            run("version: 0.2\nphases:\n  build:\n    commands: [\"echo 'it''s fine'\"]\n").await;
        assert_eq!((status, failed), (0, None), "{log}");
        assert!(log.contains("its fine\n"), "quoted as written: {log}");
    }
}
