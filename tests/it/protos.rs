//! The vendored protos: manifest, update script, and the generated messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use google_ads::latest::resources::{Campaign, CampaignBudget};
use google_ads::latest::services::{
    CampaignBudgetOperation, CampaignOperation, MutateGoogleAdsRequest, MutateOperation,
    campaign_budget_operation, campaign_operation, mutate_operation,
};
use google_ads::resource_names::{CampaignBudgetName, CampaignName};
use prost::Message;
use sha2::{Digest, Sha256};

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

/// Every regular file under `dir`, relative path -> bytes.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The manifest's header keys and its `sha256  path` lines.
fn read_manifest(text: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (mut header, mut hashes) = (BTreeMap::new(), BTreeMap::new());
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some((hash, path)) = line.split_once("  ") {
            hashes.insert(path.to_owned(), hash.to_owned());
        } else if let Some((key, value)) = line.split_once(": ") {
            header.insert(key.to_owned(), value.to_owned());
        } else {
            panic!("manifest line neither a header nor a hash: {line:?}");
        }
    }
    (header, hashes)
}

/// Each version's manifest: version -> (header, path -> sha256).
type Manifests = BTreeMap<String, (BTreeMap<String, String>, BTreeMap<String, String>)>;

fn manifests(tree: &BTreeMap<String, Vec<u8>>) -> Manifests {
    tree.iter()
        .filter_map(|(rel, bytes)| {
            let version = rel.strip_prefix("manifests/")?;
            Some((
                version.to_owned(),
                read_manifest(std::str::from_utf8(bytes).unwrap()),
            ))
        })
        .collect()
}

#[test]
fn vendored_protos_match_their_manifests() {
    let tree = read_tree(&proto_dir());
    let manifests = manifests(&tree);
    assert_eq!(
        manifests.keys().collect::<Vec<_>>(),
        google_ads::AVAILABLE_API_VERSIONS.to_vec(),
        "one manifest per version the build knows"
    );
    let mut used = std::collections::BTreeSet::new();
    for (version, (header, hashes)) in &manifests {
        assert_eq!(&header["api_version"], version);
        assert_eq!(header["files"], hashes.len().to_string());
        assert!(header["source"].len() > 10, "the manifest names its source");
        for (path, hash) in hashes {
            // A version reads its own copy of a shared file first (the build's include path).
            let overlay = format!("overlays/{version}/{path}");
            let at = if tree.contains_key(&overlay) {
                overlay
            } else {
                path.clone()
            };
            let bytes = tree
                .get(&at)
                .unwrap_or_else(|| panic!("{version}: {path} missing"));
            assert_eq!(
                &format!("{:x}", Sha256::digest(bytes)),
                hash,
                "{at} drifted from proto/manifests/{version}: rerun scripts/update-protos"
            );
            used.insert(at);
        }
        let services = hashes
            .keys()
            .filter(|p| p.contains("/services/") && p.ends_with("_service.proto"));
        assert!(
            services.count() >= 100,
            "every service of {version} is vendored"
        );
    }
    let unlisted: Vec<&String> = tree
        .keys()
        .filter(|rel| !rel.starts_with("manifests/") && !used.contains(*rel))
        .collect();
    assert!(unlisted.is_empty(), "files no manifest lists: {unlisted:?}");
}

/// Copies one version's files, as it compiles them, into a googleapis-shaped folder.
fn fake_checkout(dir: &Path, version: &str) {
    let tree = read_tree(&proto_dir());
    let (_, hashes) = &manifests(&tree)[version];
    for rel in hashes.keys() {
        let overlay = format!("overlays/{version}/{rel}");
        let bytes = tree.get(&overlay).unwrap_or_else(|| &tree[rel]);
        let dst = dir.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(dst, bytes).unwrap();
    }
    // A checkout holds much that must not be copied: another version and unrelated APIs.
    for extra in [
        "google/ads/googleads/v1/services/old.proto",
        "google/cloud/unrelated.proto",
    ] {
        let dst = dir.join(extra);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(dst, "syntax = \"proto3\";\n").unwrap();
    }
}

/// A copy of what update-protos writes: proto/, both Cargo.toml files and the README.
fn project_copy(root: &Path) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (rel, bytes) in read_tree(&proto_dir()) {
        let dst = root.join("proto").join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(dst, bytes).unwrap();
    }
    for file in ["Cargo.toml", "google-ads-types/Cargo.toml", "README.md"] {
        let dst = root.join(file);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(here.join(file), dst).unwrap();
    }
}

fn update_protos(root: &Path, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/update-protos");
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("python3 runs scripts/update-protos");
    crate::assert_child_passed(&output);
}

#[test]
fn update_protos_twice_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (checkout, root) = (tmp.path().join("googleapis"), tmp.path().join("project"));
    fake_checkout(&checkout, google_ads::API_VERSION);
    project_copy(&root);
    let out = root.join("proto");
    // A stray file must be removed by the run.
    std::fs::write(out.join("google/ads/googleads/stale.proto"), "stale").unwrap();

    let checkout = checkout.to_str().unwrap();
    let args = [
        google_ads::API_VERSION,
        "--googleapis",
        checkout,
        "--source-label",
        "test checkout",
    ];
    update_protos(&root, &args);
    let first = read_tree(&out);
    let mtimes = |dir: &Path| -> Vec<_> {
        read_tree(dir)
            .keys()
            .map(|rel| {
                std::fs::metadata(dir.join(rel))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect()
    };
    let first_mtimes = mtimes(&out);
    update_protos(&root, &args);
    assert_eq!(read_tree(&out), first, "a second run changes no byte");
    assert_eq!(mtimes(&out), first_mtimes, "a second run rewrites no file");

    // What it wrote is what is vendored, byte for byte, but the manifest's source line.
    let vendored = read_tree(&proto_dir());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        vendored.keys().collect::<Vec<_>>()
    );
    let manifest = format!("manifests/{}", google_ads::API_VERSION);
    for (rel, bytes) in &first {
        if *rel != manifest {
            assert!(bytes == &vendored[rel], "{rel} differs");
        }
    }
    let hashes = |m: &[u8]| read_manifest(std::str::from_utf8(m).unwrap()).1;
    assert_eq!(hashes(&first[&manifest]), hashes(&vendored[&manifest]));
}

#[test]
fn adding_then_removing_a_version_gives_the_tree_back() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    project_copy(&root);
    let before = read_tree(&root);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/proto-v27");

    update_protos(&root, &["v27", "--dir", fixture.to_str().unwrap()]);
    let added = read_tree(&root);
    let (_, v27) = &manifests(&read_tree(&root.join("proto")))["v27"];
    assert!(v27.contains_key("google/ads/googleads/v27/services/echo_service.proto"));
    // The shared file it imports from proto/ is listed; its own copy of another became the
    // shared one, and the older versions keep theirs as overlays.
    assert!(v27.contains_key("google/api/annotations.proto"));
    let shared =
        std::fs::read_to_string(root.join("proto/google/api/field_behavior.proto")).unwrap();
    assert!(shared.contains("round-trip fixture"), "{shared}");
    for version in google_ads::AVAILABLE_API_VERSIONS {
        let overlay = format!("proto/overlays/{version}/google/api/field_behavior.proto");
        assert!(added.contains_key(&overlay), "{overlay}");
    }
    // The features and the docs' table follow, the newest the default.
    let cargo = String::from_utf8(added["Cargo.toml"].clone()).unwrap();
    assert!(cargo.contains("default = [\"v27\"]\n"), "{cargo}");
    assert!(cargo.contains("v27 = [\"google-ads-types/v27\"]\n"));
    let types = String::from_utf8(added["google-ads-types/Cargo.toml"].clone()).unwrap();
    assert!(types.contains("\nv27 = []\n"));
    let readme = String::from_utf8(added["README.md"].clone()).unwrap();
    assert!(readme.contains("| v27 | `v27` (default) | `google_ads::v27` | tree |"));

    update_protos(&root, &["--remove", "v27"]);
    let after = read_tree(&root);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (rel, bytes) in &before {
        assert!(
            &after[rel] == bytes,
            "{rel} is not byte for byte what it was"
        );
    }
}

#[test]
fn mutate_request_with_temporary_names_round_trips() {
    let customer_id = "1234567890";
    let budget_name = CampaignBudgetName::new(customer_id, -1)
        .unwrap()
        .to_string();
    assert_eq!(budget_name, "customers/1234567890/campaignBudgets/-1");
    let budget = CampaignBudget {
        resource_name: budget_name.clone(),
        name: Some("Budget #1".into()),
        amount_micros: Some(50_000_000),
        ..Default::default()
    };
    let campaign = Campaign {
        resource_name: CampaignName::new(customer_id, -2).unwrap().to_string(),
        name: Some("Campaign #1".into()),
        campaign_budget: Some(budget_name.clone()),
        ..Default::default()
    };
    let request = MutateGoogleAdsRequest {
        customer_id: customer_id.into(),
        mutate_operations: vec![
            MutateOperation {
                operation: Some(mutate_operation::Operation::CampaignBudgetOperation(
                    Box::new(CampaignBudgetOperation {
                        operation: Some(campaign_budget_operation::Operation::Create(budget)),
                        ..Default::default()
                    }),
                )),
            },
            MutateOperation {
                operation: Some(mutate_operation::Operation::CampaignOperation(Box::new(
                    CampaignOperation {
                        operation: Some(campaign_operation::Operation::Create(campaign)),
                        ..Default::default()
                    },
                ))),
            },
        ],
        partial_failure: false,
        ..Default::default()
    };
    let bytes = request.encode_to_vec();
    let decoded = MutateGoogleAdsRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded, request);
    let Some(mutate_operation::Operation::CampaignOperation(op)) =
        &decoded.mutate_operations[1].operation
    else {
        panic!("second operation is a campaign operation");
    };
    let Some(campaign_operation::Operation::Create(created)) = &op.operation else {
        panic!("campaign operation is a create");
    };
    assert_eq!(
        created.campaign_budget.as_deref(),
        Some(budget_name.as_str())
    );
}

#[test]
fn failure_trailer_key_names_the_version() {
    assert_eq!(
        google_ads::FAILURE_TRAILER_KEY,
        format!(
            "google.ads.googleads.{}.errors.googleadsfailure-bin",
            google_ads::API_VERSION
        )
    );
}

#[test]
fn descriptor_set_describes_every_service() {
    let pool = prost_reflect::DescriptorPool::decode(google_ads::FILE_DESCRIPTOR_SET).unwrap();
    let package = format!("google.ads.googleads.{}.services", google_ads::API_VERSION);
    let services: Vec<_> = pool
        .services()
        .filter(|s| s.package_name() == package)
        .collect();
    assert!(services.len() >= 100, "{} services", services.len());
    assert!(
        pool.get_service_by_name("google.longrunning.Operations")
            .is_some()
    );
    let search = pool
        .get_message_by_name(&format!("{package}.SearchGoogleAdsRequest"))
        .expect("SearchGoogleAdsRequest described");
    assert!(search.get_field_by_name("query").is_some());
    assert!(
        pool.files()
            .all(|f| f.file_descriptor_proto().source_code_info.is_none()),
        "source info stripped"
    );
}

mod api_diff {
    //! scripts/api-diff on two hand-made descriptor sets whose differences are known.

    use prost::Message as _;
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{
        DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, OneofDescriptorProto,
        ServiceDescriptorProto,
    };

    fn field(name: &str, number: i32, kind: Type, type_name: &str) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            r#type: Some(kind as i32),
            type_name: (!type_name.is_empty()).then(|| type_name.into()),
            label: Some(Label::Optional as i32),
            ..Default::default()
        }
    }

    fn in_oneof(mut field: FieldDescriptorProto, index: i32) -> FieldDescriptorProto {
        field.oneof_index = Some(index);
        field
    }

    fn message(name: &str, fields: Vec<FieldDescriptorProto>) -> DescriptorProto {
        DescriptorProto {
            name: Some(name.into()),
            field: fields,
            ..Default::default()
        }
    }

    fn rpc(name: &str, input: &str, output: &str) -> MethodDescriptorProto {
        MethodDescriptorProto {
            name: Some(name.into()),
            input_type: Some(input.into()),
            output_type: Some(output.into()),
            ..Default::default()
        }
    }

    fn enumeration(name: &str, values: &[(&str, i32)]) -> EnumDescriptorProto {
        EnumDescriptorProto {
            name: Some(name.into()),
            value: values
                .iter()
                .map(|(name, number)| EnumValueDescriptorProto {
                    name: Some((*name).into()),
                    number: Some(*number),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn file(package: &str, messages: Vec<DescriptorProto>) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(format!("{}.proto", package.replace('.', "/"))),
            package: Some(package.into()),
            message_type: messages,
            syntax: Some("proto3".into()),
            ..Default::default()
        }
    }

    /// One version of a tiny API: `v` is 1 (old) or 2 (new).
    fn api(v: u32) -> FileDescriptorSet {
        let pkg = |p: &str| format!("google.ads.googleads.v{v}.{p}");
        let t = |p: &str| format!(".{}", pkg(p));
        let mut resources = file(
            &pkg("resources"),
            vec![message(
                "Campaign",
                vec![
                    field("id", 1, Type::Int64, ""),
                    // Removed in v2.
                    field("legacy_flag", 2, Type::Bool, ""),
                    // Renumbered in v2 (3 -> 13); retyped (int32 -> int64).
                    field("name", if v == 1 { 3 } else { 13 }, Type::String, ""),
                    field(
                        "budget",
                        4,
                        if v == 1 { Type::Int32 } else { Type::Int64 },
                        "",
                    ),
                    // Moves into oneof `bidding` in v2.
                    if v == 1 {
                        field("manual_cpc", 5, Type::Bool, "")
                    } else {
                        in_oneof(field("manual_cpc", 5, Type::Bool, ""), 0)
                    },
                ],
            )],
        );
        if v == 2 {
            resources.message_type[0].field.remove(1);
            resources.message_type[0]
                .oneof_decl
                .push(OneofDescriptorProto {
                    name: Some("bidding".into()),
                    ..Default::default()
                });
            resources
                .message_type
                .push(message("Asset", vec![field("id", 1, Type::Int64, "")]));
        } else {
            resources
                .message_type
                .push(message("Feed", vec![field("id", 1, Type::Int64, "")]));
        }
        let mut row_fields = vec![field(
            "campaign",
            1,
            Type::Message,
            &t("resources.Campaign"),
        )];
        row_fields.push(if v == 1 {
            field("feed", 2, Type::Message, &t("resources.Feed"))
        } else {
            field("asset", 3, Type::Message, &t("resources.Asset"))
        });
        let mut services = file(
            &pkg("services"),
            vec![
                message("GoogleAdsRow", row_fields),
                message("Req", vec![]),
                message("Resp", vec![]),
                message("OtherResp", vec![]),
            ],
        );
        let mut methods = vec![
            rpc(
                if v == 1 { "Fetch" } else { "Get" },
                &t("services.Req"),
                &t("services.Resp"),
            ),
            rpc(
                "Mutate",
                &t("services.Req"),
                &t(if v == 1 {
                    "services.Resp"
                } else {
                    "services.OtherResp"
                }),
            ),
        ];
        if v == 2 {
            methods.push(rpc("Preview", &t("services.Req"), &t("services.OtherResp")));
        }
        services.service.push(ServiceDescriptorProto {
            name: Some("CampaignService".into()),
            method: methods,
            ..Default::default()
        });
        if v == 1 {
            services.service.push(ServiceDescriptorProto {
                name: Some("FeedService".into()),
                method: vec![rpc("MutateFeeds", &t("services.Req"), &t("services.Resp"))],
                ..Default::default()
            });
        }
        let mut enums = file(&pkg("enums"), vec![]);
        enums.enum_type.push(if v == 1 {
            enumeration(
                "Status",
                &[
                    ("UNSPECIFIED", 0),
                    ("ENABLED", 2),
                    ("LEGACY", 3),
                    ("PAUSED", 4),
                ],
            )
        } else {
            enumeration(
                "Status",
                &[
                    ("UNSPECIFIED", 0),
                    ("ENABLED", 2),
                    ("PAUSED", 5),
                    ("DRAFT", 6),
                ],
            )
        });
        if v == 1 {
            enums
                .enum_type
                .push(enumeration("FeedKind", &[("UNSPECIFIED", 0)]));
        }
        FileDescriptorSet {
            file: vec![resources, services, enums],
        }
    }

    #[test]
    fn the_report_names_every_known_difference() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, new) = (tmp.path().join("old.bin"), tmp.path().join("new.bin"));
        std::fs::write(&old, api(1).encode_to_vec()).unwrap();
        std::fs::write(&new, api(2).encode_to_vec()).unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/api-diff");
        let output = std::process::Command::new("python3")
            .arg(script)
            .arg("--sets")
            .args([&old, &new])
            .args(["--names", "v1", "v2"])
            .output()
            .expect("python3 runs scripts/api-diff");
        crate::assert_child_passed(&output);
        let report = String::from_utf8(output.stdout).unwrap();
        let (must, new_things) = report
            .split_once("## What is new in v2")
            .unwrap_or_else(|| panic!("{report}"));
        for line in [
            "### Services removed (1)\n\n- `services.FeedService`",
            "- `services.CampaignService.Fetch` is now `services.CampaignService.Get`",
            "- `services.CampaignService.Mutate` takes `services.Req` and returns `services.OtherResp` (was `services.Req`, `services.Resp`)",
            "### Messages removed (1)\n\n- `resources.Feed`",
            "### Fields removed (2)\n\n- `resources.Campaign.legacy_flag`\n- `services.GoogleAdsRow.feed`",
            "- `resources.Campaign.name`: number 3 -> 13",
            "- `resources.Campaign.budget`: type `int32` -> `int64`",
            "- `resources.Campaign.manual_cpc`: no oneof -> oneof `bidding`",
            "### Enums removed (1)\n\n- `enums.FeedKind`",
            "### Enum values removed (1)\n\n- `enums.Status.LEGACY`",
            "- `enums.Status.PAUSED`: 4 -> 5",
            "### Resources removed (1)\n\n- `resources.Feed`",
            "- `campaign.legacy_flag`",
            "- `feed.id`",
        ] {
            assert!(
                must.contains(line),
                "missing from what must change: {line}\n{report}"
            );
        }
        for line in [
            "### RPCs added (1)\n\n- `services.CampaignService.Preview`",
            "### Resources added (1)\n\n- `resources.Asset`",
            "- `enums.Status.DRAFT`",
            "- `asset.id`",
        ] {
            assert!(
                new_things.contains(line),
                "missing from what is new: {line}\n{report}"
            );
        }
        // Nothing reported that did not change.
        assert!(!report.contains("Campaign.id"), "{report}");
        assert!(!report.contains("ENABLED"), "{report}");
    }
}
