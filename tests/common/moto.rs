//! moto's server (`python3 -m moto.server`, S3 and IAM among others) for tests that need a real
//! AWS-compatible endpoint on loopback.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's server on a free loopback port, killed on drop.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs moto's server (run scripts/test-prereqs.sh)");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut err);
                }
                panic!("moto's server exited ({status}): run scripts/test-prereqs.sh\n{err}");
            }
            if let Ok(response) = reqwest::get(format!("{url}/moto-api/")).await {
                if response.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto's server did not answer on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto { child, url }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
