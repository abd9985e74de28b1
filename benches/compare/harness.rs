//! The load generator and the servers it drives: spawning ours and moto, keep-alive HTTP/1.1
//! connections with SigV4-shaped requests, and latency statistics.

use super::*;

pub(super) fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A spawned server, killed when dropped.
pub(super) struct Server {
    pub(super) name: &'static str,
    pub(super) child: Child,
    pub(super) addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(super) fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// User + system CPU time of a process so far (Linux `/proc`; 0 elsewhere).
pub(super) fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// User + system CPU time in a `/proc` stat file (a process's or `/proc/thread-self/stat`).
pub(super) fn stat_cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name (which ends with the last ')').
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawns our release binary and waits until `/health` answers; returns it and the time from
/// spawn to the first answered request.
pub(super) async fn spawn_ours(extra: &[&str]) -> (Server, Duration) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    // BENCH_BINARY: another build of the server (e.g. an older commit's, for a before/after).
    let binary = std::env::var("BENCH_BINARY").unwrap_or_else(|_| BINARY.to_string());
    let child = Command::new(binary)
        .args(["--listen", &addr.to_string(), "--log-level", "warn"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn codepipeline-local (built by cargo bench)");
    let server = Server {
        name: "codepipeline-local",
        child,
        addr,
    };
    loop {
        if health(addr).await {
            return (server, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(20) {
            panic!("codepipeline-local did not start");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

pub(super) async fn health(addr: SocketAddr) -> bool {
    let Ok(mut sender) = connect(addr).await else {
        return false;
    };
    let request = Request::get("/health")
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    match sender.send_request(request).await {
        Ok(response) => response.status() == 200,
        Err(_) => false,
    }
}

pub(super) async fn spawn_moto() -> Option<Server> {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server {
        name: "moto",
        child,
        addr,
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(mut conn) = Conn::open(addr).await {
            if let Ok((200, _)) = conn.call("ListPipelines", Bytes::from_static(b"{}")).await {
                return Some(server);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// HTTP

pub(super) async fn connect(addr: SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

pub(super) fn amz_date() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// SigV4-shaped: the credential scope names the region and service as SDKs send it.
pub(super) fn authorization(date: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/{service}/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
         Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        &date[..8]
    )
}

/// One keep-alive connection; reconnects when the server closed it.
pub(super) struct Conn {
    pub(super) addr: SocketAddr,
    pub(super) sender: SendRequest<Full<Bytes>>,
    pub(super) reconnects: u64,
}

impl Conn {
    pub(super) async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        Ok(Conn {
            addr,
            sender: connect(addr).await?,
            reconnects: 0,
        })
    }

    pub(super) async fn call(
        &mut self,
        operation: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        for _ in 0..3 {
            if self.sender.ready().await.is_err() {
                self.reconnect().await?;
            }
            let date = amz_date();
            let request = Request::post("/")
                .header("host", self.addr.to_string())
                .header("content-type", "application/x-amz-json-1.1")
                .header("content-length", body.len())
                .header("x-amz-target", format!("CodePipeline_20150709.{operation}"))
                .header("x-amz-date", &date)
                .header("authorization", authorization(&date, "codepipeline"))
                .header("user-agent", "aws-sdk-rust/1.0 bench")
                .body(Full::new(body.clone()))
                .unwrap();
            match self.sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| e.to_string())?
                        .to_bytes();
                    return Ok((status, body));
                }
                Err(e) if e.is_closed() || e.is_canceled() => self.reconnect().await?,
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("connection keeps closing".into())
    }

    pub(super) async fn reconnect(&mut self) -> Result<(), String> {
        self.reconnects += 1;
        self.sender = connect(self.addr).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    pub(super) async fn ok(&mut self, operation: &str, body: Value) -> Value {
        let (status, answer) = self
            .call(operation, Bytes::from(body.to_string()))
            .await
            .unwrap();
        assert_eq!(
            status,
            200,
            "{operation}: {}",
            String::from_utf8_lossy(&answer)
        );
        serde_json::from_slice(&answer).unwrap_or(Value::Null)
    }
}

// ---------------------------------------------------------------------------------------------
// Load

#[derive(Clone)]
pub(super) struct Stats {
    pub(super) requests: u64,
    pub(super) errors: u64,
    pub(super) reconnects: u64,
    pub(super) seconds: f64,
    pub(super) latency_us: Histogram<u64>,
    pub(super) first_error: Option<String>,
}

impl Stats {
    pub(super) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    pub(super) fn p50_ms(&self) -> f64 {
        self.latency_us.value_at_quantile(0.50) as f64 / 1000.0
    }
    pub(super) fn p99_ms(&self) -> f64 {
        self.latency_us.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// `connections` connections send `operation` with `body(connection, sequence)` for `seconds`.
pub(super) async fn load<F>(
    addr: SocketAddr,
    operation: &'static str,
    connections: usize,
    duration: Duration,
    body: F,
) -> Stats
where
    F: Fn(usize, u64) -> Bytes + 'static,
{
    let body = Rc::new(body);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let body = body.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut conn = Conn::open(addr).await.expect("connect");
            let (mut requests, mut errors) = (0u64, 0u64);
            let mut first_error = None;
            let mut sequence = 0u64;
            while Instant::now() < deadline {
                let payload = body(c, sequence);
                sequence += 1;
                let sent = Instant::now();
                let result = conn.call(operation, payload).await;
                let micros = sent.elapsed().as_micros() as u64;
                histogram.saturating_record(micros.max(1));
                requests += 1;
                match result {
                    Ok((200, _)) => {}
                    Ok((status, answer)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!("{status} {}", String::from_utf8_lossy(&answer))
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (histogram, requests, errors, conn.reconnects, first_error)
        }));
    }
    let mut stats = Stats {
        requests: 0,
        errors: 0,
        reconnects: 0,
        seconds: 0.0,
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
        first_error: None,
    };
    for task in tasks {
        let (histogram, requests, errors, reconnects, first_error) = task.await.unwrap();
        stats.latency_us.add(&histogram).unwrap();
        stats.requests += requests;
        stats.errors += errors;
        stats.reconnects += reconnects;
        if stats.first_error.is_none() {
            stats.first_error = first_error;
        }
    }
    stats.seconds = started.elapsed().as_secs_f64();
    stats
}

/// A short unmeasured run, then the measured one.
pub(super) async fn measure<F>(
    addr: SocketAddr,
    operation: &'static str,
    connections: usize,
    duration: Duration,
    body: F,
) -> Stats
where
    F: Fn(usize, u64) -> Bytes + Clone + 'static,
{
    load(
        addr,
        operation,
        connections,
        Duration::from_millis(300),
        body.clone(),
    )
    .await;
    load(addr, operation, connections, duration, body).await
}

/// Runs `make(i)` for i in 0..count over `connections` connections; returns the answers' JSON.
pub(super) async fn fan_out<F>(
    addr: SocketAddr,
    operation: &'static str,
    connections: usize,
    count: usize,
    make: F,
) -> Vec<Value>
where
    F: Fn(usize) -> Value + 'static,
{
    let make = Rc::new(make);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let make = make.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = Conn::open(addr).await.expect("connect");
            let mut out = Vec::new();
            let mut i = c;
            while i < count {
                out.push(conn.ok(operation, make(i)).await);
                i += connections;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

// ---------------------------------------------------------------------------------------------
// Requests
