"""Salesforce app: a scripted pipeline episode, SOQL parsing checked against plain SQL, hostile
queries refused cleanly, and every record rule refused with the state unchanged."""
from __future__ import annotations

import pytest

from arena.apps.salesforce import soql
from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import ok, refused


@pytest.fixture(scope="module")
def world():
    return World(load_apps(["salesforce"]), seed=0, scale="small")


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def sfid(prefix, n):
    return f"{prefix}{n:012d}"


def test_pipeline_episode_create_read_update_verify(ep):
    acc = ok(ep, "salesforce.create_account", {"name": "Kelpie Robotics", "industry": "Manufacturing",
                                               "billing_city": "Dublin", "annual_revenue": 4_500_000})
    contact = ok(ep, "salesforce.create_contact", {"last_name": "Byrne", "first_name": "Aoife",
                                                   "account_id": acc["id"], "email": "aoife@kelpie.example"})
    opp = ok(ep, "salesforce.create_opportunity", {"name": "Kelpie fleet licences", "account_id": acc["id"],
                                                   "close_date": "2026-05-29", "amount": 84000})
    found = ok(ep, "salesforce.soql_query", {"query": "SELECT Name, StageName, Probability, Account.Name FROM "
                                             f"Opportunity WHERE AccountId = '{acc['id']}'"})
    assert found["totalSize"] == 1
    assert found["records"][0] | {"attributes": None} == {
        "attributes": None, "Id": opp["id"], "Name": "Kelpie fleet licences", "StageName": "Prospecting",
        "Probability": 10, "Account": {"attributes": {"type": "Account"}, "Name": "Kelpie Robotics"}}
    for stage in ("Qualification", "Proposal", "Negotiation", "Closed Won"):
        moved = ok(ep, "salesforce.update_opportunity_stage", {"opportunity_id": opp["id"], "stage_name": stage})
        assert moved["StageName"] == stage
    ok(ep, "salesforce.update_record", {"object": "Contact", "id": contact["id"], "fields": {"Title": "CTO"}})

    rec = ok(ep, "salesforce.get_record", {"object": "Opportunity", "id": opp["id"],
                                           "fields": ["StageName", "IsWon", "IsClosed", "Probability", "Owner.Username"]})
    assert (rec["StageName"], rec["IsWon"], rec["IsClosed"], rec["Probability"]) == ("Closed Won", True, True, 100)
    assert rec["Owner"]["Username"] == "jordan.lee"
    row = ep.query("SELECT stage_name, amount, owner_id FROM sf_opportunities WHERE id = ?", int(opp["id"][3:]))[0]
    assert row == {"stage_name": "Closed Won", "amount": 84000.0, "owner_id": 1}
    diff = ep.diff()
    assert [r["name"] for r in diff["sf_accounts"]["inserted"]] == ["Kelpie Robotics"]
    assert diff["sf_contacts"]["inserted"][0]["title"] == "CTO"
    assert ep.query("SELECT COUNT(*) AS n FROM notifications WHERE app = 'salesforce' AND ref = ?",
                    opp["id"])[0]["n"] == 1
    case = ok(ep, "salesforce.create_case", {"subject": "Robot arm calibration", "account_id": acc["id"],
                                             "contact_id": contact["id"], "priority": "High"})
    assert case["case_number"] == "00001017"  # next after the 16 seeded cases
    ok(ep, "salesforce.update_case_status", {"case_id": case["id"], "status": "Closed"})
    assert ep.query("SELECT closed_date FROM sf_cases WHERE case_number = '00001017'")[0]["closed_date"] == ep.world.now
    hits = ok(ep, "salesforce.search_records", {"search_term": "kelpie"})
    assert {r["attributes"]["type"] for r in hits["searchRecords"]} == {"Account", "Contact", "Opportunity"}


@pytest.mark.parametrize("query, sql", [
    ("SELECT Id, Name FROM Account WHERE Industry = 'Technology' ORDER BY Name DESC",
     "SELECT id FROM sf_accounts WHERE industry = 'Technology' ORDER BY name DESC, id"),
    ("select id, amount from opportunity where amount >= 50000 and stagename in ('Prospecting', 'Negotiation') "
     "order by amount desc limit 3",
     "SELECT id FROM sf_opportunities WHERE amount >= 50000 AND stage_name IN ('Prospecting', 'Negotiation') "
     "ORDER BY amount DESC, id LIMIT 3"),
    ("SELECT Id FROM Opportunity WHERE CloseDate < 2026-01-01 AND IsClosed = false",
     "SELECT id FROM sf_opportunities WHERE close_date < '2026-01-01' AND stage_name NOT IN ('Closed Won', 'Closed Lost') "
     "ORDER BY id"),
    ("SELECT Id FROM Contact WHERE Account.Name LIKE '%s%' ORDER BY LastName LIMIT 5 OFFSET 1",
     "SELECT c.id FROM sf_contacts c JOIN sf_accounts a ON a.id = c.account_id WHERE a.name LIKE '%s%' "
     "ORDER BY c.last_name, c.id LIMIT 5 OFFSET 1"),
    ("SELECT Id FROM Case WHERE ClosedDate = null AND ContactId != null AND Priority != 'Low'",
     "SELECT id FROM sf_cases WHERE closed_date IS NULL AND contact_id IS NOT NULL AND priority != 'Low' ORDER BY id"),
    ("SELECT Id FROM Case WHERE Status NOT IN ('Closed') AND CreatedDate > 2025-12-01T00:00:00Z",
     "SELECT id FROM sf_cases WHERE status != 'Closed' AND created_date > '2025-12-01T00:00:00' ORDER BY id"),
])
def test_soql_matches_plain_sql(ep, query, sql):
    prefix = {"Account": "001", "Opportunity": "006", "Contact": "003", "Case": "500"}
    result = ok(ep, "salesforce.soql_query", {"query": query})
    obj = soql.parse(query).object.capitalize()
    expected = [sfid(prefix[obj], r["id"]) for r in ep.query(sql)]
    assert expected, "the check query should select something"
    assert [r["Id"] for r in result["records"]] == expected
    assert result["totalSize"] == len(expected)


def test_soql_count_and_relationships(ep):
    n = ok(ep, "salesforce.soql_query", {"query": "SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Won'"})
    assert n["totalSize"] == ep.query("SELECT COUNT(*) AS n FROM sf_opportunities WHERE stage_name = 'Closed Won'")[0]["n"]
    res = ok(ep, "salesforce.soql_query", {"query": "SELECT Subject, Contact.Email, Owner.Name FROM Case ORDER BY Id LIMIT 20"})
    rows = ep.query("SELECT c.subject, k.email, u.full_name FROM sf_cases c LEFT JOIN sf_contacts k ON k.id = c.contact_id "
                    "JOIN users u ON u.id = c.owner_id ORDER BY c.id LIMIT 20")
    for rec, row in zip(res["records"], rows):
        assert rec["Subject"] == row["subject"] and rec["Owner"]["Name"] == row["full_name"]
        assert (rec["Contact"] or {}).get("Email") == row["email"]
    # LIKE wildcards escaped with a backslash match literally, as in SOQL
    ok(ep, "salesforce.create_account", {"name": "Save 50% Now"})
    ok(ep, "salesforce.create_account", {"name": "Save 500 Now"})
    like = ok(ep, "salesforce.soql_query", {"query": r"SELECT Name FROM Account WHERE Name LIKE 'Save 50\%%'"})
    assert [r["Name"] for r in like["records"]] == ["Save 50% Now"]
    both = ok(ep, "salesforce.soql_query", {"query": "SELECT Name FROM Account WHERE Name LIKE 'Save 50_ Now'"})
    assert both["totalSize"] == 2
    # a quote escaped inside a literal stays part of the value: a parameter, never SQL
    none = ok(ep, "salesforce.soql_query", {"query": r"SELECT Id FROM Account WHERE Name = 'x\' OR 1=1 --'"})
    assert none["totalSize"] == 0


@pytest.mark.parametrize("query", [
    "SELECT Id FROM Account WHERE Name = 'x'; DROP TABLE sf_accounts",
    "SELECT Id FROM Account WHERE Name = 'x' OR 1=1",
    "SELECT Id FROM Account WHERE Name = 'x' -- comment",
    "SELECT Id FROM Account LIMIT 1; DELETE FROM sf_accounts",
    "SELECT name FROM Account UNION SELECT sql FROM sqlite_master",
    "SELECT Id FROM sqlite_master",
    "SELECT Id FROM sf_accounts",
    "SELECT * FROM Account",
    "SELECT Id, Password FROM User",
    "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
    "SELECT Id FROM Account WHERE Name = 'unterminated",
    "SELECT Id FROM Account WHERE Name = x",
    "SELECT Id FROM Account WHERE AnnualRevenue > '1e9'",
    "SELECT Id FROM Account WHERE Id = '003000000000001'",
    "SELECT Id FROM Account LIMIT 99999",
    "SELECT Id FROM Account WHERE (Name = 'a')",
    "SELECT Id FROM Contact WHERE Account.Name = 'x' AND Account.sql = 'y'",
    "DELETE FROM Account",
    "",
])
def test_hostile_or_malformed_soql_is_refused_cleanly(ep, query):
    accounts = ep.query("SELECT COUNT(*) AS n FROM sf_accounts")[0]["n"]
    refused(ep, "salesforce.soql_query", {"query": query}, "invalid_arguments")
    assert ep.query("SELECT COUNT(*) AS n FROM sf_accounts")[0]["n"] == accounts


def test_record_rules_refused_with_state_unchanged(ep):
    acc = ep.query("SELECT id, name FROM sf_accounts ORDER BY id LIMIT 1")[0]
    acc_id = sfid("001", acc["id"])
    refused(ep, "salesforce.create_account", {"name": acc["name"].lower()}, "conflict")
    refused(ep, "salesforce.create_record", {"object": "Account", "fields": {"Name": "Neg Co", "AnnualRevenue": -1}},
            "rule_violation")
    refused(ep, "salesforce.create_record", {"object": "Account", "fields": {"Name": "X", "Colour": "red"}},
            "invalid_arguments")
    refused(ep, "salesforce.create_record", {"object": "Account", "fields": {"Name": "X", "CreatedDate": "2020-01-01"}},
            "invalid_arguments")
    refused(ep, "salesforce.create_record", {"object": "Account", "fields": {"Name": "X", "Industry": "Alchemy"}},
            "invalid_arguments")
    refused(ep, "salesforce.create_record", {"object": "Contact", "fields": {"FirstName": "No"}}, "invalid_arguments")
    refused(ep, "salesforce.create_record", {"object": "User", "fields": {"Username": "x"}}, "invalid_arguments")
    refused(ep, "salesforce.create_opportunity", {"name": "Neg", "account_id": acc_id, "close_date": "2026-04-01",
                                                  "amount": -10}, "rule_violation")
    refused(ep, "salesforce.create_opportunity", {"name": "Bad date", "account_id": acc_id, "close_date": "31/04/2026"},
            "invalid_arguments")
    refused(ep, "salesforce.create_opportunity", {"name": "Wrong id", "account_id": sfid("003", 1),
                                                  "close_date": "2026-04-01"}, "invalid_arguments")
    refused(ep, "salesforce.create_opportunity", {"name": "Ghost", "account_id": sfid("001", 9999),
                                                  "close_date": "2026-04-01"}, "not_found")
    opp = ok(ep, "salesforce.create_opportunity", {"name": "Rules deal", "account_id": acc_id,
                                                   "close_date": "2026-04-01"})
    refused(ep, "salesforce.update_opportunity_stage", {"opportunity_id": opp["id"], "stage_name": "Negotiation"},
            "invalid_transition")  # skips Qualification and Proposal
    for stage in ("Qualification", "Proposal", "Negotiation"):
        ok(ep, "salesforce.update_opportunity_stage", {"opportunity_id": opp["id"], "stage_name": stage})
    refused(ep, "salesforce.update_opportunity_stage", {"opportunity_id": opp["id"], "stage_name": "Closed Won"},
            "rule_violation")  # no Amount
    ok(ep, "salesforce.update_opportunity_stage", {"opportunity_id": opp["id"], "stage_name": "Closed Lost"})
    refused(ep, "salesforce.update_record", {"object": "Opportunity", "id": opp["id"],
                                             "fields": {"StageName": "Prospecting"}}, "invalid_transition")

    other = ep.query("SELECT c.id FROM sf_contacts c WHERE c.account_id != ? LIMIT 1", acc["id"])[0]["id"]
    refused(ep, "salesforce.create_case", {"subject": "Mismatch", "account_id": acc_id,
                                           "contact_id": sfid("003", other)}, "rule_violation")
    case = ok(ep, "salesforce.create_case", {"subject": "Printer on fire", "account_id": acc_id})
    ok(ep, "salesforce.update_case_status", {"case_id": case["id"], "status": "Closed"})
    refused(ep, "salesforce.update_case_status", {"case_id": case["id"], "status": "Working"}, "invalid_transition")

    refused(ep, "salesforce.delete_record", {"object": "Account", "id": acc_id}, "rule_violation")  # has children
    won = ep.query("SELECT id FROM sf_opportunities WHERE stage_name = 'Closed Won' LIMIT 1")[0]["id"]
    refused(ep, "salesforce.delete_record", {"object": "Opportunity", "id": sfid("006", won)}, "rule_violation")
    employee = ep.query("SELECT username FROM users WHERE role = 'employee' ORDER BY id LIMIT 1")[0]["username"]
    ep.as_user(employee)
    refused(ep, "salesforce.delete_record", {"object": "Case", "id": case["id"]}, "permission_denied")
    ep.as_user("jordan.lee")
    ok(ep, "salesforce.delete_record", {"object": "Case", "id": case["id"]})
    refused(ep, "salesforce.get_record", {"object": "Case", "id": case["id"]}, "not_found")


def test_metadata_and_provisioning(ep):
    described = ok(ep, "salesforce.describe_object", {"object": "opportunity"})
    stage = next(f for f in described["fields"] if f["name"] == "StageName")
    assert [v["value"] for v in stage["picklistValues"]] == list(soql.OBJECTS["opportunity"].field("StageName").picklist)
    assert {o["name"] for o in ok(ep, "salesforce.list_objects")["sobjects"]} == {"Account", "Contact", "Opportunity",
                                                                                  "Case", "User"}
    refused(ep, "salesforce.describe_object", {"object": "Lead"}, "invalid_arguments")
    me = ok(ep, "salesforce.get_current_user")
    assert me["profile"] == "System Administrator" and me["user_id"] == "005000000000001"
    assert ep.query("SELECT COUNT(*) AS n FROM sf_users")[0]["n"] == ep.query("SELECT COUNT(*) AS n FROM users")[0]["n"]
