//! HTTPS with a certificate, and the loopback rule without one.

use std::sync::Arc;

use niji_query_api::ServeOptions;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixture::server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_a_certificate() {
    let s = server(None, 1000, 20).await;
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert_path, key_path) = (s.dir.path().join("cert.pem"), s.dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key_pair.serialize_pem()).expect("write key");

    // Without the key, or with a broken one, the server does not start.
    let broken = ServeOptions {
        addr: "127.0.0.1:0".parse().expect("addr"),
        allow_remote_plaintext: false,
        tls: Some((cert_path.clone(), cert_path.clone())),
    };
    let err = niji_query_api::bind(&broken)
        .await
        .expect_err("a certificate is no key");
    assert!(err.to_string().contains("private key"), "{err}");

    let options = ServeOptions {
        addr: "0.0.0.0:0".parse().expect("addr"),
        allow_remote_plaintext: false,
        tls: Some((cert_path, key_path)),
    };
    let bound = niji_query_api::bind(&options)
        .await
        .expect("TLS allows any address");
    assert_eq!(bound.scheme(), "https");
    let port = bound.addr.port();
    tokio::spawn(niji_query_api::serve(bound, s.state.clone()));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert.pem().as_bytes()).expect("der"))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut tls = connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("x-content-type-options: nosniff"), "{text}");

    // Plain HTTP to the TLS port gets no answer.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw).await;
    assert!(!String::from_utf8_lossy(&raw).contains("200 OK"));
}

#[test]
fn without_tls_only_loopback_unless_told_otherwise() {
    let public = ServeOptions {
        addr: "0.0.0.0:8400".parse().expect("addr"),
        allow_remote_plaintext: false,
        tls: None,
    };
    assert!(public.check().is_err());
    let told = ServeOptions {
        allow_remote_plaintext: true,
        ..public.clone()
    };
    assert!(told.check().is_ok());
    let loopback = ServeOptions {
        addr: "127.0.0.1:8400".parse().expect("addr"),
        ..public
    };
    assert!(loopback.check().is_ok());
}
