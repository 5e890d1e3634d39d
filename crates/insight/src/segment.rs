//! Chinese word segmentation for topics and warnings: jieba (jieba-rs) with a user dictionary
//! of the region's place names, the hotline's category names and the catalogue's matter
//! names, and a stop-word list. Rebuilt when the words it is given grow (a region import);
//! the words only ever grow, so a process serving several regions (the tests) keeps them all.

use jieba_rs::Jieba;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};

const STOPWORDS: &str = include_str!("../data/stopwords.txt");

/// Texts are segmented up to this many characters (a 100,000-character letter yields its
/// first part's terms, not a stall).
pub const MAX_CHARS: usize = 10_000;

struct Segmenter {
    jieba: Jieba,
    stop: HashSet<&'static str>,
    /// Words added to the dictionary, and which of them are place names.
    words: HashSet<String>,
    places: HashSet<String>,
}

static SEGMENTER: RwLock<Option<Arc<Segmenter>>> = RwLock::new(None);

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn usable(w: &str) -> bool {
    w.chars().count() >= 2 && !w.contains(char::is_whitespace)
}

/// Add `words` (matter and category names) and `places` (the region's place names) to the
/// dictionary; nothing is rebuilt when they are all known.
pub fn learn(words: &[String], places: &[String]) {
    let current = segmenter();
    let new_word = |w: &String| usable(w.trim()) && !current.words.contains(w.trim());
    let new_place = |p: &String| usable(p.trim()) && !current.places.contains(p.trim());
    if !words.iter().any(new_word) && !places.iter().any(new_place) {
        return;
    }
    let mut all: HashSet<String> = current.words.clone();
    let mut all_places = current.places.clone();
    all.extend(
        words
            .iter()
            .map(|w| w.trim().to_owned())
            .filter(|w| usable(w)),
    );
    for p in places.iter().map(|p| p.trim()).filter(|p| usable(p)) {
        all.insert(p.to_owned());
        all_places.insert(p.to_owned());
    }
    let built = Arc::new(build(all, all_places));
    if let Ok(mut slot) = SEGMENTER.write() {
        *slot = Some(built);
    }
}

fn build(words: HashSet<String>, places: HashSet<String>) -> Segmenter {
    let mut jieba = Jieba::new();
    let mut sorted: Vec<&String> = words.iter().collect();
    sorted.sort();
    for w in sorted {
        jieba.add_word(w, Some(50_000), Some("n"));
    }
    Segmenter {
        jieba,
        stop: lines(STOPWORDS).collect(),
        words,
        places,
    }
}

/// Whether a term is one of the region's place names.
pub fn is_place(term: &str) -> bool {
    segmenter().places.contains(term)
}

fn segmenter() -> Arc<Segmenter> {
    if let Ok(slot) = SEGMENTER.read() {
        if let Some(s) = slot.as_ref() {
            return s.clone();
        }
    }
    let built = Arc::new(build(HashSet::new(), HashSet::new()));
    if let Ok(mut slot) = SEGMENTER.write() {
        if let Some(s) = slot.as_ref() {
            return s.clone();
        }
        *slot = Some(built.clone());
    }
    built
}

/// Whether a token can name a topic: two or more characters, a letter or CJK ideograph in
/// it, not a stop word, not too long; and nothing that identifies a person by itself: no
/// digit (phones, ID numbers, house and flat numbers) and no e-mail address. The messages
/// stay sealed; only such terms are kept in the clear (docs/security.md).
fn keep(seg: &Segmenter, w: &str) -> bool {
    let n = w.chars().count();
    (2..=20).contains(&n)
        && w.chars().any(char::is_alphabetic)
        && !w.chars().any(|c| c.is_numeric() || c == '@')
        && !seg.stop.contains(w)
}

/// The terms of a text and how often each occurs.
pub fn terms(text: &str) -> BTreeMap<String, i64> {
    let seg = segmenter();
    let seg = seg.as_ref();
    let text: String = text.chars().take(MAX_CHARS).collect();
    let mut out = BTreeMap::new();
    for w in seg.jieba.cut(&text, true) {
        let w = w.trim();
        if keep(seg, w) {
            *out.entry(w.to_lowercase()).or_insert(0) += 1;
        }
    }
    out
}

/// The tokens of a text in order, for phrases: kept tokens lower-cased, `None` where a
/// punctuation mark, stop word or single character breaks the run.
pub fn sequence(text: &str) -> Vec<Option<String>> {
    let seg = segmenter();
    let seg = seg.as_ref();
    let text: String = text.chars().take(MAX_CHARS).collect();
    seg.jieba
        .cut(&text, true)
        .into_iter()
        .map(|w| {
            let w = w.trim();
            keep(seg, w).then(|| w.to_lowercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_never_terms() {
        let t = terms("我是张三，电话13912345678，身份证32020219900307123X，住中山路100号3单元502，邮箱zs@example.com，ｂ栋１２室");
        for term in t.keys() {
            assert!(
                !term.chars().any(|c| c.is_numeric() || c == '@'),
                "{term} kept: {t:?}"
            );
        }
    }

    #[test]
    fn local_names_stay_whole_and_noise_is_dropped() {
        learn(&[], &["东亭街道".into(), "春笋路".into()]);
        assert!(is_place("东亭街道") && !is_place("停水"));
        let t = terms("东亭街道春笋路的小区停水三天了，物业说不清楚，请尽快处理！！！");
        assert!(t.contains_key("东亭街道"), "{t:?}");
        assert!(t.contains_key("停水") || t.contains_key("小区"), "{t:?}");
        assert!(!t.contains_key("处理") && !t.contains_key("的") && !t.contains_key("！"));
        assert!(terms("").is_empty());
        assert!(terms("。。。！？……,,,").is_empty());
        assert!(
            terms("12345 2026").is_empty(),
            "numbers alone name no topic"
        );
        let long = "噪音扰民".repeat(50_000);
        let t = terms(&long);
        assert!(t.values().sum::<i64>() <= MAX_CHARS as i64);
        let mixed = terms("WiFi 信号差😀，5G基站 emoji 🚧 施工");
        assert!(
            mixed.contains_key("wifi") && mixed.contains_key("施工"),
            "{mixed:?}"
        );
    }
}
