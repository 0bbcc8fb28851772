//! Settings from `paylet.toml`. Command-line flags and `PAYLET_*` environment
//! variables (both read by clap) take precedence over the file, and the file
//! over built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::Error;
use crate::limits::Limits;
use crate::telemetry::LogFormat;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/paylet.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_WIDGET_DIR: &str = "widget/dist";
/// Loopback: Prometheus scrapes from the same host or through a tunnel.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// The keys `paylet.toml` may hold, each also a flag and a variable.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `--listen`, `PAYLET_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--database-url`, `PAYLET_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `--widget-dir`, `PAYLET_WIDGET_DIR`.
    pub widget_dir: Option<PathBuf>,
    /// `--public-url`, `PAYLET_PUBLIC_URL`: where browsers reach this server.
    pub public_url: Option<String>,
    /// `--log-format`, `PAYLET_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--gateway-timeout`, `PAYLET_GATEWAY_TIMEOUT` (`30s`).
    #[serde(default, deserialize_with = "duration")]
    pub gateway_timeout: Option<Duration>,
    /// `--webhook-tolerance`, `PAYLET_WEBHOOK_TOLERANCE` (`5m`).
    #[serde(default, deserialize_with = "duration")]
    pub webhook_tolerance: Option<Duration>,
    /// `--reconcile-after`, `PAYLET_RECONCILE_AFTER` (`10m`).
    #[serde(default, deserialize_with = "duration")]
    pub reconcile_after: Option<Duration>,
    /// `--master-key-file`, `PAYLET_MASTER_KEY_FILE`.
    pub master_key_file: Option<PathBuf>,
    /// `--tls-cert`, `PAYLET_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`, `PAYLET_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// `--redirect-http`, `PAYLET_REDIRECT_HTTP`.
    pub redirect_http: Option<SocketAddr>,
    /// `--metrics-listen`, `PAYLET_METRICS_LISTEN`: an address, or `off`.
    pub metrics_listen: Option<String>,
    /// `--trusted-proxy`, `PAYLET_TRUSTED_PROXIES`.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `--allow-http-urls`, `PAYLET_ALLOW_HTTP_URLS`: tests, demos, the operator's own network.
    pub allow_http_urls: Option<bool>,
    /// `--allow-private-notify-urls`, `PAYLET_ALLOW_PRIVATE_NOTIFY_URLS`: likewise.
    pub allow_private_notify_urls: Option<bool>,
    /// `[rate_limits]`, each also `--rate-limit NAME=N`, `PAYLET_RATE_LIMITS`.
    pub rate_limits: Option<Limits>,
    /// The card fields of a store made without `--card-fields` (`gateway`
    /// or `paylet`); unset, it follows the store's gateway URL.
    pub card_fields: Option<paylet_api::CardFields>,
}

/// One duration, as humantime reads it: `500ms`, `30s`, `10m`, `2h`, `1h 30m`,
/// `7d`. Not `M`, humantime's month: in a timeout or a replay window it is
/// far likelier a minute mistyped.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.contains('M') {
        return Err(format!("`{text}`: write minutes as `m`; months (`M`) are no unit here"));
    }
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration like 500ms, 30s, 10m or 2h: {e}"))
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map(Some).map_err(serde::de::Error::custom)
}

impl FileConfig {
    /// Reads `path`, which must exist, or else `./paylet.toml` if there is one.
    pub fn load(path: Option<&Path>) -> Result<FileConfig, Error> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("paylet.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(FileConfig::default()),
            Err(e) => return Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
        };
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    pub fn database_url(&self, flag: Option<String>) -> String {
        flag.or_else(|| self.database_url.clone()).unwrap_or_else(|| DEFAULT_DATABASE_URL.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_keys_and_refuses_others() {
        let c: FileConfig =
            toml::from_str("listen = \"0.0.0.0:9000\"\ndatabase_url = \"sqlite://x.db\"\nlog_format = \"json\"")
                .unwrap();
        assert_eq!(c.listen.unwrap().port(), 9000);
        assert_eq!(c.log_format, Some(LogFormat::Json));
        assert_eq!(c.database_url(None), "sqlite://x.db");
        assert_eq!(c.database_url(Some("postgres://flag".into())), "postgres://flag");
        assert!(toml::from_str::<FileConfig>("lisen = \"typo\"").is_err());
        let limits: FileConfig = toml::from_str("[rate_limits]\npayments_per_order = 3").unwrap();
        assert_eq!(limits.rate_limits, Some(Limits { payments_per_order: 3, ..Limits::default() }));
        assert!(toml::from_str::<FileConfig>("[rate_limits]\npayments_per_moon = 3").is_err());
        let urls: FileConfig = toml::from_str("allow_http_urls = true").unwrap();
        assert_eq!((urls.allow_http_urls, urls.allow_private_notify_urls), (Some(true), None));
    }

    #[test]
    fn durations_are_read_as_people_write_them_and_a_bad_one_names_its_key() {
        let c: FileConfig = toml::from_str("gateway_timeout = \"1h 30m\"\nreconcile_after = \"500ms\"").unwrap();
        assert_eq!(c.gateway_timeout, Some(Duration::from_secs(5400)));
        assert_eq!(c.reconcile_after, Some(Duration::from_millis(500)));
        assert_eq!(c.webhook_tolerance, None);
        let days: FileConfig = toml::from_str("reconcile_after = \"7d\"").unwrap();
        assert_eq!(days.reconcile_after, Some(Duration::from_secs(7 * 86_400)));
        for bad in ["soon", "10M", "5"] {
            let error = toml::from_str::<FileConfig>(&format!("webhook_tolerance = \"{bad}\"")).unwrap_err();
            assert!(error.to_string().contains("webhook_tolerance"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_missing_default_file_is_fine_but_a_named_one_is_not() {
        assert!(FileConfig::load(Some(Path::new("/nonexistent/paylet.toml"))).is_err());
    }
}
