//! A small RDF graph (what DCAT needs: IRIs, blank nodes, plain, language-tagged and typed
//! literals) and its three writings: Turtle, RDF/XML and JSON-LD (a flat `@graph` under a
//! context of the prefixes). Predicates and classes are written as prefixed names of the
//! vocabularies in [`PREFIXES`]; everything else as full IRIs.

use serde_json::{json, Map, Value};

/// The vocabularies used, by prefix.
pub const PREFIXES: [(&str, &str); 13] = [
    ("adms", "http://www.w3.org/ns/adms#"),
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("hydra", "http://www.w3.org/ns/hydra/core#"),
    ("locn", "http://www.w3.org/ns/locn#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("spdx", "http://spdx.org/rdf/terms#"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// A prefixed name of [`PREFIXES`] as its full IRI; anything else as it is.
fn expand(curie: &str) -> String {
    if curie.contains("//") {
        return curie.to_owned();
    }
    match curie.split_once(':') {
        Some((p, local)) => match PREFIXES.iter().find(|(k, _)| *k == p) {
            Some((_, ns)) => format!("{ns}{local}"),
            None => curie.to_owned(),
        },
        None => curie.to_owned(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Iri(String),
    Blank(String),
    /// A literal: its text, its datatype (a prefixed name), its language.
    Lit(String, Option<&'static str>, Option<&'static str>),
}

impl Term {
    pub fn iri(s: impl Into<String>) -> Term {
        Term::Iri(s.into())
    }
    pub fn zh(s: impl Into<String>) -> Term {
        Term::Lit(s.into(), None, Some("zh"))
    }
    pub fn text(s: impl Into<String>) -> Term {
        Term::Lit(s.into(), None, None)
    }
    pub fn typed(s: impl Into<String>, datatype: &'static str) -> Term {
        Term::Lit(s.into(), Some(datatype), None)
    }
}

/// Triples in the order they were said; a subject's triples are written together.
#[derive(Default)]
pub struct Graph {
    triples: Vec<(Term, &'static str, Term)>,
}

impl Graph {
    pub fn add(&mut self, s: &Term, p: &'static str, o: Term) {
        self.triples.push((s.clone(), p, o));
    }

    /// The subjects in first-seen order with their (predicate, object) pairs.
    fn by_subject(&self) -> Vec<(&Term, Vec<(&'static str, &Term)>)> {
        let mut out: Vec<(&Term, Vec<(&'static str, &Term)>)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (s, p, o) in &self.triples {
            let key = format!("{s:?}");
            let i = *index.entry(key).or_insert_with(|| {
                out.push((s, Vec::new()));
                out.len() - 1
            });
            if !out[i].1.iter().any(|(p2, o2)| p2 == p && *o2 == o) {
                out[i].1.push((p, o));
            }
        }
        out
    }

    pub fn turtle(&self) -> String {
        let mut out = String::new();
        for (p, ns) in PREFIXES {
            out.push_str(&format!("@prefix {p}: <{ns}> .\n"));
        }
        for (s, props) in self.by_subject() {
            out.push('\n');
            out.push_str(&ttl_term(s));
            for (i, (p, o)) in props.iter().enumerate() {
                let p = if *p == "rdf:type" { "a" } else { p };
                let sep = if i == 0 { " " } else { " ;\n    " };
                out.push_str(&format!("{sep}{p} {}", ttl_term(o)));
            }
            out.push_str(" .\n");
        }
        out
    }

    pub fn rdf_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rdf:RDF");
        for (p, ns) in PREFIXES {
            out.push_str(&format!("\n  xmlns:{p}=\"{}\"", xml(ns)));
        }
        out.push_str(">\n");
        for (s, props) in self.by_subject() {
            match s {
                Term::Blank(b) => {
                    out.push_str(&format!("  <rdf:Description rdf:nodeID=\"{}\">\n", xml(b)))
                }
                Term::Iri(i) => out.push_str(&format!(
                    "  <rdf:Description rdf:about=\"{}\">\n",
                    xml(&expand(i))
                )),
                Term::Lit(..) => continue,
            }
            for (p, o) in props {
                let line = match o {
                    Term::Iri(i) => format!("<{p} rdf:resource=\"{}\"/>", xml(&expand(i))),
                    Term::Blank(b) => format!("<{p} rdf:nodeID=\"{}\"/>", xml(b)),
                    Term::Lit(t, Some(dt), _) => {
                        format!(
                            "<{p} rdf:datatype=\"{}\">{}</{p}>",
                            xml(&expand(dt)),
                            xml(t)
                        )
                    }
                    Term::Lit(t, None, Some(lang)) => {
                        format!("<{p} xml:lang=\"{lang}\">{}</{p}>", xml(t))
                    }
                    Term::Lit(t, None, None) => format!("<{p}>{}</{p}>", xml(t)),
                };
                out.push_str(&format!("    {line}\n"));
            }
            out.push_str("  </rdf:Description>\n");
        }
        out.push_str("</rdf:RDF>\n");
        out
    }

    pub fn json_ld(&self) -> Value {
        let context: Map<String, Value> = PREFIXES
            .iter()
            .map(|(p, ns)| ((*p).to_owned(), Value::String((*ns).to_owned())))
            .collect();
        let mut nodes = Vec::new();
        for (s, props) in self.by_subject() {
            let id = match s {
                Term::Iri(i) => i.clone(),
                Term::Blank(b) => format!("_:{b}"),
                Term::Lit(..) => continue,
            };
            let mut node = Map::new();
            node.insert("@id".into(), Value::String(id));
            for (p, o) in props {
                if p == "rdf:type" {
                    if let Term::Iri(t) = o {
                        push(&mut node, "@type", Value::String(t.clone()));
                    }
                    continue;
                }
                let v = match o {
                    Term::Iri(i) => json!({"@id": i}),
                    Term::Blank(b) => json!({"@id": format!("_:{b}")}),
                    Term::Lit(t, Some(dt), _) => json!({"@value": t, "@type": dt}),
                    Term::Lit(t, None, Some(lang)) => json!({"@value": t, "@language": lang}),
                    Term::Lit(t, None, None) => json!({"@value": t}),
                };
                push(&mut node, p, v);
            }
            nodes.push(Value::Object(node));
        }
        json!({"@context": context, "@graph": nodes})
    }
}

fn push(node: &mut Map<String, Value>, key: &str, v: Value) {
    match node.get_mut(key) {
        Some(Value::Array(a)) => a.push(v),
        _ => {
            node.insert(key.to_owned(), Value::Array(vec![v]));
        }
    }
}

/// An IRI as Turtle writes it: characters it may not hold %-escaped.
fn ttl_iri(i: &str) -> String {
    let mut out = String::from("<");
    for c in i.chars() {
        if c <= ' ' || "<>\"{}|^`\\".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out.push('>');
    out
}

fn ttl_term(t: &Term) -> String {
    match t {
        Term::Iri(i) => {
            // A class or vocabulary term written by its prefixed name.
            if PREFIXES
                .iter()
                .any(|(p, _)| i.starts_with(&format!("{p}:")))
                && !i.contains('/')
            {
                i.clone()
            } else {
                ttl_iri(i)
            }
        }
        Term::Blank(b) => format!("_:{b}"),
        Term::Lit(text, dt, lang) => {
            let mut s = String::from("\"");
            for c in text.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    c if c.is_control() => s.push_str(&format!("\\u{:04X}", c as u32)),
                    c => s.push(c),
                }
            }
            s.push('"');
            match (dt, lang) {
                (Some(dt), _) => format!("{s}^^{dt}"),
                (None, Some(l)) => format!("{s}@{l}"),
                _ => s,
            }
        }
    }
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
