//! Synonyms: what citizens type (医保, 生孩子, 开公司) and the catalogue's words for it. A line
//! is `term = other terms`; a query term, or the whole query, found on the left also searches
//! for the terms on the right (weighed a little less than what was typed).

use super::tokenizer;
use std::collections::HashMap;

/// The default list (`data/synonyms.txt`).
pub const DEFAULT: &str = include_str!("../../data/synonyms.txt");

/// How much a synonym weighs against a term typed.
const SYNONYM_WEIGHT: f32 = 0.8;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Synonyms {
    map: HashMap<String, Vec<String>>,
}

impl Synonyms {
    /// Read a list; every bad line named by its number.
    pub fn parse(text: &str) -> Result<Synonyms, Vec<String>> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let mut bad = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((left, right)) = line.split_once('=') else {
                bad.push(format!(
                    "line {}: write `term = other terms`, got {line:?}",
                    i + 1
                ));
                continue;
            };
            let left = left.trim().to_lowercase();
            let right: Vec<String> = right.split_whitespace().map(str::to_lowercase).collect();
            if left.is_empty() || left.contains(char::is_whitespace) || right.is_empty() {
                bad.push(format!(
                    "line {}: one term on the left and at least one on the right",
                    i + 1
                ));
                continue;
            }
            map.entry(left).or_default().extend(right);
        }
        if bad.is_empty() {
            Ok(Synonyms { map })
        } else {
            Err(bad)
        }
    }

    /// The default list.
    pub fn standard() -> Synonyms {
        Synonyms::parse(DEFAULT).unwrap_or_default()
    }

    /// How many terms have synonyms.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The terms to search for `q` with their weights: its own terms (1.0) and those of the
    /// synonyms of the whole query and of each term.
    pub fn expand(&self, q: &str) -> Vec<(String, f32)> {
        let mut out: Vec<(String, f32)> = Vec::new();
        let mut add = |t: String, w: f32| match out.iter_mut().find(|(x, _)| *x == t) {
            Some(e) => e.1 = e.1.max(w),
            None => out.push((t, w)),
        };
        let own = tokenizer::terms(q);
        let mut keys: Vec<String> = vec![q.trim().to_lowercase()];
        for (t, ..) in &own {
            add(t.clone(), 1.0);
            keys.push(t.clone());
        }
        for k in keys {
            if let Some(alts) = self.map.get(&k) {
                for a in alts {
                    for (t, ..) in tokenizer::terms(a) {
                        add(t, SYNONYM_WEIGHT);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_reads_and_expands() {
        let s = Synonyms::standard();
        assert!(s.len() > 30);
        let terms: Vec<String> = s.expand("医保").into_iter().map(|t| t.0).collect();
        assert!(terms.contains(&"医疗".to_owned()), "{terms:?}");
        let bad = Synonyms::parse("好 = 坏\nno equals\n = x").unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("line 2"), "{bad:?}");
    }
}
