//! Timestamp parsing for text exports, to integer microseconds since the Unix epoch
//! (wall-clock fields are taken as given; only differences matter downstream).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[inline]
fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
}

/// `HH:MM:SS[.fraction]` → µs of day (fraction truncated to µs).
fn time_of_day_us(b: &[u8]) -> Option<i64> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = digits(&b[0..2])? as i64;
    let mi = digits(&b[3..5])? as i64;
    let s = digits(&b[6..8])? as i64;
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut us = 0i64;
    if b.len() > 8 {
        if b[8] != b'.' {
            return None;
        }
        let frac = &b[9..];
        if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut scale = 100_000i64;
        for &c in frac.iter().take(6) {
            us += (c - b'0') as i64 * scale;
            scale /= 10;
        }
    }
    Some(((h * 60 + mi) * 60 + s) * 1_000_000 + us)
}

/// Wireshark CSV `Time`: `2019-09-27 02:54:26.080774` (absolute) or `12.345678` (seconds
/// since the first packet).
pub fn parse_wireshark_time(b: &[u8]) -> Option<i64> {
    DateCache::default().parse_wireshark(b)
}

/// Remembers the last date seen: consecutive packets share it, so the calendar arithmetic runs
/// once per day of capture rather than once per packet.
#[derive(Debug, Default, Clone)]
pub struct DateCache {
    date: [u8; 10],
    days: Option<i64>,
}

impl DateCache {
    pub fn parse_wireshark(&mut self, b: &[u8]) -> Option<i64> {
        if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && (b[10] == b' ' || b[10] == b'T') {
            let days = match self.days {
                Some(d) if self.date == b[..10] => d,
                _ => {
                    let y = digits(&b[0..4])? as i64;
                    let m = digits(&b[5..7])? as u32;
                    let d = digits(&b[8..10])? as u32;
                    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                        return None;
                    }
                    let days = days_from_civil(y, m, d);
                    self.date.copy_from_slice(&b[..10]);
                    self.days = Some(days);
                    days
                }
            };
            let tod = time_of_day_us(&b[11..])?;
            return Some(days * 86_400_000_000 + tod);
        }
        parse_seconds(b)
    }
}

/// `123.456789` seconds → µs.
pub fn parse_seconds(b: &[u8]) -> Option<i64> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[b.len()..]),
    };
    let secs = digits(int)? as i64;
    let mut us = 0i64;
    let mut scale = 100_000i64;
    for &c in frac.iter() {
        if !c.is_ascii_digit() {
            return None;
        }
        if scale > 0 {
            us += (c - b'0') as i64 * scale;
            scale /= 10;
        }
    }
    secs.checked_mul(1_000_000)?.checked_add(us)
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// tshark's absolute-time field: `Sep 27, 2019 02:54:26.080774000 대한민국 표준시`
/// (month name, day, year, time with ns, then a local zone name, ignored).
pub fn parse_tshark_abs_time(b: &[u8]) -> Option<i64> {
    if b.len() < 20 {
        return None;
    }
    let month = MONTHS.iter().position(|m| &b[0..3] == *m)? as u32 + 1;
    let rest = b.get(3..)?;
    let rest = rest.strip_prefix(b" ")?;
    let rest = trim_start_spaces(rest);
    let comma = memchr::memchr(b',', rest)?;
    let day = digits(&rest[..comma])? as u32;
    let rest = rest.get(comma + 1..)?.strip_prefix(b" ")?;
    let sp = memchr::memchr(b' ', rest)?;
    let year = digits(&rest[..sp])? as i64;
    let rest = &rest[sp + 1..];
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    if !(1..=31).contains(&day) {
        return None;
    }
    let tod = time_of_day_us(&rest[..end])?;
    if !(1..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400_000_000 + tod)
}

fn trim_start_spaces(mut b: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = b {
        b = rest;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(days_from_civil(2019, 9, 27), 18166);
    }

    #[test]
    fn both_layouts_agree() {
        let a = parse_wireshark_time(b"2019-09-27 02:54:26.080774").unwrap();
        let b = parse_tshark_abs_time("Sep 27, 2019 02:54:26.080774000 대한민국 표준시".as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a % 1_000_000, 80774);
        assert_eq!(parse_wireshark_time(b"1.5"), Some(1_500_000));
        assert_eq!(parse_wireshark_time(b"2019-13-27 02:54:26.0"), None);
        assert_eq!(parse_tshark_abs_time(b"Foo 27, 2019 02:54:26.080774000 X"), None);
    }

    #[test]
    fn out_of_range_times_are_rejected_not_overflowed() {
        // 18-digit seconds and years used to overflow the microsecond clock.
        assert_eq!(parse_seconds(b"999999999999999999.5"), None);
        assert_eq!(parse_seconds(b"9223372036854"), Some(9_223_372_036_854_000_000));
        assert_eq!(parse_tshark_abs_time(b"Sep 27, 999999999999999999 02:54:26.080774000 X"), None);
        assert_eq!(parse_tshark_abs_time(b"Sep 27, 10000 02:54:26.080774000 X"), None);
        assert!(parse_tshark_abs_time(b"Sep 27, 9999 02:54:26.080774000 X").is_some());
    }
}
