//! moto's S3 server (`python3 -m moto.server`) on a free loopback port, for tests whose actions
//! read and write real artifacts (the local executor needs an artifact store).

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's server, killed on drop.
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
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 must be installed to run moto's S3 server (scripts/test-prereqs.sh installs moto[server])");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut err);
                }
                panic!("moto's server exited ({status}): is moto[server] installed (pip install 'moto[server]')?\n{err}");
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

    /// An S3 client of the endpoint with the emulator's default credentials.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// Creates a bucket (versioned, as an S3 source bucket must be, when asked).
    pub async fn create_bucket(&self, bucket: &str, versioned: bool) {
        let s3 = self.s3();
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        if versioned {
            s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    }

    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.s3()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
