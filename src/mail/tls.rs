//! Which servers to trust: the system's root certificates plus `mail.ca_file`, with nothing
//! to turn verification off.

use std::io;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::model::MailSettings;

use super::wire::Bounded;

/// A TLS connection over a bounded TCP connection.
pub type TlsStream = StreamOwned<ClientConnection, Bounded>;

/// The client configuration: system roots and the configured extra roots.
pub fn client_config(settings: &MailSettings) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    roots.add_parsable_certificates(
        settings
            .extra_roots
            .iter()
            .map(|der| CertificateDer::from(der.clone())),
    );
    Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Wraps `tcp` in TLS for `host` and completes the handshake, so that an untrusted
/// certificate is reported here rather than on the first command.
pub fn handshake(config: Arc<ClientConfig>, host: &str, mut tcp: Bounded) -> io::Result<TlsStream> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let mut connection = ClientConnection::new(config, name).map_err(io::Error::other)?;
    while connection.is_handshaking() {
        connection.complete_io(&mut tcp)?;
    }
    Ok(StreamOwned::new(connection, tcp))
}

/// Whether an I/O error is TLS refusing the server's certificate.
pub fn is_certificate_error(err: &io::Error) -> bool {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| matches!(tls, rustls::Error::InvalidCertificate(_)))
}
