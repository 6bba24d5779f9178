"""The bundled tool-aware ChatML template on the real SmolLM2 tokenizer (tools in the system
turn, <tool_call> / <tool_response>, assistant-only masks for TRL) and config validation."""
from __future__ import annotations

import pytest

from elab_hpc.agent import templates, tiny_model
from elab_hpc.agent.config import BackendConfig, build_agent_config, load_agent_config
from elab_hpc.errors import ConfigError, UserError

TOOLS = [{"type": "function", "function": {"name": "gitlab__get_issue", "description": "One issue.",
                                           "parameters": {"type": "object", "properties": {"iid": {"type": "integer"}},
                                                          "required": ["iid"]}}}]
CONV = [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Show issue 3"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "gitlab__get_issue", "arguments": '{"iid": 3}'}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "gitlab__get_issue", "content": '{"title": "x"}'},
        {"role": "assistant", "content": "It is x."}]


@pytest.fixture(scope="module")
def tok():
    t = tiny_model.load_tokenizer()
    assert not templates.supports_tools(t.chat_template)  # SmolLM2's own has no tool support
    assert templates.apply(t, "auto") == "chatml_tools"
    return t


def test_template_renders_tools_calls_and_results(tok):
    text = tok.apply_chat_template(CONV, tools=TOOLS, tokenize=False)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert '<tools>\n{"name": "gitlab__get_issue", "description": "One issue."' in text
    assert ('<|im_start|>assistant\n<tool_call>\n{"name": "gitlab__get_issue", "arguments": {"iid": 3}}\n'
            "</tool_call><|im_end|>\n") in text
    assert '<|im_start|>tool\n<tool_response>\n{"title": "x"}\n</tool_response><|im_end|>\n' in text
    assert text.endswith("<|im_start|>assistant\nIt is x.<|im_end|>\n")
    # dict arguments render the same as JSON-string arguments
    as_dict = [dict(m) for m in CONV]
    as_dict[2] = {**CONV[2], "tool_calls": [{"type": "function", "function": {"name": "gitlab__get_issue",
                                                                               "arguments": {"iid": 3}}}]}
    assert tok.apply_chat_template(as_dict, tools=TOOLS, tokenize=False) == text
    # without tools and without a system message: the model's usual default system prompt
    plain = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert plain == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                     "<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_template_assistant_mask_covers_only_assistant_turns(tok):
    out = tok.apply_chat_template(CONV, tools=TOOLS, return_dict=True, return_assistant_tokens_mask=True)
    kept = tok.decode([i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    assert kept == ('<tool_call>\n{"name": "gitlab__get_issue", "arguments": {"iid": 3}}\n</tool_call><|im_end|>'
                    "It is x.<|im_end|>")


def test_template_names():
    assert "chatml_tools" in templates.names()
    with pytest.raises(ConfigError, match="unknown template 'nope'"):
        templates.load("nope")


def test_bundled_agent_configs_load():
    for name in ("react_tiny", "fc_tiny", "fc_openai", "react_vllm"):
        cfg = load_agent_config(name)
        assert len(cfg.config_hash()) == 16
    cfg = load_agent_config("react_tiny", ["backend.temperature=0.7", "max_turns=3"])
    assert cfg.backend.temperature == 0.7 and cfg.max_turns == 3


@pytest.mark.parametrize("data,overrides,needle", [
    ({"scafold": "react"}, [], "scafold"),
    ({}, ["backend.temprature=1"], "did you mean 'backend.temperature'"),
    ({"scaffold": "cot"}, [], "agent.scaffold: 'cot'"),
    ({"backend": {"kind": "tgi"}}, [], "agent.backend.kind: 'tgi'"),
    ({"backend": {"max_new_tokens": 0}}, [], "agent.backend.max_new_tokens"),
    ({"backend": {"top_p": 1.5}}, [], "agent.backend.top_p"),
    ({"tool_listing": "yaml"}, [], "agent.tool_listing: 'yaml'"),
    ({}, ["tool_description_chars=-1"], "agent.tool_description_chars"),
    ({"backend": {"kind": "openai"}}, [], "needs the endpoint"),
    ({"backend": {"kind": "openai", "base_url": "https://api.example.com/v1"}}, [], "api_key_env"),
    ({"backend": {"api_key": "sk-123"}}, [], "backend.api_key is not allowed"),
    ({}, ["backend.api_key=sk-123"], "backend.api_key is not allowed"),
])
def test_bad_agent_config_names_the_key(data, overrides, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        build_agent_config(data, overrides)


def test_openai_key_only_from_the_named_variable(monkeypatch):
    from elab_hpc.agent.backends.openai import api_key

    remote = BackendConfig(kind="openai", base_url="https://api.example.com/v1", api_key_env="ELAB_TEST_KEY")
    monkeypatch.delenv("ELAB_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="environment variable ELAB_TEST_KEY is not set"):
        api_key(remote)
    monkeypatch.setenv("ELAB_TEST_KEY", "sk-test")
    assert api_key(remote) == "sk-test"
    assert api_key(BackendConfig(kind="openai", base_url="http://127.0.0.1:9/v1")) is None
    # a local server may run without a key: the named variable is then optional
    monkeypatch.delenv("ELAB_TEST_KEY")
    assert api_key(BackendConfig(kind="openai", base_url="http://localhost:9/v1", api_key_env="ELAB_TEST_KEY")) is None


def test_vllm_backend_without_vllm_installed():
    from elab_hpc.agent.backends import make_backend

    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    with pytest.raises(UserError, match=r"needs the vllm package.*elab-hpc\[vllm\].*backend.kind=openai"):
        make_backend(BackendConfig(kind="vllm", model="tiny"))
