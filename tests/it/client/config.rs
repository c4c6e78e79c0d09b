//! Configuration from google-ads.yaml, GOOGLE_ADS_* variables and the builder.

use google_ads::{Config, Credentials};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn yaml_env_and_builder_agree() {
    let yaml = "developer_token: DEV\nlogin_customer_id: 1234567890\nclient_id: cid\nclient_secret: csecret\nrefresh_token: rtoken\nuse_proto_plus: True\nlogging:\n  version: 1\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("google-ads.yaml");
    std::fs::write(&path, yaml).unwrap();
    let from_file = Config::from_yaml_file(&path).unwrap();
    let from_env = Config::from_env_vars(env(&[
        ("GOOGLE_ADS_DEVELOPER_TOKEN", "DEV"),
        ("GOOGLE_ADS_LOGIN_CUSTOMER_ID", "1234567890"),
        ("GOOGLE_ADS_CLIENT_ID", "cid"),
        ("GOOGLE_ADS_CLIENT_SECRET", "csecret"),
        ("GOOGLE_ADS_REFRESH_TOKEN", "rtoken"),
        ("GOOGLE_ADS_USE_PROTO_PLUS", "true"),
        ("HOME", "/ignored"),
    ]))
    .unwrap();
    let from_builder = Config::builder()
        .with_developer_token("DEV")
        .with_login_customer_id("1234567890")
        .with_refresh_token("cid", "csecret", "rtoken")
        .with("use_proto_plus", "true")
        .build()
        .unwrap();
    assert_eq!(from_file, from_env);
    assert_eq!(from_env, from_builder);
    assert!(
        matches!(from_file.credentials, Credentials::RefreshToken { ref token_uri, .. } if token_uri == "https://oauth2.googleapis.com/token")
    );
    assert_eq!(from_file.endpoint, "https://googleads.googleapis.com");

    // GOOGLE_ADS_CONFIGURATION_FILE_PATH among the variables: the file wins, as in Python.
    let via_path = Config::from_env_vars(env(&[
        ("GOOGLE_ADS_DEVELOPER_TOKEN", "OTHER"),
        ("GOOGLE_ADS_CONFIGURATION_FILE_PATH", path.to_str().unwrap()),
    ]))
    .unwrap();
    assert_eq!(via_path, from_file);
}

#[test]
fn booleans_take_every_official_spelling() {
    for (spelling, expected) in [
        ("y", true),
        ("YES", true),
        ("t", true),
        ("True", true),
        ("on", true),
        ("1", true),
        ("n", false),
        ("No", false),
        ("f", false),
        ("false", false),
        ("OFF", false),
        ("0", false),
    ] {
        let config = Config::builder()
            .with("use_cloud_org_for_api_access", spelling)
            .with("access_token", "t")
            .build();
        match (config, expected) {
            (Ok(c), _) => assert_eq!(c.use_cloud_org_for_api_access, expected, "{spelling}"),
            // false means a developer token is needed, and none was given.
            (Err(e), false) => assert_eq!(e.key(), Some("developer_token"), "{spelling}"),
            (Err(e), true) => panic!("{spelling}: {e}"),
        }
    }
}

#[test]
fn each_bad_config_names_its_key_and_rule() {
    let base = || Config::builder().with_developer_token("DEV");
    let cases: Vec<(google_ads::config::ConfigBuilder, Option<&str>, &str)> = vec![
        (
            Config::builder().with("access_token", "t"),
            Some("developer_token"),
            "missing",
        ),
        (
            base()
                .with("access_token", "t")
                .with_login_customer_id("123-456-7890"),
            Some("login_customer_id"),
            "10 digits",
        ),
        (
            base()
                .with("access_token", "t")
                .with("linked_customer_id", "12345"),
            Some("linked_customer_id"),
            "10 digits",
        ),
        (
            base().with("client_id", "c").with("client_secret", "s"),
            Some("refresh_token"),
            "missing",
        ),
        (
            base()
                .with_refresh_token("c", "s", "r")
                .with("json_key_file_path", "/nope.json"),
            None,
            "conflicting credential kinds",
        ),
        (
            base().with("json_key_file_path", "/does/not/exist.json"),
            Some("json_key_file_path"),
            "cannot read the key file",
        ),
        (
            base()
                .with("access_token", "t")
                .with("use_cloud_org_for_api_access", "maybe"),
            Some("use_cloud_org_for_api_access"),
            "not a boolean",
        ),
        (base(), None, "no credentials"),
    ];
    for (builder, key, rule) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.key(), key, "{err}");
        assert!(err.to_string().contains(rule), "{err}");
        assert!(
            err.to_string()
                .starts_with("google-ads configuration (builder)"),
            "{err}"
        );
    }
    let err = Config::from_yaml_str("developer_token: [unclosed").unwrap_err();
    assert!(err.to_string().contains("not valid YAML"), "{err}");
    let err = Config::from_yaml_file("/no/such/google-ads.yaml").unwrap_err();
    assert!(
        err.to_string().contains("/no/such/google-ads.yaml")
            && err.to_string().contains("cannot read"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_kept_for_a_warning_and_deprecated_ones_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, "{}").unwrap();
    let config = Config::builder()
        .with_developer_token("DEV")
        .with("path_to_private_key_file", key.to_str().unwrap())
        .with("delegated_account", "user@example.com")
        .with("colour", "blue")
        .build()
        .unwrap();
    assert_eq!(config.unknown_keys, ["colour"]);
    assert_eq!(
        config.credentials,
        Credentials::ServiceAccount {
            key_file: key,
            impersonated_email: Some("user@example.com".into())
        }
    );
}

/// Only the configuration's own keys make a configuration: cargo's build-time variables and
/// other tools' `GOOGLE_ADS_*` are ignored, so `cargo run` of an example finds no config and
/// uses the fake.
#[test]
fn discovery_counts_only_known_keys() {
    let dir = tempfile::tempdir().unwrap();
    let home_file = dir.path().join("google-ads.yaml");
    let stray = env(&[
        ("GOOGLE_ADS_GENERATED", "/target/debug/build/out"),
        ("GOOGLE_ADS_SOMETHING_ELSE", "x"),
        ("PATH", "/usr/bin"),
    ]);
    assert_eq!(
        Config::discover_in(stray.clone(), Some(home_file.clone())).unwrap(),
        None
    );
    // A known key counts (and is checked), the strays still ignored.
    let mut known = stray.clone();
    known.push(("GOOGLE_ADS_DEVELOPER_TOKEN".into(), "dev".into()));
    let err = Config::discover_in(known.clone(), None).unwrap_err();
    assert!(err.to_string().contains("no credentials"), "{err}");
    // The error lists every way to give credentials, and the variables it did not read
    // (a misspelt GOOGLE_ADS_ACCESS_TOKN would be among them).
    assert!(
        err.to_string().contains("or access_token (a fixed token)")
            && err.to_string().contains(
                "(ignored, not configuration keys: GOOGLE_ADS_GENERATED, GOOGLE_ADS_SOMETHING_ELSE)"
            ),
        "{err}"
    );
    known.push(("GOOGLE_ADS_ACCESS_TOKEN".into(), "t".into()));
    let config = Config::discover_in(known, None).unwrap().unwrap();
    assert_eq!(config.unknown_keys, Vec::<String>::new());
    // Nothing in the environment: the home folder's file.
    std::fs::write(&home_file, "developer_token: d\naccess_token: a\n").unwrap();
    let config = Config::discover_in(stray, Some(home_file))
        .unwrap()
        .unwrap();
    assert_eq!(config.developer_token.unwrap().expose(), "d");
}
