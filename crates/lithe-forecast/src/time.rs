//! Time stamps of series: integer indices, dates or datetimes, a frequency, and the
//! stamps of the forecast horizon.

use lithe_core::io::parse::{civil_from_days, days_from_civil};
use lithe_core::{Error, Result};

/// How the `ds` column counts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeKind {
    /// Plain integers (1, 2, 3, …).
    Int,
    /// Days since 1970-01-01.
    Date,
    /// Microseconds since 1970-01-01T00:00:00 UTC.
    Datetime,
}

/// The spacing of consecutive stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    /// A fixed step in the stamp's own unit (1 for integer indices, days for dates,
    /// microseconds for datetimes).
    Step(i64),
    /// Calendar months (quarters are 3, years 12); dates and datetimes only.
    Months(i32),
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Freq {
    /// Parse `--freq`: an integer step for integer stamps, or a pandas-style alias with
    /// an optional multiple (`D`, `W`, `h`/`H`, `min`/`T`, `s`/`S`, `ms`, `M`/`MS`/`ME`,
    /// `Q`/`QS`/`QE`, `Y`/`YS`/`YE`/`A`, e.g. `15min`, `2W`).
    pub fn parse(s: &str, kind: TimeKind) -> Result<Freq> {
        let s = s.trim();
        let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
        let (num, unit) = s.split_at(digits);
        let mult: i64 = if num.is_empty() {
            1
        } else {
            num.parse()
                .ok()
                .filter(|&m| m > 0)
                .ok_or_else(|| Error::input(format!("freq {s}: the multiple must be positive")))?
        };
        let bad = || {
            Error::input(format!(
                "freq {s}: unknown frequency (use D, W, h, min, s, ms, M, Q, Y, optionally \
                 with a multiple such as 15min)"
            ))
        };
        if kind == TimeKind::Int {
            return if unit.is_empty() {
                Ok(Freq::Step(mult))
            } else {
                Err(Error::input(format!(
                    "freq {s}: ds holds integers, which take an integer step (e.g. freq 1)"
                )))
            };
        }
        let unit_micros = |u: i64| -> Result<Freq> {
            let micros = mult
                .checked_mul(u)
                .ok_or_else(|| Error::input(format!("freq {s}: too large")))?;
            match kind {
                TimeKind::Date if micros % MICROS_PER_DAY != 0 => Err(Error::input(format!(
                    "freq {s}: ds holds dates, so the step must be whole days"
                ))),
                TimeKind::Date => Ok(Freq::Step(micros / MICROS_PER_DAY)),
                _ => Ok(Freq::Step(micros)),
            }
        };
        let months = |m: i64| -> Result<Freq> {
            i32::try_from(mult * m)
                .map(Freq::Months)
                .map_err(|_| Error::input(format!("freq {s}: too large")))
        };
        match unit {
            "D" | "d" => unit_micros(MICROS_PER_DAY),
            "W" | "w" => unit_micros(7 * MICROS_PER_DAY),
            "h" | "H" => unit_micros(3_600_000_000),
            "min" | "T" => unit_micros(60_000_000),
            "s" | "S" => unit_micros(1_000_000),
            "ms" | "L" => unit_micros(1_000),
            "M" | "MS" | "ME" => months(1),
            "Q" | "QS" | "QE" => months(3),
            "Y" | "YS" | "YE" | "A" | "AS" => months(12),
            "" => Err(Error::input(format!(
                "freq {s}: ds holds dates or datetimes, so give a unit such as D or h"
            ))),
            _ => Err(bad()),
        }
    }

    /// The frequency the stamps of all series show most often (ties: the smaller
    /// step); `None` when no series has two stamps.
    pub fn infer(
        kind: TimeKind,
        series_stamps: impl Iterator<Item = impl AsRef<[i64]>>,
    ) -> Option<Freq> {
        let mut counts: std::collections::HashMap<i64, usize> = Default::default();
        for st in series_stamps {
            // Steps come in runs (most series step evenly): count a run, then add it.
            let mut run: Option<(i64, usize)> = None;
            for w in st.as_ref().windows(2) {
                let Some(step) = w[1].checked_sub(w[0]) else {
                    continue;
                };
                match &mut run {
                    Some((s, n)) if *s == step => *n += 1,
                    _ => {
                        if let Some((s, n)) = run {
                            *counts.entry(s).or_default() += n;
                        }
                        run = Some((step, 1));
                    }
                }
            }
            if let Some((s, n)) = run {
                *counts.entry(s).or_default() += n;
            }
        }
        let (&step, _) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        let days = match kind {
            TimeKind::Int => return Some(Freq::Step(step)),
            TimeKind::Date => Some(step),
            TimeKind::Datetime if step % MICROS_PER_DAY == 0 => Some(step / MICROS_PER_DAY),
            TimeKind::Datetime => None,
        };
        // Calendar steps have uneven lengths in days.
        Some(match days {
            Some(28..=31) => Freq::Months(1),
            Some(89..=92) => Freq::Months(3),
            Some(181..=184) => Freq::Months(6),
            Some(365 | 366) => Freq::Months(12),
            _ => Freq::Step(step),
        })
    }

    /// The stamp `k` steps after `t`, or `None` when it cannot be represented: past
    /// the range of a 64-bit integer, or (dates and datetimes) outside the years
    /// 1–9999 that ISO 8601 writes with four digits.
    pub fn advance(self, kind: TimeKind, t: i64, k: i64) -> Option<i64> {
        let out = match (self, kind) {
            (Freq::Step(s), _) => t.checked_add(s.checked_mul(k)?)?,
            (Freq::Months(m), TimeKind::Int) => t.checked_add(i64::from(m).checked_mul(k)?)?,
            (Freq::Months(m), TimeKind::Date) => {
                add_months_to_day(t, i64::from(m).checked_mul(k)?)?
            }
            (Freq::Months(m), TimeKind::Datetime) => {
                let day = t.div_euclid(MICROS_PER_DAY);
                let rest = t.rem_euclid(MICROS_PER_DAY);
                add_months_to_day(day, i64::from(m).checked_mul(k)?)?
                    .checked_mul(MICROS_PER_DAY)?
                    .checked_add(rest)?
            }
        };
        let day = match kind {
            TimeKind::Int => return Some(out),
            TimeKind::Date => out,
            TimeKind::Datetime => out.div_euclid(MICROS_PER_DAY),
        };
        (first_day()..=last_day()).contains(&day).then_some(out)
    }

    /// Whether `b` is the stamp right after `a`.
    pub fn is_next(self, kind: TimeKind, a: i64, b: i64) -> bool {
        self.advance(kind, a, 1) == Some(b)
    }

    /// The step as `--freq` would take it, for messages.
    pub fn describe(self, kind: TimeKind) -> String {
        match (self, kind) {
            (Freq::Step(s), TimeKind::Int) => format!("{s}"),
            (Freq::Step(s), TimeKind::Date) => format!("{s}D"),
            (Freq::Step(s), TimeKind::Datetime) if s % 1_000_000 == 0 => {
                format!("{}s", s / 1_000_000)
            }
            (Freq::Step(s), TimeKind::Datetime) => format!("{s} microseconds"),
            (Freq::Months(m), _) => format!("{m}M"),
        }
    }
}

/// 0001-01-01 and 9999-12-31 as days since 1970-01-01: the dates ISO 8601 writes with
/// four-digit years.
fn first_day() -> i64 {
    days_from_civil(1, 1, 1)
}

fn last_day() -> i64 {
    days_from_civil(9999, 12, 31)
}

/// A stamp as lithe writes it (an integer, `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS`).
pub fn show(kind: TimeKind, t: i64) -> String {
    match kind {
        TimeKind::Int => t.to_string(),
        TimeKind::Date => {
            let (y, m, d) = civil_from_days(t);
            format!("{y:04}-{m:02}-{d:02}")
        }
        TimeKind::Datetime => {
            let (y, m, d) = civil_from_days(t.div_euclid(MICROS_PER_DAY));
            let secs = t.rem_euclid(MICROS_PER_DAY) / 1_000_000;
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `months` calendar months after the day `day`: the same day of the month, or the
/// month's last day when the start was a month end or the month is shorter.
/// `None` when the year leaves 1–9999.
fn add_months_to_day(day: i64, months: i64) -> Option<i64> {
    let (y, m, d) = civil_from_days(day);
    let month_end = d == days_in_month(y, m);
    let idx = (y * 12 + i64::from(m) - 1).checked_add(months)?;
    let (ny, nm) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32);
    if !(1..=9999).contains(&ny) {
        return None;
    }
    let last = days_in_month(ny, nm);
    Some(days_from_civil(
        ny,
        nm,
        if month_end { last } else { d.min(last) },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trip_and_month_steps() {
        for z in [-800_000i64, -1, 0, 59, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        let jan31 = days_from_civil(2024, 1, 31);
        assert_eq!(
            add_months_to_day(jan31, 1),
            Some(days_from_civil(2024, 2, 29))
        );
        assert_eq!(
            add_months_to_day(jan31, 2),
            Some(days_from_civil(2024, 3, 31))
        );
        let jan15 = days_from_civil(2023, 1, 15);
        assert_eq!(
            add_months_to_day(jan15, 13),
            Some(days_from_civil(2024, 2, 15))
        );
        assert_eq!(
            add_months_to_day(jan15, -1),
            Some(days_from_civil(2022, 12, 15))
        );
    }

    #[test]
    fn frequencies_parse_and_infer() {
        assert_eq!(Freq::parse("W", TimeKind::Date).unwrap(), Freq::Step(7));
        assert_eq!(
            Freq::parse("15min", TimeKind::Datetime).unwrap(),
            Freq::Step(900_000_000)
        );
        assert_eq!(Freq::parse("QS", TimeKind::Date).unwrap(), Freq::Months(3));
        assert_eq!(Freq::parse("3", TimeKind::Int).unwrap(), Freq::Step(3));
        assert!(Freq::parse("h", TimeKind::Date).is_err());
        assert!(Freq::parse("D", TimeKind::Int).is_err());
        assert!(Freq::parse("0D", TimeKind::Date).is_err());
        let months: Vec<i64> = (1..=12).map(|m| days_from_civil(2020, m, 1)).collect();
        assert_eq!(
            Freq::infer(TimeKind::Date, [months].iter()),
            Some(Freq::Months(1))
        );
        let ints = [vec![1i64, 2, 3, 5], vec![10, 11]];
        assert_eq!(Freq::infer(TimeKind::Int, ints.iter()), Some(Freq::Step(1)));
    }
}
