//! Key phrases of a topic by TextRank (Mihalcea & Tarau, 2004): the words of its messages
//! form a graph linking words that occur within a few words of each other; PageRank over it
//! ranks the words; runs of top-ranked words that stand next to each other in the messages,
//! more than once, are the phrases (e.g. 电梯 + 停运 → 电梯停运).

use std::collections::{BTreeMap, HashMap};

/// Words linked when at most this many positions apart.
const WINDOW: usize = 5;
const DAMPING: f64 = 0.85;
const ITERATIONS: usize = 30;
/// Words per phrase, at most.
const MAX_WORDS: usize = 3;

/// The ranks of the words of token sequences (`None` breaks a run).
pub fn ranks(seqs: &[Vec<Option<String>>]) -> HashMap<String, f64> {
    let mut edges: HashMap<(String, String), f64> = HashMap::new();
    for seq in seqs {
        let words: Vec<&String> = seq.iter().flatten().collect();
        for (i, a) in words.iter().enumerate() {
            for b in words.iter().skip(i + 1).take(WINDOW - 1) {
                if a != b {
                    *edges.entry(((*a).clone(), (*b).clone())).or_insert(0.0) += 1.0;
                    *edges.entry(((*b).clone(), (*a).clone())).or_insert(0.0) += 1.0;
                }
            }
        }
    }
    let mut out_weight: HashMap<&str, f64> = HashMap::new();
    let mut incoming: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
    for ((a, b), w) in &edges {
        *out_weight.entry(a).or_insert(0.0) += w;
        incoming.entry(b).or_default().push((a, *w));
    }
    let mut score: HashMap<&str, f64> = out_weight.keys().map(|k| (*k, 1.0)).collect();
    for _ in 0..ITERATIONS {
        let next: HashMap<&str, f64> = score
            .keys()
            .map(|v| {
                let sum: f64 = incoming.get(v).map_or(0.0, |ins| {
                    ins.iter()
                        .map(|(u, w)| w / out_weight.get(u).copied().unwrap_or(1.0) * score[u])
                        .sum()
                });
                (*v, (1.0 - DAMPING) + DAMPING * sum)
            })
            .collect();
        score = next;
    }
    score.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Count the phrases of a run of key words and start a new run.
fn flush<'a>(run: &mut Vec<&'a str>, found: &mut BTreeMap<Vec<&'a str>, usize>) {
    if run.len() >= 2 {
        for window in run.windows(run.len().min(MAX_WORDS)) {
            *found.entry(window.to_vec()).or_insert(0) += 1;
        }
    }
    run.clear();
}

/// Up to `max` phrases of two or three adjacent key words found at least twice, best first.
pub fn phrases(seqs: &[Vec<Option<String>>], max: usize) -> Vec<String> {
    let ranks = ranks(seqs);
    if ranks.is_empty() {
        return Vec::new();
    }
    // The key words: the top third of the ranked words, at least 5 and at most 20.
    let mut order: Vec<(&String, f64)> = ranks.iter().map(|(k, v)| (k, *v)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let keep = (order.len() / 3).clamp(5, 20);
    let key: HashMap<&str, f64> = order
        .iter()
        .take(keep)
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let mut found: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
    for seq in seqs {
        let mut run: Vec<&str> = Vec::new();
        for t in seq {
            match t.as_deref().filter(|w| key.contains_key(w)) {
                Some(w) if run.last() != Some(&w) => run.push(w),
                Some(_) => {}
                None => flush(&mut run, &mut found),
            }
        }
        flush(&mut run, &mut found);
    }
    let mut scored: Vec<(String, usize, f64)> = found
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(words, n)| {
            let rank: f64 = words
                .iter()
                .map(|w| key.get(w).copied().unwrap_or(0.0))
                .sum();
            (words.concat(), n, rank)
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
    let mut out: Vec<String> = Vec::new();
    for (p, _, _) in scored {
        // A phrase inside one already chosen adds nothing.
        if !out.iter().any(|o| o.contains(&p)) {
            out.push(p);
        }
        if out.len() == max {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(words: &[&str]) -> Vec<Option<String>> {
        words
            .iter()
            .map(|w| (!w.is_empty()).then(|| w.to_string()))
            .collect()
    }

    #[test]
    fn adjacent_key_words_repeated_become_phrases() {
        let seqs = vec![
            seq(&["小区", "电梯", "停运", "", "老人", "下楼"]),
            seq(&["电梯", "停运", "三天", "", "物业", "不管"]),
            seq(&["又是", "电梯", "停运", "", "老人", "着急"]),
            seq(&["物业", "电话", "打不通"]),
        ];
        let p = phrases(&seqs, 3);
        assert_eq!(p.first().map(String::as_str), Some("电梯停运"), "{p:?}");
        assert!(!p.iter().any(|x| x.contains("打不通")), "said once: {p:?}");
        let r = ranks(&seqs);
        assert!(r["电梯"] > r["打不通"]);
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(phrases(&[], 3).is_empty());
        assert!(phrases(&[seq(&["", ""]), seq(&["单独"])], 3).is_empty());
    }
}
