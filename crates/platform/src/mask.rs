//! Masking of personal data for display (GB/T 35273 practice): ID numbers keep the first 6
//! and last 4 characters (`320202********123X`), phones the first 3 and last 4
//! (`139****5678`). Unmasked views are for staff holding `pii:read` who state a purpose.

pub fn id_number(s: &str) -> String {
    keep(s, 6, 4)
}

pub fn phone(s: &str) -> String {
    keep(s, 3, 4)
}

/// Mask personal data inside free text before it is published: runs of 18 digits (or 17
/// and an X) as ID numbers, 11-digit runs starting with 1 as mobile numbers, and the name
/// part of e-mail addresses.
pub fn scrub_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j - i == 17 && j < chars.len() && matches!(chars[j], 'x' | 'X') {
                j += 1;
            }
            let run: String = chars[i..j].iter().collect();
            let after: String = chars[j..chars.len().min(j + 2)].iter().collect();
            // A flat: the number of a unit or room (3单元502, 502室) names a household; the
            // building's number on its street (12号) does not.
            let flat = after.starts_with("单元")
                || after.starts_with('室')
                || after.starts_with('户')
                || out.ends_with("单元");
            out.push_str(&match run.chars().count() {
                18 => id_number(&run),
                11 if run.starts_with('1') => phone(&run),
                n if flat => "*".repeat(n),
                _ => run,
            });
            i = j;
        } else if c == '@' {
            // Star the name part already written (back to the last space or CJK character).
            let mut name_len = 0;
            for ch in out.chars().rev() {
                if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '+') {
                    name_len += 1;
                } else {
                    break;
                }
            }
            for _ in 0..name_len {
                out.pop();
            }
            out.push_str(&"*".repeat(name_len.min(8)));
            out.push('@');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Keep `head` and `tail` characters, star the rest; short values are starred whole.
fn keep(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars.iter().take(head).collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(chars.iter().skip(chars.len() - tail));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_scrubbed() {
        assert_eq!(
            scrub_text(
                "我是张三，身份证32020219900101123X，电话13912345678，邮箱zs@example.com，门牌12号"
            ),
            "我是张三，身份证320202********123X，电话139****5678，邮箱**@example.com，门牌12号"
        );
    }

    #[test]
    fn flats_are_scrubbed_buildings_kept() {
        assert_eq!(
            scrub_text("上门到中山路100号3单元502，另有5栋1201室"),
            "上门到中山路100号*单元***，另有5栋****室"
        );
    }

    #[test]
    fn the_documented_shapes() {
        assert_eq!(id_number("32020219900307123X"), "320202********123X");
        assert_eq!(phone("13912345678"), "139****5678");
        assert_eq!(phone("123"), "***");
        // Counted in characters, never splitting one.
        assert_eq!(keep("一二三四五六七八九十", 2, 2), "一二******九十");
    }
}
