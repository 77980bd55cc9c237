//! Entry point for the access-token fuzz target (`fuzz/`) and its
//! regression corpus: header parsing and verification of untrusted tokens
//! must refuse, never panic.

use std::sync::LazyLock;

use chat_proto::auth::v1::PublicKey;

use crate::token::{Revocations, TokenVerifier};

static VERIFIER: LazyLock<(tokio::runtime::Runtime, TokenVerifier)> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let key = PublicKey {
        kid: "fuzz".into(),
        alg: "EdDSA".into(),
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        // A valid point (the Ed25519 base point's encoding); nothing the
        // fuzzer sends is signed by its private key.
        x: "WJ7wpJ0uuCXlXQYu6Vb6Cv9PZ3aXzcbqk8Lz7aO2K8s".into(),
    };
    let verifier =
        TokenVerifier::with_keys("chat-auth", "chat", &[key], &Revocations::default()).expect("a static verifier");
    (runtime, verifier)
});

/// An access token as a client sends it.
pub fn access_token(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let _ = jsonwebtoken::decode_header(token.as_ref());
    let (runtime, verifier) = &*VERIFIER;
    let _ = runtime.block_on(verifier.verify_user(&token));
    let _ = runtime.block_on(verifier.verify_service(&token));
}
