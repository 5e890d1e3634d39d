//! Masking of personal data for display (GB/T 35273 practice): ID numbers keep the first 6
//! and last 4 characters (`320202********123X`), phones the first 3 and last 4
//! (`139****5678`). Unmasked views are for staff holding `pii:read` who state a purpose.

pub fn id_number(s: &str) -> String {
    keep(s, 6, 4)
}

pub fn phone(s: &str) -> String {
    keep(s, 3, 4)
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
    fn the_documented_shapes() {
        assert_eq!(id_number("32020219900307123X"), "320202********123X");
        assert_eq!(phone("13912345678"), "139****5678");
        assert_eq!(phone("123"), "***");
        // Counted in characters, never splitting one.
        assert_eq!(keep("一二三四五六七八九十", 2, 2), "一二******九十");
    }
}
