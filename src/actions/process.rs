//! The local executor's shell: a script run by `/bin/sh` in a process group of its own, with its
//! output in a log file. Whatever the script started dies with it: the whole group is killed
//! when the script ends, and when the run is dropped (stop-and-abandon, timeout, shutdown: see
//! `running`).

use std::path::Path;
use std::process::Stdio;

/// A process group, killed (SIGKILL) when dropped.
struct Group(Option<u32>);

impl Group {
    fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.take() {
            let pid = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw);
            if let Some(pid) = pid {
                // ESRCH (the group is already gone) is the usual case.
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the script in its own process group with output to the log; returns its exit status.
/// After it ends, whatever it left running in its group is killed; dropping the returned future
/// kills the group too.
pub async fn execute(
    script: &Path,
    dir: &Path,
    env: &[(String, String)],
    log: &Path,
) -> Result<i32, String> {
    let args = [script.to_string_lossy().into_owned()];
    execute_program("/bin/sh", &args, dir, env, log).await
}

/// Runs `program` with `args` like `execute` runs a script.
pub async fn execute_program(
    program: &str,
    args: &[String],
    dir: &Path,
    env: &[(String, String)],
    log: &Path,
) -> Result<i32, String> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("Cannot create the log directory {}: {e}", parent.display()))?;
    }
    let out = std::fs::File::create(log)
        .map_err(|e| format!("Cannot create the log file {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("Cannot start {program}: {e}"))?;
    // With process_group(0) the group id is the shell's pid.
    let mut group = Group(child.id());
    let status = child.wait().await;
    group.kill();
    match status {
        Ok(status) => Ok(status.code().unwrap_or(-1)),
        Err(e) => Err(format!("Waiting for the commands failed: {e}")),
    }
}

/// The last lines of a log, for the action's summary (at most 20 lines and 1500 bytes).
pub fn tail(log: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    const MAX: u64 = 1500;
    let Ok(mut file) = std::fs::File::open(log) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(MAX)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(20);
    let mut out = lines[start..].join("\n");
    if out.is_empty() {
        out = "The commands succeeded and printed nothing".to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Whether a process is alive (not gone, not a zombie).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim()
                .starts_with('Z')
        })
    }

    async fn pids(file: &Path) -> Vec<u32> {
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(file) {
                let pids: Vec<u32> = text
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                if pids.len() == 2 {
                    return pids;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the script did not write its pids");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn dropping_a_run_kills_its_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pids");
        let script = dir.path().join("slow.sh");
        std::fs::write(
            &script,
            format!(
                "sleep 127 & echo $! >> {0}\nsh -c 'echo $$ >> {0}; exec sleep 127'\n",
                pid_file.display()
            ),
        )
        .unwrap();
        let log = dir.path().join("log");
        let run = tokio::spawn({
            let (script, dir, log) = (script.clone(), dir.path().to_path_buf(), log.clone());
            async move { execute(&script, &dir, &[], &log).await }
        });
        let pids = pids(&pid_file).await;
        assert!(pids.iter().all(|&p| alive(p)));
        run.abort();
        let _ = run.await;
        for _ in 0..100 {
            if pids.iter().all(|&p| !alive(p)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("processes {pids:?} outlived the run");
    }
}
