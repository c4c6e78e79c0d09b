//! Client configuration: google-ads.yaml, `GOOGLE_ADS_*` environment variables, or a builder,
//! with the official libraries' key names, precedence and boolean spellings.
//!
//! Owns: reading and checking the settings, and naming the key at fault when one is wrong
//! ([`ConfigError`]). Does not own: turning credentials into tokens (`auth`), or the channel
//! (`transport`).
//!
//! A file's text, or the same keys set in code:
//!
//! ```
//! use google_ads::config::{Config, Credentials};
//!
//! let config = Config::from_yaml_str(
//!     "developer_token: INSERT_DEVELOPER_TOKEN\n\
//!      client_id: INSERT_CLIENT_ID\n\
//!      client_secret: INSERT_CLIENT_SECRET\n\
//!      refresh_token: INSERT_REFRESH_TOKEN\n\
//!      login_customer_id: 1234567890\n",
//! )?;
//! assert!(matches!(config.credentials, Credentials::RefreshToken { .. }));
//! assert_eq!(config.login_customer_id.unwrap().as_str(), "1234567890");
//! // Secrets print as <redacted>.
//! assert!(!format!("{config:?}").contains("INSERT_REFRESH_TOKEN"));
//!
//! let local = Config::builder()
//!     .with_developer_token("INSERT_DEVELOPER_TOKEN")
//!     .with_access_token("INSERT_ACCESS_TOKEN")
//!     .with_endpoint("http://127.0.0.1:50051")
//!     .build()?;
//! assert_eq!(local.endpoint, "http://127.0.0.1:50051");
//! # Ok::<(), google_ads::ConfigError>(())
//! ```
//!
//! In a program, [`Config::discover`] looks where the official libraries look
//! (`GOOGLE_ADS_*` variables, then `~/google-ads.yaml`) and says `None` when nothing is
//! configured.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::customer_id::CustomerId;
use crate::secret::Secret;
use crate::transport::ProxyUrl;

/// The OAuth2 scope of the Google Ads API.
pub const SCOPE: &str = "https://www.googleapis.com/auth/adwords";
/// Google's OAuth2 token endpoint, for refresh tokens.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The API's endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://googleads.googleapis.com";

const ENV_PREFIX: &str = "GOOGLE_ADS_";
const FILE_PATH_VAR: &str = "GOOGLE_ADS_CONFIGURATION_FILE_PATH";
const KNOWN_KEYS: &[&str] = &[
    "developer_token",
    "login_customer_id",
    "linked_customer_id",
    "client_id",
    "client_secret",
    "refresh_token",
    "json_key_file_path",
    "impersonated_email",
    "use_application_default_credentials",
    "endpoint",
    "http_proxy",
    "use_cloud_org_for_api_access",
    "logging",
    // Read by the Python library; meaningless here but not a mistake in a shared file.
    "use_proto_plus",
    // Deprecated spellings of json_key_file_path and impersonated_email.
    "path_to_private_key_file",
    "delegated_account",
    // Ours: a fixed access token, and the token endpoint for refresh tokens.
    "access_token",
    "token_uri",
];

/// How the client gets its access tokens.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Credentials {
    /// OAuth2 refresh token of an installed or web app.
    RefreshToken {
        /// The OAuth2 client id.
        client_id: String,
        /// The OAuth2 client secret.
        client_secret: Secret,
        /// The refresh token.
        refresh_token: Secret,
        /// Where to exchange it ([`GOOGLE_TOKEN_URI`] unless set).
        token_uri: String,
    },
    /// A service-account key file, optionally impersonating a user (domain-wide delegation).
    ServiceAccount {
        /// The key JSON file.
        key_file: PathBuf,
        /// The user to act as: the JWT `sub`.
        impersonated_email: Option<String>,
    },
    /// Application default credentials: `GOOGLE_APPLICATION_CREDENTIALS` or gcloud's file.
    ApplicationDefault,
    /// A fixed access token (no refresh).
    AccessToken(Secret),
}

/// Everything the client needs to call the API.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The developer token (not needed with `use_cloud_org_for_api_access`).
    pub developer_token: Option<Secret>,
    /// The manager account the calls go through.
    pub login_customer_id: Option<CustomerId>,
    /// The linked account for third-party app analytics.
    pub linked_customer_id: Option<CustomerId>,
    /// Where access tokens come from.
    pub credentials: Credentials,
    /// The API endpoint, e.g. `https://googleads.googleapis.com`.
    pub endpoint: String,
    /// Authorize through the Google Cloud organization: no developer-token header.
    pub use_cloud_org_for_api_access: bool,
    /// The HTTP proxy every connection goes through (the API, token endpoints), loopback
    /// included, except hosts in `no_proxy`; without it, `https_proxy` from the environment
    /// (not for loopback). Its password is never printed.
    pub http_proxy: Option<ProxyUrl>,
    /// Keys that were present but are not known; a warning names each.
    pub unknown_keys: Vec<String>,
}

/// A configuration that cannot be used: which key, what is wrong, where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    key: Option<String>,
    message: String,
    source: String,
    /// `GOOGLE_ADS_*` variables that were not read (not configuration keys): often the typo
    /// behind the error.
    ignored: Vec<String>,
}

impl ConfigError {
    fn new(key: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            key: key.map(str::to_owned),
            message: message.into(),
            source: String::new(),
            ignored: Vec::new(),
        }
    }

    fn with_ignored(mut self, ignored: &[String]) -> Self {
        self.ignored = ignored.to_vec();
        self
    }

    fn in_source(mut self, source: &str) -> Self {
        self.source = source.to_owned();
        self
    }

    pub(crate) fn invalid(key: &str, message: &str) -> Self {
        Self::new(Some(key), message)
    }

    /// The configuration key at fault, when one is.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("google-ads configuration")?;
        if !self.source.is_empty() {
            write!(f, " ({})", self.source)?;
        }
        match &self.key {
            Some(key) => write!(f, ": {key}: {}", self.message)?,
            None => write!(f, ": {}", self.message)?,
        }
        if !self.ignored.is_empty() {
            write!(
                f,
                " (ignored, not configuration keys: {})",
                self.ignored.join(", ")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// `y/yes/t/true/on/1` and `n/no/f/false/off/0`, any case.
fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
        _ => Err(ConfigError::new(
            Some(key),
            format!("{value:?} is not a boolean (true/false, yes/no, on/off, 1/0)"),
        )),
    }
}

/// `value` as a customer id, or an error naming `key` and the rule.
fn customer_id(key: &str, value: &str) -> Result<CustomerId, ConfigError> {
    CustomerId::parse_str(value).ok_or_else(|| {
        ConfigError::new(
            Some(key),
            "must be 10 digits without dashes, e.g. 1234567890",
        )
    })
}

impl Config {
    /// A builder; `build()` checks it like a file would be checked.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Where the default discovery finds settings, as the official libraries do:
    /// `GOOGLE_ADS_*` variables when one of the configuration's keys is set (or
    /// `GOOGLE_ADS_CONFIGURATION_FILE_PATH`, naming a file to read instead), else
    /// `~/google-ads.yaml` when it exists, else `None`.
    ///
    /// Only the configuration's own keys count: an unknown `GOOGLE_ADS_*` variable (a typo, or
    /// another tool's) is warned about and ignored, never taken for a configuration.
    pub fn discover() -> Result<Option<Config>, ConfigError> {
        Self::discover_in(std::env::vars(), home_file())
    }

    /// The `GOOGLE_ADS_*` variables of this process that are not configuration keys, sorted:
    /// what [`Config::discover`] ignores (a misspelt `GOOGLE_ADS_DEVELOPR_TOKEN` leaves no
    /// configuration found; a program can say so).
    pub fn ignored_env_variables() -> Vec<String> {
        let mut ignored: Vec<String> = std::env::vars()
            .map(|(name, _)| name)
            .filter(|name| name.starts_with(ENV_PREFIX) && !is_configuration_variable(name))
            .collect();
        ignored.sort();
        ignored
    }

    /// [`Config::discover`] over given variables and home-folder file, for tests and tools.
    pub fn discover_in(
        vars: impl IntoIterator<Item = (String, String)>,
        home_file: Option<PathBuf>,
    ) -> Result<Option<Config>, ConfigError> {
        let mut known = Vec::new();
        let mut ignored = Vec::new();
        for (name, value) in vars {
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            if is_configuration_variable(&name) {
                known.push((name, value));
            } else {
                tracing::warn!(
                    variable = %name,
                    "google-ads configuration: not a configuration key; ignored"
                );
                ignored.push(name);
            }
        }
        ignored.sort();
        let found = if !known.is_empty() {
            Self::from_env_vars(known).map(Some)
        } else {
            match home_file {
                Some(path) if path.is_file() => Self::from_yaml_file(&path).map(Some),
                _ => Ok(None),
            }
        };
        found.map_err(|e| e.with_ignored(&ignored))
    }

    /// Reads the google-ads.yaml file at `path` ([`Config::from_default_yaml_file`] finds the
    /// file the usual way).
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(None, format!("cannot read the file: {e}")).in_source(&source)
        })?;
        Self::from_yaml_str(&text).map_err(|e| e.in_source(&source))
    }

    /// Reads the default file: `GOOGLE_ADS_CONFIGURATION_FILE_PATH`, else `~/google-ads.yaml`.
    pub fn from_default_yaml_file() -> Result<Config, ConfigError> {
        let path = match std::env::var(FILE_PATH_VAR) {
            Ok(path) if !path.is_empty() => PathBuf::from(path),
            _ => home_file().ok_or_else(|| {
                ConfigError::new(None, "no home folder to find google-ads.yaml in")
            })?,
        };
        Self::from_yaml_file(path)
    }

    /// Parses google-ads.yaml text (a flat mapping; `logging` may be a nested mapping).
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        use yaml_rust2::{Yaml, YamlLoader};
        let docs = YamlLoader::load_from_str(text)
            .map_err(|e| ConfigError::new(None, format!("not valid YAML: {e}")))?;
        let mut map = BTreeMap::new();
        match docs.first() {
            None | Some(Yaml::Null) => {}
            Some(Yaml::Hash(hash)) => {
                for (key, value) in hash {
                    let key = key
                        .as_str()
                        .ok_or_else(|| ConfigError::new(None, "every key must be a string"))?;
                    let value = match value {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Real(r) => r.clone(),
                        Yaml::Boolean(b) => b.to_string(),
                        Yaml::Null => continue,
                        // Nested sections (logging) are not values this client reads.
                        _ => String::new(),
                    };
                    map.insert(key.to_owned(), value);
                }
            }
            Some(_) => {
                return Err(ConfigError::new(
                    None,
                    "the document must be a mapping of keys to values",
                ));
            }
        }
        Self::from_map(map)
    }

    /// Reads `GOOGLE_ADS_*` variables from the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_env_vars(std::env::vars())
    }

    /// Reads `GOOGLE_ADS_*` variables from `vars` (the environment, or a test's list). When
    /// `GOOGLE_ADS_CONFIGURATION_FILE_PATH` is among them, that file is read instead.
    pub fn from_env_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut map = BTreeMap::new();
        for (name, value) in vars {
            if name == FILE_PATH_VAR && !value.is_empty() {
                return Self::from_yaml_file(value);
            }
            if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                map.insert(key.to_ascii_lowercase(), value);
            }
        }
        Self::from_map(map).map_err(|e| e.in_source("environment"))
    }

    fn from_map(mut map: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let mut unknown_keys = Vec::new();
        for key in map.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                tracing::warn!(key = %key, "google-ads configuration: unknown key ignored");
                unknown_keys.push(key.clone());
            }
        }
        for (old, new) in [
            ("path_to_private_key_file", "json_key_file_path"),
            ("delegated_account", "impersonated_email"),
        ] {
            if let Some(value) = map.remove(old) {
                tracing::warn!(
                    key = old,
                    instead = new,
                    "google-ads configuration: deprecated key"
                );
                map.entry(new.to_owned()).or_insert(value);
            }
        }
        let get = |key: &str| {
            map.get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |key: &str| {
            get(key)
                .map(|v| parse_bool(key, &v))
                .transpose()
                .map(Option::unwrap_or_default)
        };

        let use_cloud_org = flag("use_cloud_org_for_api_access")?;
        let use_adc = flag("use_application_default_credentials")?;
        let installed = ["client_id", "client_secret", "refresh_token"];
        let installed_given: Vec<&str> = installed
            .iter()
            .copied()
            .filter(|k| get(k).is_some())
            .collect();
        let key_file = get("json_key_file_path");
        let access_token = get("access_token");

        let kinds: Vec<&str> = [
            (use_adc, "use_application_default_credentials"),
            (
                !installed_given.is_empty(),
                "client_id/client_secret/refresh_token",
            ),
            (key_file.is_some(), "json_key_file_path"),
            (access_token.is_some(), "access_token"),
        ]
        .into_iter()
        .filter_map(|(given, name)| given.then_some(name))
        .collect();
        if kinds.len() > 1 {
            return Err(ConfigError::new(
                None,
                format!(
                    "conflicting credential kinds: {}; keep one",
                    kinds.join(", ")
                ),
            ));
        }
        let credentials = if use_adc {
            Credentials::ApplicationDefault
        } else if !installed_given.is_empty() {
            if let Some(missing) = installed.iter().find(|k| get(k).is_none()) {
                return Err(ConfigError::new(
                    Some(missing),
                    "missing: a refresh token needs client_id, client_secret and refresh_token",
                ));
            }
            Credentials::RefreshToken {
                client_id: get("client_id").unwrap_or_default(),
                client_secret: Secret::new(get("client_secret").unwrap_or_default()),
                refresh_token: Secret::new(get("refresh_token").unwrap_or_default()),
                token_uri: get("token_uri").unwrap_or_else(|| GOOGLE_TOKEN_URI.to_owned()),
            }
        } else if let Some(path) = key_file {
            let key_file = PathBuf::from(&path);
            if std::fs::File::open(&key_file).is_err() {
                return Err(ConfigError::new(
                    Some("json_key_file_path"),
                    format!("cannot read the key file {path}"),
                ));
            }
            Credentials::ServiceAccount {
                key_file,
                impersonated_email: get("impersonated_email"),
            }
        } else if let Some(token) = access_token {
            Credentials::AccessToken(Secret::new(token))
        } else {
            return Err(ConfigError::new(
                None,
                "no credentials: set client_id, client_secret and refresh_token; or json_key_file_path; or use_application_default_credentials; or access_token (a fixed token)",
            ));
        };
        let developer_token = get("developer_token").map(Secret::new);
        if developer_token.is_none() && !use_cloud_org {
            return Err(ConfigError::new(
                Some("developer_token"),
                "missing (required unless use_cloud_org_for_api_access is true)",
            ));
        }
        Ok(Config {
            developer_token,
            login_customer_id: get("login_customer_id")
                .map(|v| customer_id("login_customer_id", &v))
                .transpose()?,
            linked_customer_id: get("linked_customer_id")
                .map(|v| customer_id("linked_customer_id", &v))
                .transpose()?,
            credentials,
            endpoint: get("endpoint").unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
            use_cloud_org_for_api_access: use_cloud_org,
            http_proxy: get("http_proxy")
                .map(|v| ProxyUrl::parse(&v).map_err(|e| ConfigError::invalid("http_proxy", &e)))
                .transpose()?,
            unknown_keys,
        })
    }
}

/// Whether `name` is a `GOOGLE_ADS_*` variable discovery reads: a configuration key, or the
/// file path variable.
fn is_configuration_variable(name: &str) -> bool {
    name == FILE_PATH_VAR
        || name
            .strip_prefix(ENV_PREFIX)
            .is_some_and(|key| KNOWN_KEYS.contains(&key.to_ascii_lowercase().as_str()))
}

fn home_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join("google-ads.yaml"))
}

/// Builds a [`Config`] in code, with the same keys and checks as the file.
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    map: BTreeMap<String, String>,
}

impl ConfigBuilder {
    /// Sets any key by its google-ads.yaml name.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.map.insert(key.to_owned(), value.into());
        self
    }

    /// The developer token.
    pub fn with_developer_token(self, token: impl Into<String>) -> Self {
        self.with("developer_token", token)
    }

    /// The login customer id (10 digits).
    pub fn with_login_customer_id(self, id: impl ToString) -> Self {
        self.with("login_customer_id", id.to_string())
    }

    /// A fixed access token (no refresh): for tests, the fake server, or tokens you manage.
    pub fn with_access_token(self, token: impl Into<String>) -> Self {
        self.with("access_token", token)
    }

    /// OAuth2 refresh-token credentials.
    pub fn with_refresh_token(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        self.with("client_id", client_id)
            .with("client_secret", client_secret)
            .with("refresh_token", refresh_token)
    }

    /// A service-account key file, optionally impersonating a user.
    pub fn with_service_account(
        self,
        key_file: impl Into<String>,
        impersonated_email: Option<String>,
    ) -> Self {
        let builder = self.with("json_key_file_path", key_file);
        match impersonated_email {
            Some(email) => builder.with("impersonated_email", email),
            None => builder,
        }
    }

    /// The API endpoint.
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> Self {
        self.with("endpoint", endpoint)
    }

    /// Checks and builds.
    pub fn build(self) -> Result<Config, ConfigError> {
        Config::from_map(self.map).map_err(|e| e.in_source("builder"))
    }
}
