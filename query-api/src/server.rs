//! Serving the API on a socket.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{AppState, Error, Result, app};

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Listen on a non-loopback address without TLS (behind a TLS-terminating proxy).
    pub allow_remote_plaintext: bool,
}

impl ServeOptions {
    /// Refuses a non-loopback address unless plaintext on the network was asked for
    /// explicitly.
    pub fn check(&self) -> Result<()> {
        if !self.addr.ip().is_loopback() && !self.allow_remote_plaintext {
            return Err(Error::BadRequest(format!(
                "{} is not a loopback address: without TLS niji listens on loopback only; put \
                 it behind a TLS-terminating proxy and pass --allow-remote-plaintext",
                self.addr
            )));
        }
        Ok(())
    }
}

/// Binds `options.addr`; returns the listener and the address it got (port 0 picks one).
pub async fn bind(options: &ServeOptions) -> Result<(TcpListener, SocketAddr)> {
    options.check()?;
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", options.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("local address: {e}")))?;
    Ok((listener, addr))
}

/// Serves `state` on `listener` until Ctrl-C.
pub async fn serve(listener: TcpListener, state: AppState) -> Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Error::Internal(format!("server: {e}")))
}
