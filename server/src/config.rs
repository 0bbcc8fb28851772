//! Settings, layered by figment: built-in defaults, then `paylet.toml`, then
//! what the command line gives, flags and `PAYLET_*` environment variables
//! alike (clap reads both). Each layer names only what it sets; the result
//! is one [`Config`].

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::Serialized;
use paylet_api::CardFields;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::app::Settings;
use crate::limits::Limits;
use crate::telemetry::LogFormat;

/// Every setting, as the layers resolve it. These are also the keys
/// `paylet.toml` may hold, each also a flag and a variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `--listen`, `PAYLET_LISTEN`.
    pub listen: SocketAddr,
    /// `--database-url`, `PAYLET_DATABASE_URL`.
    pub database_url: String,
    /// `--widget-dir`, `PAYLET_WIDGET_DIR`.
    pub widget_dir: PathBuf,
    /// `--public-url`, `PAYLET_PUBLIC_URL`: where browsers reach this server;
    /// unset, the listen address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `--log-format`, `PAYLET_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `--gateway-timeout`, `PAYLET_GATEWAY_TIMEOUT` (`30s`).
    #[serde(with = "duration")]
    pub gateway_timeout: Duration,
    /// `--webhook-tolerance`, `PAYLET_WEBHOOK_TOLERANCE` (`5m`).
    #[serde(with = "duration")]
    pub webhook_tolerance: Duration,
    /// `--reconcile-after`, `PAYLET_RECONCILE_AFTER` (`10m`).
    #[serde(with = "duration")]
    pub reconcile_after: Duration,
    /// `--master-key-file`, `PAYLET_MASTER_KEY_FILE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    /// `--tls-cert`, `PAYLET_TLS_CERT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`, `PAYLET_TLS_KEY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// `--redirect-http`, `PAYLET_REDIRECT_HTTP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_http: Option<SocketAddr>,
    /// `--metrics-listen`, `PAYLET_METRICS_LISTEN`: an address, or `off`.
    pub metrics_listen: String,
    /// `--trusted-proxy`, `PAYLET_TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<IpAddr>,
    /// `--allow-http-urls`, `PAYLET_ALLOW_HTTP_URLS`: tests, demos, the operator's own network.
    pub allow_http_urls: bool,
    /// `--allow-private-notify-urls`, `PAYLET_ALLOW_PRIVATE_NOTIFY_URLS`: likewise.
    pub allow_private_notify_urls: bool,
    /// `[rate_limits]`, each also `--rate-limit NAME=N`, `PAYLET_RATE_LIMITS`.
    pub rate_limits: Limits,
    /// The card fields of a store made without `--card-fields` (`gateway`
    /// or `paylet`); unset, it follows the store's gateway URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_fields: Option<CardFields>,
}

impl Default for Config {
    fn default() -> Config {
        let settings = Settings::new("");
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://data/paylet.db".into(),
            widget_dir: "widget/dist".into(),
            public_url: None,
            log_format: LogFormat::Text,
            gateway_timeout: settings.gateway_timeout,
            webhook_tolerance: settings.webhook_tolerance,
            reconcile_after: settings.reconcile_after,
            master_key_file: None,
            tls_cert: None,
            tls_key: None,
            redirect_http: None,
            // Loopback: Prometheus scrapes from the same host or through a tunnel.
            metrics_listen: "127.0.0.1:9464".into(),
            trusted_proxies: Vec::new(),
            allow_http_urls: false,
            allow_private_notify_urls: false,
            rate_limits: Limits::default(),
            card_fields: None,
        }
    }
}

/// The defaults and `paylet.toml`, waiting for a command's own flags.
#[derive(Debug, Clone)]
pub struct Layers(Figment);

impl Layers {
    /// The defaults under `path`, which must exist, or else under
    /// `./paylet.toml` if there is one. A file that does not read as
    /// settings is refused here, before any command runs.
    pub fn load(path: Option<&Path>) -> Result<Layers, Error> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("paylet.toml"), false),
        };
        let defaults = Figment::from(Serialized::defaults(Config::default()));
        // Read here, not by figment: any file a path names (a pipe from the
        // shell too), and TOML as the `toml` crate reads it (1.1).
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(Layers(defaults)),
            Err(e) => return Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
        };
        let in_file = |e: String| Error::Config(format!("{}: {e}", path.display()));
        let table: toml::Table = toml::from_str(&text).map_err(|e| in_file(e.to_string()))?;
        let layers = Layers(defaults.merge(Serialized::defaults(table)));
        layers.0.extract::<Config>().map_err(|e| in_file(described(e)))?;
        Ok(layers)
    }

    /// These layers with `flags` over them: a value serialized with the keys
    /// above, naming only what was given.
    pub fn with(&self, flags: &impl Serialize) -> Layers {
        Layers(self.0.clone().merge(Serialized::defaults(flags)))
    }

    pub fn resolve(&self) -> Result<Config, Error> {
        self.0.extract().map_err(|e| Error::Config(described(e)))
    }
}

/// What is wrong, and under which key: not where in Paylet's code the layer
/// came from, which is what figment's own text names.
fn described(error: figment::Error) -> String {
    let each = |e: figment::Error| {
        if e.path.is_empty() { e.kind.to_string() } else { format!("`{}`: {}", e.path.join("."), e.kind) }
    };
    error.into_iter().map(each).collect::<Vec<_>>().join("; ")
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

/// Durations as people write them ([`parse_duration`]), for `#[serde(with)]`.
pub mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }

    /// A duration a flag may leave unset (skip it when `None`).
    pub fn serialize_some<S: Serializer>(d: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults with `text` as the file over them.
    fn file(text: &str) -> Layers {
        let table: toml::Table = toml::from_str(text).unwrap();
        Layers(Figment::from(Serialized::defaults(Config::default())).merge(Serialized::defaults(table)))
    }

    fn from_toml(text: &str) -> Result<Config, Error> {
        file(text).resolve()
    }

    #[test]
    fn reads_known_keys_and_refuses_others() {
        let c =
            from_toml("listen = \"0.0.0.0:9000\"\ndatabase_url = \"sqlite://x.db\"\nlog_format = \"json\"").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.database_url, "sqlite://x.db");
        assert!(from_toml("lisen = \"typo\"").is_err());
        let limits = from_toml("[rate_limits]\npayments_per_order = 3").unwrap();
        assert_eq!(limits.rate_limits, Limits { payments_per_order: 3, ..Limits::default() });
        assert!(from_toml("[rate_limits]\npayments_per_moon = 3").is_err());
        let urls = from_toml("allow_http_urls = true").unwrap();
        assert_eq!((urls.allow_http_urls, urls.allow_private_notify_urls), (true, false));
    }

    #[test]
    fn what_is_unset_takes_the_default_and_flags_win() {
        assert_eq!(from_toml("").unwrap(), Config::default());
        #[derive(Serialize)]
        struct Flags {
            database_url: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            widget_dir: Option<PathBuf>,
        }
        let c = file("database_url = \"sqlite://file.db\"\nwidget_dir = \"w\"")
            .with(&Flags { database_url: "postgres://flag", widget_dir: None })
            .resolve()
            .unwrap();
        assert_eq!(c.database_url, "postgres://flag");
        assert_eq!(c.widget_dir, PathBuf::from("w"), "a flag not given leaves the file's value");
    }

    #[test]
    fn durations_are_read_as_people_write_them_and_a_bad_one_names_its_key() {
        let c = from_toml("gateway_timeout = \"1h 30m\"\nreconcile_after = \"500ms\"").unwrap();
        assert_eq!(c.gateway_timeout, Duration::from_secs(5400));
        assert_eq!(c.reconcile_after, Duration::from_millis(500));
        assert_eq!(c.webhook_tolerance, Config::default().webhook_tolerance);
        let days = from_toml("reconcile_after = \"7d\"").unwrap();
        assert_eq!(days.reconcile_after, Duration::from_secs(7 * 86_400));
        for bad in ["soon", "10M", "5"] {
            let error = from_toml(&format!("webhook_tolerance = \"{bad}\"")).unwrap_err();
            assert!(error.to_string().contains("webhook_tolerance"), "{bad}: {error}");
        }
    }

    #[test]
    fn toml_reads_as_the_toml_crate_reads_it() {
        // TOML 1.1: a trailing comma and a line break in an inline table.
        let c = from_toml("rate_limits = { orders_per_ip = 5,\n payments_per_ip = 6, }").unwrap();
        assert_eq!((c.rate_limits.orders_per_ip, c.rate_limits.payments_per_ip), (5, 6));
    }

    #[test]
    fn an_error_names_the_key_not_the_code() {
        let error = from_toml("gateway_timeout = \"soon\"").unwrap_err().to_string();
        assert!(error.contains("`gateway_timeout`: ") && error.contains("soon"), "{error}");
        assert!(!error.contains(".rs:"), "{error}");
    }

    #[test]
    fn a_missing_default_file_is_fine_but_a_named_one_is_not() {
        assert!(Layers::load(Some(Path::new("/nonexistent/paylet.toml"))).is_err());
    }

    #[test]
    fn a_list_given_replaces_the_files_list() {
        #[derive(Serialize)]
        struct Flags {
            trusted_proxies: Vec<IpAddr>,
        }
        let flag: IpAddr = "192.0.2.1".parse().unwrap();
        let c = file("trusted_proxies = [\"10.0.0.1\", \"10.0.0.2\"]")
            .with(&Flags { trusted_proxies: vec![flag] })
            .resolve()
            .unwrap();
        assert_eq!(c.trusted_proxies, vec![flag]);
    }
}
