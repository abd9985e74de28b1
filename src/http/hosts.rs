//! Which `Host` headers the server answers, against DNS rebinding: a page of `evil.example`
//! whose name is re-pointed at 127.0.0.1 reaches the server with `Host: evil.example`. Accepted:
//! localhost names (`localhost`, `*.localhost`), IP addresses (a rebinding attack needs a
//! name), the host of `--listen` and of `--external-url`, and the configured names
//! (`--allowed-hosts`: exact, `.example.com` for it and its subdomains, `*` for anything).

use std::net::IpAddr;

#[derive(Debug, Clone)]
pub struct HostPolicy {
    any: bool,
    names: Vec<String>,
}

impl HostPolicy {
    pub fn new(config: &crate::config::Config) -> Self {
        let mut names: Vec<String> = config
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let any = names.iter().any(|h| h == "*");
        names.push(host_of(&config.listen).to_ascii_lowercase());
        if let Some(url) = &config.external_url {
            let authority = url
                .split_once("://")
                .map_or(url.as_str(), |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default();
            names.push(host_of(authority).to_ascii_lowercase());
        }
        HostPolicy { any, names }
    }

    /// Whether a request with this `Host` header value is answered.
    pub fn allows(&self, host_header: &str) -> bool {
        if self.any {
            return true;
        }
        let host = host_of(host_header).to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        if host.parse::<IpAddr>().is_ok() || host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        self.names.iter().any(|name| match name.strip_prefix('.') {
            Some(domain) => host == domain || host.ends_with(name.as_str()),
            None => host == name,
        })
    }
}

/// The host of `host[:port]` or `[v6]:port`, without brackets.
pub fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some((host, _)) if !host.contains(':') => host,
        Some(_) => authority,
        None => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn policy(allowed: &[&str], listen: &str, external: Option<&str>) -> HostPolicy {
        HostPolicy::new(&Config {
            allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(),
            listen: listen.to_string(),
            external_url: external.map(str::to_string),
            ..Config::default()
        })
    }

    #[test]
    fn localhost_names_and_ip_addresses_are_always_accepted() {
        let p = policy(&[], "127.0.0.1:4566", None);
        for host in [
            "localhost",
            "localhost:4566",
            "LOCALHOST:4566",
            "app.localhost:4566",
            "127.0.0.1:4566",
            "10.1.2.3",
            "[::1]:4566",
            "::1",
        ] {
            assert!(p.allows(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:4566",
            "localhost.evil.example",
            "",
        ] {
            assert!(!p.allows(host), "{host}");
        }
    }

    #[test]
    fn configured_names_the_listen_host_and_the_external_url_host_are_accepted() {
        let p = policy(
            &["codepipeline", ".corp.example"],
            "devbox:4566",
            Some("https://abc.ngrok.app/"),
        );
        for host in [
            "codepipeline:4566",
            "devbox:4566",
            "abc.ngrok.app",
            "corp.example",
            "ci.corp.example:4566",
        ] {
            assert!(p.allows(host), "{host}");
        }
        for host in ["xcorp.example", "codepipeline.evil", "other.ngrok.app"] {
            assert!(!p.allows(host), "{host}");
        }
        assert!(policy(&["*"], "127.0.0.1:4566", None).allows("anything.example"));
    }
}
