//! Embeds the Designsystemet CSS from web/node_modules when it has been installed (the README's
//! run and test commands install it). Without it (a bare `cargo test`), a small fallback
//! stylesheet is embedded instead and a build warning says so.

use std::path::{Path, PathBuf};
use std::{env, fs};

#[expect(
    clippy::disallowed_methods,
    reason = "a build script reads Cargo's variables"
)]
fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let ds = manifest.join("../../web/node_modules/@digdir/designsystemet-css/dist");
    let pairs = [
        ("src/index.css", "ds.css"),
        ("theme/designsystemet.css", "theme.css"),
    ];
    println!("cargo:rerun-if-changed={}", ds.display());
    let mut found = true;
    for (from, to) in pairs {
        let src = ds.join(from);
        println!("cargo:rerun-if-changed={}", src.display());
        if copy(&src, &out.join(to)).is_err() {
            found = false;
        }
    }
    if !found {
        println!("cargo:warning=Designsystemet CSS not found in web/node_modules; embedding a fallback stylesheet (run `npm ci` in web/ for the real one)");
        let fallback = manifest.join("assets/fallback.css");
        for (_, to) in pairs {
            let _ = copy(&fallback, &out.join(to));
        }
    }
    println!("cargo:rustc-env=MINSIDE_DS_REAL={found}");
}

fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    let data = fs::read(from)?;
    fs::write(to, data)
}
