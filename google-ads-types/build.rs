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

use prost_reflect::{DescriptorPool, Value};

type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

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
    tonic_prost_build::configure()
        .build_server(server)
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

    // The embedded descriptor set drops source info (comments, spans): reflection does not
    // need it and it would triple the bytes every binary carries.
    fs::write(
        out_dir.join("descriptor_set.bin"),
        strip_source_info(&pool.encode_to_vec())?,
    )?;

    fs::write(out_dir.join("api_version.rs"), api_version_rs(&version))?;
    fs::write(out_dir.join("resource_names.rs"), resource_names_rs(&pool)?)?;
    fs::write(
        out_dir.join("service_handles.rs"),
        service_handles_rs(&pool, &version)?,
    )?;
    fs::write(
        out_dir.join("error_tables.rs"),
        error_tables_rs(&pool, &version)?,
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
fn module_path(package: &str) -> Vec<String> {
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
    let mut out = String::from("// @generated by google-ads-types/build.rs from proto/.\n");
    write(&root, &mut Vec::new(), &mut out);
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
        "// @generated by google-ads-types/build.rs from proto/.\n\
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
fn table(name: &str, doc: &str, rows: &str) -> String {
    format!(
        "// @generated by google-ads-types/build.rs from proto/.\n\
         /// {doc}\n\
         macro_rules! {name} {{\n    ($callback:ident) => {{\n        $callback! {{\n{rows}        }}\n    }};\n}}\n\
         pub(crate) use {name};\n"
    )
}

/// One `google.api.resource` pattern, split into its literal and variable parts.
struct Pattern {
    resource_type: String,
    pattern: String,
    /// Variables in order, e.g. `customer_id`, `ad_group_id`, `ad_id`.
    vars: Vec<String>,
}

fn resource_patterns(pool: &DescriptorPool) -> BuildResult<BTreeMap<String, Pattern>> {
    let resource_ext = pool
        .get_extension_by_name("google.api.resource")
        .ok_or("google.api.resource extension not found in the protos")?;
    let mut patterns = BTreeMap::new();
    for message in pool.all_messages() {
        let options = message.options();
        if !options.has_extension(&resource_ext) {
            continue;
        }
        let descriptor = options.get_extension(&resource_ext);
        let Value::Message(descriptor) = descriptor.as_ref() else {
            continue;
        };
        let resource_type = match descriptor.get_field_by_name("type").as_deref() {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(
                    format!("{} has a resource without a type", message.full_name()).into(),
                );
            }
        };
        let Some(Value::List(list)) = descriptor.get_field_by_name("pattern").as_deref().cloned()
        else {
            continue;
        };
        let list: Vec<String> = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        for (i, pattern) in list.iter().enumerate() {
            let vars = pattern_vars(pattern)
                .map_err(|e| format!("{}: pattern {pattern:?}: {e}", message.full_name()))?;
            // A resource with several patterns gets a struct for each, numbered after the first.
            let name = if i == 0 {
                format!("{}Name", message.name())
            } else {
                format!("{}Name{}", message.name(), i + 1)
            };
            let pattern = Pattern {
                resource_type: resource_type.clone(),
                pattern: pattern.clone(),
                vars,
            };
            if patterns.insert(name.clone(), pattern).is_some() {
                return Err(format!("two resources would both be named {name}").into());
            }
        }
    }
    Ok(patterns)
}

/// The variables of a pattern; each segment must be a literal or `{a}~{b}~...`.
fn pattern_vars(pattern: &str) -> Result<Vec<String>, String> {
    let mut vars = Vec::new();
    for segment in pattern.split('/') {
        if !segment.contains('{') {
            continue;
        }
        for part in segment.split('~') {
            let var = part
                .strip_prefix('{')
                .and_then(|p| p.strip_suffix('}'))
                .filter(|v| {
                    !v.is_empty()
                        && v.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                })
                .ok_or_else(|| {
                    format!("segment {segment:?} is neither a literal nor {{a}}~{{b}}")
                })?;
            vars.push(var.to_owned());
        }
    }
    Ok(vars)
}

fn rust_field(var: &str) -> String {
    match var {
        "type" | "match" | "ref" | "self" | "mod" | "use" | "fn" | "impl" => format!("r#{var}"),
        _ => var.to_owned(),
    }
}

/// `resource_names! { CampaignName = "type", "pattern", [customer_id, campaign_id], [...]; }`:
/// the data of every pattern; the macro (google-ads `src/resource_name.rs`) writes the structs.
fn resource_names_rs(pool: &DescriptorPool) -> BuildResult<String> {
    let patterns = resource_patterns(pool)?;
    let mut out = String::new();
    for (name, p) in &patterns {
        let fields: Vec<String> = p.vars.iter().map(|v| rust_field(v)).collect();
        writeln!(
            out,
            "            {name} = {rt:?}, {pat:?}, [{fields}], {vars:?};",
            rt = p.resource_type,
            pat = p.pattern,
            fields = fields.join(", "),
            vars = p.vars,
        )?;
    }
    Ok(table(
        "resource_name_table",
        "Every resource-name pattern: struct name = type, pattern, fields, variables.",
        &out,
    ))
}

/// tonic's module naming: an underscore before each capital but the first, all lower case.
fn naive_snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `service_handles! { ... }`: every service of the API (and long-running operations) with
/// its methods, as paths relative to the generated module tree; the macro (google-ads
/// `src/client/handles.rs`) writes a handle type per service and its accessor.
fn service_handles_rs(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
    let package = format!("google.ads.googleads.{version}.services");
    let mut services: Vec<_> = pool
        .services()
        .filter(|s| s.package_name() == package || s.package_name() == "google.longrunning")
        .collect();
    services.sort_by(|a, b| a.name().cmp(b.name()));
    // prost's mapping of the well-known types: Empty is `()`, the others are prost-types'.
    let rust_path = |full_name: &str| -> String {
        if full_name == "google.protobuf.Empty" {
            return "()".to_owned();
        }
        if let Some(name) = full_name.strip_prefix("google.protobuf.") {
            return format!("::prost_types::{name}");
        }
        let (package, name) = full_name.rsplit_once('.').unwrap_or(("", full_name));
        let mut path = module_path(package);
        path.push(name.to_owned());
        path.join("::")
    };
    let mut out = String::new();
    for service in services {
        let name = service.name();
        let module = module_path(service.package_name()).join("::");
        let accessor = naive_snake_case(name.strip_suffix("Service").unwrap_or(name));
        let handle = if name.ends_with("Service") {
            name.to_owned()
        } else {
            format!("{name}Service")
        };
        writeln!(
            out,
            "            {handle} {accessor} {full:?} => {module}::{client_module}::{name}Client {{",
            full = service.full_name(),
            client_module = format_args!("{}_client", naive_snake_case(name)),
        )?;
        for method in service.methods() {
            if method.is_client_streaming() {
                return Err(
                    format!("{} streams requests: not modelled", method.full_name()).into(),
                );
            }
            writeln!(
                out,
                "                {kind} {method_name} {rpc:?} ({input}) -> {output};",
                kind = if method.is_server_streaming() {
                    "server_streaming"
                } else {
                    "unary"
                },
                method_name = naive_snake_case(method.name()),
                rpc = method.name(),
                input = rust_path(method.input().full_name()),
                output = rust_path(method.output().full_name()),
            )?;
        }
        out.push_str("            }\n");
    }
    Ok(table(
        "service_table",
        "Every service: handle, accessor, full name => raw client { kind method \"Rpc\" (request) -> response; }.",
        &out,
    ))
}

/// `a_b_c` -> `ABC`-style upper camel case, as prost names oneof variants (`request_error` ->
/// `RequestError`).
fn upper_camel(name: &str) -> String {
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

/// What the error layer needs from the descriptors, so nothing is hand-listed:
/// - `error_code_parts`: every `ErrorCode` oneof member's field name and enum value name;
/// - `OPERATION_FIELDS`: the repeated operation fields of requests that take `partial_failure`,
///   whose index is the operation index of an error;
/// - a `MutateResponse` impl for every response with `partial_failure_error`.
fn error_tables_rs(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
    let errors = format!("google.ads.googleads.{version}.errors");
    let services = format!("google.ads.googleads.{version}.services");
    let code = pool
        .get_message_by_name(&format!("{errors}.ErrorCode"))
        .ok_or("no ErrorCode message")?;
    let mut codes = String::new();
    for field in code.fields() {
        let prost_reflect::Kind::Enum(en) = field.kind() else {
            continue;
        };
        let parent = en
            .parent_message()
            .ok_or_else(|| format!("{} is not nested in a message", en.full_name()))?;
        writeln!(
            codes,
            "            {variant} {name:?} {module}::{enum_name};",
            variant = upper_camel(field.name()),
            name = field.name(),
            module = naive_snake_case(parent.name()),
            enum_name = en.name(),
        )?;
    }
    let mut out = table(
        "error_code_table",
        "Every ErrorCode oneof member: variant, field name, enum (module::Enum under `errors`).",
        &codes,
    );

    let mut operation_fields = BTreeSet::new();
    let mut responses = Vec::new();
    for message in pool.all_messages().filter(|m| m.package_name() == services) {
        let has = |name: &str| message.get_field_by_name(name).is_some();
        if has("partial_failure") {
            for field in message.fields() {
                if field.is_list() && matches!(field.kind(), prost_reflect::Kind::Message(_)) {
                    operation_fields.insert(field.name().to_owned());
                }
            }
        }
        if let Some(error) = message.get_field_by_name("partial_failure_error") {
            let results: Vec<_> = message
                .fields()
                .filter(|f| f.is_list() && matches!(f.kind(), prost_reflect::Kind::Message(_)))
                .collect();
            let is_status = matches!(error.kind(), prost_reflect::Kind::Message(m) if m.full_name() == "google.rpc.Status");
            if let ([results], true, None) =
                (results.as_slice(), is_status, message.parent_message())
            {
                let prost_reflect::Kind::Message(result) = results.kind() else {
                    unreachable!("filtered on message kind")
                };
                if result.package_name() == services && result.parent_message().is_none() {
                    responses.push((
                        message.name().to_owned(),
                        results.name().to_owned(),
                        result.name().to_owned(),
                    ));
                }
            }
        }
    }
    out.push_str(&table(
        "operation_field_table",
        "Request fields holding operations: an error's first field-path element names one.",
        &format!(
            "            {:?}\n",
            operation_fields.iter().collect::<Vec<_>>()
        ),
    ));
    let mut rows = String::new();
    for (response, field, result) in responses {
        writeln!(rows, "            {response} {field} {result};")?;
    }
    out.push_str(&table(
        "mutate_response_table",
        "Responses with partial_failure_error: response, results field, result (under `services`).",
        &rows,
    ));
    Ok(out)
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
