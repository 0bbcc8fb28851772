//! `paylet serve`: the server, with its workers, its HTTP redirect and its metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

use paylet::app::{Settings, Transport};
use paylet::config::{DEFAULT_LISTEN, DEFAULT_METRICS_LISTEN, FileConfig};
use paylet::http::recorder::Recorder;
use paylet::{Error, ServeOptions, stores, tls};
use tokio::net::TcpListener;

use super::{
    DatabaseArgs, HttpsArgs, PaymentArgs, UrlArgs, WidgetArgs, connect, limits, public_url, shutdown_signal, url_rules,
    widget_dir,
};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PAYLET_LISTEN")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    widget: WidgetArgs,
    #[command(flatten)]
    payments: PaymentArgs,
    #[command(flatten)]
    https: HttpsArgs,
    /// Serve Prometheus `/metrics` here, never on the public address; `off` for none
    /// [default: 127.0.0.1:9464].
    #[arg(long, env = "PAYLET_METRICS_LISTEN", value_name = "ADDR|off")]
    metrics_listen: Option<String>,
    #[command(flatten)]
    urls: UrlArgs,
    /// TEST ONLY: append every request received, bodies included, to FILE.
    #[arg(long, value_name = "FILE")]
    record_requests: Option<PathBuf>,
}

/// Runs the server until Ctrl-C.
pub async fn run(args: ServeArgs, file: FileConfig) -> Result<(), Error> {
    let ServeArgs { listen, database, widget, payments, https, metrics_listen, urls, record_requests } = args;
    let (db, _) = connect(database, &file).await?;
    // Refuses to start without keys that open every store's secrets. It does
    // not re-seal: instances still on the old keys could then open nothing.
    let stores = stores::list(&db).await?.len();
    tracing::info!(key = db.keys()?.current_id(), stores, "the master keys open every store's secrets");
    let recorder = match record_requests {
        Some(path) => Some(Recorder::create(&path).await?),
        None => None,
    };
    let listen =
        listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().unwrap_or(([127, 0, 0, 1], 8080).into()));
    let tls = match (https.tls_cert.or(file.tls_cert.clone()), https.tls_key.or(file.tls_key.clone())) {
        (Some(cert), Some(key)) => Some(tls::config(&cert, &key)?),
        (None, None) => None,
        _ => return Err(Error::Config("give both a TLS certificate and its key".into())),
    };
    let mut settings = Settings::new(&public_url(&widget, &file, Some(listen), tls.is_some()));
    settings.transport = Transport {
        tls: tls.is_some(),
        trusted_proxies: if https.trusted_proxies.is_empty() {
            file.trusted_proxies.clone()
        } else {
            https.trusted_proxies
        },
    };
    let redirect_http = https.redirect_http.or(file.redirect_http);
    let metrics_listen = match metrics_listen.or(file.metrics_listen.clone()).as_deref() {
        Some("off") => None,
        Some(addr) => Some(
            addr.parse::<SocketAddr>()
                .map_err(|e| Error::Config(format!("--metrics-listen: `{addr}` is not an address or `off`: {e}")))?,
        ),
        None => DEFAULT_METRICS_LISTEN.parse().ok(),
    };
    let https_required = settings.transport.tls || !settings.transport.trusted_proxies.is_empty();
    if (https_required || redirect_http.is_some()) && !settings.public_url.starts_with("https://") {
        return Err(Error::Config(format!(
            "plain HTTP is sent to the public URL, so it must be https://…, not {}",
            settings.public_url
        )));
    }
    settings.gateway_timeout = payments.gateway_timeout.or(file.gateway_timeout).unwrap_or(settings.gateway_timeout);
    settings.webhook_tolerance =
        payments.webhook_tolerance.or(file.webhook_tolerance).unwrap_or(settings.webhook_tolerance);
    settings.reconcile_after = payments.reconcile_after.or(file.reconcile_after).unwrap_or(settings.reconcile_after);
    settings.limits = limits(file.rate_limits, &payments.rate_limits)?;
    settings.url_rules = url_rules(&urls, &file);
    let settings_url = settings.public_url.clone();
    let state = paylet::state(db.clone(), ServeOptions { widget_dir: widget_dir(&widget, &file), settings });
    let app = paylet::app(state.clone(), recorder);
    let workers = paylet::workers(&state);
    let listener = TcpListener::bind(listen).await?;
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
