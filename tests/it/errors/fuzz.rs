//! Random bytes into the failure decoder and random paths into the formatter: no panic, and the
//! underlying status always survives.

use google_ads::failure::{FieldPath, operation_index};
use google_ads::{Error, PartialFailure};
use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_trailer_bytes_keep_the_status(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let error = Error::from(status_with(tonic::Code::Internal, "boom", "req-f", Some(&bytes)));
        let text = error.to_string();
        prop_assert!(text.starts_with("INTERNAL, request id "), "{}", text);
        prop_assert_eq!(error.code(), Some(tonic::Code::Internal));
        let _ = (error.retry_delay(), error.is_quota(), error.is_auth(), error.errors_by_operation());
    }

    #[test]
    fn any_failure_that_decodes_formats(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(failure) = GoogleAdsFailure::decode(bytes.as_slice()) {
            let error = Error::from(status_with(
                tonic::Code::InvalidArgument,
                "",
                "req-g",
                Some(&failure.encode_to_vec()),
            ));
            let _ = error.to_string();
            for e in &failure.errors {
                let _ = (FieldPath::of(e).to_string(), operation_index(e));
            }
        }
    }

    #[test]
    fn any_status_details_keep_the_status(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let status = tonic::Status::with_details(tonic::Code::Unavailable, "down", bytes.clone().into());
        let error = Error::from(status);
        prop_assert!(error.to_string().starts_with("UNAVAILABLE: down"));
        let rpc = google_ads::rpc::Status {
            code: 3,
            message: "m".into(),
            details: vec![prost_types::Any {
                type_url: "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure".into(),
                value: bytes,
            }],
        };
        let _ = PartialFailure::from_status(&rpc).failed_indices();
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
        // A negative index is no operation index.
        if let Some((_, Some(i))) = elements.first() && *i < 0 {
            prop_assert_eq!(operation_index(&error), None);
        }
    }
}
