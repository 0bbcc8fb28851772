//! `paylet serve`: the server, with its workers, its HTTP redirect and its metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

use paylet::app::{Settings, Transport};
use paylet::config::Layers;
use paylet::http::recorder::Recorder;
use paylet::{Error, ServeOptions, stores, tls};
use serde::Serialize;
use tokio::net::TcpListener;

use super::{
    DatabaseArgs, HttpsArgs, PaymentArgs, UrlArgs, WidgetArgs, connect, limits, public_url, shutdown_signal, url_rules,
};

#[derive(clap::Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PAYLET_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    #[serde(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    #[serde(flatten)]
    widget: WidgetArgs,
    #[command(flatten)]
    #[serde(flatten)]
    payments: PaymentArgs,
    #[command(flatten)]
    #[serde(flatten)]
    https: HttpsArgs,
    /// Serve Prometheus `/metrics` here, never on the public address; `off` for none
    /// [default: 127.0.0.1:9464].
    #[arg(long, env = "PAYLET_METRICS_LISTEN", value_name = "ADDR|off")]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<String>,
    #[command(flatten)]
    #[serde(flatten)]
    urls: UrlArgs,
    /// TEST ONLY: append every request received, bodies included, to FILE.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    record_requests: Option<PathBuf>,
}

/// Runs the server until Ctrl-C.
pub async fn run(args: ServeArgs, layers: &Layers) -> Result<(), Error> {
    let config = layers.with(&args).resolve()?;
    let db = connect(&config).await?;
    // Refuses to start without keys that open every store's secrets. It does
    // not re-seal: instances still on the old keys could then open nothing.
    let stores = stores::list(&db).await?.len();
    tracing::info!(key = db.keys()?.current_id(), stores, "the master keys open every store's secrets");
    let recorder = match &args.record_requests {
        Some(path) => Some(Recorder::create(path).await?),
        None => None,
    };
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::config(cert, key)?),
        (None, None) => None,
        _ => return Err(Error::Config("give both a TLS certificate and its key".into())),
    };
    let mut settings = Settings::new(&public_url(&config, tls.is_some()));
    settings.transport = Transport { tls: tls.is_some(), trusted_proxies: config.trusted_proxies.clone() };
    let redirect_http = config.redirect_http;
    let metrics_listen = match config.metrics_listen.as_str() {
        "off" => None,
        addr => Some(
            addr.parse::<SocketAddr>()
                .map_err(|e| Error::Config(format!("--metrics-listen: `{addr}` is not an address or `off`: {e}")))?,
        ),
    };
    let https_required = settings.transport.tls || !settings.transport.trusted_proxies.is_empty();
    if (https_required || redirect_http.is_some()) && !settings.public_url.starts_with("https://") {
        return Err(Error::Config(format!(
            "plain HTTP is sent to the public URL, so it must be https://…, not {}",
            settings.public_url
        )));
    }
    settings.gateway_timeout = config.gateway_timeout;
    settings.webhook_tolerance = config.webhook_tolerance;
    settings.reconcile_after = config.reconcile_after;
    settings.limits = limits(config.rate_limits, &args.payments.rate_limits)?;
    settings.url_rules = url_rules(&config);
    let settings_url = settings.public_url.clone();
    let state = paylet::state(db.clone(), ServeOptions { widget_dir: config.widget_dir.clone(), settings });
    let app = paylet::app(state.clone(), recorder);
    let workers = paylet::workers(&state);
    let listener = TcpListener::bind(config.listen).await?;
    tracing::info!(address = %listener.local_addr()?, https = tls.is_some(), "paylet server listening");
    let (stop, stopped) = tokio::sync::watch::channel(());
    let redirect = async {
        let Some(addr) = redirect_http else { return Ok(()) };
        let plain = TcpListener::bind(addr).await?;
        tracing::info!(address = %plain.local_addr()?, "sending plain HTTP to {}", settings_url);
        paylet::serve(plain, paylet::http::https_redirect(settings_url.clone()), paylet::stopped(stopped.clone())).await
    };
    let metrics = async {
        let Some(addr) = metrics_listen else { return Ok(()) };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("metrics on {addr} (see --metrics-listen): {e}")))?;
        tracing::info!(address = %listener.local_addr()?, "metrics listening");
        paylet::serve(listener, paylet::http::metrics_router(state.clone()), paylet::stopped(stopped.clone())).await
    };
    let server = paylet::serve_tcp(listener, tls, app, paylet::stopped(stopped.clone()));
    let signal = async {
        shutdown_signal().await;
        let _ = stop.send(());
        Ok(())
    };
    tokio::try_join!(server, redirect, metrics, signal)?;
    drop(workers);
    db.close().await;
    Ok(())
}
