//! The standalone `logpipe-testkit fake-hdfs` process: prints its URL, serves the real client,
//! and exits cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_fake_hdfs_prints_its_url_serves_clients_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logpipe-testkit"))
        .args([
            "fake-hdfs",
            "--port",
            "0",
            "--datanodes",
            "2",
            "--block-size",
            "1048576",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn logpipe-testkit");
    let stdout = child.stdout.take().expect("stdout");
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let url = bounded(30, "URL line", url).await.unwrap().unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with("hdfs://127.0.0.1:"), "{url}");

    let config_dir = tempfile::tempdir().unwrap();
    let client = hdfs_native::ClientBuilder::new()
        .with_url(url.clone())
        .with_config_dir(config_dir.path().to_str().unwrap())
        .with_config(logpipe_testkit::hdfs::FakeHdfs::client_config())
        .build()
        .unwrap();
    let data = payload(2 * MIB + 17, 30);
    bounded(
        60,
        "write",
        write_file(&client, "/e2e/file", &data, 100_000, 2),
    )
    .await
    .unwrap();
    assert!(
        bounded(30, "read", read_file(&client, "/e2e/file"))
            .await
            .unwrap()
            == data
    );

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = bounded(
        20,
        "exit after SIGTERM",
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = bounded(20, "stat after exit", client.get_file_info("/e2e/file")).await;
    assert!(refused.is_err());
}
