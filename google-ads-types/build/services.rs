//! The service table: every service and its methods.

use std::fmt::Write as _;

use prost_reflect::DescriptorPool;

use crate::{BuildResult, module_path, naive_snake_case, table};

/// `service_handles! { ... }`: every service of the API (and long-running operations) with
/// its methods, as paths relative to the generated module tree; the macro (google-ads
/// `src/client/handles.rs`) writes a handle type per service and its accessor.
pub(crate) fn service_handles_rs(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
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
        &format!("service_table_{version}"),
        "Every service: handle, accessor, full name => raw client { kind method \"Rpc\" (request) -> response; }.",
        &out,
    ))
}
