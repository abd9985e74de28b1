//! Connection handling of the real server: header-read timeout (silent and half-sent
//! connections are closed), the shutdown deadline (a half-sent request does not hold SIGTERM),
//! and the connection limit (new connections wait, the log says so, service resumes).

mod common;

use codepipeline_local::Config;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The binary, killed when dropped, with its log lines (JSON) on a channel.
struct Binary {
    child: Child,
    addr: String,
    logs: mpsc::Receiver<Value>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Binary {
    fn spawn(extra: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the server binary");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        let mut binary = Binary {
            child,
            addr: String::new(),
            logs,
        };
        let ready = binary.wait_log("ready on");
        binary.addr = ready["fields"]["message"]
            .as_str()
            .and_then(|m| m.rsplit("http://").next())
            .expect("the ready line names the address")
            .to_string();
        binary
    }

    /// The first log line (from now on) whose message contains `text`; panics after 20 s.
    fn wait_log(&self, text: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .logs
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line saying '{text}' within 20 s"));
            if line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(text))
            {
                return line;
            }
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits (at most 20 s) for the process to exit; its exit status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Reads until the peer closes the connection (or resets it); panics if that takes over 20 s.
async fn wait_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer))
            .await
            .expect("the server closes the connection within 20 s");
        match read {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Sends `GET /health` and `tail` in one write, and reads the health answer.
async fn health_then(stream: &mut TcpStream, tail: &str) {
    let request = format!("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n{tail}");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&received).contains("codepipeline-local\"") {
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer))
            .await
            .expect("the health answer within 20 s")
            .expect("read");
        assert!(n > 0, "closed before the health answer");
        received.extend_from_slice(&buffer[..n]);
    }
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_after_the_header_read_timeout() {
    let t = start_with(Config {
        header_read_timeout: Duration::from_secs(1),
        ..test_config()
    })
    .await;
    let mut silent = TcpStream::connect(t.server.addr).await.unwrap();
    let mut half = TcpStream::connect(t.server.addr).await.unwrap();
    half.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Tar")
        .await
        .unwrap();
    wait_closed(&mut silent).await;
    wait_closed(&mut half).await;

    // A keep-alive connection idle past the timeout is closed too, after its answer.
    let mut idle = TcpStream::connect(t.server.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answered = wait_closed(&mut idle).await;
    assert!(
        String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answered)
    );
    // The server goes on serving.
    assert_eq!(t.get("/health").await.status, 200);
}

#[tokio::test]
async fn a_half_sent_request_does_not_hold_shutdown_past_the_deadline() {
    let mut server = Binary::spawn(&[
        "--shutdown-timeout-seconds",
        "1",
        "--header-read-timeout-seconds",
        "600",
    ]);
    // Each connection first gets a whole request answered, so the server has read the half
    // request sent with it. Headers complete, body half sent: the handler waits for the rest.
    let mut half_body = TcpStream::connect(&server.addr).await.unwrap();
    health_then(
        &mut half_body,
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: CodePipeline_20150709.ListPipelines\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{",
    )
    .await;
    // Headers half sent.
    let mut half_head = TcpStream::connect(&server.addr).await.unwrap();
    health_then(&mut half_head, "POST / HTTP/1.1\r\nHost: loc").await;
    // The server parses a buffered request only after its answer to the previous one is out: a
    // connection whose next request is not parsed yet is idle, and shutdown closes it at once.
    // Let both connections reach their half requests first.
    tokio::time::sleep(Duration::from_millis(500)).await;

    server.terminate();
    server.wait_log("shutdown deadline passed");
    let status = server.wait_exit();
    assert!(status.success(), "{status:?}");
    wait_closed(&mut half_body).await;
    wait_closed(&mut half_head).await;
}

#[tokio::test]
async fn past_the_connection_limit_new_connections_wait_and_service_resumes() {
    let server = Binary::spawn(&[
        "--max-connections",
        "2",
        "--header-read-timeout-seconds",
        "600",
    ]);
    let first = TcpStream::connect(&server.addr).await.unwrap();
    let second = TcpStream::connect(&server.addr).await.unwrap();
    let url = format!("http://{}/health", server.addr);
    let waiting = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    let warning = server.wait_log("connection limit reached");
    assert_eq!(warning["level"], "WARN", "{warning}");
    // Both slots are held by silent connections: the third cannot have been served.
    assert!(!waiting.is_finished());

    drop(first);
    drop(second);
    let status = waiting.await.unwrap().expect("served once a slot is free");
    assert_eq!(status, 200);
}
