//! Servers with a data directory: in-process or the real binary.

use super::engine::{manual_config, wait_for};
use codepipeline_local::Config;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpl-{name}-{}", uuid_like()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

pub fn persistent_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: Some(dir.to_path_buf()),
        ..manual_config()
    }
}

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary on a free port with a data directory.
pub async fn spawn_binary(dir: &std::path::Path) -> (Killed, String) {
    spawn_binary_with(dir, &[]).await
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts the real binary with a data directory and more flags.
pub async fn spawn_binary_with(dir: &std::path::Path, flags: &[&str]) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--no-auto-start",
            "--data-dir",
        ])
        .arg(dir)
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the server binary");
    let url = format!("http://127.0.0.1:{port}");
    let health = format!("{url}/health");
    wait_for("the binary to answer", || async {
        reqwest::get(&health)
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    (Killed(child), url)
}

/// Every pipeline name, all pages.
pub async fn pipeline_names(c: &aws_sdk_codepipeline::Client) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_pipelines()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.pipelines()
                .iter()
                .filter_map(|p| p.name().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return names;
        }
    }
}
