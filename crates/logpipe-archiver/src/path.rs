//! Path templates: where below the archive root a record's file goes, from
//! its topic, partition and time (`%{topic}/dt=%Y-%m-%d/hr=%H`).
//!
//! A template renders a directory for a time bucket, and parses directory
//! names back into the time they stand for, so recovery can walk the archive
//! newest first instead of listing its whole history.

use chrono::{DateTime, Datelike, Timelike};
use logpipe_core::event_time::Millis;

/// One piece of a template segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Topic,
    Partition,
    /// A time field: its strftime letter.
    Time(char),
}

/// A directory template, split into `/`-separated segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    segments: Vec<Vec<Token>>,
    /// Length in seconds of the finest time field used (1 s … 1 day), or
    /// `None` when the finest is a month or a year (calendar units).
    granule: Granule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Granule {
    /// No time field at all: one bucket forever.
    None,
    Seconds(i64),
    Month,
    Year,
}

/// Letters accepted after `%`, with the digits each renders to.
const TIME_FIELDS: &[(char, usize)] = &[
    ('Y', 4),
    ('m', 2),
    ('d', 2),
    ('j', 3),
    ('H', 2),
    ('M', 2),
    ('S', 2),
];

impl PathTemplate {
    /// Parse a template; the error names the offending escape.
    pub fn parse(template: &str) -> Result<Self, String> {
        let t = template.trim_matches('/');
        if t.is_empty() {
            return Err("must not be empty; e.g. \"%{topic}/dt=%Y-%m-%d/hr=%H\"".into());
        }
        let mut segments = Vec::new();
        for seg in t.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(format!("\"{template}\" has an empty, '.' or '..' segment"));
            }
            if seg.starts_with('_') || seg.starts_with('.') {
                return Err(format!(
                    "segment \"{seg}\" starts with '_' or '.', which Spark, Hive and Trino skip: the archive would be invisible"
                ));
            }
            let mut tokens = Vec::new();
            let mut lit = String::new();
            let mut chars = seg.chars().peekable();
            while let Some(c) = chars.next() {
                if c != '%' {
                    lit.push(c);
                    continue;
                }
                let token = match chars.next() {
                    Some('%') => {
                        lit.push('%');
                        continue;
                    }
                    Some('{') => {
                        let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                        match name.as_str() {
                            "topic" => Token::Topic,
                            "partition" => Token::Partition,
                            other => {
                                return Err(format!(
                                    "unknown escape %{{{other}}} in \"{template}\"; known: %{{topic}}, %{{partition}}"
                                ))
                            }
                        }
                    }
                    Some(c) if TIME_FIELDS.iter().any(|(l, _)| *l == c) => Token::Time(c),
                    Some(c) => {
                        return Err(format!(
                            "unknown escape %{c} in \"{template}\"; known: %Y %m %d %j %H %M %S %% %{{topic}} %{{partition}}"
                        ))
                    }
                    None => return Err(format!("\"{template}\" ends with a lone '%' (write %% for a percent sign)")),
                };
                if !lit.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut lit)));
                }
                // Time fields have fixed widths; a partition number does not.
                let ambiguous = matches!(
                    (tokens.last(), &token),
                    (Some(Token::Partition), Token::Time(_) | Token::Partition)
                        | (Some(Token::Time(_)), Token::Partition)
                );
                if ambiguous {
                    return Err(format!(
                        "\"{template}\": %{{partition}} right beside another number in \"{seg}\" cannot be read back; put a separator between them"
                    ));
                }
                tokens.push(token);
            }
            if !lit.is_empty() {
                tokens.push(Token::Literal(lit));
            }
            segments.push(tokens);
        }
        let letters: Vec<char> = segments
            .iter()
            .flatten()
            .filter_map(|t| match t {
                Token::Time(c) => Some(*c),
                _ => None,
            })
            .collect();
        let has = |c| letters.contains(&c);
        let granule = if has('S') {
            Granule::Seconds(1)
        } else if has('M') {
            Granule::Seconds(60)
        } else if has('H') {
            Granule::Seconds(3600)
        } else if has('d') || has('j') {
            Granule::Seconds(86_400)
        } else if has('m') {
            Granule::Month
        } else if has('Y') {
            Granule::Year
        } else {
            Granule::None
        };
        if (has('H') || has('M') || has('S') || has('d') || has('m') || has('j')) && !has('Y') {
            return Err(format!(
                "\"{template}\" has no %Y: directories of different years would share a name"
            ));
        }
        if has('d') && !has('m') {
            return Err(format!(
                "\"{template}\" has %d without %m (use %j for the day of the year)"
            ));
        }
        Ok(Self { segments, granule })
    }

    /// Whether the path contains `%{partition}`.
    pub fn has_partition(&self) -> bool {
        self.segments
            .iter()
            .flatten()
            .any(|t| *t == Token::Partition)
    }

    /// The start of the time bucket that `local_secs` (seconds since the
    /// epoch, already shifted into the template's time zone and rounded)
    /// falls in: two times share a directory exactly when their buckets are
    /// equal.
    pub fn bucket(&self, local_secs: i64) -> i64 {
        match self.granule {
            Granule::None => 0,
            Granule::Seconds(g) => local_secs.div_euclid(g) * g,
            Granule::Month | Granule::Year => {
                let t = DateTime::from_timestamp(local_secs, 0).unwrap_or_default();
                let month = if self.granule == Granule::Month {
                    t.month()
                } else {
                    1
                };
                chrono::NaiveDate::from_ymd_opt(t.year(), month, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map_or(0, |d| d.and_utc().timestamp())
            }
        }
    }

    /// The bucket after `bucket` (where its directory ends); `None` for a
    /// template without a time field (one directory forever).
    pub fn next_bucket(&self, bucket: i64) -> Option<i64> {
        match self.granule {
            Granule::None => None,
            Granule::Seconds(g) => Some(bucket + g),
            Granule::Month | Granule::Year => {
                let t = DateTime::from_timestamp(bucket, 0)?.date_naive();
                let next = if self.granule == Granule::Month {
                    t.checked_add_months(chrono::Months::new(1))?
                } else {
                    t.with_year(t.year() + 1)?
                };
                Some(next.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
            }
        }
    }

    /// Render the directory of `topic`/`partition` for a bucket.
    pub fn render(&self, topic: &str, partition: i32, bucket: i64) -> String {
        let t = DateTime::from_timestamp(bucket, 0).unwrap_or_default();
        let mut out = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            for tok in seg {
                match tok {
                    Token::Literal(s) => out.push_str(s),
                    Token::Topic => out.push_str(topic),
                    Token::Partition => out.push_str(&partition.to_string()),
                    Token::Time(c) => {
                        let (v, w) = match c {
                            'Y' => (t.year() as u32, 4),
                            'm' => (t.month(), 2),
                            'd' => (t.day(), 2),
                            'j' => (t.ordinal(), 3),
                            'H' => (t.hour(), 2),
                            'M' => (t.minute(), 2),
                            _ => (t.second(), 2),
                        };
                        out.push_str(&format!("{v:0w$}"));
                    }
                }
            }
        }
        out
    }

    /// Whether every segment's time fields are finer than its parent's
    /// (`%Y/%m/%d`, not `%d/%m/%Y`): then the newest directory of a level
    /// holds the newest files, and recovery can stop at the first match.
    pub fn newest_first(&self) -> bool {
        let mut finest_so_far = 0u8;
        for seg in &self.segments {
            let ranks: Vec<u8> = seg
                .iter()
                .filter_map(|t| match t {
                    Token::Time(c) => TIME_FIELDS
                        .iter()
                        .position(|(l, _)| l == c)
                        .map(|r| r as u8),
                    _ => None,
                })
                .collect();
            if let (Some(&lo), Some(&hi)) = (ranks.iter().min(), ranks.iter().max()) {
                if lo < finest_so_far {
                    return false;
                }
                finest_so_far = hi;
            }
        }
        true
    }

    /// Number of directory levels.
    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    /// Match one directory name against segment `level` for `topic` and
    /// `partition` (any partition when `None`): `None` when it is not such
    /// a directory, else a sort key (the time fields it holds, most
    /// significant first) — larger is newer among siblings.
    pub fn match_segment(
        &self,
        level: usize,
        name: &str,
        topic: &str,
        partition: impl Into<Option<i32>>,
    ) -> Option<Vec<(u8, u32)>> {
        let partition = partition.into();
        let mut rest = name;
        let mut key = Vec::new();
        for tok in &self.segments[level] {
            match tok {
                Token::Literal(s) => rest = rest.strip_prefix(s.as_str())?,
                Token::Topic => rest = rest.strip_prefix(topic)?,
                Token::Partition => {
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let (number, after) = rest.split_at(digits);
                    if number.is_empty() || partition.is_some_and(|p| number != p.to_string()) {
                        return None;
                    }
                    rest = after;
                }
                Token::Time(c) => {
                    let width = TIME_FIELDS.iter().find(|(l, _)| l == c).map(|(_, w)| *w)?;
                    let digits = rest.get(..width)?;
                    if !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let rank = TIME_FIELDS.iter().position(|(l, _)| l == c)? as u8;
                    key.push((rank, digits.parse().ok()?));
                    rest = &rest[width..];
                }
            }
        }
        key.sort_unstable();
        rest.is_empty().then_some(key)
    }
}

impl PathTemplate {
    /// The bucket a directory stands for, from the time fields that
    /// [`PathTemplate::match_segment`] read along its path.
    pub fn bucket_of(&self, fields: &[(u8, u32)]) -> Option<i64> {
        let get = |c: char| {
            let rank = TIME_FIELDS.iter().position(|(l, _)| *l == c)? as u8;
            fields.iter().find(|(r, _)| *r == rank).map(|(_, v)| *v)
        };
        let year = get('Y').unwrap_or(1970) as i32;
        let date = match get('j') {
            Some(j) => chrono::NaiveDate::from_yo_opt(year, j)?,
            None => {
                chrono::NaiveDate::from_ymd_opt(year, get('m').unwrap_or(1), get('d').unwrap_or(1))?
            }
        };
        let t = date.and_hms_opt(
            get('H').unwrap_or(0),
            get('M').unwrap_or(0),
            get('S').unwrap_or(0),
        )?;
        Some(self.bucket(t.and_utc().timestamp()))
    }
}

/// The time zone of a template's escapes: UTC, a fixed offset, or a named
/// IANA zone (`Europe/Berlin`) with its daylight-saving rules.
///
/// Template time is "local seconds": seconds since the epoch shifted by the
/// zone's offset at that instant. With daylight saving time the local clock
/// repeats an hour each autumn (both go to the one `hr=02` directory, which
/// then holds two hours of records) and skips one each spring (that hour's
/// directory stays empty; with markers it still gets its `_SUCCESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Seconds east of UTC.
    Fixed(i32),
    Named(chrono_tz::Tz),
}

impl Zone {
    pub const UTC: Zone = Zone::Fixed(0);

    /// `"UTC"`/`"Z"`, `"+HH:MM"`/`"-HH:MM"`, or an IANA zone name.
    pub fn parse(s: &str) -> Result<Zone, String> {
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Zone::UTC);
        }
        if let Some((sign, rest)) = match s.as_bytes().first() {
            Some(b'+') => Some((1, &s[1..])),
            Some(b'-') => Some((-1, &s[1..])),
            _ => None,
        } {
            let bad =
                || format!("\"{s}\" is not a fixed offset; expected \"+HH:MM\" or \"-HH:MM\"");
            let (h, m) = rest.split_once(':').ok_or_else(bad)?;
            let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 18 || m > 59 {
                return Err(bad());
            }
            return Ok(Zone::Fixed(sign * (h * 3600 + m * 60)));
        }
        s.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            format!(
                "unknown time zone \"{s}\"; expected \"UTC\", a fixed offset like \"+02:00\", or an IANA zone name like \"Europe/Berlin\""
            )
        })
    }

    /// Seconds east of UTC at the instant `utc_secs`.
    pub fn offset_at(self, utc_secs: i64) -> i32 {
        use chrono::{Offset, TimeZone};
        match self {
            Zone::Fixed(s) => s,
            Zone::Named(tz) => DateTime::from_timestamp(utc_secs, 0).map_or(0, |t| {
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc()
            }),
        }
    }
}

/// Shift and round a record time into template time: seconds since the
/// epoch in `zone`, rounded down to `round_secs` (0 = none).
pub fn local_seconds(ms: Millis, zone: Zone, round_secs: i64) -> i64 {
    let utc = ms.div_euclid(1000);
    let s = utc + zone.offset_at(utc) as i64;
    if round_secs > 1 {
        s.div_euclid(round_secs) * round_secs
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Millis = 1_712_345_678_250; // 2024-04-05T19:34:38.250Z

    #[test]
    fn default_template_renders_hive_style_partitions() {
        let p = PathTemplate::parse("%{topic}/dt=%Y-%m-%d/hr=%H").unwrap();
        let b = p.bucket(local_seconds(T, Zone::UTC, 0));
        assert_eq!(p.render("logs", 3, b), "logs/dt=2024-04-05/hr=19");
        assert_eq!(
            p.bucket(local_seconds(T + 1_000_000, Zone::UTC, 0)),
            b,
            "same hour"
        );
        assert_ne!(
            p.bucket(local_seconds(T + 1_600_000, Zone::UTC, 0)),
            b,
            "next hour"
        );
    }

    #[test]
    fn zones_rounding_and_other_escapes() {
        let p = PathTemplate::parse("%{topic}/%Y/%j/%H%%%M/p=%{partition}").unwrap();
        let b = p.bucket(local_seconds(T, Zone::Fixed(7200), 15 * 60));
        assert_eq!(p.render("a.b", 12, b), "a.b/2024/096/21%30/p=12");
        let compact = PathTemplate::parse("%Y%m%d").unwrap();
        assert_eq!(
            compact.render("x", 0, compact.bucket(local_seconds(T, Zone::UTC, 0))),
            "20240405"
        );
        assert_eq!(
            compact.match_segment(0, "20240405", "x", 0),
            Some(vec![(0, 2024), (1, 4), (2, 5)])
        );
        let monthly = PathTemplate::parse("y=%Y/m=%m").unwrap();
        let b = monthly.bucket(local_seconds(T, Zone::UTC, 0));
        assert_eq!(monthly.render("x", 0, b), "y=2024/m=04");
        assert_eq!(b, 1_711_929_600, "2024-04-01T00:00:00Z");
        assert_eq!(
            monthly.next_bucket(b),
            Some(1_714_521_600),
            "2024-05-01T00:00:00Z"
        );
        let hourly = PathTemplate::parse("%Y/%H").unwrap();
        assert_eq!(hourly.next_bucket(3600), Some(7200));
    }

    #[test]
    fn named_zones_follow_daylight_saving_time() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let p = PathTemplate::parse("dt=%Y-%m-%d/hr=%H").unwrap();
        let dir = |ms: Millis| p.render("x", 0, p.bucket(local_seconds(ms, berlin, 0)));
        // Summer (CEST, +2) and winter (CET, +1).
        assert_eq!(dir(T), "dt=2024-04-05/hr=21");
        assert_eq!(
            dir(1_704_067_200_000),
            "dt=2024-01-01/hr=01",
            "2024-01-01T00:00Z"
        );
        // Autumn: 00:00Z and 01:00Z on 2024-10-27 are both 02:xx local —
        // one directory for two hours — and 02:00Z is 03:00 CET.
        assert_eq!(dir(1_729_987_200_000), "dt=2024-10-27/hr=02");
        assert_eq!(dir(1_729_990_800_000), "dt=2024-10-27/hr=02");
        assert_eq!(dir(1_729_994_400_000), "dt=2024-10-27/hr=03");
        // Spring: 00:59:59Z is 01:59:59 CET, 01:00Z is 03:00 CEST (no hr=02).
        assert_eq!(dir(1_711_846_799_000), "dt=2024-03-31/hr=01");
        assert_eq!(dir(1_711_846_800_000), "dt=2024-03-31/hr=03");
        assert_eq!(Zone::parse("+05:30"), Ok(Zone::Fixed(19_800)));
        assert_eq!(Zone::parse("utc"), Ok(Zone::UTC));
        for bad in ["Mars/Olympus", "+25:00", "+2"] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_that_cannot_work_are_refused_by_name() {
        for (t, want) in [
            ("%{topic}/%Q", "%Q"),
            ("%{host}/x", "%{host}"),
            ("_hidden/%Y", "skip"),
            ("%{topic}/%H", "no %Y"),
            ("%Y/%{partition}%H", "separator"),
            ("x/%", "lone"),
            ("", "empty"),
            ("a//b", "empty"),
        ] {
            let e = PathTemplate::parse(t).unwrap_err();
            assert!(e.contains(want), "{t}: {e}");
        }
    }

    #[test]
    fn directory_names_parse_back_for_recovery() {
        let p = PathTemplate::parse("%{topic}/dt=%Y-%m-%d/hr=%H").unwrap();
        assert_eq!(p.match_segment(0, "logs", "logs", 0), Some(vec![]));
        assert_eq!(p.match_segment(0, "logs2", "logs", 0), None);
        assert_eq!(
            p.match_segment(1, "dt=2024-04-05", "logs", 0),
            Some(vec![(0, 2024), (1, 4), (2, 5)])
        );
        assert_eq!(p.match_segment(1, "dt=2024-04-5", "logs", 0), None);
        assert_eq!(p.match_segment(2, "hr=09", "logs", 0), Some(vec![(4, 9)]));
        assert!(p.match_segment(2, "hr=10", "logs", 0) > p.match_segment(2, "hr=09", "logs", 0));
        assert!(p.newest_first());
        let fields = [(0, 2024), (1, 4), (2, 5), (4, 19)];
        let b = p.bucket(local_seconds(T, Zone::UTC, 0));
        assert_eq!(
            p.bucket_of(&fields),
            Some(b),
            "a directory parses back to its bucket"
        );
        assert!(
            PathTemplate::parse("%d-%m-%Y/%H").unwrap().newest_first(),
            "order within a segment does not matter"
        );
        assert!(!PathTemplate::parse("%H/%Y-%m-%d").unwrap().newest_first());
        let q = PathTemplate::parse("%Y/p=%{partition}").unwrap();
        assert!(q.match_segment(1, "p=1", "t", 1).is_some());
        assert!(q.match_segment(1, "p=12", "t", 1).is_none());
    }
}
