//! HTTPS: `paylet serve` terminating TLS itself, plain HTTP sent to HTTPS, HSTS,
//! and `X-Forwarded-Proto` believed only from the proxies it was told of.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use paylet_api::GatewayStyle;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, STRICT_TRANSPORT_SECURITY};

use crate::helpers::{MASTER_KEY, spawn_app_with};

/// A private CA and a certificate it issued for localhost and 127.0.0.1, made
/// with Debian's openssl: (chain with the CA last, key, CA).
fn certificates(dir: &Path) -> (String, String, String) {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=Paylet test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
    );
    openssl(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
    let chain = [std::fs::read(dir.join("server.pem")).unwrap(), std::fs::read(dir.join("ca.pem")).unwrap()].concat();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    (path("chain.pem"), path("server.key"), path("ca.pem"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn paylet_serve(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paylet"));
    command
        .arg("serve")
        .args(args)
        .env("PAYLET_DATABASE_URL", format!("sqlite://{}/paylet.db", dir.display()))
        .env("PAYLET_MASTER_KEY", MASTER_KEY)
        // Tests run side by side: one metrics port would be taken twice.
        .env("PAYLET_METRICS_LISTEN", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

async fn wait_until_up(client: &reqwest::Client, url: &str) {
    for _ in 0..100 {
        if client.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered");
}

#[tokio::test]
async fn serve_terminates_tls_sends_plain_http_to_https_and_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, key, ca) = certificates(dir.path());
    let (port, plain) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let redirect = format!("127.0.0.1:{plain}");
    let _server = Server(
        paylet_serve(
            dir.path(),
            &["--listen", &listen, "--tls-cert", &chain, "--tls-key", &key, "--redirect-http", &redirect],
        )
        .spawn()
        .unwrap(),
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let trusting = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let base = format!("https://127.0.0.1:{port}");
    wait_until_up(&trusting, &format!("{base}/healthz")).await;

    let answer = trusting.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[STRICT_TRANSPORT_SECURITY], "max-age=63072000; includeSubDomains");

    // A client that does not trust the private CA gets no answer at all.
    let err = reqwest::Client::new().get(format!("{base}/healthz")).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // Nor does plain HTTP on the TLS port.
    assert!(reqwest::get(format!("http://{listen}/healthz")).await.is_err());

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = no_redirects.get(format!("http://{redirect}/widget/?store=st_x&items=TEE:1")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(page.headers()[LOCATION], format!("{base}/widget/?store=st_x&items=TEE:1"));
    assert!(page.headers().get(STRICT_TRANSPORT_SECURITY).is_none(), "HSTS means nothing over plain HTTP");
    let post = no_redirects.post(format!("http://{redirect}/v1/stores/st_x/orders")).body("{}").send().await.unwrap();
    assert_eq!(post.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = post.json().await.unwrap();
    assert_eq!(body["error"]["code"], "https_required");
}

#[tokio::test]
async fn serve_refuses_https_settings_that_would_redirect_to_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let out = paylet_serve(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--trusted-proxy", "10.0.0.2", "--public-url", "http://pay.example"],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be https://"));
    let out =
        paylet_serve(dir.path(), &["--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem"]).output().unwrap();
    assert!(!out.status.success(), "a certificate without its key is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"), "and the error names what is missing");
}

#[tokio::test]
async fn only_a_trusted_proxys_forwarded_proto_counts() {
    let behind = spawn_app_with(GatewayStyle::Stripe, |s| {
        s.public_url = "https://pay.example".into();
        s.transport.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let get = |proto: &'static str| {
        let request = behind.browser.get(behind.url("/v1/stores/nope/checkout-config"));
        async move { request.header("x-forwarded-proto", proto).send().await.unwrap() }
    };
    let plain = get("http").await;
    assert_eq!(plain.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(plain.headers()[LOCATION], "https://pay.example/v1/stores/nope/checkout-config");
    let secure = get("https").await;
    assert_eq!(secure.status(), StatusCode::NOT_FOUND, "served as usual");
    assert!(secure.headers().contains_key(STRICT_TRANSPORT_SECURITY));

    // The same header from a client that is not the proxy is not believed.
    let direct = spawn_app_with(GatewayStyle::Stripe, |s| {
        s.public_url = "https://pay.example".into();
        s.transport.trusted_proxies = vec!["10.0.0.2".parse().unwrap()];
    })
    .await;
    let spoofed = direct
        .browser
        .get(direct.url("/v1/stores/nope/checkout-config"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::NOT_FOUND);
    assert!(!spoofed.headers().contains_key(STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn serve_keeps_metrics_off_the_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let metrics = format!("127.0.0.1:{metrics_port}");
    let _server =
        Server(paylet_serve(dir.path(), &["--listen", &listen, "--metrics-listen", &metrics]).spawn().unwrap());
    let http = reqwest::Client::new();
    wait_until_up(&http, &format!("http://{listen}/healthz")).await;
    let public = http.get(format!("http://{listen}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let private = http.get(format!("http://{metrics}/metrics")).send().await.unwrap();
    assert_eq!(private.status(), StatusCode::OK);
    assert!(private.text().await.unwrap().contains(r#"route="/healthz""#));
}
