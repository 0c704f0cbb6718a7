//! The test IdP's signing key: generated once per data directory and kept as PKCS#8 PEM.

use anyhow::Context;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::RsaPrivateKey;
use std::path::Path;

/// Loads the key at `path`, or generates a 2048-bit key and writes it there (mode 0600).
pub fn load_or_create(path: &Path) -> anyhow::Result<RsaPrivateKey> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return RsaPrivateKey::from_pkcs8_pem(&pem)
            .context("the test IdP key file is not a PKCS#8 RSA key");
    }
    let key = generate()?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("cannot encode the key")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key)
}

/// A fresh 2048-bit RSA key.
pub fn generate() -> anyhow::Result<RsaPrivateKey> {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).context("cannot generate an RSA key")
}
