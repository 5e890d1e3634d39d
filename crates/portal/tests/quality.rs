//! Search quality on a labelled query set (`queries.tsv`): what a citizen types and the
//! matter that must come first, over the Wuxi demo catalogue. Floor (issue 16): mean
//! reciprocal rank at least 0.8.

use tongban_portal::search::synonyms::Synonyms;
use tongban_portal::search::{matter_doc, Engine, Filter};

#[test]
fn mean_reciprocal_rank() {
    let matters = tongban_catalog::exchange::demo().expect("the demo catalogue");
    let engine = Engine::new().expect("index");
    let docs: Vec<_> = matters.iter().map(matter_doc).collect();
    engine.apply(&docs, &[]).expect("indexed");
    let synonyms = Synonyms::standard();
    let mut sum = 0.0;
    let mut n = 0;
    let mut misses = Vec::new();
    for line in include_str!("queries.tsv").lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (q, want) = line.split_once('\t').expect("query<TAB>code");
        let r = engine
            .search(q, &synonyms, &Filter::default(), 1, 10)
            .expect("search");
        let rank = r.items.iter().position(|h| h.id == want);
        n += 1;
        match rank {
            Some(0) => sum += 1.0,
            Some(i) => {
                sum += 1.0 / (i as f64 + 1.0);
                misses.push(format!("{q} → {want} at {}", i + 1));
            }
            None => misses.push(format!(
                "{q} → {want} not in the first 10 (first: {:?})",
                r.items.first().map(|h| h.title.as_str())
            )),
        }
    }
    let mrr = sum / n as f64;
    println!("{n} queries, MRR {mrr:.3}");
    for m in &misses {
        println!("  {m}");
    }
    assert!(n >= 100, "at least 100 labelled queries");
    assert!(
        mrr >= 0.8,
        "MRR {mrr:.3} < 0.8; misses:\n{}",
        misses.join("\n")
    );
}
