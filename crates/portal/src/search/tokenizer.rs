//! Chinese text as search terms: jieba's search-mode segmentation (words, and the shorter
//! words inside long ones: 住房公积金 → 住房, 公积, 公积金, 住房公积金), ASCII folded to lower
//! case, punctuation and spaces dropped. The same function cuts documents and queries.

use std::sync::LazyLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

static JIEBA: LazyLock<jieba_rs::Jieba> = LazyLock::new(jieba_rs::Jieba::new);

/// The name the index registers the tokenizer under.
pub const NAME: &str = "jieba_search";

/// The terms of `text`, with their byte ranges, in order.
pub fn terms(text: &str) -> Vec<(String, usize, usize)> {
    JIEBA
        .cut_for_search(text, true)
        .into_iter()
        .filter(|t| t.word.chars().any(char::is_alphanumeric))
        .map(|t| (t.word.to_lowercase(), t.byte_start, t.byte_end))
        .collect()
}

/// Make sure the dictionary is loaded (the first cut takes a moment).
pub fn warm() {
    let _ = terms("预热");
}

/// jieba for tantivy.
#[derive(Clone, Default)]
pub struct Jieba {
    token: Token,
}

pub struct Stream<'a> {
    terms: std::vec::IntoIter<(String, usize, usize)>,
    token: &'a mut Token,
}

impl Tokenizer for Jieba {
    type TokenStream<'a> = Stream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
        self.token.reset();
        Stream {
            terms: terms(text).into_iter(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for Stream<'_> {
    fn advance(&mut self) -> bool {
        match self.terms.next() {
            Some((text, from, to)) => {
                self.token.text = text;
                self.token.offset_from = from;
                self.token.offset_to = to;
                self.token.position = self.token.position.wrapping_add(1);
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_their_parts() {
        let t: Vec<String> = terms("提取住房公积金，ABC")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert!(t.contains(&"提取".to_owned()), "{t:?}");
        assert!(t.contains(&"公积金".to_owned()), "{t:?}");
        assert!(t.contains(&"abc".to_owned()), "{t:?}");
        assert!(!t.iter().any(|x| x == "，"), "{t:?}");
    }
}
