//! OpenID Connect: the relying party (citizen and staff logins) and the JWS pieces it shares
//! with the built-in test IdP.

pub mod jws;
pub mod pkce;
pub mod rp;

pub use rp::{IdTokenError, IdpSettings, OidcClient, OidcError};
