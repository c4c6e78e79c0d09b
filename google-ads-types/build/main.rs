//! Compiles the vendored Google Ads protos (`proto/`) into Rust, with no `protoc`, for the
//! whole workspace.
//!
//! protox parses the `.proto` files in Rust; prost-build writes the messages, one file per
//! proto package (tonic-prost-build adds the clients with feature `client`, the server stubs
//! with `server`). The packages are split over two crates so cargo can compile them on two
//! cores: this crate compiles every package without a service (enums, common, errors,
//! resources...) and needs only prost; `google-ads` compiles the packages with services
//! (services, longrunning) next to its client layer, from the files this script leaves in
//! `OUT_DIR` (passed on as the `links` metadata `generated`). From the same descriptors this
//! script also writes what no code generator does for us: a builder and a parser for every
//! `google.api.resource` pattern, the API version and its failure trailer key, client
//! accessors, error tables, and the encoded descriptor set for reflection. The API version is
//! read from `proto/`, so moving to a new one is `scripts/update-protos vNN` and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use prost_reflect::DescriptorPool;

mod errors;
mod mutate;
mod resource_names;
mod services;

pub(crate) type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BuildResult<()> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let proto_dir = manifest_dir.join("proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo::rerun-if-changed=proto");
    // Both crates include the generated files through this variable.
    println!("cargo::metadata=generated={}", out_dir.display());
    // Not named GOOGLE_ADS_*: `cargo run` hands rustc-env variables to the program, and
    // those names are the configuration's.
    println!("cargo::rustc-env=ADS_CODEGEN_DIR={}", out_dir.display());

    // The versions are what proto/manifests holds; the build compiles the enabled ones.
    let available = api_versions(&proto_dir)?;
    let enabled: Vec<String> = available
        .iter()
        .filter(|v| env::var_os(format!("CARGO_FEATURE_{}", v.to_uppercase())).is_some())
        .cloned()
        .collect();
    let Some(newest) = enabled.last().cloned() else {
        return no_version_enabled(&out_dir, &available);
    };

    // Each version compiles on its own include path (its overlays first, proto/ after), so a
    // shared file whose copies differ is read in that version's bytes.
    let mut pools = Vec::new();
    for version in &enabled {
        let mut includes = Vec::new();
        let overlay = proto_dir.join("overlays").join(version);
        if overlay.is_dir() {
            includes.push(overlay);
        }
        includes.push(proto_dir.clone());
        let mut compiler = protox::Compiler::new(&includes)?;
        compiler.include_imports(true).include_source_info(true);
        compiler.open_files(manifest_files(&proto_dir, version)?)?;
        pools.push((version.clone(), compiler.descriptor_pool()));
    }
    // One code generation over every enabled version: the newest's files, and each older
    // version's own google/ads files (its google/api, google/rpc... messages are the newest's
    // Rust types: one `rpc::Status` for all versions).
    let mut merged = prost_types::FileDescriptorSet::default();
    for (version, pool) in pools.iter().rev() {
        let own = format!("google/ads/googleads/{version}/");
        merged.file.extend(
            pool.file_descriptor_protos()
                .filter(|f| *version == newest || f.name().starts_with(&own))
                .cloned(),
        );
    }
    for (version, pool) in &pools {
        for file in pool
            .files()
            .filter(|f| !f.name().starts_with("google/ads/"))
        {
            if !merged.file.iter().any(|f| f.name() == file.name()) {
                return Err(format!(
                    "{version} imports {} that {newest} does not: proto/ must list it for {newest} too",
                    file.name()
                )
                .into());
            }
        }
    }

    let mut config = prost_build::Config::new();
    for version in &enabled {
        config
            // GoogleAdsRow holds one field per resource: inline it is 52 KB, and prost's
            // debug-build decode of it overflows a 2 MB thread stack. Boxed, a row is a few KB.
            .boxed(format!(
                ".google.ads.googleads.{version}.services.GoogleAdsRow"
            ))
            // A MutateOperation inline is as large as its largest member (1.6 KB, a Campaign
            // operation): every move of one copies that, and a list of a million takes 1.6
            // GB. Boxed, it is a pointer and the operation's own size; the same for results.
            .boxed(format!(
                ".google.ads.googleads.{version}.services.MutateOperation.operation"
            ))
            .boxed(format!(
                ".google.ads.googleads.{version}.services.MutateOperationResponse.response"
            ));
    }
    write_code(merged, config)?;

    let mut client_side = BTreeSet::new();
    let mut packages = BTreeSet::new();
    for (_, pool) in &pools {
        client_side.extend(packages_with_services(pool));
        packages.extend(
            pool.files()
                .map(|f| f.package_name().to_owned())
                // Packages prost-build wrote nothing for (google.protobuf maps to prost-types).
                .filter(|p| {
                    out_dir
                        .join(format!("{}.rs", module_path(p).join(".")))
                        .exists()
                }),
        );
    }
    let (clients, types): (BTreeSet<_>, BTreeSet<_>) =
        packages.into_iter().partition(|p| client_side.contains(p));
    // Each version's module also holds its constants (version, trailer key, descriptors).
    let version_items: BTreeMap<String, String> = enabled
        .iter()
        .map(|v| {
            (
                format!("google.ads.googleads.{v}"),
                format!("include!(concat!(env!(\"ADS_CODEGEN_DIR\"), \"/version_{v}.rs\"));"),
            )
        })
        .collect();
    fs::write(
        out_dir.join("types_tree.rs"),
        module_tree(&types, &BTreeSet::new(), &BTreeMap::new()),
    )?;
    fs::write(
        out_dir.join("client_tree.rs"),
        module_tree(&clients, &types, &version_items),
    )?;
    fs::write(out_dir.join("instances.rs"), instances_rs(&pools, &types))?;

    for (version, pool) in &pools {
        // The embedded descriptor set drops source info (comments, spans): reflection does
        // not need it and it would triple the bytes every binary carries.
        fs::write(
            out_dir.join(format!("descriptor_set_{version}.bin")),
            strip_source_info(&pool.encode_to_vec())?,
        )?;
        fs::write(
            out_dir.join(format!("version_{version}.rs")),
            version_rs(version, pool),
        )?;
        fs::write(
            out_dir.join(format!("service_handles_{version}.rs")),
            services::service_handles_rs(pool, version)?,
        )?;
        fs::write(
            out_dir.join(format!("error_codes_{version}.rs")),
            errors::error_code_table_rs(pool, version)?,
        )?;
    }
    let (_, latest_pool) = pools.last().ok_or("no version")?;
    fs::write(
        out_dir.join("api_version.rs"),
        api_version_rs(&enabled, &available),
    )?;
    fs::write(
        out_dir.join("resource_names.rs"),
        resource_names::resource_names_rs(latest_pool)?,
    )?;
    fs::write(
        out_dir.join("mutate_tables.rs"),
        mutate::mutate_tables_rs(latest_pool, &newest)?,
    )?;
    fs::write(
        out_dir.join("error_tables.rs"),
        errors::error_tables_rs(latest_pool, &newest)?,
    )?;
    Ok(())
}

/// A build with no version feature: every generated file says which features exist.
fn no_version_enabled(out_dir: &Path, available: &[String]) -> BuildResult<()> {
    let message = format!(
        "compile_error!(\"google-ads: no API version enabled: enable one of the features {}\");\n",
        available.join(", ")
    );
    fs::write(out_dir.join("types_tree.rs"), &message)?;
    fs::write(out_dir.join("instances.rs"), "")?;
    Ok(())
}

/// The API versions proto/ holds (one manifest each), oldest first.
fn api_versions(proto_dir: &Path) -> BuildResult<Vec<String>> {
    let manifests = proto_dir.join("manifests");
    let mut versions: Vec<(u32, String)> = fs::read_dir(&manifests)
        .map_err(|e| format!("{}: {e}", manifests.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some((name.strip_prefix('v')?.parse().ok()?, name)))
        .collect();
    versions.sort();
    if versions.is_empty() {
        return Err(format!("{} names no API version", manifests.display()).into());
    }
    Ok(versions.into_iter().map(|(_, v)| v).collect())
}

/// The files a version compiles, as its manifest lists them.
fn manifest_files(proto_dir: &Path, version: &str) -> BuildResult<Vec<String>> {
    let text = fs::read_to_string(proto_dir.join("manifests").join(version))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once("  ").map(|(_, path)| path.to_owned()))
        .filter(|path| path.ends_with(".proto"))
        .collect())
}

/// The messages, one file per package, with the tonic clients (feature `client`) and server
/// stubs (feature `server`) beside the services. Without either, prost-build alone writes
/// them and tonic's generator is not part of the build (nor compiled by it).
#[cfg(any(feature = "client", feature = "server"))]
fn write_code(
    files: prost_types::FileDescriptorSet,
    mut config: prost_build::Config,
) -> BuildResult<()> {
    // prost-build's own output is already indented; its extra prettyplease pass over 5 MB of
    // code is half of this script's run (1.5 of 3.1 s in a debug build). tonic still formats
    // the service code it adds. Default builds take the other `write_code` and do not even
    // compile the formatter: prost-build's `format` feature comes only with tonic-prost-build.
    config.format(false);
    // Server stubs exist for google-ads's fake server only. Without feature `server` they are
    // not even written (rustc would still parse ~1 MB of them); with it, the cfg keeps them
    // fenced behind google-ads's `fake`.
    tonic_prost_build::configure()
        .build_server(cfg!(feature = "server"))
        // The generated tonic clients, for google-ads's `raw-clients` (its handles call every
        // RPC without them): rustc checking 110 generic clients was seconds of every build.
        .build_client(cfg!(feature = "client"))
        .client_mod_attribute(".", r#"#[cfg(feature = "raw-clients")]"#)
        // No `connect()` per client: GoogleAdsClient builds the channel, and 110 generic async
        // constructors nobody calls cost compile time.
        .build_transport(false)
        .server_mod_attribute(".", r#"#[cfg(feature = "fake")]"#)
        // The fake implements only what it models; every other RPC answers UNIMPLEMENTED.
        .generate_default_stubs(true)
        .compile_fds_with_config(files, config)?;
    Ok(())
}

#[cfg(not(any(feature = "client", feature = "server")))]
fn write_code(
    files: prost_types::FileDescriptorSet,
    mut config: prost_build::Config,
) -> BuildResult<()> {
    config.compile_fds(files)?;
    Ok(())
}

/// The packages that declare a service, and every package importing one of them: they need
/// tonic, so they are compiled by google-ads. The rest need only prost.
fn packages_with_services(pool: &DescriptorPool) -> BTreeSet<String> {
    let mut client_side: BTreeSet<String> = pool
        .services()
        .map(|s| s.package_name().to_owned())
        .collect();
    loop {
        let more: Vec<String> = pool
            .files()
            .filter(|f| !client_side.contains(f.package_name()))
            .filter(|f| {
                f.dependencies()
                    .any(|d| client_side.contains(d.package_name()))
            })
            .map(|f| f.package_name().to_owned())
            .collect();
        if more.is_empty() {
            return client_side;
        }
        client_side.extend(more);
    }
}

/// prost's module path of a package: `google.type` is `google::r#type` (and its file
/// `google.r#type.rs`).
pub(crate) fn module_path(package: &str) -> Vec<String> {
    package
        .split('.')
        .map(|part| match part {
            "type" => "r#type".to_owned(),
            _ => part.to_owned(),
        })
        .collect()
}

/// The nested modules of `local` packages, each including the file prost-build wrote for
/// it (named by the module path); the `reexported` packages, compiled by google-ads-types,
/// appear in the same places as re-exports, so the generated code's relative paths
/// (`super::super::resources::Campaign`) resolve in either crate.
fn module_tree(
    local: &BTreeSet<String>,
    reexported: &BTreeSet<String>,
    items: &BTreeMap<String, String>,
) -> String {
    #[derive(Default)]
    struct Node {
        children: BTreeMap<String, Node>,
        /// Whether this package's code is compiled here, if the node is a package.
        local: Option<bool>,
        /// Code written into this module besides its children.
        items: Option<String>,
    }
    fn write(node: &Node, path: &mut Vec<String>, out: &mut String) {
        for (name, child) in &node.children {
            path.push(name.clone());
            if child.local == Some(false) {
                if !child.children.is_empty() {
                    let _ = writeln!(
                        out,
                        "compile_error!(\"package {name} has no service but one under it has\");"
                    );
                }
                let _ = writeln!(
                    out,
                    "#[doc(inline)]\npub use ::google_ads_types::{};",
                    path.join("::")
                );
            } else {
                let _ = writeln!(out, "pub mod {name} {{");
                if child.local == Some(true) {
                    let _ = writeln!(
                        out,
                        "include!(concat!(env!(\"ADS_CODEGEN_DIR\"), \"/{}.rs\"));",
                        path.join(".")
                    );
                }
                if let Some(items) = &child.items {
                    let _ = writeln!(out, "{items}");
                }
                write(child, path, out);
                out.push_str("}\n");
            }
            path.pop();
        }
    }
    let mut root = Node::default();
    for package in local.iter().chain(reexported) {
        let mut node = &mut root;
        for part in module_path(package) {
            node = node.children.entry(part).or_default();
        }
        node.local = Some(local.contains(package));
    }
    for (module, code) in items {
        let mut node = &mut root;
        for part in module_path(module) {
            node = node.children.entry(part).or_default();
        }
        node.items = Some(code.clone());
    }
    let mut out = String::from("// @generated by google-ads-types/build/ from proto/.\n");
    write(&root, &mut Vec::new(), &mut out);
    out
}

/// A function that decodes and encodes every top-level message of this crate, so that the
/// decoder and encoder of each (and of every message it holds) are built here, while cargo is
/// still compiling google-ads's other dependencies. prost's decoding is generic over the
/// buffer, so otherwise google-ads builds them all, at the end of the build, when it decodes a
/// `GoogleAdsRow` (which holds every resource). Debug builds share generic instances with the
/// crates downstream (rustc's share-generics), so google-ads reuses these; the buffer types
/// are google-ads's own (a slice to decode, a `Vec` to encode: `client/codec.rs`).
fn instances_rs(pools: &[(String, DescriptorPool)], local: &BTreeSet<String>) -> String {
    let rust_path = |message: &prost_reflect::MessageDescriptor| {
        format!(
            "crate::{}::{}",
            module_path(message.package_name()).join("::"),
            heck::ToUpperCamelCase::to_upper_camel_case(message.name())
        )
    };
    let mut out = String::from(
        "// @generated by google-ads-types/build/ from proto/.\n\
         #[doc(hidden)]\n\
         pub fn __instantiate(bytes: &[u8]) {\n    use ::prost::Message as _;\n",
    );
    // The shared packages (google.rpc...) are in every version's pool: each message once.
    let mut messages = BTreeSet::new();
    let mut boxed = BTreeSet::new();
    for (version, pool) in pools {
        for message in pool.all_messages() {
            if message.parent_message().is_none() && local.contains(message.package_name()) {
                messages.insert(rust_path(&message));
            }
        }
        // GoogleAdsRow's fields are boxed (the configuration above): prost decodes and encodes
        // them as `Box<M>`, generic instances of their own.
        let row = format!("google.ads.googleads.{version}.services.GoogleAdsRow");
        boxed.extend(
            pool.get_message_by_name(&row)
                .into_iter()
                .flat_map(|row| row.fields().collect::<Vec<_>>())
                .filter_map(|field| match field.kind() {
                    prost_reflect::Kind::Message(m) if local.contains(m.package_name()) => {
                        Some(rust_path(&m))
                    }
                    _ => None,
                }),
        );
    }
    for path in messages {
        let _ = writeln!(
            out,
            "    let _ = {path}::decode(bytes).map(|m| m.encode_to_vec());"
        );
    }
    for path in boxed {
        let _ = writeln!(out, "    boxed::<{path}>(bytes);");
    }
    out.push_str(
        "}\n\
         fn boxed<M: ::prost::Message + Default>(mut bytes: &[u8]) {\n    \
             use ::prost::encoding::{message, DecodeContext, WireType};\n    \
             let mut slot: Option<Box<M>> = None;\n    \
             let field = slot.get_or_insert_with(Default::default);\n    \
             let _ = message::merge(WireType::LengthDelimited, field, &mut &mut bytes, DecodeContext::default());\n    \
             let mut out = Vec::new();\n    \
             message::encode(1, field, &mut out);\n    \
             let _ = message::encoded_len(1, field);\n\
         }\n",
    );
    out
}

/// The crate-wide version constants and the `latest` alias, written into the module tree's
/// root (only paths of the tree this script writes), and the table of enabled versions.
fn api_version_rs(enabled: &[String], available: &[String]) -> String {
    let newest = enabled.last().map(String::as_str).unwrap_or_default();
    let quoted = |versions: &[String]| {
        versions
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: String = std::iter::once(format!("            latest {newest};\n"))
        .chain(
            enabled
                .iter()
                .map(|v| format!("            {v} service_table_{v} error_code_table_{v};\n")),
        )
        .collect();
    let mut out = format!(
        "// @generated by google-ads-types/build/ from proto/.\n\
         /// The newest API version this build speaks (of the enabled ones), whose types the\n\
         /// engines use: [`latest`].\n\
         pub const API_VERSION: &str = {newest:?};\n\
         /// The trailing-metadata key that carries a failed call's binary `GoogleAdsFailure`, in\n\
         /// the newest enabled version (each version module has its own).\n\
         pub const FAILURE_TRAILER_KEY: &str = \"google.ads.googleads.{newest}.errors.googleadsfailure-bin\";\n\
         /// The API versions this build speaks (their features are enabled), oldest first.\n\
         pub const API_VERSIONS: &[&str] = &[{enabled}];\n\
         /// Each enabled API version with its failure trailer key, oldest first.\n\
         pub const FAILURE_TRAILER_KEYS: &[(&str, &str)] = &[{keys}];\n\
         /// Every API version the vendored protos hold, enabled or not.\n\
         pub const AVAILABLE_API_VERSIONS: &[&str] = &[{available}];\n\
         /// The newest enabled API version under a stable name, for code that should follow\n\
         /// version bumps without edits.\n\
         pub use self::google::ads::googleads::{newest} as latest;\n\
         /// The encoded `FileDescriptorSet` of the newest enabled version, without source info.\n\
         pub use self::latest::FILE_DESCRIPTOR_SET;\n",
        enabled = quoted(enabled),
        available = quoted(available),
        keys = enabled
            .iter()
            .map(|v| format!("({v:?}, self::google::ads::googleads::{v}::FAILURE_TRAILER_KEY)"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for version in enabled {
        let _ = writeln!(
            out,
            "include!(concat!(env!(\"ADS_CODEGEN_DIR\"), \"/service_handles_{version}.rs\"));\n\
             include!(concat!(env!(\"ADS_CODEGEN_DIR\"), \"/error_codes_{version}.rs\"));"
        );
    }
    let _ = writeln!(
        out,
        "/// The newest enabled version's service table.\npub(crate) use service_table_{newest} as service_table;"
    );
    out.push_str(&table(
        "version_table",
        "`latest` and the newest enabled version, then every enabled version with its service and error-code tables (oldest first).",
        &rows,
    ));
    out
}

/// A version module's own constants, and the gRPC path of every RPC it has, so no code
/// writes a version into a path by hand.
fn version_rs(version: &str, pool: &DescriptorPool) -> String {
    let mut out = format!(
        "// @generated by google-ads-types/build/ from proto/.\n\
         /// This module's API version.\n\
         pub const API_VERSION: &str = {version:?};\n\
         /// This version's proto package, the prefix of its full names\n\
         /// (`google.ads.googleads.{version}.services.GoogleAdsRow`).\n\
         pub const PACKAGE: &str = \"google.ads.googleads.{version}\";\n\
         /// The trailing-metadata key that carries a failed call's binary `GoogleAdsFailure` in\n\
         /// this version.\n\
         pub const FAILURE_TRAILER_KEY: &str = \"google.ads.googleads.{version}.errors.googleadsfailure-bin\";\n\
         /// The encoded `FileDescriptorSet` of this version's protos, without source info.\n\
         pub static FILE_DESCRIPTOR_SET: &[u8] =\n    \
             include_bytes!(concat!(env!(\"ADS_CODEGEN_DIR\"), \"/descriptor_set_{version}.bin\"));\n\
         /// The gRPC path of every RPC of this version, by service and method:\n\
         /// `paths::google_ads_service::SEARCH_STREAM`.\n\
         pub mod paths {{\n"
    );
    let package = format!("google.ads.googleads.{version}.services");
    let mut services: Vec<_> = pool
        .services()
        .filter(|s| s.package_name() == package)
        .collect();
    services.sort_by(|a, b| a.name().cmp(b.name()));
    for service in services {
        let _ = writeln!(
            out,
            "    #[doc = \"`{}`\"]\n    pub mod {} {{",
            service.full_name(),
            naive_snake_case(service.name())
        );
        for method in service.methods() {
            let _ = writeln!(
                out,
                "        pub const {}: &str = \"/{}/{}\";",
                heck::ToShoutySnakeCase::to_shouty_snake_case(method.name()),
                service.full_name(),
                method.name()
            );
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

/// A table of data as a callback macro: `name!(callback)` expands to `callback! { rows }`.
/// The macros that turn rows into code live in google-ads beside what they build, so this
/// script names none of google-ads's items; the tables are the whole interface.
pub(crate) fn table(name: &str, doc: &str, rows: &str) -> String {
    format!(
        "// @generated by google-ads-types/build/ from proto/.\n\
         /// {doc}\n\
         macro_rules! {name} {{\n    ($callback:ident) => {{\n        $callback! {{\n{rows}        }}\n    }};\n}}\n\
         pub(crate) use {name};\n"
    )
}

/// tonic's module naming: an underscore before each capital but the first, all lower case.
pub(crate) fn naive_snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `a_b_c` -> `ABC`-style upper camel case, as prost names oneof variants (`request_error` ->
/// `RequestError`).
pub(crate) fn upper_camel(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The descriptor set without `source_code_info` (field 9 of each FileDescriptorProto).
/// Done on the wire format: protox's own way re-encodes every file through reflection,
/// which takes seconds in an unoptimized build script; this is a copy of the bytes.
fn strip_source_info(set: &[u8]) -> BuildResult<Vec<u8>> {
    use prost::encoding::{WireType, decode_key, decode_varint, encode_key, encode_varint};
    fn fields(mut buf: &[u8]) -> BuildResult<Vec<(u32, WireType, &[u8])>> {
        let mut out = Vec::new();
        while !buf.is_empty() {
            let (tag, wire_type) = decode_key(&mut buf)?;
            let start = buf;
            match wire_type {
                WireType::Varint => {
                    decode_varint(&mut buf)?;
                }
                WireType::SixtyFourBit => buf = &buf[8..],
                WireType::ThirtyTwoBit => buf = &buf[4..],
                WireType::LengthDelimited => {
                    let len = decode_varint(&mut buf)? as usize;
                    out.push((tag, wire_type, &buf[..len]));
                    buf = &buf[len..];
                    continue;
                }
                _ => return Err("unexpected group in a descriptor".into()),
            }
            out.push((tag, wire_type, &start[..start.len() - buf.len()]));
        }
        Ok(out)
    }
    let mut out = Vec::with_capacity(set.len());
    for (tag, _, file) in fields(set)? {
        let mut kept = Vec::with_capacity(file.len());
        for (field, wire_type, value) in fields(file)? {
            if field == 9 {
                continue;
            }
            encode_key(field, wire_type, &mut kept);
            if wire_type == WireType::LengthDelimited {
                encode_varint(value.len() as u64, &mut kept);
            }
            kept.extend_from_slice(value);
        }
        encode_key(tag, WireType::LengthDelimited, &mut out);
        encode_varint(kept.len() as u64, &mut out);
        out.extend_from_slice(&kept);
    }
    Ok(out)
}
