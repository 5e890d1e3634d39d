//! The catalogue in DCAT-AP 3, for harvesters (data.gov.cn-style portals, the EU's, CKAN's
//! ckanext-dcat): `/catalog.ttl`, `/catalog.rdf` and `/catalog.jsonld` (published datasets,
//! newest first, 100 a page, paged with Hydra as ckanext-dcat pages: `?page=N`), and one
//! dataset at `/dataset/{id or name}.ttl`, `.rdf` or `.jsonld`. Every node a shape expects
//! to be of a class says so (publishers `foaf:Agent`, contact points `vcard:Kind`, themes
//! `skos:Concept`, licences `dct:LicenseDocument`, formats and media types, frequencies from
//! the EU vocabulary); dates are typed `xsd:dateTime`. IRIs are built on the configured
//! public address, never on the request's Host.

use crate::actions::visible;
use crate::ckan::Caller;
use crate::datasets;
use crate::rdf::{Graph, Term};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::collections::HashMap;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, Ctx};

pub const PUBLIC_PATHS: [&str; 4] = [
    "/catalog.ttl",
    "/catalog.rdf",
    "/catalog.jsonld",
    "/dataset/{file}",
];

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route(
            PUBLIC_PATHS[0],
            get(|s: State<Ctx>, q: Query<HashMap<String, String>>| catalog(s, q, "ttl")),
        )
        .route(
            PUBLIC_PATHS[1],
            get(|s: State<Ctx>, q: Query<HashMap<String, String>>| catalog(s, q, "rdf")),
        )
        .route(
            PUBLIC_PATHS[2],
            get(|s: State<Ctx>, q: Query<HashMap<String, String>>| catalog(s, q, "jsonld")),
        )
        .route(PUBLIC_PATHS[3], get(one))
}

/// Datasets on one page of the catalogue (ckanext-dcat's default).
pub const PAGE: i64 = 100;

/// The EU frequency vocabulary's term for a dataset's update frequency.
fn frequency(f: &str) -> &'static str {
    match f {
        "continuous" => "UPDATE_CONT",
        "daily" => "DAILY",
        "weekly" => "WEEKLY",
        "monthly" => "MONTHLY",
        "quarterly" => "QUARTERLY",
        "annual" => "ANNUAL",
        "never" => "NEVER",
        _ => "IRREG",
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// An address as an absolute IRI on `base`.
fn absolute(base: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        format!("{base}/{}", url.trim_start_matches('/'))
    }
}

/// The triples of one dataset (a CKAN package dictionary).
fn dataset(g: &mut Graph, base: &str, pkg: &Value) {
    let id = s(pkg, "id");
    let me = Term::iri(format!("{base}/dataset/{id}"));
    g.add(&me, "rdf:type", Term::iri("dcat:Dataset"));
    g.add(&me, "dct:identifier", Term::text(id));
    g.add(&me, "dct:title", Term::zh(s(pkg, "title")));
    let notes = s(pkg, "notes");
    g.add(
        &me,
        "dct:description",
        Term::zh(if notes.is_empty() {
            s(pkg, "title")
        } else {
            notes
        }),
    );
    for (k, p) in [
        ("metadata_created", "dct:issued"),
        ("metadata_modified", "dct:modified"),
    ] {
        g.add(&me, p, Term::typed(s(pkg, k), "xsd:dateTime"));
    }
    g.add(&me, "owl:versionInfo", Term::text(s(pkg, "version")));
    let freq = Term::iri(format!(
        "http://publications.europa.eu/resource/authority/frequency/{}",
        frequency(s(pkg, "frequency"))
    ));
    g.add(&me, "dct:accrualPeriodicity", freq.clone());
    g.add(&freq, "rdf:type", Term::iri("dct:Frequency"));
    let landing = Term::iri(format!("{base}/data/dataset/{}", s(pkg, "name")));
    g.add(&me, "dcat:landingPage", landing.clone());
    g.add(&landing, "rdf:type", Term::iri("foaf:Document"));
    for t in pkg["tags"].as_array().into_iter().flatten() {
        g.add(&me, "dcat:keyword", Term::zh(s(t, "name")));
    }
    for grp in pkg["groups"].as_array().into_iter().flatten() {
        let theme = Term::iri(format!("{base}/group/{}", s(grp, "name")));
        g.add(&me, "dcat:theme", theme.clone());
        g.add(&theme, "rdf:type", Term::iri("skos:Concept"));
        g.add(&theme, "skos:prefLabel", Term::zh(s(grp, "title")));
        g.add(&theme, "skos:inScheme", Term::iri(format!("{base}/group")));
    }
    // The publisher: the owning department.
    let org = s(pkg, "owner_org");
    let agent = Term::iri(format!("{base}/organization/{org}"));
    g.add(&me, "dct:publisher", agent.clone());
    g.add(&agent, "rdf:type", Term::iri("foaf:Agent"));
    let org_name = s(&pkg["organization"], "title").to_owned();
    g.add(&agent, "foaf:name", Term::zh(org_name.clone()));
    // The contact point: the maintainer, else the department.
    let contact = Term::Blank(format!("contact-{id}"));
    g.add(&me, "dcat:contactPoint", contact.clone());
    g.add(&contact, "rdf:type", Term::iri("vcard:Kind"));
    g.add(&contact, "rdf:type", Term::iri("vcard:Organization"));
    let who = [s(pkg, "maintainer"), s(pkg, "author")]
        .into_iter()
        .find(|x| !x.is_empty())
        .map(str::to_owned)
        .unwrap_or(org_name);
    g.add(&contact, "vcard:fn", Term::zh(who));
    let email = [s(pkg, "maintainer_email"), s(pkg, "author_email")]
        .into_iter()
        .find(|x| x.contains('@'));
    match email {
        Some(e) => g.add(&contact, "vcard:hasEmail", Term::iri(format!("mailto:{e}"))),
        None => g.add(
            &contact,
            "vcard:hasURL",
            Term::iri(format!("{base}/organization/{org}")),
        ),
    }
    let licence = s(pkg, "license_url");
    for r in pkg["resources"].as_array().into_iter().flatten() {
        let rid = s(r, "id");
        let d = Term::iri(format!("{base}/dataset/{id}/resource/{rid}"));
        g.add(&me, "dcat:distribution", d.clone());
        g.add(&d, "rdf:type", Term::iri("dcat:Distribution"));
        g.add(&d, "dct:identifier", Term::text(rid));
        let title = if s(r, "name").is_empty() {
            s(pkg, "title")
        } else {
            s(r, "name")
        };
        g.add(&d, "dct:title", Term::zh(title));
        if !s(r, "description").is_empty() {
            g.add(&d, "dct:description", Term::zh(s(r, "description")));
        }
        let url = Term::iri(absolute(base, s(r, "url")));
        g.add(&d, "dcat:accessURL", url.clone());
        g.add(&url, "rdf:type", Term::iri("rdfs:Resource"));
        if r["url_type"] == "upload" || s(r, "url").starts_with("/datastore/dump/") {
            g.add(&d, "dcat:downloadURL", url);
        }
        let format = s(r, "format");
        if !format.is_empty() {
            let f = Term::iri(format!(
                "http://publications.europa.eu/resource/authority/file-type/{format}"
            ));
            g.add(&d, "dct:format", f.clone());
            g.add(&f, "rdf:type", Term::iri("dct:MediaTypeOrExtent"));
        }
        let media = match s(r, "mimetype") {
            "" => crate::files::media_type(format),
            m => m,
        };
        if media != "application/octet-stream" {
            let m = Term::iri(format!(
                "https://www.iana.org/assignments/media-types/{media}"
            ));
            g.add(&d, "dcat:mediaType", m.clone());
            g.add(&m, "rdf:type", Term::iri("dct:MediaType"));
        }
        if !licence.is_empty() {
            let l = Term::iri(licence);
            g.add(&d, "dct:license", l.clone());
            g.add(&l, "rdf:type", Term::iri("dct:LicenseDocument"));
        }
        if let Some(n) = r["size"].as_i64() {
            g.add(
                &d,
                "dcat:byteSize",
                Term::typed(n.to_string(), "xsd:nonNegativeInteger"),
            );
        }
        for (k, p) in [("created", "dct:issued"), ("last_modified", "dct:modified")] {
            g.add(&d, p, Term::typed(s(r, k), "xsd:dateTime"));
        }
    }
}

/// The catalogue node itself, with its themes' scheme.
fn catalog_node(g: &mut Graph, base: &str, city: &str, modified: Option<&str>) -> Term {
    let me = Term::iri(format!("{base}/catalog"));
    g.add(&me, "rdf:type", Term::iri("dcat:Catalog"));
    g.add(
        &me,
        "dct:title",
        Term::zh(format!("{city}公共数据开放目录")),
    );
    g.add(
        &me,
        "dct:description",
        Term::zh(format!(
            "{city}各部门开放的政务数据集，可经 CKAN API 与 DCAT 取用"
        )),
    );
    let gov = Term::iri(format!("{base}/organization"));
    g.add(&me, "dct:publisher", gov.clone());
    g.add(&gov, "rdf:type", Term::iri("foaf:Agent"));
    g.add(&gov, "foaf:name", Term::zh(format!("{city}人民政府")));
    let home = Term::iri(format!("{base}/data"));
    g.add(&me, "foaf:homepage", home.clone());
    g.add(&home, "rdf:type", Term::iri("foaf:Document"));
    let zh = Term::iri("http://publications.europa.eu/resource/authority/language/ZHO");
    g.add(&me, "dct:language", zh.clone());
    g.add(&zh, "rdf:type", Term::iri("dct:LinguisticSystem"));
    let scheme = Term::iri(format!("{base}/group"));
    g.add(&me, "dcat:themeTaxonomy", scheme.clone());
    g.add(&scheme, "rdf:type", Term::iri("skos:ConceptScheme"));
    g.add(&scheme, "dct:title", Term::zh("数据主题"));
    if let Some(m) = modified {
        g.add(&me, "dct:modified", Term::typed(m, "xsd:dateTime"));
    }
    me
}

/// One page of the catalogue: (total, the page's datasets as CKAN dictionaries).
fn page_of(c: &mut dyn Conn, page: i64) -> Result<(i64, Vec<Value>), DbError> {
    let total = c
        .query_one(
            "SELECT COUNT(*) AS n FROM od_datasets WHERE state = 'active'",
            &[],
        )?
        .get_i64("n")?;
    let rows = c.query(
        "SELECT id FROM od_datasets WHERE state = 'active' ORDER BY modified_at DESC, id
         LIMIT $1 OFFSET $2",
        params![PAGE, (page - 1) * PAGE],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(p) = datasets::package(c, &r.get_str("id")?)? {
            out.push(p);
        }
    }
    Ok((total, out))
}

fn render(g: &Graph, ext: &str) -> Response {
    let (kind, body) = match ext {
        "ttl" => ("text/turtle; charset=utf-8", g.turtle()),
        "rdf" => ("application/rdf+xml; charset=utf-8", g.rdf_xml()),
        _ => ("application/ld+json", g.json_ld().to_string()),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

fn failed(e: DbError) -> Response {
    tracing::error!(error = %e, "DCAT failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server failed; try again",
    )
        .into_response()
}

async fn city(ctx: &Ctx) -> String {
    match tongban_platform::region::current(&ctx.db).await {
        Ok(r) if !r.meta.name.is_empty() => r.meta.name.clone(),
        _ => String::new(),
    }
}

async fn catalog(
    State(ctx): State<Ctx>,
    Query(q): Query<HashMap<String, String>>,
    ext: &'static str,
) -> Response {
    let page = match q.get("page").map(|p| p.trim().parse::<i64>()) {
        None => 1,
        Some(Ok(p)) if (1..=1_000_000).contains(&p) => p,
        Some(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "page: a whole number from 1 (e.g. ?page=2)",
            )
                .into_response()
        }
    };
    let read = ctx.db.read(move |c| page_of(c, page)).await;
    let (total, datasets) = match read {
        Ok(x) => x,
        Err(e) => return failed(e),
    };
    let last = ((total + PAGE - 1) / PAGE).max(1);
    if page > last {
        return (
            StatusCode::NOT_FOUND,
            format!("the catalogue has {last} pages"),
        )
            .into_response();
    }
    let base = ctx.config.public_base();
    let mut g = Graph::default();
    let modified = datasets
        .first()
        .map(|d| s(d, "metadata_modified").to_owned());
    let me = catalog_node(&mut g, &base, &city(&ctx).await, modified.as_deref());
    for d in &datasets {
        g.add(
            &me,
            "dcat:dataset",
            Term::iri(format!("{base}/dataset/{}", s(d, "id"))),
        );
    }
    // Hydra paging, as ckanext-dcat writes it.
    let at = |n: i64| format!("{base}/catalog.{ext}?page={n}");
    let view = Term::iri(at(page));
    g.add(&view, "rdf:type", Term::iri("hydra:PagedCollection"));
    g.add(
        &view,
        "hydra:totalItems",
        Term::typed(total.to_string(), "xsd:integer"),
    );
    g.add(
        &view,
        "hydra:itemsPerPage",
        Term::typed(PAGE.to_string(), "xsd:integer"),
    );
    g.add(&view, "hydra:firstPage", Term::text(at(1)));
    g.add(&view, "hydra:lastPage", Term::text(at(last)));
    if page > 1 {
        g.add(&view, "hydra:previousPage", Term::text(at(page - 1)));
    }
    if page < last {
        g.add(&view, "hydra:nextPage", Term::text(at(page + 1)));
    }
    for d in &datasets {
        dataset(&mut g, &base, d);
    }
    render(&g, ext)
}

async fn one(State(ctx): State<Ctx>, Path(file): Path<String>) -> Response {
    let asked = file
        .rsplit_once('.')
        .filter(|(_, ext)| ["ttl", "rdf", "jsonld"].contains(ext));
    let Some((id, ext)) = asked else {
        return (
            StatusCode::NOT_FOUND,
            "ask for /dataset/{id}.ttl, .rdf or .jsonld",
        )
            .into_response();
    };
    let (id, ext) = (id.to_owned(), ext.to_owned());
    let read = ctx
        .db
        .read(move |c| {
            let anyone = Caller { publisher: None };
            let Some(h) = datasets::head(c, &id)?.filter(|h| visible(&anyone, h)) else {
                return Ok(None);
            };
            datasets::package(c, &h.id)
        })
        .await;
    let pkg = match read {
        Ok(Some(p)) => p,
        Ok(_) => return (StatusCode::NOT_FOUND, "no such published dataset").into_response(),
        Err(e) => return failed(e),
    };
    let base = ctx.config.public_base();
    let mut g = Graph::default();
    dataset(&mut g, &base, &pkg);
    render(&g, &ext)
}
