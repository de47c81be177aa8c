//! What changed over time: articles per theme per week (or month, or year when the input
//! spans long), this period against the previous one for `--since`, and which themes occur
//! together. Dates are yyyy-mm-dd strings; day arithmetic is on days since 1970-01-01.

use serde::Serialize;

/// Weeks up to this many buckets (half a year of a daily feed); beyond, months, then years:
/// a phone shows about this many bars per row legibly.
pub const MAX_BUCKETS: i64 = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trends {
    pub granularity: Granularity,
    /// First day of each bucket (Monday for weeks), oldest first, with no gaps.
    pub buckets: Vec<String>,
    /// Per theme (in section order): id, name and the count per bucket.
    pub series: Vec<Series>,
    /// Articles without a usable date, left out of the chart.
    pub undated: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub id: String,
    pub name: String,
    pub counts: Vec<usize>,
}

/// yyyy-mm-dd → days since 1970-01-01, for valid calendar dates only.
pub fn days(iso: &str) -> Option<i64> {
    let b = iso.as_bytes();
    if iso.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = iso[..4].parse().ok()?;
    let m: u32 = iso[5..7].parse().ok()?;
    let d: u32 = iso[8..].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > month_len(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

pub fn iso(days: i64) -> String {
    let (y, m, d) = super::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn month_len(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's date-to-days algorithm, the inverse of `civil_from_days`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The bucket a day falls in, as the bucket's first day. Weeks start on Monday (ISO 8601, as
/// Vietnamese calendars do); 1970-01-01 was a Thursday.
pub fn bucket_start(g: Granularity, day: i64) -> i64 {
    match g {
        Granularity::Week => day - (day + 3).rem_euclid(7),
        Granularity::Month => {
            let (y, m, _) = super::civil_from_days(day);
            days_from_civil(y, m, 1)
        }
        Granularity::Year => {
            let (y, _, _) = super::civil_from_days(day);
            days_from_civil(y, 1, 1)
        }
    }
}

fn next_bucket(g: Granularity, start: i64) -> i64 {
    match g {
        Granularity::Week => start + 7,
        Granularity::Month => {
            let (y, m, _) = super::civil_from_days(start);
            if m == 12 {
                days_from_civil(y + 1, 1, 1)
            } else {
                days_from_civil(y, m + 1, 1)
            }
        }
        Granularity::Year => {
            let (y, _, _) = super::civil_from_days(start);
            days_from_civil(y + 1, 1, 1)
        }
    }
}

/// All buckets from the one holding `first` to the one holding `last`, at the finest
/// granularity that needs at most [`MAX_BUCKETS`] of them.
pub fn buckets(first: i64, last: i64) -> (Granularity, Vec<i64>) {
    for g in [Granularity::Week, Granularity::Month, Granularity::Year] {
        let mut out = vec![bucket_start(g, first)];
        let end = bucket_start(g, last);
        while *out.last().unwrap_or(&end) < end && (out.len() as i64) <= MAX_BUCKETS {
            let next = next_bucket(g, out[out.len() - 1]);
            out.push(next);
        }
        if out.len() as i64 <= MAX_BUCKETS || g == Granularity::Year {
            return (g, out);
        }
    }
    unreachable!("the year granularity always returns")
}

/// Articles per theme per bucket. `dated` holds (theme id, day) for every article shown;
/// `themes` the sections' (id, name) in display order. None when the dated articles all fall
/// in one week: there is no trend to draw.
pub fn trends(themes: &[(String, String)], dated: &[(String, Option<i64>)]) -> Option<Trends> {
    let days: Vec<i64> = dated.iter().filter_map(|(_, d)| *d).collect();
    let (first, last) = (*days.iter().min()?, *days.iter().max()?);
    if bucket_start(Granularity::Week, first) == bucket_start(Granularity::Week, last) {
        return None;
    }
    let (g, starts) = buckets(first, last);
    let series = themes
        .iter()
        .map(|(id, name)| {
            let mut counts = vec![0; starts.len()];
            for (t, d) in dated {
                if let (true, Some(d)) = (t == id, d) {
                    let b = bucket_start(g, *d);
                    if let Ok(i) = starts.binary_search(&b) {
                        counts[i] += 1;
                    }
                }
            }
            Series {
                id: id.clone(),
                name: name.clone(),
                counts,
            }
        })
        // A theme whose articles are all undated has no row: the caption counts them.
        .filter(|s| s.counts.iter().any(|&c| c > 0))
        .collect();
    Some(Trends {
        granularity: g,
        buckets: starts.into_iter().map(iso).collect(),
        series,
        undated: dated.iter().filter(|(_, d)| d.is_none()).count(),
    })
}

/// `--since` against the period of the same length just before it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Period {
    pub since: String,
    /// The latest article date on or after `since` (`since` itself when there is none).
    pub until: String,
    pub previous_from: String,
    pub previous_until: String,
}

/// The current period runs from `since` to the latest of `dates` on or after it; the
/// previous one has the same number of days and ends the day before `since`.
pub fn period(since: &str, dates: &[String]) -> Option<Period> {
    let s = days(since)?;
    let until = dates
        .iter()
        .filter_map(|d| days(d))
        .filter(|&d| d >= s)
        .max()
        .unwrap_or(s);
    let len = until - s + 1;
    Some(Period {
        since: since.to_string(),
        until: iso(until),
        previous_from: iso(s - len),
        previous_until: iso(s - 1),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodRow {
    pub id: String,
    pub name: String,
    pub current: usize,
    pub previous: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub period: Period,
    pub rows: Vec<PeriodRow>,
}

/// Articles carrying both themes (in their assigned theme sets).
#[derive(Debug, Clone, Serialize)]
pub struct Cooccurrence {
    pub themes: Vec<(String, String)>,
    pub counts: Vec<Vec<usize>>,
}

pub fn cooccurrence(themes: &[(String, String)], sets: &[Vec<String>]) -> Option<Cooccurrence> {
    let n = themes.len();
    let mut counts = vec![vec![0; n]; n];
    for set in sets {
        let idx: Vec<usize> = set
            .iter()
            .filter_map(|t| themes.iter().position(|(id, _)| id == t))
            .collect();
        for &i in &idx {
            for &j in &idx {
                counts[i][j] += 1;
            }
        }
    }
    let any_pair = (0..n).any(|i| (0..n).any(|j| i != j && counts[i][j] > 0));
    (n >= 2 && any_pair).then(|| Cooccurrence {
        themes: themes.to_vec(),
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trip() {
        for d in ["1970-01-01", "2000-02-29", "2024-12-31", "2025-03-01"] {
            assert_eq!(iso(days(d).unwrap()), d);
        }
        assert_eq!(days("2023-02-29"), None);
        assert_eq!(days("2024-13-01"), None);
        assert_eq!(days("04/06/2024"), None);
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2024-09-19 was a Thursday; its week began on Monday 16 September.
        let w = |d: &str| iso(bucket_start(Granularity::Week, days(d).unwrap()));
        assert_eq!(w("2024-09-19"), "2024-09-16");
        assert_eq!(w("2024-09-16"), "2024-09-16");
        assert_eq!(w("2024-09-22"), "2024-09-16", "Sunday closes the week");
        assert_eq!(w("2024-09-23"), "2024-09-23");
        assert_eq!(w("2025-01-01"), "2024-12-30", "weeks cross the new year");
        let m = |d: &str| iso(bucket_start(Granularity::Month, days(d).unwrap()));
        assert_eq!(m("2024-02-29"), "2024-02-01");
    }

    #[test]
    fn granularity_follows_the_span() {
        let d = |s: &str| days(s).unwrap();
        let (g, b) = buckets(d("2024-09-02"), d("2024-09-20"));
        assert_eq!(g, Granularity::Week);
        assert_eq!(b.len(), 3);
        let (g, b) = buckets(d("2023-06-19"), d("2024-11-30"));
        assert_eq!(g, Granularity::Month);
        assert_eq!(b.len(), 18);
        assert_eq!(iso(b[0]), "2023-06-01");
        assert_eq!(iso(b[17]), "2024-11-01");
        let (g, b) = buckets(d("2015-01-01"), d("2024-11-30"));
        assert_eq!(g, Granularity::Year);
        assert_eq!(b.len(), 10);
    }

    #[test]
    fn counts_per_theme_and_week() {
        let themes = vec![
            ("a".to_string(), "A".to_string()),
            ("b".to_string(), "B".to_string()),
        ];
        let d = |s: &str| days(s);
        let dated = vec![
            ("a".to_string(), d("2024-09-16")),
            ("a".to_string(), d("2024-09-18")),
            ("b".to_string(), d("2024-09-30")),
            ("b".to_string(), None),
        ];
        let t = trends(&themes, &dated).unwrap();
        assert_eq!(t.granularity, Granularity::Week);
        assert_eq!(t.buckets, ["2024-09-16", "2024-09-23", "2024-09-30"]);
        assert_eq!(t.series[0].counts, [2, 0, 0]);
        assert_eq!(t.series[1].counts, [0, 0, 1]);
        assert_eq!(t.undated, 1);
        // All in one week: nothing to draw.
        assert!(trends(&themes, &dated[..2]).is_none());
    }

    #[test]
    fn previous_period_has_the_same_length() {
        let dates = vec!["2024-09-10".to_string(), "2024-09-16".to_string()];
        let p = period("2024-09-10", &dates).unwrap();
        assert_eq!(p.until, "2024-09-16");
        assert_eq!(p.previous_from, "2024-09-03");
        assert_eq!(p.previous_until, "2024-09-09");
        // Nothing after since: a one-day period.
        let p = period("2024-10-01", &dates).unwrap();
        assert_eq!(
            (p.until.as_str(), p.previous_from.as_str()),
            ("2024-10-01", "2024-09-30")
        );
        assert!(period("yesterday", &dates).is_none());
    }

    #[test]
    fn cooccurrence_counts_pairs() {
        let themes = vec![
            ("a".to_string(), "A".to_string()),
            ("b".to_string(), "B".to_string()),
            ("c".to_string(), "C".to_string()),
        ];
        let sets = vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["a".to_string(), "b".to_string(), "c".to_string()],
            vec!["c".to_string()],
        ];
        let c = cooccurrence(&themes, &sets).unwrap();
        assert_eq!(c.counts[0], [2, 2, 1]);
        assert_eq!(c.counts[2], [1, 1, 2]);
        assert!(cooccurrence(&themes, &sets[2..]).is_none());
    }
}
