//! How nclab writes numbers, in one place, for every output: a value that is not defined
//! (`None`, NaN, an infinity) is an empty CSV cell, JSON `null`, and `null` in tables.
//!
//! - [`exact`]: CSV cells. Integers without a fraction; other values in Rust's shortest
//!   round-trip form, so that reading the text back gives exactly the f64 written.
//! - [`json`]: JSON values, by the same rule.
//! - [`significant`]: for people: `digits` significant digits, in scientific notation below
//!   1e-3 and from 1e6 on; integers as integers.
//! - [`scientific`]: for fixed-width terminal columns.
//! - [`eta_text`]: a time left, `~1h20m`, for progress lines.

/// The CSV text of a value (empty when undefined): integers such as `3` without a fraction,
/// others in shortest round-trip form, in scientific notation (`8.2e-227`) when `|x| < 1e-5`
/// or `|x| >= 1e16`, where the plain form would run to hundreds of digits.
pub fn exact(v: Option<f64>) -> String {
    match v {
        Some(x) if is_integer(x) => format!("{}", x as i64),
        Some(x) if x.is_finite() && (1e-5..1e16).contains(&x.abs()) => format!("{x}"),
        Some(x) if x.is_finite() => format!("{x:e}"),
        _ => String::new(),
    }
}

/// The JSON value of a number: `null` when undefined, an integer when integral, else the f64.
pub fn json(v: Option<f64>) -> serde_json::Value {
    match v {
        Some(x) if is_integer(x) => serde_json::Value::from(x as i64),
        Some(x) => serde_json::Number::from_f64(x)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        None => serde_json::Value::Null,
    }
}

/// A value for people with `digits` significant digits (`null` when undefined): integers as
/// integers, scientific notation when `|v| < 1e-3` or `|v| >= 1e6`.
pub fn significant(v: Option<f64>, digits: usize) -> String {
    let Some(x) = v.filter(|x| x.is_finite()) else {
        return "null".into();
    };
    let digits = digits.max(1);
    if is_integer(x) && x.abs() < 1e6 {
        return format!("{}", x as i64);
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        format!("{x:.prec$e}", prec = digits - 1)
    } else {
        let decimals = (digits as i32 - 1 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    }
}

/// A value in scientific notation with `decimals` decimals (`5.317e-1` for 3): fixed-width columns of terminal tables. `null` when undefined.
pub fn scientific(v: Option<f64>, decimals: usize) -> String {
    match v.filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.decimals$e}"),
        None => "null".into(),
    }
}

/// `n` and the noun in agreement: `1 run`, `2 runs`, `0 runs` (nouns whose plural adds `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Whether `x` is an integer small enough to print exactly as one.
fn is_integer(x: f64) -> bool {
    x.is_finite() && x == x.trunc() && x.abs() < 1e15
}

/// The estimated time left, `~1m05s` (`<1s` under half a second), for the ETA column (`done`
/// when nothing is left).
pub fn eta_text(seconds: f64) -> String {
    if !(seconds.is_finite() && seconds > 0.0) {
        return "done".into();
    }
    let s = seconds.round() as u64;
    if s == 0 {
        "<1s".into()
    } else if s < 60 {
        format!("~{s}s")
    } else if s < 3600 {
        format!("~{}m{:02}s", s / 60, s % 60)
    } else {
        format!("~{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_values_look_the_same_everywhere() {
        for v in [None, Some(f64::NAN), Some(f64::INFINITY)] {
            assert_eq!(exact(v), "");
            assert_eq!(json(v), serde_json::Value::Null);
            assert_eq!(significant(v, 4), "null");
        }
    }

    #[test]
    fn exact_text_reads_back_to_the_same_f64() {
        for x in [0.1 + 0.2, 1.0 / 3.0, 1e-300, 123456789.125, -2.5e17] {
            assert_eq!(exact(Some(x)).parse::<f64>().unwrap(), x);
        }
        assert_eq!(exact(Some(3.0)), "3");
        assert_eq!(exact(Some(-0.0)), "0");
        assert_eq!(exact(Some(0.25)), "0.25");
        assert_eq!(exact(Some(1e-5)), "0.00001");
        assert_eq!(
            exact(Some(8.229050703016389e-227)),
            "8.229050703016389e-227"
        );
        assert_eq!(exact(Some(-9.5e-6)), "-9.5e-6");
        assert_eq!(exact(Some(2.5e17)), "2.5e17");
        assert_eq!(json(Some(3.0)), serde_json::json!(3));
        assert_eq!(json(Some(0.25)), serde_json::json!(0.25));
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1, "run"), "1 run");
        assert_eq!(count(0, "run"), "0 runs");
        assert_eq!(count(3, "condition"), "3 conditions");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(Some(0.123456), 4), "0.1235");
        assert_eq!(significant(Some(12.3456), 4), "12.35");
        assert_eq!(significant(Some(1234.4), 4), "1234");
        assert_eq!(significant(Some(1.5e-5), 4), "1.500e-5");
        assert_eq!(significant(Some(2.5e7), 3), "2.50e7");
        assert_eq!(significant(Some(42.0), 6), "42");
        assert_eq!(significant(Some(0.5), 6), "0.500000");
    }

    #[test]
    fn the_eta_reads_as_an_estimate() {
        assert_eq!(eta_text(42.4), "~42s");
        assert_eq!(eta_text(65.0), "~1m05s");
        assert_eq!(eta_text(3.0 * 3600.0 + 7.0 * 60.0 + 5.0), "~3h07m");
        assert_eq!(eta_text(0.2), "<1s");
        assert_eq!(eta_text(0.0), "done");
        assert_eq!(eta_text(f64::NAN), "done");
    }
}
