"""ReAct and tool-call parsing: the tolerated forms, clear format errors, and fuzzing (garbled
output never raises; it always becomes an action, an answer or a format error)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elab_hpc.agent import fc, react
from elab_hpc.agent.backends.base import ToolCall
from elab_hpc.agent.jsonish import loads_object


def test_react_canonical_action():
    s = react.parse('Thought: list first\nAction: gitlab__list_issues\nAction Input: {"workspace_id": "3"}')
    assert (s.kind, s.thought, s.tool, s.args) == ("action", "list first", "gitlab__list_issues",
                                                   {"workspace_id": "3"})


def test_react_tolerated_forms():
    cases = {
        # code fence, input on the next line, no Thought
        'Action: a__b\nAction Input:\n```json\n{"x": 1}\n```': {"x": 1},
        # trailing text after the JSON
        'Thought: t\nAction: a__b\nAction Input: {"x": "}"} then I will wait': {"x": "}"},
        # single quotes and a trailing comma
        "Action: a__b\nAction Input: {'x': 'y', 'n': [1, 2,],}": {"x": "y", "n": [1, 2]},
        # python literals
        "Action: a__b\nAction Input: {'flag': True, 'none': None}": {"flag": True, "none": None},
        # JSON literals inside single-quoted dicts
        "Action: a__b\nAction Input: {'flag': true, 'none': null}": {"flag": True, "none": None},
        # markdown bold labels, empty input
        "**Action:** a__b\n**Action Input:** {}": {},
        # a hallucinated observation and answer after the action are ignored
        'Action: a__b\nAction Input: {"x": 2}\nObservation: {"fake": 1}\nANSWER: done': {"x": 2},
    }
    for text, args in cases.items():
        s = react.parse(text)
        assert s.kind == "action" and s.tool == "a__b" and s.args == args, (text, s)


def test_react_answer_and_errors():
    assert react.parse("Thought: done\nANSWER: 3 issues are open").answer == "3 issues are open"
    assert react.parse("Final Answer: yes").kind == "answer"
    for text, needle in [("", "empty reply"), ("I think so.", "no `Action:`"),
                         ("Action: a__b", "without `Action Input:`"),
                         ("Action: a__b\nAction Input: {x: [}", "not a JSON object"),
                         ("Action: a__b\nAction Input: [1, 2]", "not a JSON object"),
                         ("ANSWER:   ", "empty")]:
        s = react.parse(text)
        assert s.kind == "error" and needle in s.error, (text, s)
        assert "Action Input:" in s.error  # the reminder of the format goes back to the model
    s = react.parse("Action: gitlab__list_issue\nAction Input: {}", tool_names=["gitlab__list_issues"])
    assert s.kind == "error" and "did you mean 'gitlab__list_issues'" in s.error
    assert react.parse(None).kind == "error"


def test_react_prompt_lists_tools_and_example():
    tools = [{"type": "function", "function": {"name": "a__get", "description": "Get  one\nthing.",
                                               "parameters": {"type": "object", "properties": {
                                                   "id": {"type": "integer"}, "q": {"type": "string"}},
                                                   "required": ["id"]}}}]
    text = react.system_prompt(tools, "Be careful.")
    assert text.startswith("Be careful.")
    assert '- a__get: Get one thing.\n  arguments: {"id": "integer", "q?": "string"}' in text
    assert text.rstrip().endswith('Action: a__get\nAction Input: {"id": "..."}')


def test_react_prompt_cuts_long_descriptions_at_a_word():
    tools = [{"type": "function", "function": {"name": "a__get", "description": "Read the complete contents of "
                                               "a text file, or only its first lines.", "parameters": {}}}]
    assert "- a__get: Read the complete…\n" in react.system_prompt(tools, desc_chars=26)
    assert "only its first lines.\n" in react.system_prompt(tools)  # the default keeps 200 characters


def test_react_prompt_signature_listing():
    """listing=signature: one line per tool, optional arguments marked, about half the tokens."""
    tools = [{"type": "function", "function": {"name": "a__get", "description": "Get one thing by its id.",
                                               "parameters": {"type": "object", "properties": {
                                                   "id": {"type": "integer"}, "q": {"type": "string"}},
                                                   "required": ["id"]}}}]
    text = react.system_prompt(tools, desc_chars=8, listing="signature")
    assert "- a__get(id, q?): Get one…\n" in text
    assert "- a__get(id, q?)\n" in react.system_prompt(tools, desc_chars=0, listing="signature")
    assert len(react.system_prompt(tools, listing="signature")) < len(react.system_prompt(tools))


def test_tool_call_text():
    content, calls, err = fc.parse_text('Sure.\n<tool_call>\n{"name": "a__b", "arguments": {"x": 1}}\n</tool_call>'
                                        "<tool_call>{'name': 'c__d', 'arguments': '{\"y\": 2}'}</tool_call>")
    assert err is None and content == "Sure."
    assert [(c.name, c.arguments) for c in calls] == [("a__b", {"x": 1}), ("c__d", {"y": 2})]
    assert all(c.id.startswith("call_") for c in calls)
    # unterminated block, bad JSON, missing name: format errors, the good call survives
    content, calls, err = fc.parse_text('<tool_call>{"name": "a__b", "arguments": {}}</tool_call>'
                                        '<tool_call>{"arguments": {}}</tool_call><tool_call>{nope')
    assert [c.name for c in calls] == ["a__b"]
    assert "#2" in err and "name" in err and "#3" in err
    assert fc.parse_text("plain answer") == ("plain answer", [], None)


def test_openai_tool_calls():
    calls, err = fc.parse_openai([
        {"id": "c1", "type": "function", "function": {"name": "a__b", "arguments": '{"x": 1}'}},
        {"id": "c2", "type": "function", "function": {"name": "a__b", "arguments": "not json"}},
        {"id": "c3", "type": "function", "function": {"name": "a__b", "arguments": ""}},
        "junk"])
    assert [(c.id, c.arguments) for c in calls] == [("c1", {"x": 1}), ("c3", {})]
    assert "tool_calls[1]" in err and "tool_calls[3]" in err
    msgs = fc.to_message_calls([ToolCall(name="a__b", arguments={"x": 1}, id="c1")])
    assert msgs == [{"id": "c1", "type": "function", "function": {"name": "a__b", "arguments": '{"x": 1}'}}]


def test_jsonish_rejects_non_objects():
    for bad in ["", "[]", "no braces", "{'a': {1, 2}}", "{1: 2, 'x': b'y'}", "{" * 5000]:
        try:
            loads_object(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


# -- fuzzing --------------------------------------------------------------------------------
PIECES = st.sampled_from(["Thought:", "Action:", "Action Input:", "ANSWER:", "Observation:", "```json", "```",
                          "{", "}", "[", "]", "'", '"', ",", ":", "\n", " ", "a__b", "None", "true", "\\",
                          "<tool_call>", "</tool_call>", '{"name": "a__b", "arguments": {', "\x00", "é", "{{{"])
GARBLED = st.one_of(st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GARBLED)
def test_fuzz_react_never_raises(text):
    s = react.parse(text)
    assert s.kind in ("action", "answer", "error")
    if s.kind == "action":
        assert s.tool and isinstance(s.args, dict)
        json.dumps(s.args)  # what reaches the tool is valid JSON
    elif s.kind == "answer":
        assert s.answer
    else:
        assert s.error


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GARBLED)
def test_fuzz_tool_call_text_never_raises(text):
    content, calls, err = fc.parse_text(text)
    assert isinstance(content, str)
    for c in calls:
        assert c.name and isinstance(c.arguments, dict)
        json.dumps(c.arguments)
    assert err is None or isinstance(err, str)
    if "<tool_call>" in text:
        assert calls or err  # a tool-call block is either read or reported
