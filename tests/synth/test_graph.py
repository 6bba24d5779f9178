"""The tool graph over the real arena registry (MCP discovery) and harvested outputs."""
from __future__ import annotations

import pytest

from elab_hpc.synth.graph import ToolGraph, is_entry, output_fields
from elab_hpc.synth.sampler import load_context


@pytest.fixture(scope="module")
def ctx():
    return load_context(seed=0, scale="small")


@pytest.mark.parametrize("src, dst, field, param", [
    ("gitlab.create_issue", "gitlab.update_issue", "iid", "issue_iid"),
    ("gitlab.create_branch", "gitlab.create_merge_request", "name", "source_branch"),
    ("plane.get_projects", "plane.list_labels", "id", "workspace_id"),
    ("zammad.zammad_search_tickets", "zammad.zammad_get_ticket", "id", "ticket_id"),
    ("zammad.zammad_create_ticket", "zammad.zammad_add_article", "id", "ticket_id"),
    ("frappe.get_leave_applications", "frappe.approve_leave", "leave_application_id", "leave_application_id"),
    ("invoice.create_invoice", "invoice.add_invoice_line", "invoice_id", "invoice_id"),
])
def test_known_data_flow_edges_exist(ctx, src, dst, field, param):
    feeds = ctx.graph.feeds(src, dst)
    assert (field, param) in [(f, p) for f, p, k in feeds if k != "mention"], feeds


def test_every_edge_joins_a_produced_field_to_a_consumed_parameter(ctx):
    g = ctx.graph
    sm = ctx.slotmap
    reg = ctx.registry
    for src, dst, data in g.g.edges(data=True):
        a, b = reg[src], reg[dst]
        assert data["feeds"], (src, dst)
        fields = output_fields(a, ctx.observed)
        for fld, param, kind in data["feeds"]:
            assert fld in fields, (src, fld)
            assert param in b.params, (dst, param)
            if kind == "key":
                # the producer's field and the consumer's parameter land in one slot
                consumer = {s for s, k in sm.param_slots(b, param, b.params[param].schema)}
                assert set(sm.field_slots(a.app, g.g.nodes[src]["entity"], fld)) & consumer, (src, dst, fld, param)
            elif kind == "entity":
                assert sm.param_slot(b, param).split(":", 1)[1] in {sm.entity_key(a.app, e) for e in a.produces}
            else:
                assert kind == "mention"
                assert param in ("body", "description", "note", "reason", "remarks", "comment", "message",
                                 "commit_message", "merge_commit_message", "content", "summary")


def test_no_edge_without_shared_entity_or_field(ctx):
    g = ctx.graph
    # a channel list cannot feed an issue update (different app, no shared entity or field);
    # at most a free-text parameter may mention a channel's name
    assert all(k == "mention" for _, _, k in g.feeds("rocketchat.get_channels", "gitlab.update_issue"))
    # nothing a DELETE returns identifies a GitLab issue
    assert not g.g.has_edge("plane.delete_label", "gitlab.close_issue")
    # an issue in GitLab is not a ticket in Zammad
    assert not any(k != "mention" for _, _, k in g.feeds("gitlab.create_issue", "zammad.zammad_get_ticket"))
    # a fresh name is never fed: creating a project does not take its name from another record
    for src in g.g.predecessors("plane.create_project"):
        assert all(p != "name" for _, p, _ in g.feeds(src, "plane.create_project"))


def test_entry_nodes_and_stats(ctx):
    g = ctx.graph
    stats = g.stats()
    assert stats["nodes"] == g.g.number_of_nodes() == len([a for a in ctx.registry if a.name in g.g])
    assert stats["nodes"] >= 140
    assert 0 < stats["key_edges"] <= stats["edges"]
    assert stats["cross_app_key_edges"] > 0
    assert stats["weakly_connected_components"] >= 1
    assert stats["largest_key_component"] > stats["nodes"] // 2
    assert set(stats["per_app"]) == {a.app for a in ctx.registry if a.name in g.g}
    entries = g.entry_nodes()
    assert len(entries) == stats["entry_nodes"]
    for name in entries:
        a = ctx.registry[name]
        assert a.op in ("CREATE", "LIST", "SEARCH") or (a.op == "GET" and not any(p.required for p in a.params.values()))
    assert "gitlab.update_issue" not in entries and "gitlab.create_issue" in entries


def test_graph_from_schemas_alone_is_a_subgraph_of_the_observed_one(ctx):
    actions = [ctx.registry[n] for n in ctx.graph.g.nodes]
    schema_only = ToolGraph.build(actions, observed=None, slotmap=ctx.slotmap, is_fresh=ctx.filler.is_fresh)
    assert set(schema_only.g.edges) <= set(ctx.graph.g.edges)
    # list tools declare no output schema: their edges come from the harvest
    assert not schema_only.successors("plane.get_projects", key_only=True)
    assert ctx.graph.successors("plane.get_projects", key_only=True)
    assert all(is_entry(ctx.registry[n]) == d["entry"] for n, d in ctx.graph.g.nodes(data=True))
