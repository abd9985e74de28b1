//! The Python wheel (`pyproject.toml`, maturin's `bin` bindings): built from this checkout,
//! installed with pip into a temporary directory, and the installed `codepipeline-local` serves
//! `/health`. Needs maturin and pip (`scripts/test-prereqs.sh` installs them).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `command` to completion, panicking with its output when it fails.
fn run(what: &str, command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it ({e}): run scripts/test-prereqs.sh"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

#[test]
fn the_wheel_installs_a_working_codepipeline_local() {
    let maturin = Command::new("maturin").arg("--version").output();
    assert!(
        maturin.is_ok_and(|o| o.status.success()),
        "maturin is needed to build the wheel: run scripts/test-prereqs.sh"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().expect("a temporary directory");
    let wheels = work.path().join("wheels");
    let site = work.path().join("site");

    // The dev profile reuses the test build's artifacts: a wheel is the binary plus metadata.
    run(
        "maturin build",
        Command::new("maturin")
            .current_dir(root)
            .args(["build", "--profile", "dev", "--quiet", "--out"])
            .arg(&wheels),
    );
    run(
        "pip install of the wheel",
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--no-deps",
                "--find-links",
            ])
            .arg(&wheels)
            .arg("--target")
            .arg(&site)
            .arg("codepipeline-local"),
    );
    let binary = site.join("bin/codepipeline-local");
    assert!(binary.exists(), "the wheel installs bin/codepipeline-local");

    let version = Command::new(&binary)
        .arg("--version")
        .output()
        .expect("the installed binary runs");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("codepipeline-local {}", env!("CARGO_PKG_VERSION"))
    );

    let listen = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(&binary)
        .args(["--listen", &listen, "--log-level", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the installed binary starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let healthy = loop {
        let check = Command::new(&binary)
            .args(["--healthcheck", &format!("http://{listen}/health")])
            .output()
            .expect("the healthcheck runs");
        if check.status.success() {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(healthy, "the installed codepipeline-local answers /health");
}
