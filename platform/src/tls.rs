//! What TLS failures look like, for refusing them at start instead of
//! retrying: a certificate that isn't trusted or doesn't name the host,
//! or a server that doesn't speak TLS, won't mend by waiting.

/// Whether `error`, or an error under it, comes from rustls.
pub fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        current = e.source();
    }
    // Some drivers flatten the rustls error into their own text.
    let text = error.to_string();
    [
        "invalid peer certificate",
        "received corrupt message",
        "InvalidContentType",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Makes ring the process's TLS crypto provider (sqlx and redis both use
/// rustls), so that a dependency enabling another provider later can't
/// leave rustls unable to choose. Idempotent.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
