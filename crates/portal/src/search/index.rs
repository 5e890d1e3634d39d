//! The index itself: one in-memory tantivy index per node, derived from the database (every
//! node builds its own on start and keeps it current from the rooms' change feeds), searched
//! with jieba terms expanded by the synonym list.

use super::facets::FacetCounter;
use super::synonyms::Synonyms;
use super::tokenizer::{self, Jieba};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// One document of any room: a matter, an article, a letter, a dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    /// matter, article, letter, dataset.
    pub kind: String,
    /// Unique within its kind (a matter's code).
    pub id: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub department: String,
    pub department_name: String,
    pub site: String,
    /// YYYY-MM-DD, or empty.
    pub date: String,
}

/// What a search may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub site: Option<String>,
    pub department: Option<String>,
    pub year: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub title: String,
    pub url: String,
    /// The best fragment of the body, HTML-escaped, the query's terms in `<b>`.
    pub snippet: String,
    pub department: String,
    pub department_name: String,
    pub date: String,
    pub score: f32,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Facets {
    #[serde(rename = "type")]
    pub kind: BTreeMap<String, usize>,
    pub department: BTreeMap<String, usize>,
    pub site: BTreeMap<String, usize>,
    pub year: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Results {
    pub items: Vec<Hit>,
    pub total: usize,
    /// Counted over every match.
    pub facets: Facets,
    /// The terms searched for, synonyms included.
    pub terms: Vec<String>,
}

/// How many of the best matches a ranking for another list ([`Engine::ids`]) may take.
pub const RANKED_IDS: usize = 1000;

/// The fields the facets count, by name (each `STRING | FAST`), in [`Facets`]' order.
pub(super) const FACET_FIELDS: [&str; 4] = ["kind", "department", "site", "year"];

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    id: Field,
    title: Field,
    body: Field,
    url: Field,
    department: Field,
    department_name: Field,
    site: Field,
    year: Field,
    date: Field,
    /// The id and its prefixes at each `-` (WX-SJ-001: wx, wx-sj, wx-sj-001), lower case: a
    /// code, or the start of one, finds its documents.
    code: Field,
}

pub struct Engine {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct IndexError(pub String);

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError(e.to_string())
    }
}

impl Engine {
    /// A new, empty index in memory.
    pub fn new() -> Result<Engine, IndexError> {
        let mut b = Schema::builder();
        let text = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer::NAME)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_stored();
        let f = Fields {
            key: b.add_text_field("key", STRING),
            kind: b.add_text_field("kind", STRING | STORED | FAST),
            id: b.add_text_field("id", STRING | STORED | FAST),
            title: b.add_text_field("title", text.clone()),
            body: b.add_text_field("body", text),
            url: b.add_text_field("url", STORED),
            department: b.add_text_field("department", STRING | STORED | FAST),
            department_name: b.add_text_field("department_name", STORED),
            site: b.add_text_field("site", STRING | STORED | FAST),
            year: b.add_text_field("year", STRING | FAST),
            date: b.add_text_field("date", STORED),
            // Frequencies too, as in every other field searched: a query made only of terms
            // with frequencies is searched by block-max WAND.
            code: b.add_text_field(
                "code",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("raw")
                        .set_index_option(IndexRecordOption::WithFreqs),
                ),
            ),
        };
        let mut index = Index::create_in_ram(b.build());
        // A query's segments are searched on every core: one citizen's search waits less.
        index.set_default_multithread_executor()?;
        index.tokenizers().register(
            tokenizer::NAME,
            tantivy::tokenizer::TextAnalyzer::from(Jieba::default()),
        );
        let writer = index.writer_with_num_threads(1, 50_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Engine {
            index,
            reader,
            writer: Mutex::new(writer),
            f,
        })
    }

    fn key(kind: &str, id: &str) -> String {
        format!("{kind}:{id}")
    }

    /// Put `docs` in (replacing those of the same kind and id) and take `gone` (kind, id)
    /// out; visible to searches when this returns.
    pub fn apply(&self, docs: &[Doc], gone: &[(String, String)]) -> Result<(), IndexError> {
        let f = self.f;
        let mut w = self
            .writer
            .lock()
            .map_err(|_| IndexError("the index writer was poisoned".into()))?;
        for (kind, id) in gone {
            w.delete_term(Term::from_field_text(f.key, &Self::key(kind, id)));
        }
        for d in docs {
            w.delete_term(Term::from_field_text(f.key, &Self::key(&d.kind, &d.id)));
            let mut doc = TantivyDocument::default();
            doc.add_text(f.key, Self::key(&d.kind, &d.id));
            doc.add_text(f.kind, &d.kind);
            doc.add_text(f.id, &d.id);
            doc.add_text(f.title, &d.title);
            doc.add_text(f.body, &d.body);
            doc.add_text(f.url, &d.url);
            doc.add_text(f.department, &d.department);
            doc.add_text(f.department_name, &d.department_name);
            doc.add_text(f.site, &d.site);
            doc.add_text(f.year, d.date.get(..4).unwrap_or(""));
            doc.add_text(f.date, &d.date);
            let id = d.id.to_lowercase();
            for (i, _) in id.match_indices('-') {
                doc.add_text(f.code, id.get(..i).unwrap_or(""));
            }
            doc.add_text(f.code, &id);
            w.add_document(doc)?;
        }
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Empty the index.
    pub fn clear(&self) -> Result<(), IndexError> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| IndexError("the index writer was poisoned".into()))?;
        w.delete_all_documents()?;
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// How many documents the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Search for `q`: its terms and their synonyms, in titles (weighed three times) and
    /// bodies, narrowed by `filter`; page `page` (from 1) of `per_page`.
    pub fn search(
        &self,
        q: &str,
        synonyms: &Synonyms,
        filter: &Filter,
        page: usize,
        per_page: usize,
    ) -> Result<Results, IndexError> {
        let f = self.f;
        let terms = synonyms.expand(q);
        let Some(query) = self.query(q, &terms, filter) else {
            return Ok(Results::default());
        };
        let searcher = self.reader.searcher();
        let from = page.saturating_sub(1) * per_page;
        // The page's documents by score, then every match counted by its facets without
        // scoring (in blocks); stored fields are read for the page only. The `Count` beside
        // the top documents keeps tantivy from pruning with block-max WAND, which on queries
        // of many common terms (synonyms expanded) visits more than the plain union does.
        let (top, _) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(per_page.max(1))
                    .and_offset(from)
                    .order_by_score(),
                Count,
            ),
        )?;
        let counts = searcher.search(&query, &FacetCounter)?;
        let text = |d: &TantivyDocument, field: Field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let words: Vec<&str> = terms.iter().map(|(t, _)| t.as_str()).collect();
        let mut items = Vec::with_capacity(top.len());
        for (score, addr) in top.into_iter().take(per_page) {
            let d: TantivyDocument = searcher.doc(addr)?;
            items.push(Hit {
                kind: text(&d, f.kind),
                id: text(&d, f.id),
                title: text(&d, f.title),
                url: text(&d, f.url),
                snippet: snippet(&text(&d, f.body), &words, 60),
                department: text(&d, f.department),
                department_name: text(&d, f.department_name),
                date: text(&d, f.date),
                score,
            });
        }
        let [kind, department, site, year] = counts.maps;
        let facets = Facets {
            kind,
            department,
            site,
            year,
        };
        let total = counts.total;
        let mut seen = BTreeSet::new();
        Ok(Results {
            items,
            total,
            facets,
            terms: terms
                .into_iter()
                .map(|(t, _)| t)
                .filter(|t| seen.insert(t.clone()))
                .collect(),
        })
    }

    /// The query for `q`'s `terms` (with their weights): each in titles (×3) and bodies, a
    /// code or its start as typed, narrowed by `filter`; `None` when there is nothing to
    /// look for.
    fn query(&self, q: &str, terms: &[(String, f32)], filter: &Filter) -> Option<BooleanQuery> {
        let f = self.f;
        if terms.is_empty() {
            return None;
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (t, weight) in terms {
            for (field, boost) in [(f.title, 3.0), (f.body, 1.0)] {
                let tq = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                );
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(tq), boost * weight)),
                ));
            }
        }
        // A code, or the start of one, as typed.
        let typed = q.trim().to_lowercase();
        if !typed.is_empty() && typed.len() <= 64 {
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.code, &typed),
                        IndexRecordOption::WithFreqs,
                    )),
                    10.0,
                )),
            ));
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, value) in [
            (f.kind, &filter.kind),
            (f.site, &filter.site),
            (f.department, &filter.department),
            (f.year, &filter.year),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                must.push((
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, v),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
        }
        // Unfiltered, the terms alone: a flat union of term queries, which tantivy prunes.
        if must.is_empty() {
            return Some(BooleanQuery::new(should));
        }
        must.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        Some(BooleanQuery::new(must))
    }

    /// The ids of the best `limit` matches of `q` (of kind `filter.kind`…), best first: for
    /// ranking a list elsewhere, without snippets or facets.
    pub fn ids(
        &self,
        q: &str,
        synonyms: &Synonyms,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<String>, IndexError> {
        let Some(query) = self.query(q, &synonyms.expand(q), filter) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        // From the id's fast column: no stored document is opened.
        let mut columns = BTreeMap::new();
        let mut out = Vec::with_capacity(top.len());
        let mut id = String::new();
        for (_, addr) in top {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .str("id")?,
                ),
            };
            let Some(column) = column.as_ref() else {
                continue;
            };
            if let Some(ord) = column.term_ords(addr.doc_id).next() {
                id.clear();
                if column.ord_to_str(ord, &mut id).unwrap_or(false) {
                    out.push(id.clone());
                }
            }
        }
        Ok(out)
    }

    /// The index itself (for tests and the bench).
    pub fn index(&self) -> &Index {
        &self.index
    }
}

/// About `chars` characters of `body` around the first of `words` it holds (its start when it
/// holds none), HTML-escaped, each word found in `<b>`. Written here rather than taken from
/// tantivy, whose snippets assume tokens that do not overlap (jieba's search mode overlaps).
pub fn snippet(body: &str, words: &[&str], chars: usize) -> String {
    let lower = body.to_lowercase();
    let chars_of: Vec<(usize, char)> = body.char_indices().collect();
    let first = words
        .iter()
        .filter(|w| !w.is_empty())
        .filter_map(|w| lower.find(w))
        .min()
        .unwrap_or(0);
    // Start a few characters before the first word.
    let at = chars_of.iter().position(|(i, _)| *i >= first).unwrap_or(0);
    let start = at.saturating_sub(10);
    let end = (start + chars).min(chars_of.len());
    let (Some(&(from, _)), to) = (
        chars_of.get(start),
        chars_of.get(end).map_or(body.len(), |(i, _)| *i),
    ) else {
        return String::new();
    };
    let piece = body.get(from..to).unwrap_or("");
    let lower_piece = piece.to_lowercase();
    // Mark the words (longest first, never inside a mark), then escape around them.
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut ws: Vec<&&str> = words.iter().filter(|w| !w.is_empty()).collect();
    ws.sort_by_key(|w| std::cmp::Reverse(w.len()));
    for w in ws {
        let mut i = 0;
        while let Some(p) = lower_piece.get(i..).and_then(|s| s.find(*w)) {
            let (a, b) = (i + p, i + p + w.len());
            if piece.is_char_boundary(a)
                && piece.is_char_boundary(b)
                && !marks.iter().any(|(x, y)| a < *y && *x < b)
            {
                marks.push((a, b));
            }
            i = b;
        }
    }
    marks.sort();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut last = 0;
    for (a, b) in marks {
        out.push_str(&esc(piece.get(last..a).unwrap_or("")));
        out.push_str("<b>");
        out.push_str(&esc(piece.get(a..b).unwrap_or("")));
        out.push_str("</b>");
        last = b;
    }
    out.push_str(&esc(piece.get(last..).unwrap_or("")));
    if to < body.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(i: usize) -> Doc {
        Doc {
            kind: ["matter", "article"][i % 2].into(),
            id: format!("WX-T-{i:03}"),
            // Ever more 公积金 in the title: the ranking is known.
            title: format!("{}提取", "公积金".repeat(1 + i % 7)),
            body: "住房公积金".into(),
            url: format!("/x/{i}"),
            department: format!("d{}", i % 3),
            site: if i.is_multiple_of(5) {
                String::new()
            } else {
                "s1".into()
            },
            date: if i < 10 {
                String::new()
            } else {
                format!("202{}-01-01", i % 4)
            },
            ..Doc::default()
        }
    }

    #[test]
    fn pages_and_facets_over_every_match() {
        let e = Engine::new().unwrap();
        let docs: Vec<Doc> = (0..2100).map(doc).collect();
        // Several commits: several segments.
        for chunk in docs.chunks(700) {
            e.apply(chunk, &[]).unwrap();
        }
        e.apply(&[], &[("matter".into(), "WX-T-000".into())])
            .unwrap();
        let syn = Synonyms::default();
        let all = e.search("公积金", &syn, &Filter::default(), 1, 10).unwrap();
        assert_eq!(all.total, 2099);
        assert_eq!(all.items.len(), 10);
        assert_eq!(all.facets.kind["article"], 1050);
        assert_eq!(all.facets.kind["matter"], 1049);
        assert_eq!(all.facets.department.values().sum::<usize>(), 2099);
        // Documents without a site or a date are in no site or year facet.
        assert_eq!(all.facets.site["s1"], 1680);
        assert!(!all.facets.site.contains_key(""));
        assert_eq!(all.facets.year.values().sum::<usize>(), 2090);
        // Page 2 continues page 1 by score.
        let two = e.search("公积金", &syn, &Filter::default(), 2, 10).unwrap();
        assert_eq!(two.total, 2099);
        assert_eq!(two.items.len(), 10);
        assert!(two
            .items
            .iter()
            .all(|h| all.items.iter().all(|a| a.id != h.id)));
        assert!(two.items[0].score <= all.items[9].score);
        // Narrowed, the facets count what is left.
        let filter = Filter {
            kind: Some("article".into()),
            department: Some("d1".into()),
            ..Filter::default()
        };
        let some = e.search("公积金", &syn, &filter, 1, 10).unwrap();
        assert_eq!(some.total, 350);
        assert_eq!(some.facets.kind.len(), 1);
        assert_eq!(some.facets.department["d1"], 350);
        // A code as typed; and rankings read ids without opening documents.
        let code = e
            .search("wx-t-007", &syn, &Filter::default(), 1, 1)
            .unwrap();
        assert_eq!(code.items[0].id, "WX-T-007");
        let ids = e.ids("公积金", &syn, &Filter::default(), 5).unwrap();
        assert_eq!(ids.len(), 5);
        assert_eq!(ids[0], all.items[0].id);
        assert!(e
            .search("", &syn, &Filter::default(), 1, 10)
            .unwrap()
            .items
            .is_empty());
        // Past the last page: nothing, and still the total.
        let past = e
            .search("公积金", &syn, &Filter::default(), 300, 10)
            .unwrap();
        assert!(past.items.is_empty());
        assert_eq!(past.total, 2099);
    }

    #[test]
    fn snippets_mark_and_escape() {
        let s = snippet(
            "申请<住房>公积金提取，须提供租赁合同",
            &["公积金", "租赁"],
            60,
        );
        assert_eq!(
            s,
            "申请&lt;住房&gt;<b>公积金</b>提取，须提供<b>租赁</b>合同"
        );
        assert_eq!(snippet("", &["x"], 10), "");
        let long = "甲".repeat(100) + "公积金";
        assert!(snippet(&long, &["公积金"], 20).starts_with('…'));
    }
}
