//! Facets counted over every match of a search: the term ordinals of the facet fields' fast
//! columns, read in blocks without scoring and named only at the end.

use super::index::FACET_FIELDS;
use std::collections::BTreeMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Counts every match by the terms of the [`FACET_FIELDS`] (from their fast columns, by term
/// ordinal, named only at the end), and the matches themselves.
pub(super) struct FacetCounter;

#[derive(Default)]
pub(super) struct FacetFruit {
    pub(super) total: usize,
    pub(super) maps: [BTreeMap<String, usize>; 4],
}

pub(super) struct FacetSegment {
    columns: Vec<Option<StrColumn>>,
    counts: Vec<Vec<u32>>,
    total: usize,
    ords: Vec<Option<u64>>,
}

impl Collector for FacetCounter {
    type Fruit = FacetFruit;
    type Child = FacetSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FacetSegment> {
        let mut columns = Vec::with_capacity(FACET_FIELDS.len());
        let mut counts = Vec::with_capacity(FACET_FIELDS.len());
        for name in FACET_FIELDS {
            let column = reader.fast_fields().str(name)?;
            counts.push(vec![0; column.as_ref().map_or(0, |c| c.num_terms())]);
            columns.push(column);
        }
        Ok(FacetSegment {
            columns,
            counts,
            total: 0,
            ords: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut all = FacetFruit::default();
        for fruit in fruits {
            all.total += fruit.total;
            for (into, from) in all.maps.iter_mut().zip(fruit.maps) {
                for (k, n) in from {
                    *into.entry(k).or_default() += n;
                }
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.total += 1;
        for (column, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            if let Some(column) = column {
                for ord in column.term_ords(doc) {
                    if let Some(n) = counts.get_mut(ord as usize) {
                        *n += 1;
                    }
                }
            }
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.total += docs.len();
        self.ords.resize(docs.len(), None);
        for (column, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            let Some(column) = column else { continue };
            self.ords.fill(None);
            // Each facet field holds one value per document.
            column.ords().first_vals(docs, &mut self.ords);
            for ord in self.ords.iter().flatten() {
                if let Some(n) = counts.get_mut(*ord as usize) {
                    *n += 1;
                }
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        let mut fruit = FacetFruit {
            total: self.total,
            ..FacetFruit::default()
        };
        for ((column, counts), map) in self
            .columns
            .iter()
            .zip(self.counts)
            .zip(fruit.maps.iter_mut())
        {
            let Some(column) = column else { continue };
            let mut name = String::new();
            for (ord, n) in counts.into_iter().enumerate() {
                if n == 0 {
                    continue;
                }
                name.clear();
                // Empty values (no department, no site, no date) are not a facet.
                if column.ord_to_str(ord as u64, &mut name).unwrap_or(false) && !name.is_empty() {
                    *map.entry(name.clone()).or_default() += n as usize;
                }
            }
        }
        fruit
    }
}
