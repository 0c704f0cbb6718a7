//! The built-in test identity provider (demo and test only): a small but genuine OpenID
//! provider. Discovery, JWKS, an authorization endpoint where the tester picks a synthetic
//! person (or employee) and a level of assurance, a token endpoint that checks PKCE and client
//! authentication and issues RS256-signed ID tokens, and an end-session endpoint. The portal
//! logs in against it through the same relying-party code it uses for ID-porten.

mod endpoints;

use rsa::RsaPrivateKey;
use std::collections::HashMap;
use std::sync::Mutex;

pub use endpoints::routes;

/// A client registered at the test IdP.
#[derive(Clone)]
pub struct TestIdpClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Staff clients get the employee picker and `name`/`roles` claims; citizen clients get `pid`/`acr`.
    pub staff: bool,
}

/// Settings of the test IdP.
#[derive(Clone)]
pub struct TestIdpSettings {
    pub signing_key: RsaPrivateKey,
    pub clients: Vec<TestIdpClient>,
}

pub(crate) struct Pending {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    acr_values: Option<String>,
    created: jiff::Timestamp,
}

pub(crate) struct Issued {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    claims: serde_json::Value,
    created: jiff::Timestamp,
}

/// The running provider: settings plus short-lived authorization requests and codes.
pub struct TestIdp {
    settings: TestIdpSettings,
    issuer: String,
    kid: String,
    pending: Mutex<HashMap<String, Pending>>,
    codes: Mutex<HashMap<String, Issued>>,
}

impl TestIdp {
    /// The issuer is `{public_url}/test-idp`.
    pub fn new(settings: TestIdpSettings, public_url: &str) -> Self {
        let n = rsa::traits::PublicKeyParts::n(&settings.signing_key.to_public_key()).to_bytes_be();
        let kid = crate::security::sha256_hex(&String::from_utf8_lossy(&n))[..16].to_owned();
        Self {
            settings,
            issuer: format!("{}/test-idp", public_url.trim_end_matches('/')),
            kid,
            pending: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn client(&self, id: &str) -> Option<&TestIdpClient> {
        self.settings.clients.iter().find(|c| c.client_id == id)
    }
}
