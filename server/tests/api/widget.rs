use crate::helpers::{SHOP_ORIGIN, spawn_app};

#[tokio::test]
async fn the_widget_page_may_be_framed_only_by_the_stores_origins() {
    let app = spawn_app().await;
    for path in [format!("/widget/?store={}", app.store), format!("/widget/index.html?store={}", app.store)] {
        let response = app.http.get(app.url(&path)).send().await.unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert_eq!(csp, format!("frame-ancestors {SHOP_ORIGIN}"), "{path}");
    }
    let response = app.http.get(app.url("/widget/?store=st_unknown")).send().await.unwrap();
    assert_eq!(response.headers()["content-security-policy"], "frame-ancestors 'none'");
}

#[tokio::test]
async fn embed_js_is_loadable_cross_origin_for_its_integrity_check() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/embed.js")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
}

#[tokio::test]
async fn api_responses_are_never_cached() {
    let app = spawn_app().await;
    let response = app.http.get(app.url(&format!("/v1/stores/{}/checkout-config", app.store))).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}
