//! Capture timestamps: nanoseconds since the Unix epoch, as read from the
//! capture (never the wall clock), with RFC 3339 formatting.

use std::fmt;

/// A point in capture time, in nanoseconds since 1970-01-01T00:00:00Z.
///
/// Capture files carry their own clock; everything in smtpscope (latency,
/// idle timeouts, replay pacing) runs on it so results do not depend on when
/// or how fast a file is read.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Seconds plus a fraction expressed in `units_per_sec` (1e6 for classic
    /// pcap, 1e9 for nanosecond pcap, any pcapng `if_tsresol`).
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let frac_nanos = if units_per_sec == 0 {
            0
        } else if units_per_sec <= 1_000_000_000 {
            frac.saturating_mul(1_000_000_000 / units_per_sec.max(1))
        } else {
            frac / (units_per_sec / 1_000_000_000)
        };
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(frac_nanos as i64),
        )
    }

    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    pub fn as_micros(self) -> i64 {
        self.0.div_euclid(1_000)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Signed difference `self - earlier` in nanoseconds.
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn add_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }

    /// RFC 3339 in UTC with microseconds: `2024-05-01T12:00:00.123456Z`.
    pub fn rfc3339(self) -> Rfc3339 {
        Rfc3339(self)
    }
}

/// Display adapter returned by [`Timestamp::rfc3339`].
pub struct Rfc3339(Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_micros();
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

/// Days since the epoch to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`), valid for the whole i64 range we can produce.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A duration in nanoseconds, shown the way a person reads latency.
pub fn format_duration_nanos(nanos: i64) -> String {
    let n = nanos.unsigned_abs();
    let sign = if nanos < 0 { "-" } else { "" };
    if n < 1_000_000 {
        format!("{sign}{:.0}us", n as f64 / 1e3)
    } else if n < 1_000_000_000 {
        format!("{sign}{:.1}ms", n as f64 / 1e6)
    } else {
        format!("{sign}{:.3}s", n as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rfc3339_epoch_and_known_date() {
        assert_eq!(
            Timestamp::ZERO.rfc3339().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        // 2024-02-29T23:59:59.999999Z, a leap day.
        let t = Timestamp::from_parts(1_709_251_199, 999_999, 1_000_000);
        assert_eq!(t.rfc3339().to_string(), "2024-02-29T23:59:59.999999Z");
    }

    #[test]
    fn test_from_parts_resolutions() {
        assert_eq!(
            Timestamp::from_parts(1, 5, 1_000_000).as_nanos(),
            1_000_005_000
        );
        assert_eq!(
            Timestamp::from_parts(1, 5, 1_000_000_000).as_nanos(),
            1_000_000_005
        );
        assert_eq!(Timestamp::from_parts(0, 3, 1000).as_nanos(), 3_000_000);
        // Picoseconds (if_tsresol = 12) are truncated to nanoseconds.
        assert_eq!(
            Timestamp::from_parts(0, 5_000, 1_000_000_000_000).as_nanos(),
            5
        );
    }

    #[test]
    fn test_negative_timestamps_format_before_epoch() {
        let t = Timestamp::from_nanos(-1_000);
        assert_eq!(t.rfc3339().to_string(), "1969-12-31T23:59:59.999999Z");
    }
}
