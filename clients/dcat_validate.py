"""Read Tongban's DCAT output with rdflib and validate it against the DCAT-AP 3 SHACL shapes.

Usage: python dcat_validate.py BASE_URL DATASET_ID
Prints one JSON object of what it found; exits non-zero if a document cannot be fetched.
"""

import json
import os
import sys
import urllib.request

import pyshacl
import rdflib
from rdflib.compare import isomorphic

base, dataset = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
shapes = rdflib.Graph().parse(os.path.join(here, "dcat-ap", "dcat-ap-SHACL.ttl"), format="turtle")
FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}
HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


def fetch(path):
    with urllib.request.urlopen(base + path) as r:
        return r.headers.get("Content-Type"), r.read()


def graph(path, ext):
    kind, body = fetch(path)
    return kind, rdflib.Graph().parse(data=body, format=FORMATS[ext])


SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def check(g):
    """Whether g conforms, and each distinct violation (path: message) when not."""
    conforms, report, _ = pyshacl.validate(g, shacl_graph=shapes, advanced=True)
    found = sorted({"%s: %s" % (report.value(r, SH.resultPath), report.value(r, SH.resultMessage))
                    for r in report.subjects(rdflib.RDF.type, SH.ValidationResult)})
    return conforms, found


seen = {}
catalog = {}
for ext in FORMATS:
    kind, g = graph("/catalog.%s" % ext, ext)
    catalog[ext] = g
    conforms, text = check(g)
    seen["catalog_" + ext] = {"type": kind.split(";")[0], "conforms": conforms, "report": text}


def differences(a, b):
    """Triples in one graph and not the other (a few of each), when they differ."""
    if isomorphic(a, b):
        return []
    from rdflib.compare import graph_diff, to_isomorphic
    _, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
    return sorted(str(t) for t in only_a)[:3] + sorted(str(t) for t in only_b)[:3]


def without_paging(g):
    """g less its Hydra page node, which names the page in its own writing."""
    out = rdflib.Graph()
    pages = set(g.subjects(rdflib.RDF.type, HYDRA.PagedCollection))
    for t in g:
        if t[0] not in pages:
            out.add(t)
    return out


plain = {ext: without_paging(g) for ext, g in catalog.items()}
seen["catalog_differences"] = differences(plain["ttl"], plain["rdf"]) + differences(
    plain["ttl"], plain["jsonld"])
g = catalog["ttl"]
seen["datasets_on_page"] = len(set(g.objects(None, DCAT.dataset)))
seen["total_items"] = [int(o) for o in g.objects(None, HYDRA.totalItems)]
seen["next_page"] = [str(o) for o in g.objects(None, HYDRA.nextPage)]
kind, g2 = graph("/catalog.ttl?page=2", "ttl")
seen["page2_datasets"] = len(set(g2.objects(None, DCAT.dataset)))
seen["page2_previous"] = [str(o) for o in g2.objects(None, HYDRA.previousPage)]

one = {}
for ext in FORMATS:
    kind, g = graph("/dataset/%s.%s" % (dataset, ext), ext)
    one[ext] = g
    conforms, text = check(g)
    seen["dataset_" + ext] = {"type": kind.split(";")[0], "conforms": conforms, "report": text}
seen["dataset_differences"] = differences(one["ttl"], one["rdf"]) + differences(one["ttl"], one["jsonld"])
d = one["ttl"]
seen["distributions"] = len(set(d.objects(None, DCAT.distribution)))
seen["download_urls"] = sorted(str(o).split("/")[-1] for o in d.objects(None, DCAT.downloadURL))
print(json.dumps(seen, ensure_ascii=False))
