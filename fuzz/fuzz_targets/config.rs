//! Training configs: TOML text given to `Config::from_toml_str` (parsing, defaults and every
//! range check), the first line taken as a `key=value` override as `--set` gives it; a
//! config that loads is then written back and read again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nclab_runs::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let overrides = if first.contains('=') && !first.contains('[') {
        vec![first.to_string()]
    } else {
        Vec::new()
    };
    for (body, sets) in [(text, &[][..]), (rest, &overrides[..])] {
        if let Ok(c) = Config::from_toml_str(body, sets) {
            let again = Config::from_toml_str(&c.to_toml_string(), &[])
                .expect("a loaded config reads back");
            assert_eq!(again.to_toml_string(), c.to_toml_string());
        }
    }
});
