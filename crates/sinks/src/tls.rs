//! Outbound TLS beyond reqwest's defaults: a client certificate (mutual TLS) and certificate
//! pinning. Both need a rustls configuration of our own: the system's roots plus
//! `tls.ca_file`/`ca_dir`, TLS 1.3 or 1.2 only, and, with pins, a verifier that validates as
//! usual and then requires the server's certificate to be one of the pinned fingerprints.

use lookout_config::ClientTlsConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::sync::Arc;
use tokio_rustls::rustls;

/// The crypto provider of every TLS connection lookout makes: AWS-LC's FIPS-validated module
/// (aws-lc-rs in FIPS mode) when built with the `fips` feature, else ring.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "fips")]
    {
        Arc::new(rustls::crypto::default_fips_provider())
    }
    #[cfg(not(feature = "fips"))]
    {
        Arc::new(rustls::crypto::ring::default_provider())
    }
}

/// The name of [`provider`], for `lookout version` and diagnostics.
pub fn provider_name() -> &'static str {
    if cfg!(feature = "fips") {
        "aws-lc-rs (FIPS)"
    } else {
        "ring"
    }
}

/// A fingerprint as written (hex, any case, `:` separators allowed) in canonical form.
fn normalize(pin: &str) -> String {
    pin.chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

fn fingerprint(cert: &CertificateDer<'_>) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug)]
struct Pinned {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    pins: Vec<String>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let seen = fingerprint(end_entity);
        if self.pins.contains(&seen) {
            Ok(ok)
        } else {
            Err(rustls::Error::General(format!(
                "certificate pin mismatch: the server's certificate has SHA-256 {seen}, not a pinned one"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls configuration for `tls`, when it asks for more than extra roots (a client
/// certificate or pins) or the build is FIPS (every connection then uses [`provider`]);
/// `None` otherwise (reqwest's own configuration then applies).
pub fn client_config(tls: &ClientTlsConfig) -> Result<Option<rustls::ClientConfig>, String> {
    if !cfg!(feature = "fips")
        && tls.cert_file.is_none()
        && tls.key_file.is_none()
        && tls.pin_sha256.is_empty()
    {
        return Ok(None);
    }
    build(tls, true).map(Some)
}

/// A rustls configuration trusting only `tls.ca_file`/`ca_dir` (no system roots: a private
/// service such as a cluster's API server, which no public CA vouches for), on [`provider`].
pub fn private_client_config(tls: &ClientTlsConfig) -> Result<rustls::ClientConfig, String> {
    if tls.ca_file.is_none() && tls.ca_dir.is_none() {
        return Err("a private TLS service needs tls.ca_file or tls.ca_dir".into());
    }
    build(tls, false)
}

fn build(tls: &ClientTlsConfig, system_roots: bool) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    if system_roots {
        let native = rustls_native_certs::load_native_certs();
        for c in native.certs {
            let _ = roots.add(c);
        }
    }
    let mut files = Vec::new();
    if let Some(f) = &tls.ca_file {
        files.push(f.clone());
    }
    if let Some(d) = &tls.ca_dir {
        let mut found: Vec<_> = std::fs::read_dir(d)
            .map_err(|e| format!("cannot read tls.ca_dir {}: {e}", d.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "crt"))
            .collect();
        found.sort();
        files.extend(found);
    }
    for f in files {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&f)
            .map_err(|e| format!("cannot read CA file {}: {e}", f.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{} holds no PEM certificate: {e}", f.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", f.display()));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("{}: not a CA certificate: {e}", f.display()))?;
        }
    }
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let builder = if tls.pin_sha256.is_empty() {
        builder.with_root_certificates(roots)
    } else {
        let inner =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
        let pins: Vec<String> = tls.pin_sha256.iter().map(|p| normalize(p)).collect();
        if let Some(bad) = pins
            .iter()
            .find(|p| p.len() != 64 || !p.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(format!(
                "tls.pin_sha256: `{bad}` is not a SHA-256 fingerprint (64 hex digits)"
            ));
        }
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { inner, pins }))
    };
    let mut config = match (&tls.cert_file, &tls.key_file) {
        (Some(c), Some(k)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(c)
                .map_err(|e| format!("cannot read tls.cert_file {}: {e}", c.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{}: {e}", c.display()))?;
            let key = PrivateKeyDer::from_pem_file(k)
                .map_err(|e| format!("cannot read tls.key_file {}: {e}", k.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("the client certificate and key do not go together: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("tls.cert_file and tls.key_file go together".into()),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_normalized_and_checked_for_shape() {
        assert_eq!(normalize("AB:cd:EF"), "abcdef");
        let bad = ClientTlsConfig {
            pin_sha256: vec!["not-a-pin".into()],
            ..Default::default()
        };
        assert!(client_config(&bad)
            .unwrap_err()
            .contains("not a SHA-256 fingerprint"));
        let half = ClientTlsConfig {
            cert_file: Some("/x.pem".into()),
            ..Default::default()
        };
        assert!(client_config(&half).unwrap_err().contains("go together"));
        // a plain configuration is reqwest's own, except in a FIPS build
        assert_eq!(
            client_config(&ClientTlsConfig::default())
                .unwrap()
                .is_none(),
            !cfg!(feature = "fips")
        );
        let pinned = ClientTlsConfig {
            pin_sha256: vec!["AB".repeat(32)],
            ..Default::default()
        };
        assert!(client_config(&pinned).unwrap().is_some());
    }

    #[test]
    fn a_private_service_trusts_its_ca_only() {
        assert!(private_client_config(&ClientTlsConfig::default())
            .unwrap_err()
            .contains("tls.ca_file"));
        let d = tempfile::tempdir().unwrap();
        let empty = d.path().join("none.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let bad = ClientTlsConfig {
            ca_file: Some(empty),
            ..Default::default()
        };
        assert!(private_client_config(&bad)
            .unwrap_err()
            .contains("holds no PEM certificate"));
        // the machine's own roots make a valid file; none of the system's others is added
        let system = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
        if system.exists() {
            let c = private_client_config(&ClientTlsConfig {
                ca_file: Some(system.into()),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(c.fips(), cfg!(feature = "fips"));
        }
    }

    #[test]
    fn fips_builds_use_the_fips_module() {
        let plain = client_config(&ClientTlsConfig::default()).unwrap();
        let pinned = client_config(&ClientTlsConfig {
            pin_sha256: vec!["AB".repeat(32)],
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        if cfg!(feature = "fips") {
            assert!(provider().fips());
            assert_eq!(provider_name(), "aws-lc-rs (FIPS)");
            let plain = plain.expect("a FIPS build always uses its own configuration");
            assert!(plain.fips(), "rustls reports the configuration as FIPS");
            // every suite offered is one of the module's
            assert!(plain
                .crypto_provider()
                .cipher_suites
                .iter()
                .all(|s| s.fips()));
        } else {
            assert!(!provider().fips());
            assert_eq!(provider_name(), "ring");
            assert!(plain.is_none());
            assert!(!pinned.fips());
        }
        // TLS 1.2 at least, whatever the provider
        assert!(pinned
            .crypto_provider()
            .cipher_suites
            .iter()
            .all(|s| matches!(
                s.version().version,
                rustls::ProtocolVersion::TLSv1_3 | rustls::ProtocolVersion::TLSv1_2
            )));
    }
}
