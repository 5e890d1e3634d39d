//! Working days (工作日): Monday to Friday, minus the statutory holidays, plus the make-up
//! working days (调休上班) announced each year by the General Office of the State Council.
//! The shipped data lives in `data/holidays_cn.csv` (sources named there); operators add a
//! year with `tongban calendar import FILE` in the same format.

use crate::db::{Conn, DbError};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};

/// The shipped holiday data.
pub const BUILTIN_CSV: &str = include_str!("../data/holidays_cn.csv");

/// A date that differs from the ordinary week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub date: NaiveDate,
    pub workday: bool,
    pub name: String,
    /// The notice year the entry belongs to (a 元旦 holiday may start in December).
    pub year: i32,
}

#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct DayInfo {
    pub date: String,
    pub workday: bool,
    /// The holiday or make-up day name, or 周末 / 工作日.
    pub name: String,
}

/// A holiday period for notices: its name, first and last day, and make-up working days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HolidayNotice {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub makeup: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    special: BTreeMap<NaiveDate, (bool, String)>,
}

/// Longest span the calendar will count, so that a request cannot make the server loop.
pub const MAX_SPAN_DAYS: u32 = 3650;

impl Calendar {
    pub fn from_entries(entries: &[Entry]) -> Calendar {
        let special = entries
            .iter()
            .map(|e| (e.date, (e.workday, e.name.clone())))
            .collect();
        Calendar { special }
    }

    pub fn builtin() -> Calendar {
        Calendar::from_entries(&parse_csv(BUILTIN_CSV).unwrap_or_default())
    }

    pub fn is_workday(&self, d: NaiveDate) -> bool {
        match self.special.get(&d) {
            Some((w, _)) => *w,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    pub fn day(&self, d: NaiveDate) -> DayInfo {
        let (workday, name) = match self.special.get(&d) {
            Some((w, n)) => (*w, n.clone()),
            None if self.is_workday(d) => (true, "工作日".to_owned()),
            None => (false, "周末".to_owned()),
        };
        DayInfo {
            date: d.format("%Y-%m-%d").to_string(),
            workday,
            name,
        }
    }

    /// The `n`-th working day after `start` (`n = 0` gives `start` itself).
    pub fn add_workdays(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n.min(MAX_SPAN_DAYS);
        while left > 0 {
            // At the end of representable time there is nothing later to count.
            let Some(next) = d.succ_opt() else { break };
            d = next;
            if self.is_workday(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days `d` with `a < d <= b`; zero when `b <= a`.
    pub fn workdays_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let mut n = 0;
        let mut d = a;
        let end = a
            .checked_add_signed(Duration::days(i64::from(MAX_SPAN_DAYS) * 2))
            .map_or(b, |limit| b.min(limit));
        while d < end {
            let Some(next) = d.succ_opt() else { break };
            d = next;
            if self.is_workday(d) {
                n += 1;
            }
        }
        n
    }

    /// Working days left until `deadline` seen from `today`: 0 when due today, negative
    /// (working days past) when overdue.
    pub fn days_left(&self, today: NaiveDate, deadline: NaiveDate) -> i64 {
        if deadline >= today {
            self.workdays_between(today, deadline)
        } else {
            -self.workdays_between(deadline, today).max(1)
        }
    }

    /// Holidays starting within `within_days` of `today` (or under way), each with its
    /// make-up working days, soonest first.
    pub fn upcoming_holidays(&self, today: NaiveDate, within_days: i64) -> Vec<HolidayNotice> {
        let end = today + Duration::days(within_days);
        let mut out: Vec<HolidayNotice> = Vec::new();
        for (d, (workday, name)) in self.special.range(today - Duration::days(10)..=end) {
            if *workday {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.name == *name && (*d - last.to).num_days() <= 1 => last.to = *d,
                _ => out.push(HolidayNotice {
                    name: name.clone(),
                    from: *d,
                    to: *d,
                    makeup: vec![],
                }),
            }
        }
        out.retain(|h| h.to >= today && h.from <= end);
        for h in &mut out {
            let window = (h.from - Duration::days(14))..=(h.to + Duration::days(14));
            h.makeup = self
                .special
                .range(window)
                .filter(|(_, (w, n))| *w && n.starts_with(h.name.as_str()))
                .map(|(d, _)| *d)
                .collect();
        }
        out
    }

    /// Years that have data.
    pub fn years(&self) -> BTreeSet<i32> {
        self.special.keys().map(|d| d.year()).collect()
    }
}

/// Parse the holiday CSV (`date,kind,name,year`; `#` comments; header line optional).
/// Errors name the line.
pub fn parse_csv(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("date,") {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [date, kind, name, rest @ ..] = cols.as_slice() else {
            return Err(format!(
                "line {line_no}: expected date,kind,name[,year], got {line:?}"
            ));
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| format!("line {line_no}: {date:?} is not a date in YYYY-MM-DD form"))?;
        let workday = match *kind {
            "holiday" => false,
            "workday" => true,
            other => {
                return Err(format!(
                    "line {line_no}: kind must be holiday or workday, got {other:?}"
                ))
            }
        };
        if name.is_empty() {
            return Err(format!("line {line_no}: the name is empty"));
        }
        let year = match rest.first() {
            Some(y) if !y.is_empty() => y
                .parse::<i32>()
                .map_err(|_| format!("line {line_no}: year {y:?} is not a number"))?,
            _ => date.year(),
        };
        if (year - date.year()).abs() > 1 {
            return Err(format!(
                "line {line_no}: year {year} is too far from date {date}"
            ));
        }
        if !seen.insert(date) {
            return Err(format!("line {line_no}: {date} appears twice"));
        }
        out.push(Entry {
            date,
            workday,
            name: (*name).to_owned(),
            year,
        });
    }
    Ok(out)
}

pub fn load(c: &mut dyn Conn) -> Result<Calendar, DbError> {
    let rows = c.query("SELECT day, workday, name, year FROM calendar_days", &[])?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let day = r.get_str("day")?;
        let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|_| DbError::Decode(format!("calendar day {day:?}")))?;
        entries.push(Entry {
            date,
            workday: r.get_bool("workday")?,
            name: r.get_str("name")?,
            year: r.get_i64("year")? as i32,
        });
    }
    Ok(Calendar::from_entries(&entries))
}

/// Replace every year present in `entries` with the given lines. Returns the years.
pub fn import(c: &mut dyn Conn, entries: &[Entry]) -> Result<Vec<i32>, DbError> {
    let years: BTreeSet<i32> = entries.iter().map(|e| e.year).collect();
    for y in &years {
        c.execute(
            "DELETE FROM calendar_days WHERE year = $1",
            crate::params![i64::from(*y)],
        )?;
    }
    insert(c, entries)?;
    Ok(years.into_iter().collect())
}

/// Add the shipped years that the database does not have yet; operators' own imports win.
pub fn seed_builtin(c: &mut dyn Conn) -> Result<usize, DbError> {
    let entries = parse_csv(BUILTIN_CSV).map_err(DbError::Decode)?;
    let have: BTreeSet<i64> = c
        .query("SELECT DISTINCT year FROM calendar_days", &[])?
        .iter()
        .map(|r| r.get_i64("year"))
        .collect::<Result<_, _>>()?;
    let missing: Vec<Entry> = entries
        .into_iter()
        .filter(|e| !have.contains(&i64::from(e.year)))
        .collect();
    insert(c, &missing)?;
    Ok(missing.len())
}

fn insert(c: &mut dyn Conn, entries: &[Entry]) -> Result<(), DbError> {
    for e in entries {
        c.execute(
            "INSERT INTO calendar_days (day, workday, name, year) VALUES ($1, $2, $3, $4)
             ON CONFLICT (day) DO UPDATE SET workday = excluded.workday, name = excluded.name, year = excluded.year",
            crate::params![e.date.format("%Y-%m-%d").to_string(), e.workday, e.name.as_str(), i64::from(e.year)],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn builtin_data_covers_2020_to_2026() {
        let entries = parse_csv(BUILTIN_CSV).unwrap();
        let years: BTreeSet<i32> = entries.iter().map(|e| e.year).collect();
        assert_eq!(years, (2020..=2026).collect());
        for e in entries.iter().filter(|e| e.workday) {
            assert!(
                e.date.weekday().number_from_monday() >= 6,
                "{e:?} is a weekday"
            );
        }
    }

    #[test]
    fn spring_festival_2026_and_its_makeup_days() {
        let c = Calendar::builtin();
        assert!(!c.is_workday(d(2026, 2, 16)));
        assert_eq!(c.day(d(2026, 2, 17)).name, "春节");
        assert!(
            c.is_workday(d(2026, 2, 14)),
            "Saturday 2026-02-14 is a make-up working day"
        );
        assert!(c.is_workday(d(2026, 2, 28)));
        // Friday 2026-02-13 plus one working day is Saturday 2026-02-14 (调休), plus two is 02-24.
        assert_eq!(c.add_workdays(d(2026, 2, 13), 1), d(2026, 2, 14));
        assert_eq!(c.add_workdays(d(2026, 2, 13), 2), d(2026, 2, 24));
        // National Day 2026: 10-01..10-07 off, 10-10 (Saturday) on.
        assert_eq!(c.add_workdays(d(2026, 9, 30), 1), d(2026, 10, 8));
        assert_eq!(c.add_workdays(d(2026, 10, 9), 1), d(2026, 10, 10));
    }

    #[test]
    fn upcoming_holidays_group_days_and_makeup_days() {
        let c = Calendar::builtin();
        let list = c.upcoming_holidays(d(2026, 9, 15), 30);
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(
            (list[0].name.as_str(), list[0].from, list[0].to),
            ("中秋节", d(2026, 9, 25), d(2026, 9, 27))
        );
        assert_eq!(
            (list[1].name.as_str(), list[1].from, list[1].to),
            ("国庆节", d(2026, 10, 1), d(2026, 10, 7))
        );
        assert_eq!(list[1].makeup, vec![d(2026, 9, 20), d(2026, 10, 10)]);
        assert!(c.upcoming_holidays(d(2026, 11, 26), 30).is_empty());
    }

    #[test]
    fn days_left_counts_working_days() {
        let c = Calendar::builtin();
        assert_eq!(c.days_left(d(2026, 11, 26), d(2026, 11, 26)), 0);
        assert_eq!(c.days_left(d(2026, 11, 26), d(2026, 11, 30)), 2); // Fri, Mon
        assert_eq!(c.days_left(d(2026, 11, 30), d(2026, 11, 26)), -2);
    }

    #[test]
    fn the_end_of_time_does_not_panic() {
        let c = Calendar::builtin();
        let last = NaiveDate::MAX;
        assert_eq!(c.add_workdays(last, 10), last);
        assert_eq!(
            c.workdays_between(last - Duration::days(3), last),
            c.workdays_between(last - Duration::days(3), last)
        );
        assert!(c.days_left(NaiveDate::MIN, last) > 0);
    }

    #[test]
    fn csv_errors_name_the_line() {
        assert!(parse_csv("2027-01-01,holiday,元旦\n2027-13-01,holiday,x")
            .unwrap_err()
            .contains("line 2"));
        assert!(parse_csv("2027-01-01,party,元旦")
            .unwrap_err()
            .contains("holiday or workday"));
        assert!(
            parse_csv("2027-01-01,holiday,元旦\n2027-01-01,holiday,元旦")
                .unwrap_err()
                .contains("twice")
        );
    }

    fn date_strategy() -> impl Strategy<Value = NaiveDate> {
        (0i64..(7 * 366)).prop_map(|o| d(2020, 1, 1) + Duration::days(o))
    }

    proptest! {
        /// Any text given as a holiday file is parsed or refused with a line number.
        #[test]
        fn calendar_parser_never_panics(text in "(\\PC{0,30}\n){0,8}") {
            match parse_csv(&text) {
                Ok(entries) => prop_assert!(entries.len() <= 8),
                Err(e) => prop_assert!(e.starts_with("line ")),
            }
        }

        #[test]
        fn deadline_is_monotone_and_a_working_day(start in date_strategy(), n in 1u32..200) {
            let c = Calendar::builtin();
            let a = c.add_workdays(start, n);
            let b = c.add_workdays(start, n + 1);
            prop_assert!(b > a);
            prop_assert!(c.is_workday(a));
            prop_assert_eq!(c.workdays_between(start, a), i64::from(n));
        }

        #[test]
        fn pauses_add_exactly_their_working_days(start in date_strategy(), n in 1u32..60, pause_at in 0i64..40, pause_len in 0i64..40) {
            let c = Calendar::builtin();
            let deadline = c.add_workdays(start, n);
            let p = start + Duration::days(pause_at);
            let r = p + Duration::days(pause_len);
            let paused = c.workdays_between(p, r);
            let extended = c.add_workdays(deadline, paused as u32);
            prop_assert_eq!(c.workdays_between(deadline, extended), paused);
            prop_assert_eq!(c.workdays_between(start, extended), i64::from(n) + paused);
        }
    }
}
