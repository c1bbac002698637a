//! Parsing one field: integers, floats, dates, datetimes, missing-value tokens.
//!
//! The number parsers work on bytes and take a fast exact path for the common case;
//! anything unusual falls back to the standard library, so results are always
//! correctly rounded.

/// Missing-value tokens that lithe recognises without being told (DESIGN.md: empty
/// cells, NA, NaN, null), with the spellings common exporters use.
pub const DEFAULT_NA: &[&str] = &[
    "", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "-NaN", "NAN", "null", "NULL", "Null", "#N/A",
];

/// Recognises missing-value tokens.
#[derive(Debug, Clone)]
pub struct NaSet {
    tokens: Vec<Box<[u8]>>,
    /// Bitmask of first bytes of any token, to reject most fields with one test.
    first: [bool; 256],
    /// Length of the longest token: longer fields are never missing.
    max_len: usize,
}

impl NaSet {
    pub fn new(extra: &[String]) -> Self {
        let mut tokens: Vec<Box<[u8]>> = DEFAULT_NA
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| t.as_bytes().into())
            .collect();
        tokens.extend(
            extra
                .iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .map(|t| t.as_bytes().into()),
        );
        let mut first = [false; 256];
        for t in &tokens {
            first[t[0] as usize] = true;
        }
        let max_len = tokens.iter().map(|t| t.len()).max().unwrap_or(0);
        NaSet {
            tokens,
            first,
            max_len,
        }
    }

    /// True when some missing-value token starts with byte `b`.
    #[inline]
    pub fn may_start_with(&self, b: u8) -> bool {
        self.first[b as usize]
    }

    /// True when a (trimmed, unquoted) field is missing.
    #[inline]
    pub fn is_na(&self, field: &[u8]) -> bool {
        match field.first() {
            None => true,
            Some(&b) if !self.first[b as usize] || field.len() > self.max_len => false,
            Some(_) => self.tokens.iter().any(|t| &**t == field),
        }
    }
}

/// Parse a decimal integer that fits `i64`.
#[inline]
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        let x = d.wrapping_sub(b'0');
        if x > 9 {
            return None;
        }
        v = v * 10 + x as u64;
    }
    if neg {
        if v <= i64::MAX as u64 + 1 {
            Some((v as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parse a float. Decimal text with at most 15 significant digits and a small
/// exponent is computed exactly with one multiply or divide (both operands exact, so
/// the result is correctly rounded); anything else goes to the standard library.
#[inline]
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let n = b.len();
    let mut i = 0;
    let neg = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let mut digits = 0u32;
    let int_start = i;
    while i < n {
        let x = b[i].wrapping_sub(b'0');
        if x > 9 {
            break;
        }
        mant = mant.wrapping_mul(10).wrapping_add(x as u64);
        digits += 1;
        i += 1;
    }
    let mut frac_digits = 0i32;
    let mut saw_digit = i > int_start;
    if i < n && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < n {
            let x = b[i].wrapping_sub(b'0');
            if x > 9 {
                break;
            }
            mant = mant.wrapping_mul(10).wrapping_add(x as u64);
            digits += 1;
            i += 1;
        }
        frac_digits = (i - frac_start) as i32;
        saw_digit |= frac_digits > 0;
    }
    if !saw_digit {
        return slow_f64(b);
    }
    let mut exp = -frac_digits;
    if i < n {
        if b[i] != b'e' && b[i] != b'E' {
            return None;
        }
        return slow_f64(b);
    }
    // Leading zeros do not count against precision, but counting them keeps this simple:
    // 15 digits always fit a u64 exactly and below 2^53.
    if digits > 15 {
        return slow_f64(b);
    }
    let mut v = mant as f64;
    if exp < 0 {
        exp = -exp;
        if exp > 22 {
            return slow_f64(b);
        }
        v /= POW10[exp as usize];
    }
    Some(if neg { -v } else { v })
}

#[cold]
fn slow_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    // Rust also accepts "inf"/"infinity"/"nan" spellings; NaN tokens are handled as
    // missing before we get here, and infinities are kept as values.
    s.parse::<f64>().ok()
}

/// Days from 1970-01-01 to the civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits_n(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        let x = c.wrapping_sub(b'0');
        if x > 9 {
            return None;
        }
        v = v * 10 + x as u32;
    }
    Some(v)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD` → days since the epoch.
#[inline]
pub fn parse_date(b: &[u8]) -> Option<i32> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits_n(&b[0..4])? as i64;
    let m = digits_n(&b[5..7])?;
    let d = digits_n(&b[8..10])?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH:MM|±HHMM]`, or a bare date (midnight),
/// → microseconds since the epoch, UTC.
pub fn parse_datetime(b: &[u8]) -> Option<i64> {
    if b.len() == 10 {
        return parse_date(b).map(|d| d as i64 * 86_400_000_000);
    }
    if b.len() < 16 || (b[10] != b'T' && b[10] != b' ') || b[13] != b':' {
        return None;
    }
    let days = parse_date(&b[..10])? as i64;
    let hh = digits_n(&b[11..13])?;
    let mm = digits_n(&b[14..16])?;
    let mut i = 16;
    let mut ss = 0;
    let mut micros = 0u32;
    if i < b.len() && b[i] == b':' {
        ss = digits_n(b.get(i + 1..i + 3)?)?;
        i += 3;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &b[start..i];
            if frac.is_empty() || frac.len() > 9 {
                return None;
            }
            let kept = &frac[..frac.len().min(6)];
            micros = digits_n(kept)? * 10u32.pow(6 - kept.len() as u32);
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut offset_secs = 0i64;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' if i + 1 == b.len() => {}
            sign @ (b'+' | b'-') => {
                let rest = &b[i + 1..];
                let (oh, om) = match rest.len() {
                    5 if rest[2] == b':' => (digits_n(&rest[..2])?, digits_n(&rest[3..])?),
                    4 => (digits_n(&rest[..2])?, digits_n(&rest[2..])?),
                    2 => (digits_n(rest)?, 0),
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_secs = (oh * 3600 + om * 60) as i64;
                if sign == b'-' {
                    offset_secs = -offset_secs;
                }
            }
            _ => return None,
        }
    }
    let secs = days * 86_400 + (hh * 3600 + mm * 60 + ss) as i64 - offset_secs;
    Some(secs * 1_000_000 + micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-17"), Some(-17));
        assert_eq!(parse_i64(b"+5"), Some(5));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"12345678901234567890"), None);
        assert_eq!(parse_i64(b"1.0"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"1e3"), None);
    }

    #[test]
    fn floats_match_the_standard_library() {
        let cases = [
            "0",
            "1.5",
            "-0.25",
            "3.14159",
            ".5",
            "5.",
            "-.5",
            "1e10",
            "1.5E-7",
            "123456789012345",
            "1234567890123456789",
            "0.1",
            "0.30000000000000004",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "99999999999999999999999",
            "0.000001",
            "-0",
            "+7.25",
            "123.456789012345678",
            "0.0000000000000000000000001",
            "inf",
            "-inf",
        ];
        for c in cases {
            let want: f64 = c.parse().unwrap();
            let got = parse_f64(c.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{c}");
        }
        for bad in [
            "", "-", ".", "1.2.3", "abc", "1e", "1,5", "12a", "--1", "e5",
        ] {
            assert_eq!(parse_f64(bad.as_bytes()), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn float_roundtrip(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let s = format!("{x}");
            proptest::prop_assert_eq!(parse_f64(s.as_bytes()).unwrap().to_bits(), x.to_bits());
            let s = format!("{x:e}");
            proptest::prop_assert_eq!(parse_f64(s.as_bytes()).unwrap().to_bits(), x.to_bits());
        }

        #[test]
        fn short_decimals_are_exact(m in 0u64..1_000_000_000_000_000, scale in 0usize..16) {
            let digits = m.to_string();
            let s = if scale >= digits.len() {
                format!("0.{}{}", "0".repeat(scale - digits.len()), digits)
            } else if scale == 0 {
                digits.clone()
            } else {
                format!("{}.{}", &digits[..digits.len() - scale], &digits[digits.len() - scale..])
            };
            let want: f64 = s.parse().unwrap();
            proptest::prop_assert_eq!(parse_f64(s.as_bytes()).unwrap().to_bits(), want.to_bits());
        }

        #[test]
        fn civil_roundtrip(z in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(z);
            proptest::prop_assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn dates_and_datetimes() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"2000-03-01"), Some(11_017));
        assert_eq!(parse_date(b"2024-02-29"), Some(19_782));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2023-13-01"), None);
        assert_eq!(parse_date(b"2023-1-01"), None);
        assert_eq!(parse_datetime(b"1970-01-01T00:00:01"), Some(1_000_000));
        assert_eq!(parse_datetime(b"1970-01-02 00:00"), Some(86_400_000_000));
        assert_eq!(parse_datetime(b"1970-01-01T00:00:00.5Z"), Some(500_000));
        assert_eq!(parse_datetime(b"1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_datetime(b"1970-01-01T00:00:00-0130"),
            Some(5_400_000_000)
        );
        assert_eq!(
            parse_datetime(b"2016-07-01 23:59:59.123456"),
            Some(1_467_417_599_123_456)
        );
        assert_eq!(parse_datetime(b"2016-07-01 24:00"), None);
        assert_eq!(parse_datetime(b"2016-07-01X10:00"), None);
        assert_eq!(parse_datetime(b"2016-07-01T10:00:00+5"), None);
    }

    #[test]
    fn na_tokens() {
        let na = NaSet::new(&["?".to_string()]);
        for t in ["", "NA", "NaN", "null", "?", "N/A"] {
            assert!(na.is_na(t.as_bytes()), "{t}");
        }
        for t in ["0", "Nathan", "none", "nul", "??"] {
            assert!(!na.is_na(t.as_bytes()), "{t}");
        }
    }
}
