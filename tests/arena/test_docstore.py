"""Docstore app: MongoDB filters, updates and pipelines over JSON documents; validators, unique
keys and write roles refuse bad writes without changing anything; hires get a laptop."""
from __future__ import annotations

import json

import pytest

from arena.core.company import hire
from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import app_calls

ok, refused = app_calls("docstore")


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["docstore"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as e:
        yield e


def all_docs(ep, collection):
    return [json.loads(r["body"]) for r in ep.query(
        "SELECT d.body FROM ds_documents d JOIN ds_collections c ON c.id = d.collection_id WHERE c.name = ? "
        "ORDER BY d.id", collection)]


def test_asset_lifecycle_episode(ep):
    new = ok(ep, "insert_one", {"collection": "assets", "document": {
        "asset_tag": "LT-90001", "type": "laptop", "brand": "Dell", "model": "Latitude 7440", "serial": "SN900000001",
        "status": "in_stock", "cost": 1450, "assigned_to": None, "tags": ["spare"]}})["insertedId"]
    found = ok(ep, "find", {"collection": "assets", "filter": {"asset_tag": "LT-90001"}})["documents"]
    assert found[0]["_id"] == new and found[0]["status"] == "in_stock"
    upd = ok(ep, "update_one", {"collection": "assets", "filter": {"_id": new}, "update": {
        "$set": {"status": "in_use", "assigned_to": {"username": "jordan.lee", "user_id": 1}},
        "$push": {"tags": "loaner"}, "$inc": {"cost": 50}, "$unset": {"model": ""}}})
    assert upd == {"matchedCount": 1, "modifiedCount": 1, "upsertedId": None}
    doc = ok(ep, "find", {"collection": "assets", "filter": {"assigned_to.user_id": 1, "tags": "loaner"}})["documents"]
    assert len(doc) == 1 and doc[0]["cost"] == 1500 and "model" not in doc[0] and doc[0]["tags"] == ["spare", "loaner"]
    inserted = ep.diff()["ds_documents"]["inserted"]
    assert len(inserted) == 1 and json.loads(inserted[0]["body"])["status"] == "in_use"
    assert ok(ep, "delete_one", {"collection": "assets", "filter": {"_id": new}}) == {"deletedCount": 1}
    assert ok(ep, "count_documents", {"collection": "assets", "filter": {"asset_tag": "LT-90001"}})["count"] == 0
    assert ep.diff() == {}  # created and deleted in the same episode: no net change


def test_query_operators_match_python_reference(ep):
    docs = all_docs(ep, "assets")

    def n(flt):
        return ok(ep, "count_documents", {"collection": "assets", "filter": flt})["count"]

    assert n({"cost": {"$gt": 1000}}) == sum(1 for d in docs if d["cost"] > 1000)
    assert n({"cost": {"$gte": 579, "$lte": 749}}) == sum(1 for d in docs if 579 <= d["cost"] <= 749)
    assert n({"status": {"$ne": "in_use"}}) == sum(1 for d in docs if d["status"] != "in_use")
    assert n({"type": {"$in": ["phone", "monitor"]}}) == sum(1 for d in docs if d["type"] in ("phone", "monitor"))
    assert n({"type": {"$nin": ["laptop"]}}) == sum(1 for d in docs if d["type"] != "laptop")
    assert n({"assigned_to": None}) == sum(1 for d in docs if d.get("assigned_to") is None)
    assert n({"assigned_to.username": {"$exists": True}}) == sum(1 for d in docs if d.get("assigned_to"))
    assert n({"model": {"$regex": "^macbook", "$options": "i"}}) == sum(
        1 for d in docs if d["model"].lower().startswith("macbook"))
    assert n({"$or": [{"brand": "Apple"}, {"cost": {"$lt": 200}}]}) == sum(
        1 for d in docs if d["brand"] == "Apple" or d["cost"] < 200)
    assert n({"$and": [{"type": "laptop"}, {"department": "Engineering"}]}) == sum(
        1 for d in docs if d["type"] == "laptop" and d["department"] == "Engineering")
    assert n({"tags": "spare"}) == sum(1 for d in docs if "spare" in d["tags"]) > 0  # array element match
    top = ok(ep, "find", {"collection": "assets", "filter": {}, "sort": {"cost": -1, "asset_tag": 1}, "limit": 3,
                          "projection": {"asset_tag": 1, "cost": 1, "_id": 0}})["documents"]
    ref = sorted(docs, key=lambda d: (-d["cost"], d["asset_tag"]))[:3]
    assert top == [{"asset_tag": d["asset_tag"], "cost": d["cost"]} for d in ref]


def test_aggregate_pipeline(ep):
    fb = all_docs(ep, "feedback")
    out = ok(ep, "aggregate", {"collection": "feedback", "pipeline": [
        {"$match": {"rating": {"$gte": 2}}},
        {"$group": {"_id": "$channel", "n": {"$sum": 1}, "avg": {"$avg": "$rating"}, "worst": {"$min": "$rating"}}},
        {"$sort": {"n": -1, "_id": 1}}, {"$limit": 2}, {"$project": {"channel": "$_id", "n": 1, "avg": 1, "_id": 0}}]})
    groups: dict[str, list[int]] = {}
    for d in fb:
        if d["rating"] >= 2:
            groups.setdefault(d["channel"], []).append(d["rating"])
    ref = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:2]
    assert out["documents"] == [{"n": len(v), "avg": sum(v) / len(v), "channel": k} for k, v in ref]
    tags = ok(ep, "aggregate", {"collection": "feedback", "pipeline": [
        {"$unwind": "$tags"}, {"$group": {"_id": "$tags", "count": {"$count": {}}}}, {"$sort": {"count": -1}},
        {"$limit": 1}]})["documents"][0]
    assert tags["count"] == max(sum(t in d["tags"] for d in fb) for t in {t for d in fb for t in d["tags"]})


def test_update_many_upsert_and_insert_many(ep):
    res = ok(ep, "update_many", {"collection": "feedback", "filter": {"rating": {"$lte": 2}, "status": {"$ne": "resolved"}},
                                 "update": {"$set": {"status": "triaged"}, "$addToSet": {"tags": "escalated"}}})
    assert res["matchedCount"] == res["modifiedCount"] > 0
    assert all("escalated" in d["tags"] for d in all_docs(ep, "feedback") if d["rating"] <= 2 and d["status"] == "triaged")
    up = ok(ep, "update_one", {"collection": "feedback", "filter": {"customer": "New Co"},
                               "update": {"$set": {"rating": 5, "comment": "Great onboarding"}}, "upsert": True})
    assert up["upsertedId"] and ok(ep, "find", {"collection": "feedback", "filter": {"_id": up["upsertedId"]}}
                                   )["documents"][0]["customer"] == "New Co"
    ids = ok(ep, "insert_many", {"collection": "kb_articles", "documents": [
        {"slug": "use-the-docstore", "title": "Use the docstore", "category": "how-to", "body": "..."},
        {"slug": "docstore-faq", "title": "Docstore FAQ", "category": "faq", "body": "..."}]})
    assert ids["insertedCount"] == 2 and len(set(ids["insertedIds"])) == 2
    assert ok(ep, "create_collection", {"collection": "audit", "unique_keys": ["ref"]})["created"]
    assert "audit" in [c["name"] for c in ok(ep, "list_collections")["collections"]]


def test_rules_refuse_without_changes(ep):
    refused(ep, "insert_one", {"collection": "assets", "document": {"asset_tag": "LT-00001", "type": "laptop",
                                                                    "status": "in_use"}}, "conflict")
    refused(ep, "insert_one", {"collection": "assets", "document": {"asset_tag": "X-1", "type": "laptop",
                                                                    "status": "stolen"}}, "rule_violation")
    refused(ep, "insert_one", {"collection": "assets", "document": {"type": "laptop"}}, "rule_violation")
    refused(ep, "insert_many", {"collection": "kb_articles", "documents": [
        {"slug": "ok-one", "title": "t", "category": "faq", "body": "b"},
        {"slug": "bad", "title": "t", "category": "gossip", "body": "b"}]}, "rule_violation")  # all or nothing
    refused(ep, "update_many", {"collection": "assets", "filter": {"type": "laptop"},
                                "update": {"$set": {"asset_tag": "SAME"}}}, "conflict")
    refused(ep, "update_one", {"collection": "assets", "filter": {}, "update": {"$set": {"_id": "x"}}},
            "invalid_arguments")
    refused(ep, "update_one", {"collection": "assets", "filter": {}, "update": {"status": "retired"}},
            "invalid_arguments")
    refused(ep, "update_one", {"collection": "assets", "filter": {}, "update": {"$inc": {"brand": 1}}}, "rule_violation")
    refused(ep, "find", {"collection": "assets", "filter": {"cost": {"$near": 5}}}, "invalid_arguments")
    refused(ep, "aggregate", {"collection": "assets", "pipeline": [{"$lookup": {}}]}, "invalid_arguments")
    refused(ep, "delete_many", {"collection": "feedback", "filter": {}}, "rule_violation")
    refused(ep, "find", {"collection": "nope"}, "not_found")
    refused(ep, "find", {"collection": "assets", "database": "other"}, "not_found")
    refused(ep, "create_collection", {"collection": "assets"}, "conflict")
    employee = ep.query("SELECT username FROM users WHERE role = 'employee' ORDER BY id LIMIT 1")[0]["username"]
    ep.as_user(employee)
    refused(ep, "delete_one", {"collection": "assets", "filter": {"asset_tag": "LT-00001"}}, "permission_denied")
    ok(ep, "insert_one", {"collection": "feedback", "document": {"customer": "Acme", "rating": 4, "comment": "ok"}})


def test_new_hire_gets_a_laptop(ep):
    eng = ep.query("SELECT id FROM departments WHERE code = 'ENG'")[0]["id"]
    uid = hire(ep.ctx, first_name="Test", last_name="Hire", department_id=eng, designation="Software Engineer")
    doc = ok(ep, "find", {"collection": "assets", "filter": {"assigned_to.user_id": uid}})["documents"]
    assert len(doc) == 1 and doc[0]["type"] == "laptop" and doc[0]["asset_tag"] == f"LT-{uid:05d}"
    assert doc[0]["assigned_to"]["username"] == "test.hire" and doc[0]["department"] == "Engineering"


@pytest.mark.parametrize("flt", [
    {"status": "in_use"}, {"status": {"$ne": "in_use"}}, {"cost": {"$gt": 600, "$lt": 1400}},
    {"cost": {"$gte": "600"}}, {"type": {"$in": ["dock", "mouse"]}}, {"type": {"$nin": ["laptop", "phone"]}},
    {"assigned_to": None}, {"assigned_to": {"$ne": None}}, {"assigned_to.username": {"$exists": False}},
    {"tags": "spare"}, {"tags": {"$ne": "spare"}}, {"tags": {"$in": ["standard-issue", "spare"]}},
    {"$or": [{"brand": "Apple"}, {"tags": "spare"}]}, {"$nor": [{"type": "laptop"}, {"cost": {"$lt": 500}}]},
    {"model": {"$regex": "pro", "$options": "i"}, "status": "in_use"}, {"nonexistent": {"$exists": True}},
])
def test_sql_and_python_evaluation_agree(ep, flt):
    """Filters run in SQLite where they can; the pure-Python evaluator is the reference semantics."""
    from arena.apps.docstore import query

    docs = all_docs(ep, "assets")
    expected = [d["_id"] for d in docs if query.matches(d, flt)]
    assert ok(ep, "count_documents", {"collection": "assets", "filter": flt})["count"] == len(expected)
    got = ok(ep, "find", {"collection": "assets", "filter": flt, "limit": 1000})["documents"]
    assert [d["_id"] for d in got] == expected
    if expected:
        first = ok(ep, "find", {"collection": "assets", "filter": flt, "limit": 2})
        assert [d["_id"] for d in first["documents"]] == expected[:2] and first["matched"] == len(expected)


def test_indexed_lookup_still_sees_arrays(ep):
    """`channel` has an expression index; a document holding an array there must still match."""
    from arena.apps.docstore import query

    new = ok(ep, "insert_one", {"collection": "feedback", "document": {
        "customer": "Array Co", "rating": 3, "comment": "two channels", "channel": ["email", "survey"]}})["insertedId"]
    docs = all_docs(ep, "feedback")
    for flt in ({"channel": "email"}, {"channel": {"$in": ["survey", "app_store"]}}, {"channel": {"$ne": "email"}},
                {"channel": {"$eq": "survey"}, "rating": 3}):
        expected = [d["_id"] for d in docs if query.matches(d, flt)]
        got = [d["_id"] for d in ok(ep, "find", {"collection": "feedback", "filter": flt, "limit": 1000})["documents"]]
        assert got == expected and (new in got) == (flt != {"channel": {"$ne": "email"}})
