//! TLS for the switch's connections (rustls, aws-lc-rs provider): the switch presents a certificate
//! chain, a router trusts the certificates in a CA file.
//!
//! TLS encrypts and proves the switch's identity; the shared secret still proves each
//! router's, so a switch on a non-loopback address needs a secret with or without TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("TLS: cannot read {what} from {path}: {reason}")]
    Pem {
        /// What it should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificates or the key.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// The switch address has no host name to check its certificate against.
    #[error(
        "TLS: cannot check the switch's certificate against {0:?}: not a host name or IP address"
    )]
    ServerName(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |reason: String| TlsError::Pem {
        what: "certificates",
        path: path.to_owned(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| failed(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| failed(error.to_string()))?;
    if certificates.is_empty() {
        return Err(failed("no CERTIFICATE block".into()));
    }
    Ok(certificates)
}

/// The switch's side: its certificate chain and private key, both PEM.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Pem {
        what: "a private key",
        path: key.to_owned(),
        reason: error.to_string(),
    })?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A router's side: the certificates it trusts (PEM), and the name the switch's certificate
/// must carry: the host of `addr`.
pub(crate) fn connector(
    ca: &Path,
    addr: &str,
) -> Result<(TlsConnector, ServerName<'static>), TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(ca)? {
        roots.add(certificate)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = host_of(addr);
    let name =
        ServerName::try_from(host.to_owned()).map_err(|_| TlsError::ServerName(host.to_owned()))?;
    Ok((TlsConnector::from(Arc::new(config)), name))
}

/// `host` in `host:port`, `[v6]:port` or a bare host.
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_taken_from_each_address_form() {
        assert_eq!(host_of("switch.example:8899"), "switch.example");
        assert_eq!(host_of("127.0.0.1:8899"), "127.0.0.1");
        assert_eq!(host_of("[::1]:8899"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = acceptor(Path::new("/nonexistent/cert.pem"), Path::new("/k.pem"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
    }
}
