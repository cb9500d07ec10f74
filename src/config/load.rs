//! Loading the configuration: the TOML file, `SWITCHBOARD__*` environment overrides, paths read
//! relative to the file, and errors worded for the operator (the key, the allowed values, and
//! whether the file or the environment said it).

use std::path::{Component, Path, PathBuf};

use super::Config;
use crate::error::Error;

/// The prefix of environment variables that override the file.
const ENV_PREFIX: &str = "SWITCHBOARD__";

impl Config {
    /// Reads `path` (TOML), applies `SWITCHBOARD__*` environment overrides, and validates. An
    /// error names the key, and blames the environment when the file alone is fine.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let mut config = match read(path, true) {
            Ok(config) => config,
            Err(why) => {
                let vars = env_overrides();
                let file_alone = read(path, false);
                return Err(Error::Config(if !vars.is_empty() && file_alone.is_ok() {
                    format!("{why} (from the environment: {})", vars.join(", "))
                } else {
                    format!("{}: {why}", path.display())
                }));
            }
        };
        config.server.static_dir = static_dir(path, &config.server.static_dir)
            .map_err(Error::Config)?
            .to_string_lossy()
            .into_owned();
        config.storage.resolve(path);
        config
            .turn
            .read_secret_file()
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses TOML text (no environment), then validates; for tests and tools.
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .map_err(|e| Error::Config(worded(&e)))?;
        let mut config: Config = raw
            .try_deserialize()
            .map_err(|e| Error::Config(worded(&e)))?;
        config
            .rooms
            .extend(config.peerjs.implied_room(&config.rooms));
        config.peerjs.quieten(&mut config.rooms);
        config.validate().map_err(Error::Config)?;
        Ok(config)
    }
}

/// The file at `path`, with the environment's overrides if `env`, deserialized and validated.
fn read(path: &Path, env: bool) -> Result<Config, String> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml));
    if env {
        builder = builder.add_source(
            config::Environment::with_prefix("SWITCHBOARD")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("relay.public_ips")
                .with_list_parse_key("turn.urls")
                .with_list_parse_key("limits.allowed_origins")
                .try_parsing(true),
        );
    }
    let raw = builder.build().map_err(|e| worded(&e))?;
    let mut config: Config = raw.try_deserialize().map_err(|e| worded(&e))?;
    config
        .rooms
        .extend(config.peerjs.implied_room(&config.rooms));
    config.peerjs.quieten(&mut config.rooms);
    config.validate()?;
    Ok(config)
}

/// The names of the `SWITCHBOARD__*` variables set now, sorted.
fn env_overrides() -> Vec<String> {
    let mut vars: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    vars
}

/// The config crate's error in an operator's words: the key as `a.b[1].c`, the values an enum
/// allows instead of its Rust name, an example of a duration, and no second (mangled) copy of
/// the file's path.
fn worded(e: &config::ConfigError) -> String {
    let text = key_path(&e.to_string());
    let text = match text.rsplit_once("\n in ") {
        Some((before, _)) => before.trim_end().to_string(),
        None => text,
    };
    let text = text.replace(
        "expected a duration",
        "expected a duration such as \"5s\", \"250ms\" or \"2m\"",
    );
    match enum_variant(&text) {
        Some(fixed) => fixed,
        None => text,
    }
}

/// Rewrites `enum Topology does not have variant constructor star for key `x`` as
/// `x: "star" is not one of mesh | host | relay`.
fn enum_variant(text: &str) -> Option<String> {
    const ENUMS: [(&str, &str); 4] = [
        ("Topology", "mesh | host | relay"),
        ("OnHostLeave", "elect | relay"),
        ("Backend", "sqlite | none"),
        ("Sync", "full | normal"),
    ];
    let rest = text.split("enum ").nth(1)?;
    let (name, rest) = rest.split_once(" does not have variant constructor ")?;
    let (value, rest) = rest.split_once(" for key ")?;
    let key = rest.trim().trim_matches('`');
    let allowed = ENUMS.iter().find(|(n, _)| *n == name)?.1;
    Some(format!("{key}: {value:?} is not one of {allowed}"))
}

/// `rooms[0]name` (as the config crate writes it) as `rooms[0].name`.
fn key_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ']' && chars.peek().is_some_and(|n| n.is_ascii_alphabetic()) {
            out.push('.');
        }
    }
    out
}

/// `static_dir` as given in the file at `config_path`, resolved against the file's directory when
/// relative; it must be a directory with an `index.html`.
fn static_dir(config_path: &Path, given: &str) -> Result<PathBuf, String> {
    let given_path = Path::new(given);
    let dir = if given_path.is_absolute() {
        given_path.to_path_buf()
    } else {
        let parent = config_path.parent().filter(|p| !p.as_os_str().is_empty());
        let base = std::fs::canonicalize(parent.unwrap_or(Path::new(".")))
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
        base.join(given_path)
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| lexically_normal(&dir));
    let relative = if given_path.is_absolute() {
        String::new()
    } else {
        " (relative paths are read from the config file's directory)".into()
    };
    if !dir.is_dir() {
        return Err(format!(
            "server.static_dir: {given:?} is {}, which is not a directory{relative}",
            dir.display()
        ));
    }
    if !dir.join("index.html").is_file() {
        return Err(format!(
            "server.static_dir: {} has no index.html: it must hold the browser client (static/)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// `path` with `.` and `..` components worked out without the file system (for a path that does
/// not exist, so an error can name it plainly).
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
