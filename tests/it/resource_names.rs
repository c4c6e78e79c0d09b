//! Resource-name builders and parsers, one per `google.api.resource` pattern.

use std::collections::BTreeSet;

use google_ads::resource_name::ResourceName;
use google_ads::resource_names::{ALL, AdGroupAdName, CampaignName, CustomerName};
use prost_reflect::{DescriptorPool, Value};

/// (type, pattern) of every resource the descriptors declare.
fn declared_patterns() -> BTreeSet<(String, String)> {
    let pool = DescriptorPool::decode(google_ads::FILE_DESCRIPTOR_SET).unwrap();
    let ext = pool.get_extension_by_name("google.api.resource").unwrap();
    let mut out = BTreeSet::new();
    for message in pool.all_messages() {
        let options = message.options();
        if !options.has_extension(&ext) {
            continue;
        }
        let value = options.get_extension(&ext);
        let Value::Message(resource) = value.as_ref() else {
            panic!("resource option is a message")
        };
        let kind = resource
            .get_field_by_name("type")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        let patterns = resource.get_field_by_name("pattern").unwrap();
        for pattern in patterns.as_list().unwrap() {
            out.insert((kind.clone(), pattern.as_str().unwrap().to_owned()));
        }
    }
    out
}

#[test]
fn every_pattern_in_the_descriptors_has_a_builder() {
    let declared = declared_patterns();
    let generated: BTreeSet<(String, String)> = ALL
        .iter()
        .map(|p| (p.resource_type.to_owned(), p.pattern.to_owned()))
        .collect();
    assert!(declared.len() > 150, "{} patterns", declared.len());
    assert_eq!(generated, declared);
    assert_eq!(ALL.len(), declared.len());
}

#[test]
fn every_builder_round_trips_through_its_parser() {
    for info in ALL {
        // Customer ids are digits; other parts mix negative (temporary) ids and text.
        let parts: Vec<String> = info
            .variables
            .iter()
            .enumerate()
            .map(|(i, var)| match (var.ends_with("customer_id"), i % 3) {
                (true, _) => format!("{}", 1_000_000_000 + i),
                (false, 0) => format!("-{}", i + 1),
                (false, 1) => format!("{}", 9_000 + i),
                _ => format!("TEXT_{i}-Zz=="),
            })
            .collect();
        let name = (info.build)(parts.clone()).unwrap_or_else(|e| panic!("{}: {e}", info.pattern));
        assert!(!name.contains('{') && !name.contains('}'), "{name}");
        let parsed = (info.parse)(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed, parts, "{}", info.pattern);
        // The pattern's literal segments survive, in place.
        for (pattern_seg, name_seg) in info.pattern.split('/').zip(name.split('/')) {
            if !pattern_seg.starts_with('{') {
                assert_eq!(pattern_seg, name_seg, "{name}");
            }
        }
    }
}

#[test]
fn typed_names_build_and_parse() {
    let campaign = CampaignName::new("1234567890", -7).unwrap();
    assert_eq!(campaign.to_string(), "customers/1234567890/campaigns/-7");
    assert_eq!(
        "customers/1234567890/campaigns/-7"
            .parse::<CampaignName>()
            .unwrap(),
        campaign
    );

    let ad: AdGroupAdName = "customers/1234567890/adGroupAds/-3~-4".parse().unwrap();
    assert_eq!((ad.ad_group_id(), ad.ad_id()), ("-3", "-4"));
    assert_eq!(ad.customer_id(), "1234567890");
    assert_eq!(ad.parts(), ["1234567890", "-3", "-4"]);
    // One string holds the whole name: read it, take it, or read an owned one without a copy.
    assert_eq!(ad.as_str(), "customers/1234567890/adGroupAds/-3~-4");
    assert_eq!(
        format!("{ad:?}"),
        r#"AdGroupAdName("customers/1234567890/adGroupAds/-3~-4")"#
    );
    let text = String::from(ad.clone());
    assert_eq!(AdGroupAdName::from_string(text).unwrap(), ad);
    assert_eq!(
        AdGroupAdName::from_parts(&["1234567890", "-3", "-4"]).unwrap(),
        ad
    );
    assert_eq!(
        AdGroupAdName::PATTERN,
        "customers/{customer_id}/adGroupAds/{ad_group_id}~{ad_id}"
    );
    assert_eq!(
        CustomerName::new(1234567890).unwrap().to_string(),
        "customers/1234567890"
    );
}

#[test]
fn bad_parts_name_the_variable_and_the_rule() {
    let err = CampaignName::new("123-456-7890", 1).unwrap_err();
    assert_eq!(err.variable(), Some("customer_id"));
    assert_eq!(
        err.to_string(),
        "customer_id in resource name customers/{customer_id}/campaigns/{campaign_id}: a customer id is digits only, without dashes"
    );
    let err = CampaignName::new(1234567890, "").unwrap_err();
    assert_eq!(err.variable(), Some("campaign_id"));
    assert!(err.to_string().ends_with("must not be empty"), "{err}");
    let err = AdGroupAdName::new(1234567890, "1~2", 3).unwrap_err();
    assert_eq!(err.variable(), Some("ad_group_id"));
    assert!(
        err.to_string().contains("must not contain '/' or '~'"),
        "{err}"
    );
}

#[test]
fn names_that_do_not_fit_the_pattern_are_refused() {
    for bad in [
        "customers/1234567890/adGroups/5",
        "customers/1234567890/campaigns/5/extra",
        "customers/1234567890/campaigns/",
        "customers/12a/campaigns/5",
        "",
    ] {
        let err = bad.parse::<CampaignName>().unwrap_err();
        assert_eq!(err.pattern(), CampaignName::PATTERN, "{bad}");
    }
    assert!(
        "customers/1/adGroupAds/5".parse::<AdGroupAdName>().is_err(),
        "composite needs both ids"
    );
    for empty in ["customers/1/adGroupAds/5~", "customers/1/adGroupAds/~6"] {
        let err = empty.parse::<AdGroupAdName>().unwrap_err();
        assert!(err.to_string().ends_with("must not be empty"), "{err}");
    }
    let err = AdGroupAdName::from_parts(&["1", "2"]).unwrap_err();
    assert!(
        err.to_string().contains("different number of parts"),
        "{err}"
    );
    assert!(
        "customers/1/adGroupAds/5~6~7"
            .parse::<AdGroupAdName>()
            .is_err()
    );
}
