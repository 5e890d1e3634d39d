"""Drive Tongban's CKAN Action API with the unmodified `ckanapi` client.

Usage: python ckan_client.py BASE_URL TOKEN
Prints one JSON object of what it saw; exits non-zero on the first thing that is wrong.
"""

import json
import sys

import ckanapi

base, token = sys.argv[1], sys.argv[2]
seen = {}

anon = ckanapi.RemoteCKAN(base, user_agent="tongban-tests/1.0")
publisher = ckanapi.RemoteCKAN(base, apikey=token, user_agent="tongban-tests/1.0")

# Create (with a resource), as a publisher would from a script.
created = publisher.action.package_create(
    name="air-quality",
    title="空气质量日报",
    notes="各监测点每日空气质量指数",
    tags=[{"name": "空气"}, {"name": "环境"}],
    groups=[{"name": "environment"}],
    resources=[{"name": "日报", "url": "https://data.example.cn/aqi.csv", "format": "CSV"}],
)
seen["created"] = created["name"]
seen["created_resources"] = len(created["resources"])

# List, search, show: anonymous.
seen["list"] = anon.action.package_list()
found = anon.action.package_search(q="空气", fq="groups:environment", rows=5,
                                   **{"facet.field": '["organization", "tags"]'})
seen["search_count"] = found["count"]
seen["search_first"] = found["results"][0]["name"]
seen["facet_tags"] = found["facets"]["tags"]
shown = anon.action.package_show(id="air-quality")
seen["show_title"] = shown["title"]
seen["orgs"] = anon.action.organization_list(all_fields=True)[0].keys().__contains__("package_count")
seen["groups"] = "environment" in anon.action.group_list()
seen["resource_format"] = anon.action.resource_show(id=shown["resources"][0]["id"])["format"]

# The errors arrive as ckanapi's own exceptions.
try:
    anon.action.package_show(id="no-such-dataset")
    seen["not_found"] = False
except ckanapi.NotFound:
    seen["not_found"] = True
try:
    anon.action.package_create(name="nope")
    seen["not_authorized"] = False
except ckanapi.NotAuthorized:
    seen["not_authorized"] = True
try:
    publisher.action.package_create(name="Bad Name")
    seen["validation"] = None
except ckanapi.ValidationError as e:
    seen["validation"] = sorted(k for k in e.error_dict if k not in ("__type", "message"))

# The DataStore: a typed table made with a new resource, then queried.
made = publisher.action.datastore_create(
    resource={"package_id": "air-quality", "name": "监测点"},
    fields=[{"id": "station", "type": "text", "info": {"label": "监测点"}},
            {"id": "aqi", "type": "int", "info": {"label": "空气质量指数"}}],
    records=[{"station": "黄巷", "aqi": 52}, {"station": "漆塘", "aqi": 71},
             {"station": "黄巷", "aqi": 48}],
    indexes=["station"],
)
rows = anon.action.datastore_search(resource_id=made["resource_id"],
                                    filters={"station": "黄巷"}, sort="aqi asc")
seen["datastore_total"] = rows["total"]
seen["datastore_aqi"] = [r["aqi"] for r in rows["records"]]

# A file uploaded as ckanapi sends it (multipart, part "upload"), read into the DataStore,
# then asked in SQL.
import io
upload = io.BytesIO("监测点,指数\n黄巷,52\n漆塘,71\n".encode("utf-8"))
upload.name = "stations.csv"
res = publisher.action.resource_create(package_id="air-quality", upload=upload)
seen["upload"] = [res["url_type"], res["format"], res["datastore_active"], res["name"]]
sql = anon.action.datastore_search_sql(
    sql='SELECT max("field_2") AS top FROM "%s"' % res["id"])
seen["sql_top"] = sql["records"][0]["top"]
try:
    anon.action.datastore_search_sql(sql="SELECT * FROM od_tokens")
    seen["sql_refused"] = False
except ckanapi.NotAuthorized:
    seen["sql_refused"] = True

# GET-only clients too.
getter = ckanapi.RemoteCKAN(base, user_agent="tongban-tests/1.0", get_only=True)
seen["get_only_count"] = getter.action.package_search(q="空气")["count"]

print(json.dumps(seen, ensure_ascii=False))
