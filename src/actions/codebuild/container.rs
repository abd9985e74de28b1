//! `--executor container`: a build runs in a container of its project's image, through the
//! docker or podman CLI. The build's working directory (sources, script, reports) is mounted
//! at the same path, so the script sees the paths the host wrote; only the build's own
//! variables go in (`-e NAME`, values from the CLI's environment, never on its command line).
//! The container is named after the action execution and removed whatever way the run ends
//! (`--rm`, and `rm -f` when the run is dropped: stop, timeout, shutdown).

use crate::config::Config;
use std::path::Path;

/// The local image a CodeBuild image runs as: its `codebuild_images` entry, else the `*`
/// entry, else the image itself unless it is one of CodeBuild's own (`aws/codebuild/...`).
pub fn local_image(config: &Config, image: Option<&str>) -> Result<String, String> {
    let images = &config.codebuild_images;
    let entry = |name: &str| {
        images
            .iter()
            .rev()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to)
    };
    if let Some(mapped) = image.and_then(entry).or_else(|| entry("*")) {
        return Ok(mapped.clone());
    }
    match image {
        Some(image) if !image.starts_with("aws/codebuild/") => Ok(image.to_string()),
        Some(image) => Err(format!(
            "The image {image} is not available outside AWS: map it to a local image with --codebuild-image '{image}=IMAGE' (or '*=IMAGE')"
        )),
        None => Err(
            "The project has no image: give one with --codebuild-image '*=IMAGE' or the project's image"
                .to_string(),
        ),
    }
}

/// The container engine CLI: the configured one, else docker or podman, whichever is on PATH.
pub fn engine(config: &Config) -> Result<String, String> {
    if let Some(engine) = &config.container_engine {
        return Ok(engine.clone());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["docker", "podman"] {
        if std::env::split_paths(&path).any(|dir| dir.join(name).is_file()) {
            return Ok(name.to_string());
        }
    }
    Err("--executor container needs docker or podman on PATH (or --container-engine)".to_string())
}

/// A container's name for an action execution.
pub fn name(action_execution_id: &str) -> String {
    let id: String = action_execution_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("codepipeline-local-{id}")
}

/// The `run` arguments: the container removed when it ends, the working directory mounted at
/// its own path, the variables named, the shell running the script.
pub fn run_args(
    name: &str,
    image: &str,
    work: &Path,
    src: &Path,
    variables: &[(String, String)],
    shell: &str,
    script: &Path,
) -> Vec<String> {
    let work = work.to_string_lossy();
    let mut args = vec![
        "run".to_string(),
        "--rm".to_string(),
        "--name".to_string(),
        name.to_string(),
        "-v".to_string(),
        format!("{work}:{work}"),
        "-w".to_string(),
        src.to_string_lossy().into_owned(),
        "--entrypoint".to_string(),
        shell.to_string(),
    ];
    for (variable, _) in variables {
        args.push("-e".to_string());
        args.push(variable.clone());
    }
    args.push(image.to_string());
    args.push(script.to_string_lossy().into_owned());
    args
}

/// Removes the container when dropped (its `--rm` does when it ends by itself; a killed CLI
/// leaves it running).
pub struct Removal {
    pub engine: String,
    pub name: String,
}

impl Drop for Removal {
    fn drop(&mut self) {
        let (engine, name) = (self.engine.clone(), self.name.clone());
        // Off the runtime's threads: the CLI may take a moment.
        std::thread::spawn(move || {
            let _ = std::process::Command::new(engine)
                .args(["rm", "-f", &name])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_mapped_and_codebuilds_own_need_a_mapping() {
        let mut config = Config::default();
        assert_eq!(local_image(&config, Some("node:20")).unwrap(), "node:20");
        let err = local_image(&config, Some("aws/codebuild/standard:7.0")).unwrap_err();
        assert!(err.contains("--codebuild-image"), "{err}");
        config
            .codebuild_images
            .push(("aws/codebuild/standard:7.0".into(), "ubuntu:22.04".into()));
        assert_eq!(
            local_image(&config, Some("aws/codebuild/standard:7.0")).unwrap(),
            "ubuntu:22.04"
        );
        config
            .codebuild_images
            .push(("*".into(), "alpine:3".into()));
        assert_eq!(local_image(&config, None).unwrap(), "alpine:3");
        assert_eq!(name("ab/c-1"), "codepipeline-local-abc-1");
    }
}
