//! Random bytes into the failure decoder and random paths into the formatter: no panic, the
//! underlying status always survives, and what is decoded is what the bytes say.

use google_ads::failure::{CodeName, ErrorLine, FieldPath, operation_index};
use google_ads::{Error, PartialFailure};
use proptest::prelude::*;

use super::*;

/// Whether any error has a code of these categories (what `is_auth` and `is_quota` look at).
fn has_category(errors: &[GoogleAdsError], categories: &[&str]) -> bool {
    errors
        .iter()
        .any(|e| CodeName::of(e).is_some_and(|c| categories.contains(&c.category)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_trailer_bytes_keep_the_status(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let error = Error::from(status_with(tonic::Code::Internal, "boom", "req-f", Some(&bytes)));
        let text = error.to_string();
        prop_assert!(text.starts_with("INTERNAL, request id req-f"), "{}", text);
        prop_assert_eq!(error.code(), Some(tonic::Code::Internal));
        match GoogleAdsFailure::decode(bytes.as_slice()) {
            Ok(failure) => {
                prop_assert_eq!(error.failure(), Some(&failure));
                prop_assert!(!text.contains("failure details unreadable"), "{}", text);
            }
            Err(_) => {
                prop_assert_eq!(error.failure(), None);
                prop_assert!(text.contains("failure details unreadable"), "{}", text);
            }
        }
        // INTERNAL is never a quota error, whatever the failure says.
        prop_assert!(!error.is_quota());
        prop_assert_eq!(
            error.is_auth(),
            has_category(error.errors(), &["authentication_error", "authorization_error"])
        );
        let by_operation: usize = error.errors_by_operation().values().map(Vec::len).sum();
        let with_index = error.errors().iter().filter(|e| operation_index(e).is_some()).count();
        prop_assert_eq!(by_operation, with_index);
    }

    #[test]
    fn any_failure_that_decodes_formats_each_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(failure) = GoogleAdsFailure::decode(bytes.as_slice()) {
            let error = Error::from(status_with(
                tonic::Code::InvalidArgument,
                "",
                "req-g",
                Some(&failure.encode_to_vec()),
            ));
            let text = error.to_string();
            prop_assert!(text.starts_with("INVALID_ARGUMENT, request id req-g: "), "{}", text);
            for e in &failure.errors {
                prop_assert!(text.contains(&ErrorLine::new(e).to_string()), "{}", text);
                if let Some(i) = operation_index(e) {
                    let path = FieldPath::of(e).to_string();
                    let first = &e.location.as_ref().unwrap().field_path_elements[0];
                    prop_assert_eq!(i64::from(first.index.unwrap()), i as i64);
                    prop_assert!(path.starts_with(&format!("{}[{i}]", first.field_name)), "{}", path);
                }
            }
            if failure.errors.len() > 1 {
                let count = format!(": {} errors", failure.errors.len());
                prop_assert!(text.contains(&count), "{}", text);
            }
        }
    }

    #[test]
    fn any_status_details_keep_the_status(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let status = tonic::Status::with_details(tonic::Code::Unavailable, "down", bytes.clone().into());
        let error = Error::from(status);
        prop_assert!(error.to_string().starts_with("UNAVAILABLE: down"));
        prop_assert!(error.is_retryable());
        let rpc = google_ads::rpc::Status {
            code: 3,
            message: "m".into(),
            details: vec![prost_types::Any {
                type_url: format!("type.googleapis.com/{}.errors.GoogleAdsFailure", google_ads::latest::PACKAGE),
                value: bytes.clone(),
            }],
        };
        let partial = PartialFailure::from_status(&rpc);
        match GoogleAdsFailure::decode(bytes.as_slice()) {
            Ok(failure) if !failure.errors.is_empty() => {
                let kept: usize = partial.by_operation().values().map(Vec::len).sum::<usize>()
                    + partial.unattributed().len();
                prop_assert_eq!(kept, failure.errors.len());
                prop_assert_eq!(partial.message(), None);
            }
            // Nothing readable: the status message stands for the failure.
            _ => prop_assert_eq!(partial.message(), Some("m")),
        }
    }

    #[test]
    fn any_field_path_formats(elements in proptest::collection::vec(
        (any::<String>(), proptest::option::of(any::<i32>())), 0..8)
    ) {
        let location = path(&elements.iter().map(|(n, i)| (n.as_str(), *i)).collect::<Vec<_>>());
        let error = GoogleAdsError { location, ..Default::default() };
        let text = FieldPath::of(&error).to_string();
        let plain = elements.iter().all(|(n, _)| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if plain {
            let expected: Vec<String> = elements
                .iter()
                .map(|(n, i)| match i { Some(i) => format!("{n}[{i}]"), None => n.clone() })
                .collect();
            prop_assert_eq!(text, expected.join("."));
        }
    }

    /// Paths that start at a request's operation list: the index is the operation index when
    /// it is one (not negative, present), and nothing else counts.
    #[test]
    fn operation_index_is_the_first_elements_index(
        list in prop::sample::select(vec!["mutate_operations", "operations", "conversions", "campaign_operation"]),
        index in proptest::option::of(any::<i32>()),
        rest in proptest::collection::vec(("[a-z_]{1,12}", proptest::option::of(0..50i32)), 0..4),
    ) {
        let mut elements = vec![(list, index)];
        elements.extend(rest.iter().map(|(n, i)| (n.as_str(), *i)));
        let error = GoogleAdsError { location: path(&elements), ..Default::default() };
        let expected = match (list, index) {
            // Not a list of operations: a field inside one.
            ("campaign_operation", _) => None,
            (_, Some(i)) if i >= 0 => Some(i as usize),
            _ => None,
        };
        prop_assert_eq!(operation_index(&error), expected);
    }
}
