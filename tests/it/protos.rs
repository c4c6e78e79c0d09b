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

#[test]
fn vendored_protos_match_their_manifest() {
    let mut tree = read_tree(&proto_dir());
    let manifest = String::from_utf8(tree.remove("MANIFEST").expect("proto/MANIFEST")).unwrap();
    let (header, hashes) = read_manifest(&manifest);
    assert_eq!(header["api_version"], google_ads::API_VERSION);
    assert_eq!(header["files"], hashes.len().to_string());
    assert!(header["source"].len() > 10, "the manifest names its source");

    let listed: Vec<&String> = hashes.keys().collect();
    let present: Vec<&String> = tree.keys().collect();
    assert_eq!(
        listed, present,
        "proto/ holds exactly the files its manifest lists"
    );
    for (path, bytes) in &tree {
        let actual = format!("{:x}", Sha256::digest(bytes));
        assert_eq!(
            actual, hashes[path],
            "{path} drifted from proto/MANIFEST: rerun scripts/update-protos"
        );
    }
    let services = tree
        .keys()
        .filter(|p| p.contains("/services/") && p.ends_with("_service.proto"));
    assert!(
        services.count() >= 100,
        "every service of the version is vendored"
    );
}

/// Copies `proto/` (less its manifest) into a googleapis-shaped folder for the script to read.
fn fake_checkout(dir: &Path) {
    for (rel, bytes) in read_tree(&proto_dir()) {
        if rel == "MANIFEST" {
            continue;
        }
        let dst = dir.join(&rel);
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

fn run_update_protos(checkout: &Path, out: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/update-protos");
    let status = Command::new("python3")
        .arg(script)
        .arg(google_ads::API_VERSION)
        .arg("--googleapis")
        .arg(checkout)
        .arg("--out")
        .arg(out)
        .arg("--source-label")
        .arg("test checkout")
        .status()
        .expect("python3 runs scripts/update-protos");
    assert!(status.success(), "scripts/update-protos failed");
}

#[test]
fn update_protos_twice_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (checkout, out) = (tmp.path().join("googleapis"), tmp.path().join("proto"));
    fake_checkout(&checkout);
    // A stale file of an older version must be removed by the run.
    std::fs::create_dir_all(out.join("google/ads/googleads/v25")).unwrap();
    std::fs::write(out.join("google/ads/googleads/v25/stale.proto"), "stale").unwrap();

    run_update_protos(&checkout, &out);
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
    run_update_protos(&checkout, &out);
    assert_eq!(read_tree(&out), first, "a second run changes no byte");
    assert_eq!(mtimes(&out), first_mtimes, "a second run rewrites no file");

    // What it wrote is what is vendored: the same files, byte for byte, and nothing else.
    let mut vendored = read_tree(&proto_dir());
    let mut written = first;
    let (vendored_manifest, written_manifest) = (
        vendored.remove("MANIFEST").unwrap(),
        written.remove("MANIFEST").unwrap(),
    );
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        vendored.keys().collect::<Vec<_>>()
    );
    assert_eq!(written, vendored);
    let hashes = |m: Vec<u8>| read_manifest(&String::from_utf8(m).unwrap()).1;
    assert_eq!(hashes(written_manifest), hashes(vendored_manifest));
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
