//! Numbers and dates written out in English, French and Korean, for the built-in `numbers` and
//! `dates` tasks.

/// `n` in English words (American style: "one thousand two hundred thirty-four").
pub fn english_number(n: u64) -> String {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    fn below_thousand(n: u64, out: &mut Vec<String>) {
        let (h, r) = (n / 100, n % 100);
        if h > 0 {
            out.push(format!("{} hundred", ONES[h as usize]));
        }
        if r > 0 {
            out.push(match r {
                0..20 => ONES[r as usize].to_string(),
                _ if r % 10 == 0 => TENS[(r / 10) as usize].to_string(),
                _ => format!("{}-{}", TENS[(r / 10) as usize], ONES[(r % 10) as usize]),
            });
        }
    }
    if n == 0 {
        return ONES[0].to_string();
    }
    let mut out = Vec::new();
    for (scale, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        if !(n / scale).is_multiple_of(1000) {
            below_thousand(n / scale % 1000, &mut out);
            out.push(name.to_string());
        }
    }
    below_thousand(n % 1000, &mut out);
    out.join(" ")
}

/// `n` in French words, traditional spelling ("deux cent quatre-vingts", "soixante et onze").
pub fn french_number(n: u64) -> String {
    const ONES: [&str; 17] = [
        "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
        "onze", "douze", "treize", "quatorze", "quinze", "seize",
    ];
    const TENS: [&str; 7] = [
        "",
        "dix",
        "vingt",
        "trente",
        "quarante",
        "cinquante",
        "soixante",
    ];
    /// 0 < n < 100; `last` = nothing follows (plural "quatre-vingts").
    fn below_hundred(n: u64, last: bool) -> String {
        match n {
            0..17 => ONES[n as usize].to_string(),
            17..20 => format!("dix-{}", ONES[(n - 10) as usize]),
            20..70 => {
                let (t, u) = ((n / 10) as usize, n % 10);
                match u {
                    0 => TENS[t].to_string(),
                    1 => format!("{} et un", TENS[t]),
                    _ => format!("{}-{}", TENS[t], ONES[u as usize]),
                }
            }
            70..80 => match n {
                71 => "soixante et onze".to_string(),
                _ => format!("soixante-{}", below_hundred(n - 60, true)),
            },
            80 => if last {
                "quatre-vingts"
            } else {
                "quatre-vingt"
            }
            .to_string(),
            _ => format!("quatre-vingt-{}", below_hundred(n - 80, true)),
        }
    }
    /// 0 < n < 1000.
    fn below_thousand(n: u64, last: bool) -> String {
        let (h, r) = (n / 100, n % 100);
        let mut parts = Vec::new();
        match h {
            0 => {}
            1 => parts.push("cent".to_string()),
            _ if r == 0 && last => parts.push(format!("{} cents", ONES[h as usize])),
            _ => parts.push(format!("{} cent", ONES[h as usize])),
        }
        if r > 0 {
            parts.push(below_hundred(r, last));
        }
        parts.join(" ")
    }
    if n == 0 {
        return ONES[0].to_string();
    }
    let mut out = Vec::new();
    let (millions, thousands, rest) = (n / 1_000_000, n / 1000 % 1000, n % 1000);
    if millions > 0 {
        let plural = if millions > 1 { "millions" } else { "million" };
        out.push(format!("{} {plural}", below_thousand(millions, true)));
    }
    if thousands > 0 {
        out.push(if thousands == 1 {
            "mille".to_string()
        } else {
            format!("{} mille", below_thousand(thousands, false))
        });
    }
    if rest > 0 {
        out.push(below_thousand(rest, true));
    }
    out.join(" ")
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Year.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, from 1.
    pub day: u32,
}

impl Date {
    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    /// Days since 1970-01-01 (`days_from_civil`).
    pub fn days(&self) -> i64 {
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday).
    pub fn weekday(&self) -> usize {
        (self.days() + 3).rem_euclid(7) as usize
    }

    /// `YYYY-MM-DD`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The date in one of several English, French and Korean formats (`style` picks one).
    pub fn written(&self, style: usize) -> String {
        const EN_MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const EN_DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const FR_MONTHS: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        const FR_DAYS: [&str; 7] = [
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
        ];
        const KO_DAYS: [&str; 7] = [
            "월요일",
            "화요일",
            "수요일",
            "목요일",
            "금요일",
            "토요일",
            "일요일",
        ];
        let (y, m, d, w) = (self.year, self.month as usize, self.day, self.weekday());
        let fr_day = if d == 1 {
            "1er".to_string()
        } else {
            d.to_string()
        };
        match style % STYLES {
            0 => format!("{}, {d} {} {y}", EN_DAYS[w], EN_MONTHS[m - 1]),
            1 => format!("{} {d}, {y}", EN_MONTHS[m - 1]),
            2 => format!("{} {d}, {y}", &EN_MONTHS[m - 1][..3]),
            3 => format!("{} {fr_day} {} {y}", FR_DAYS[w], FR_MONTHS[m - 1]),
            4 => format!("le {fr_day} {} {y}", FR_MONTHS[m - 1]),
            5 => format!("{y}년 {m}월 {d}일 {}", KO_DAYS[w]),
            6 => format!("{y}년 {m}월 {d}일"),
            _ => format!("{y}. {m}. {d}."),
        }
    }
}

/// Number of formats of [`Date::written`].
pub const STYLES: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_numbers() {
        assert_eq!(english_number(0), "zero");
        assert_eq!(english_number(15), "fifteen");
        assert_eq!(english_number(40), "forty");
        assert_eq!(english_number(1234), "one thousand two hundred thirty-four");
        assert_eq!(english_number(1_000_001), "one million one");
        assert_eq!(english_number(90_210), "ninety thousand two hundred ten");
    }

    #[test]
    fn french_numbers() {
        for (n, words) in [
            (0, "zéro"),
            (1, "un"),
            (17, "dix-sept"),
            (21, "vingt et un"),
            (71, "soixante et onze"),
            (75, "soixante-quinze"),
            (80, "quatre-vingts"),
            (81, "quatre-vingt-un"),
            (91, "quatre-vingt-onze"),
            (99, "quatre-vingt-dix-neuf"),
            (100, "cent"),
            (200, "deux cents"),
            (280, "deux cent quatre-vingts"),
            (201, "deux cent un"),
            (1000, "mille"),
            (2000, "deux mille"),
            (80_000, "quatre-vingt mille"),
            (200_000, "deux cent mille"),
            (1_000_000, "un million"),
            (2_500_300, "deux millions cinq cent mille trois cents"),
        ] {
            assert_eq!(french_number(n), words, "{n}");
        }
    }

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        for days in [-25_567, -1, 0, 11_016, 20_415, 47_482] {
            assert_eq!(Date::from_days(days).days(), days);
        }
        let d = Date {
            year: 2026,
            month: 11,
            day: 23,
        };
        assert_eq!(Date::from_days(d.days()), d);
        assert_eq!(d.iso(), "2026-11-23");
        assert_eq!(d.written(0), "Monday, 23 November 2026");
        assert_eq!(d.written(3), "lundi 23 novembre 2026");
        assert_eq!(d.written(5), "2026년 11월 23일 월요일");
        assert_eq!(
            Date {
                year: 2000,
                month: 2,
                day: 29
            }
            .weekday(),
            1
        ); // a Tuesday
        assert_eq!(
            Date {
                year: 2026,
                month: 5,
                day: 1
            }
            .written(4),
            "le 1er mai 2026"
        );
    }
}
