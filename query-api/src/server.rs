//! Serving the API on a socket, over TLS (rustls) when given a certificate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::{AppState, Error, Result, app};

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Listen on a non-loopback address without TLS (behind a TLS-terminating proxy).
    pub allow_remote_plaintext: bool,
    /// PEM certificate chain and private key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl ServeOptions {
    /// Refuses a non-loopback address without TLS unless plaintext on the network was asked
    /// for explicitly.
    pub fn check(&self) -> Result<()> {
        if self.tls.is_none() && !self.addr.ip().is_loopback() && !self.allow_remote_plaintext {
            return Err(Error::BadRequest(format!(
                "{} is not a loopback address: without TLS niji listens on loopback only; give \
                 a certificate (--tls-cert, --tls-key), or put it behind a TLS-terminating proxy \
                 and pass --allow-remote-plaintext",
                self.addr
            )));
        }
        Ok(())
    }
}

/// A bound listener, ready to serve.
pub struct Bound {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    /// The address it got (port 0 picks one).
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Bound {
    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> Result<TlsAcceptor> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| Error::BadRequest(format!("cannot read {}: {e}", p.display())))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::BadRequest(format!(
                "{}: not a PEM certificate chain: {e}",
                cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::BadRequest(format!(
            "{}: no certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|_| Error::BadRequest(format!("{}: not a PEM private key", key.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("tls: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            Error::BadRequest(format!("the certificate and key do not go together: {e}"))
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Binds `options.addr` (and loads the certificate when TLS is asked for).
pub async fn bind(options: &ServeOptions) -> Result<Bound> {
    options.check()?;
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", options.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("local address: {e}")))?;
    Ok(Bound {
        listener,
        tls,
        addr,
    })
}

/// Serves `state` until Ctrl-C.
pub async fn serve(bound: Bound, state: AppState) -> Result<()> {
    let router = app(state);
    let Some(acceptor) = bound.tls else {
        return axum::serve(bound.listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Error::Internal(format!("server: {e}")));
    };
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = bound.listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut stop => return Ok(()),
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::info!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let service = TowerToHyperService::new(router);
            if let Err(e) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
