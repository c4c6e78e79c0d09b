//! Compiles the vendored Google Ads protos (`proto/`) into Rust, with no `protoc`, for the
//! whole workspace.
//!
//! protox parses the `.proto` files in Rust; tonic-prost-build writes messages and clients
//! (server stubs too, with feature `server`), one file per proto package. The packages are
//! split over two crates so cargo can compile them on two cores: this crate compiles every
//! package without a service (enums, common, errors, resources...) and needs only prost;
//! `google-ads` compiles the packages with services (services, longrunning) next to its
//! client layer, from the files this script leaves in `OUT_DIR` (passed on as the `links`
//! metadata `generated`). From the same descriptors this script also writes what no code
//! generator does for us: a builder and a parser for every `google.api.resource` pattern, the
//! API version and its failure trailer key, client accessors, error tables, and the encoded
//! descriptor set for reflection. The API version is read from `proto/`, so moving to a new
//! one is `scripts/update-protos vNN` and nothing else.

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

    let version = api_version(&proto_dir)?;
    let mut files = Vec::new();
    collect_protos(&proto_dir, &proto_dir, &mut files)?;
    files.sort();

    let mut compiler = protox::Compiler::new([&proto_dir])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(&files)?;
    let pool = compiler.descriptor_pool();

    // Server stubs exist for google-ads's fake server only. Without feature `server` they are
    // not even written (rustc would still parse ~1 MB of them); with it, the cfg keeps them
    // fenced behind google-ads's `fake`.
    let server = env::var_os("CARGO_FEATURE_SERVER").is_some();
    // The generated tonic clients, for google-ads's `raw-clients` (its handles call every RPC
    // without them): rustc checking 110 generic clients was seconds of every default build.
    let client = env::var_os("CARGO_FEATURE_CLIENT").is_some();
    tonic_prost_build::configure()
        .build_server(server)
        .build_client(client)
        .client_mod_attribute(".", r#"#[cfg(feature = "raw-clients")]"#)
        // No `connect()` per client: GoogleAdsClient builds the channel, and 110 generic async
        // constructors nobody calls cost compile time.
        .build_transport(false)
        .server_mod_attribute(".", r#"#[cfg(feature = "fake")]"#)
        // The fake implements only what it models; every other RPC answers UNIMPLEMENTED.
        .generate_default_stubs(true)
        // GoogleAdsRow holds one field per resource: inline it is 52 KB, and prost's debug-build
        // decode of it overflows a 2 MB thread stack. Boxed, a row is a few KB.
        .boxed(format!(
            ".google.ads.googleads.{version}.services.GoogleAdsRow"
        ))
        // A MutateOperation inline is as large as its largest member (1.6 KB, a Campaign
        // operation): every move of one copies that, and a list of a million takes 1.6 GB.
        // Boxed, it is a pointer and the operation's own size; the same for results.
        .boxed(format!(
            ".google.ads.googleads.{version}.services.MutateOperation.operation"
        ))
        .boxed(format!(
            ".google.ads.googleads.{version}.services.MutateOperationResponse.response"
        ))
        .compile_fds_with_config(compiler.file_descriptor_set(), unformatted())?;

    let client_side = packages_with_services(&pool);
    let packages: BTreeSet<String> = pool
        .files()
        .map(|f| f.package_name().to_owned())
        // Packages prost-build wrote nothing for (google.protobuf maps to prost-types).
        .filter(|p| {
            out_dir
                .join(format!("{}.rs", module_path(p).join(".")))
                .exists()
        })
        .collect();
    let (clients, types): (BTreeSet<_>, BTreeSet<_>) =
        packages.into_iter().partition(|p| client_side.contains(p));
    fs::write(
        out_dir.join("types_tree.rs"),
        module_tree(&types, &BTreeSet::new()),
    )?;
    fs::write(
        out_dir.join("client_tree.rs"),
        module_tree(&clients, &types),
    )?;
    fs::write(
        out_dir.join("instances.rs"),
        instances_rs(&pool, &types, &version),
    )?;

    // The embedded descriptor set drops source info (comments, spans): reflection does not
    // need it and it would triple the bytes every binary carries.
    fs::write(
        out_dir.join("descriptor_set.bin"),
        strip_source_info(&pool.encode_to_vec())?,
    )?;

    fs::write(out_dir.join("api_version.rs"), api_version_rs(&version))?;
    fs::write(
        out_dir.join("resource_names.rs"),
        resource_names::resource_names_rs(&pool)?,
    )?;
    fs::write(
        out_dir.join("service_handles.rs"),
        services::service_handles_rs(&pool, &version)?,
    )?;
    fs::write(
        out_dir.join("mutate_tables.rs"),
        mutate::mutate_tables_rs(&pool, &version)?,
    )?;
    fs::write(
        out_dir.join("error_tables.rs"),
        errors::error_tables_rs(&pool, &version)?,
    )?;
    Ok(())
}

/// prost-build's own output is already indented; its extra prettyplease pass over 5 MB of code
/// is half of this script's run (1.5 of 3.1 s in a debug build), and every consumer's build
/// waits for it. tonic still formats the service code it adds.
fn unformatted() -> prost_build::Config {
    let mut config = prost_build::Config::new();
    config.format(false);
    config
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

/// The nested modules of `local` packages, each including the file tonic-prost-build wrote for
/// it (named by the module path); the `reexported` packages, compiled by google-ads-types,
/// appear in the same places as re-exports, so the generated code's relative paths
/// (`super::super::resources::Campaign`) resolve in either crate.
fn module_tree(local: &BTreeSet<String>, reexported: &BTreeSet<String>) -> String {
    #[derive(Default)]
    struct Node {
        children: BTreeMap<String, Node>,
        /// Whether this package's code is compiled here, if the node is a package.
        local: Option<bool>,
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
fn instances_rs(pool: &DescriptorPool, local: &BTreeSet<String>, version: &str) -> String {
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
    for message in pool.all_messages() {
        if message.parent_message().is_none() && local.contains(message.package_name()) {
            let _ = writeln!(
                out,
                "    let _ = {}::decode(bytes).map(|m| m.encode_to_vec());",
                rust_path(&message)
            );
        }
    }
    // GoogleAdsRow's fields are boxed (the configuration above): prost decodes and encodes
    // them as `Box<M>`, generic instances of their own.
    let row = format!("google.ads.googleads.{version}.services.GoogleAdsRow");
    let boxed: BTreeSet<String> = pool
        .get_message_by_name(&row)
        .into_iter()
        .flat_map(|row| row.fields().collect::<Vec<_>>())
        .filter_map(|field| match field.kind() {
            prost_reflect::Kind::Message(m) if local.contains(m.package_name()) => {
                Some(rust_path(&m))
            }
            _ => None,
        })
        .collect();
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

/// The one `vNN` folder under `proto/google/ads/googleads`.
fn api_version(proto_dir: &Path) -> BuildResult<String> {
    let ads = proto_dir.join("google/ads/googleads");
    let mut versions: Vec<String> = fs::read_dir(&ads)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with('v') && name[1..].chars().all(|c| c.is_ascii_digit()))
        .collect();
    match versions.len() {
        1 => Ok(versions.remove(0)),
        n => Err(format!(
            "{} must hold exactly one API version, found {n}",
            ads.display()
        )
        .into()),
    }
}

fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> BuildResult<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(root, &path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path.strip_prefix(root)?.to_path_buf());
        }
    }
    Ok(())
}

/// The version constants and the `latest` alias, written into the module tree's root (only
/// paths of the tree this script writes).
fn api_version_rs(version: &str) -> String {
    format!(
        "// @generated by google-ads-types/build/ from proto/.\n\
         /// The Google Ads API version this build speaks: the one vendored in `proto/`.\n\
         pub const API_VERSION: &str = \"{version}\";\n\
         /// The trailing-metadata key that carries a failed call's binary `GoogleAdsFailure`.\n\
         pub const FAILURE_TRAILER_KEY: &str = \"google.ads.googleads.{version}.errors.googleadsfailure-bin\";\n\
         /// The newest vendored API version under a stable name, for code that should follow\n\
         /// version bumps without edits.\n\
         pub use self::google::ads::googleads::{version} as latest;\n"
    )
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
