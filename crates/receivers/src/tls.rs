//! TLS for listeners: loads a PEM certificate chain and key into a rustls server config.

use lookout_config::TlsConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Builds an acceptor from `cfg`, advertising `alpn` protocols (e.g. `h2`, `http/1.1`).
/// Errors name the file and what is wrong with it.
pub fn acceptor(cfg: &TlsConfig, alpn: &[&[u8]]) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .map_err(|e| format!("tls cert {}: {e}", cfg.cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls cert {}: {e}", cfg.cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "tls cert {}: no PEM certificate found",
            cfg.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key)
        .map_err(|e| format!("tls key {}: {e}", cfg.key.display()))?;
    #[cfg(feature = "fips")]
    let provider = Arc::new(tokio_rustls::rustls::crypto::default_fips_provider());
    #[cfg(not(feature = "fips"))]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut sc = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls {}: {e}", cfg.cert.display()))?;
    sc.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(sc)))
}
