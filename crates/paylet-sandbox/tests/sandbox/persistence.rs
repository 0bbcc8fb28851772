//! `--state`: accounts, objects and pending deliveries survive a restart.

use std::time::Duration;

use paylet_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::{Gateway, receiver_on};

#[tokio::test]
async fn state_and_pending_webhooks_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        state_file: Some(dir.path().join("sandbox.json")),
        retry_schedule: vec![Duration::from_millis(50); 200],
        ..SandboxConfig::default()
    };
    // The receiver's port, closed for now: deliveries fail and stay queued.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let hook_url = format!("http://127.0.0.1:{port}/hook");

    let sandbox = Sandbox::with_config(config.clone()).unwrap();
    let account = sandbox.create_account();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(sandbox.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    let gw = Gateway { base, sandbox, account: account.clone(), http: reqwest::Client::new() };
    gw.post("/v1/webhook_endpoints", &[("url", hook_url.as_str()), ("enabled_events[]", "*")]).await;
    let (_, pi, _) = gw.charge("4242424242424242", &[]).await;
    gw.wait_for_attempts(|a| !a.is_empty()).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    // Same state file, the receiver now listening.
    let hook = receiver_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), vec![]);
    let restarted = Sandbox::with_config(config).unwrap();
    let gw = crate::helpers::serve(restarted, account).await;
    let (status, fetched, _) = gw.get(&format!("/v1/payment_intents/{}", pi["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "the account's key and its intent are back");
    assert_eq!(fetched["status"], "succeeded");
    let received = hook.wait_for(1).await;
    let event: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(event["data"]["object"]["id"], pi["id"]);
}
