//! Identifier newtypes that validate in `parse`: resident ID numbers (GB 11643-1999 with the
//! ISO 7064 MOD 11-2 check digit), unified social credit codes (GB 32100-2015, MOD 31), and
//! mainland mobile phone numbers.

use chrono::NaiveDate;

/// GB 11643-1999 weights for the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters indexed by the weighted sum mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl IdNumber {
    pub fn parse(input: &str) -> Result<IdNumber, String> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(format!(
                "an ID number has 18 characters, this one has {}",
                s.chars().count()
            ));
        }
        let (body, check) = b.split_at(17);
        if !body.iter().all(u8::is_ascii_digit) {
            return Err("the first 17 characters of an ID number must be digits".into());
        }
        if !(b'1'..=b'9').contains(&body[0]) {
            return Err("an ID number starts with a region code (1-9)".into());
        }
        let birth = std::str::from_utf8(&body[6..14]).unwrap_or("");
        let date = NaiveDate::parse_from_str(birth, "%Y%m%d")
            .map_err(|_| format!("the birth date {birth} in the ID number is not a real date"))?;
        if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(date)
            || date > chrono::Utc::now().date_naive()
        {
            return Err(format!(
                "the birth date {birth} in the ID number is out of range"
            ));
        }
        let sum: u32 = body
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        let expected = ID_CHECK[(sum % 11) as usize];
        if check[0] != expected {
            return Err(format!(
                "the ID number's check digit is wrong (expected {}); please check for a typo",
                expected as char
            ));
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The check character for 17 digits, for building test data.
    pub fn check_char(first17: &str) -> Option<char> {
        let b = first17.as_bytes();
        if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = b
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        Some(ID_CHECK[(sum % 11) as usize] as char)
    }
}

/// GB 32100-2015 character set (no I, O, Z, S, V) and weights.
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    pub fn parse(input: &str) -> Result<CreditCode, String> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(format!(
                "a unified social credit code has 18 characters, this one has {}",
                s.chars().count()
            ));
        }
        let mut values = Vec::with_capacity(18);
        for (i, ch) in b.iter().enumerate() {
            match USCC_CHARS.iter().position(|c| c == ch) {
                Some(v) => values.push(v as u32),
                None => {
                    return Err(format!(
                        "character {} ({}) is not allowed in a credit code (I, O, Z, S, V never appear)",
                        i + 1,
                        *ch as char
                    ))
                }
            }
        }
        let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if values.get(17) != Some(&check) {
            return Err(format!(
                "the credit code's check character is wrong (expected {}); please check for a typo",
                USCC_CHARS[check as usize] as char
            ));
        }
        Ok(CreditCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn check_char(first17: &str) -> Option<char> {
        let mut sum = 0;
        let b = first17.as_bytes();
        if b.len() != 17 {
            return None;
        }
        for (ch, w) in b.iter().zip(USCC_WEIGHTS) {
            sum += USCC_CHARS.iter().position(|c| c == ch)? as u32 * w;
        }
        Some(USCC_CHARS[((31 - sum % 31) % 31) as usize] as char)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// A mainland mobile number: 11 digits starting 13-19. `+86` and spaces are accepted.
    pub fn parse(input: &str) -> Result<Phone, String> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let s = s.strip_prefix("+86").unwrap_or(&s);
        let b = s.as_bytes();
        if b.len() != 11
            || !b.iter().all(u8::is_ascii_digit)
            || b[0] != b'1'
            || !(b'3'..=b'9').contains(&b[1])
        {
            return Err("a mobile number has 11 digits and starts with 13 to 19".into());
        }
        Ok(Phone(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plain e-mail check: one `@`, a dot in the domain, no spaces.
pub fn check_email(input: &str) -> Result<(), String> {
    let s = input.trim();
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
                && s.len() <= 254 =>
        {
            Ok(())
        }
        _ => Err("an e-mail address looks like name@example.cn".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_good_and_bad_ids() {
        // The GB 11643 standard's own example.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert!(IdNumber::parse("110105194912310021")
            .unwrap_err()
            .contains("check digit"));
        assert!(IdNumber::parse("110105194913310028")
            .unwrap_err()
            .contains("birth date"));
        assert!(IdNumber::parse("1101051949").is_err());
    }

    #[test]
    fn known_credit_codes() {
        // A code published in GB 32100 examples style: 91350100M000100Y43.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert!(CreditCode::parse("91350100M000100Y44")
            .unwrap_err()
            .contains("check"));
        assert!(CreditCode::parse("91350100M000100I43")
            .unwrap_err()
            .contains("not allowed"));
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("+86 139 1234 5678").unwrap().as_str(),
            "13912345678"
        );
        assert!(Phone::parse("12912345678").is_err());
        assert!(Phone::parse("1391234567").is_err());
    }

    proptest! {
        #[test]
        fn id_with_computed_check_is_valid_and_any_other_is_not(
            region in 110000u32..659999, days in 0i64..30000, seq in 0u32..999, wrong in 0usize..11
        ) {
            let birth = NaiveDate::from_ymd_opt(1930, 1, 1).unwrap() + chrono::Duration::days(days);
            let first = format!("{region:06}{}{seq:03}", birth.format("%Y%m%d"));
            let check = IdNumber::check_char(&first).unwrap();
            let good = format!("{first}{check}");
            prop_assert!(IdNumber::parse(&good).is_ok());
            let other = ID_CHECK[wrong] as char;
            if other != check {
                let bad = format!("{first}{other}");
                prop_assert!(IdNumber::parse(&bad).is_err());
            }
        }

        #[test]
        fn credit_code_check_is_consistent(body in "[0-9A-HJ-NPQRTUWXY]{17}", wrong in 0usize..31) {
            let check = CreditCode::check_char(&body).unwrap();
            let good = format!("{body}{check}");
            prop_assert!(CreditCode::parse(&good).is_ok());
            let other = USCC_CHARS[wrong] as char;
            if other != check {
                let bad = format!("{body}{other}");
                prop_assert!(CreditCode::parse(&bad).is_err());
            }
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = IdNumber::parse(&s);
            let _ = CreditCode::parse(&s);
            let _ = Phone::parse(&s);
            let _ = check_email(&s);
        }
    }
}
