//! HTTPS to an embeddings API whose certificate nobody vouches for: the
//! binary's TLS stack runs the handshake, checks the server's certificate
//! against its bundled roots, refuses it, and fails with `provider_error`
//! naming the certificate. The server is python3's `ssl` module with a
//! self-signed certificate that `openssl` makes for the test.

#[cfg(unix)]
use crate::common::TestEnv;

#[cfg(not(unix))]
skipped_here!(
    an_api_with_an_untrusted_certificate_is_refused,
    "the TLS server is a python3 script with a certificate made by openssl, Unix tools"
);

#[cfg(unix)]
#[test]
fn an_api_with_an_untrusted_certificate_is_refused() {
    let env = TestEnv::new();
    let server = unix::TlsServer::start(env.dir.path());
    let out = env
        .std_cmd()
        .env("SQLITE_GRAPHRAG_EMBEDDER", "openai-compatible")
        .env(
            "SQLITE_GRAPHRAG_EMBED_BASE_URL",
            format!("https://127.0.0.1:{}/v1", server.port),
        )
        .env("SQLITE_GRAPHRAG_EMBED_MODEL", "m")
        .args(["remember", "--name", "m", "--body", "x y"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        (out.status.code(), json["error"]["kind"].as_str()),
        (Some(19), Some("provider_error")),
        "{json}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("trying again"),
        "an untrusted certificate is not asked again: {stderr}"
    );
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("root certificates")
    );
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.to_lowercase().contains("certificate"),
        "the message does not name the certificate: {message}"
    );
    // The server saw the client break off the handshake with the alert
    // "unknown CA": the refusal came from checking the certificate's
    // issuer, not from a connection that never began.
    let seen = server.outcome();
    assert!(
        seen.starts_with("handshake failed") && seen.to_lowercase().contains("unknown ca"),
        "the server saw: {seen}"
    );
    let listed = env.ok(&["list"]);
    assert_eq!(listed["items"], serde_json::json!([]), "{listed}");
}

#[cfg(unix)]
mod unix {
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Child, ChildStdout, Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    /// Accepts connections on 127.0.0.1 and runs a TLS handshake on each with
    /// the certificate and key given; prints the port, then one line per
    /// connection: how its handshake ended.
    const SERVER: &str = r#"
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    try:
        with context.wrap_socket(connection, server_side=True):
            print("handshake completed", flush=True)
    except (ssl.SSLError, OSError) as error:
        print("handshake failed:", error, flush=True)
"#;

    /// How long to wait for the server to say something. Generous: it only
    /// bounds a broken run.
    const PATIENCE: Duration = Duration::from_secs(60);

    /// A TLS server with a throwaway self-signed certificate for 127.0.0.1,
    /// stopped when dropped.
    pub struct TlsServer {
        /// The port it listens on.
        pub port: u16,
        child: Child,
        lines: mpsc::Receiver<String>,
    }

    impl TlsServer {
        /// Makes the certificate in `dir` and starts the server.
        pub fn start(dir: &Path) -> Self {
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            let made = Command::new("openssl")
                .args(["req", "-x509", "-nodes", "-days", "1"])
                .args(["-subj", "/CN=127.0.0.1"])
                .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
                // Valid for 127.0.0.1 and not a CA's: what is wrong with
                // it is only that no trusted root signed it.
                .args(["-addext", "subjectAltName=IP:127.0.0.1"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .output()
                .expect("needs openssl (Debian package openssl)");
            assert!(
                made.status.success(),
                "openssl: {}",
                String::from_utf8_lossy(&made.stderr)
            );
            let mut child = Command::new("python3")
                .args(["-c", SERVER])
                .arg(&cert)
                .arg(&key)
                .stdout(Stdio::piped())
                .spawn()
                .expect("needs python3");
            let lines = read_lines(child.stdout.take().unwrap());
            let mut server = TlsServer {
                port: 0,
                child,
                lines,
            };
            let first = server.outcome();
            server.port = first
                .parse()
                .unwrap_or_else(|_| panic!("the server did not start: {first}"));
            server
        }

        /// The server's next line.
        pub fn outcome(&self) -> String {
            self.lines
                .recv_timeout(PATIENCE)
                .expect("the TLS server said nothing")
        }
    }

    impl Drop for TlsServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The lines of `stdout`, from a thread of their own.
    fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        receiver
    }
}
