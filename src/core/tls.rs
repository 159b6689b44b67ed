//! TLS settings of every connection (HTTP and WebSocket alike): trust as the platform does —
//! the system's trust store, or the files named by `SSL_CERT_FILE` / `SSL_CERT_DIR` when set
//! (as OpenSSL, and so the official Python SDK, reads them) — plus the configured CA file
//! (`bai_config_set_ca_file` or `BACKEND_CA_FILE`); or, on request only, no verification.
//! Where the platform has no trust store at all, the bundled Mozilla roots stand in for it.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::config::Config;
use super::error::{Error, ErrorKind, Result};

/// Accepts any certificate: only for `skip_tls_verify`. Signatures are still checked so the
/// handshake stays well-formed.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls client configuration for `config`.
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))?;
    let mut cfg = if config.skip_tls_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider))).with_no_client_auth()
    } else {
        let mut roots = (*platform_roots()).clone();
        if let Some(ca) = &config.ca_file {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .map_err(|e| Error::invalid(format!("ca_file: cannot read '{}': {e}", ca.display())))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::invalid(format!("ca_file: '{}' is not valid PEM: {e}", ca.display())))?;
            if certs.is_empty() {
                return Err(Error::invalid(format!("ca_file: '{}' holds no PEM certificate", ca.display())));
            }
            for c in certs {
                roots.add(c).map_err(|e| Error::invalid(format!("ca_file: '{}' holds an unusable certificate: {e}", ca.display())))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The platform's roots, loaded once per process for each value of `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` (reading the system bundle costs milliseconds).
fn platform_roots() -> Arc<RootCertStore> {
    type Cache = Option<((Option<String>, Option<String>), Arc<RootCertStore>)>;
    static CACHE: Mutex<Cache> = Mutex::new(None);
    let key = (std::env::var("SSL_CERT_FILE").ok(), std::env::var("SSL_CERT_DIR").ok());
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, roots)) = cache.as_ref() {
        if *k == key {
            return roots.clone();
        }
    }
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 && key == (None, None) {
        // No system store (a minimal container): the bundled Mozilla roots stand in.
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let roots = Arc::new(roots);
    *cache = Some((key, roots.clone()));
    roots
}
