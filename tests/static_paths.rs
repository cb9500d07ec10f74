//! The static file server under attack: `..` in every spelling, encoded slashes and dots,
//! absolute paths, NUL bytes, and a symlink in the static directory that points outside it.
//! Nothing outside the static directory is ever served.

mod common;

use common::{http_get, spawn_server, test_config};

#[test]
fn nothing_outside_the_static_directory_is_served() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><title>site</title>",
    )
    .unwrap();
    let secret = tempfile::tempdir().unwrap();
    let secret_file = secret.path().join("secret.txt");
    std::fs::write(&secret_file, "TOP-SECRET-CONTENT").unwrap();
    std::os::unix::fs::symlink(&secret_file, site.path().join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(secret.path(), site.path().join("leakdir")).unwrap();
    let mut config = test_config();
    config.server.static_dir = site.path().to_str().unwrap().into();
    let server = spawn_server(config);

    let (status, body) = http_get(server.addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("<title>site</title>"));
    let up = secret.path().file_name().unwrap().to_str().unwrap();
    let attempts = [
        format!("/../{up}/secret.txt"),
        format!("/%2e%2e/{up}/secret.txt"),
        format!("/%2E%2E%2F{up}%2Fsecret.txt"),
        format!("/..%2f{up}%2fsecret.txt"),
        format!("/..%5c{up}%5csecret.txt"),
        format!("/.%2e/{up}/secret.txt"),
        format!("//{}", secret_file.display()),
        format!("/{}", secret_file.display()),
        format!(
            "/%2f{}",
            secret_file
                .display()
                .to_string()
                .trim_start_matches('/')
                .replace('/', "%2f")
        ),
        "/index.html%00.txt".to_string(),
        "/leak.txt".to_string(),
        "/leakdir/secret.txt".to_string(),
        "/../../../../../../etc/passwd".to_string(),
        "/%c0%ae%c0%ae/etc/passwd".to_string(),
    ];
    for path in &attempts {
        let (status, body) = http_get(server.addr, path);
        assert!(
            !body.contains("TOP-SECRET-CONTENT") && !body.contains("root:x:0:0"),
            "{path} served a file outside the static directory (status {status})"
        );
        assert!(
            status == 400 || status == 403 || status == 404,
            "{path}: status {status}"
        );
    }
}
