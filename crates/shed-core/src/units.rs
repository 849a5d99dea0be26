//! Byte counts as the docker CLI prints them.
//!
//! Sizes use decimal units with three significant digits (`1.99MB`, `0B`, `12.3kB`), as
//! `docker images` does with go-units' `HumanSizeWithPrecision(size, 3)`. The core uses the same
//! form in the texts it writes (a cap refused, a size selector explained) as the CLI's tables.

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// A byte count as `docker images` prints it: `1.99MB`.
pub fn size(bytes: u64) -> String {
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < DECIMAL_UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let mut text = significant(value, 3);
    if text == "1000" && unit < DECIMAL_UNITS.len() - 1 {
        // 999.95kB and up round to 1000kB; print 1MB instead.
        text = "1".to_owned();
        unit += 1;
    }
    format!("{text}{}", DECIMAL_UNITS[unit])
}

/// `value` with `digits` significant digits and no trailing zeros, like Go's `%.3g` for the
/// magnitudes a size takes (0 to 999.999…). Go switches to an exponent when rounding reaches
/// 1000 (`1e+03kB`); shed prints the next unit's `1` instead, which is what was meant.
fn significant(value: f64, digits: usize) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker_images() {
        let cases = [
            (0, "0B"),
            (999, "999B"),
            (1_000, "1kB"),
            (12_345, "12.3kB"),
            (1_985_472, "1.99MB"),
            (999_999, "1MB"),
            (1_200_000_000, "1.2GB"),
            (5_000_000_000_000, "5TB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(size(bytes), expected, "{bytes} bytes");
        }
    }
}
