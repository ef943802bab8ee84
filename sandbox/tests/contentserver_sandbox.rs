//! Content Server emulator served through `sandbox::start`: prefix, manifest, and the
//! "ticket expiring now" fault reaching the emulator's sessions.

use sandbox::{start, FaultRule, SandboxConfig};
use serde_json::Value;

#[tokio::test]
async fn served_by_start_with_an_expire_fault() {
    let sb = start(SandboxConfig::new()).await.unwrap();
    let base = sb.contentserver_url();
    assert!(base.ends_with("/otcs/cs.exe"), "{base}");
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let login = http
        .post(format!("{base}/api/v1/auth"))
        .form(&[("username", "admin"), ("password", "admin")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let login: Value = serde_json::from_str(&login).unwrap();
    let ticket = login["ticket"].as_str().unwrap().to_owned();
    let get = |path: &str| {
        http.get(format!("{base}{path}"))
            .header("OTCSTicket", &ticket)
            .send()
    };
    assert_eq!(get("/api/v2/nodes/2000").await.unwrap().status(), 200);
    assert_eq!(
        sb.contentserver_manifest()["volumes"]["enterprise_workspace"],
        2000
    );
    // The next ping expires every ticket (and is then answered).
    sb.contentserver_faults()
        .add(FaultRule::expire("GET /api/v1/ping").with_nth(1))
        .unwrap();
    assert_eq!(get("/api/v1/ping").await.unwrap().status(), 200);
    assert_eq!(get("/api/v2/nodes/2000").await.unwrap().status(), 401);
    sb.shutdown().await;
}
