//! The code generation itself is google-ads-types's build script (it compiles `proto/` for the
//! whole workspace). This one hands its output folder to this crate's `src/generated.rs` and
//! records the compiler version for the `x-goog-api-client` header. It has no dependencies,
//! so cargo runs it at once.

use std::env;

fn main() {
    // Set by google-ads-types's build script through its `links` metadata.
    let generated = env::var("DEP_GOOGLE_ADS_TYPES_GENERATED")
        .expect("google-ads-types's build script names its output folder");
    println!("cargo::rustc-env=ADS_CODEGEN_DIR={generated}");
    println!(
        "cargo::rustc-env=RUSTC_VERSION_FOR_API_CLIENT={}",
        rustc_version()
    );
    println!("cargo::rerun-if-env-changed=DEP_GOOGLE_ADS_TYPES_GENERATED");
    println!("cargo::rerun-if-changed=build.rs");
}

/// The version of the compiler, for the `x-goog-api-client` header.
fn rustc_version() -> String {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
