#[tokio::test]
async fn dump_manifest() {
    let sb = sandbox::start(sandbox::SandboxConfig::new()).await.unwrap();
    println!("{}", serde_json::to_string_pretty(&sb.contentserver_manifest()).unwrap());
}
