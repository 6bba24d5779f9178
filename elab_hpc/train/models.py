"""The policy model and tokenizer a run trains: resolve the name, optionally truncate to the first
N decoder layers (a real architecture, fast enough for CPU CI), pick the chat template, build the
PEFT LoRA config."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Optional

from elab_hpc.errors import ConfigError, UserError
from elab_hpc.train.config import TrainConfig, resolve_path

GENERATION_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")
TEMPLATES = Path(__file__).resolve().parent / "templates"
OWN_TEMPLATE = TEMPLATES / "chatml_tools.jinja"
# the agent area's training template (tools + generation markers), preferred once it exists
AGENT_TEMPLATES = Path(__file__).resolve().parents[1] / "agent" / "templates"


def model_source(c: TrainConfig) -> Path | str:
    if c.model.name_or_path == "tiny":
        from elab_hpc.agent.tiny_model import materialize

        return materialize()
    p = resolve_path(c.model.name_or_path)
    return p if p.exists() else c.model.name_or_path


def truncated_copy(src: Path | str, num_layers: int, cache: Optional[Path] = None) -> Path:
    """A saved HF folder holding the first `num_layers` decoder layers of `src` (built once)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    cfg = AutoConfig.from_pretrained(src)
    total = getattr(cfg, "num_hidden_layers", None)
    if total is None:
        raise ConfigError(f"model.num_layers: {src} has no num_hidden_layers to truncate")
    if num_layers > total:
        raise ConfigError(f"model.num_layers: {num_layers} > the model's {total} layers")
    if num_layers == total:
        return Path(src)
    from elab_hpc.agent.tiny_model import cache_root

    out = (cache or cache_root() / "models") / f"{Path(str(src)).name}-L{num_layers}"
    if (out / "config.json").is_file():
        return out
    full = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    cfg.num_hidden_layers = num_layers
    if getattr(cfg, "layer_types", None):
        cfg.layer_types = cfg.layer_types[:num_layers]
    small = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    # same parameter names for layers < num_layers, embeddings, final norm and head
    missing, _ = small.load_state_dict(full.state_dict(), strict=False)
    if [m for m in missing if "lm_head" not in m]:
        raise RuntimeError(f"truncation lost weights: {missing}")
    small.tie_weights()
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    small.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(src).save_pretrained(tmp)
    (tmp / "elab_truncated.json").write_text(json.dumps({"source": str(src), "num_layers": num_layers}))
    try:
        os.replace(tmp, out)
    except OSError:  # another process published it first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


def model_path(c: TrainConfig) -> Path | str:
    src = model_source(c)
    return truncated_copy(src, c.model.num_layers) if c.model.num_layers else src


def chat_template_text(choice: str) -> Optional[str]:
    """The template text to set on the tokenizer, or None to keep the tokenizer's own."""
    if choice == "model":
        return None
    if choice == "auto":
        for p in sorted(AGENT_TEMPLATES.glob("*.jinja")) if AGENT_TEMPLATES.is_dir() else []:
            text = p.read_text()
            if GENERATION_MARKER.search(text):
                return text
        return OWN_TEMPLATE.read_text()
    return resolve_path(choice).read_text()


def load_tokenizer(c: TrainConfig, path: Path | str | None = None):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path or model_path(c))
    template = chat_template_text(c.data.chat_template)
    if template is not None:
        tok.chat_template = template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_model(c: TrainConfig, path: Path | str | None = None):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch_dtype(c.model.dtype)}
    if c.model.attn_implementation:
        kwargs["attn_implementation"] = c.model.attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(path or model_path(c), **kwargs)
    except OSError as exc:
        raise UserError(f"model.name_or_path: cannot load '{c.model.name_or_path}': {exc}") from None
    if c.lora.enabled and c.lora.init_adapter:
        from peft import PeftModel

        # continue an earlier run's adapter, trainable (adaptation to a changed environment)
        model = PeftModel.from_pretrained(model, str(resolve_path(c.lora.init_adapter)), is_trainable=True)
    return model


def peft_config(c: TrainConfig, model: Any = None):
    """LoRA settings; `model` is needed only for lora.last_layers (to know the depth)."""
    if not c.lora.enabled or c.lora.init_adapter:
        return None  # init_adapter: the loaded adapter carries its own LoraConfig
    from peft import LoraConfig

    layers = None
    if c.lora.last_layers:
        depth = int(model.config.num_hidden_layers)
        layers = list(range(max(0, depth - c.lora.last_layers), depth))
    return LoraConfig(r=c.lora.r, lora_alpha=c.lora.alpha, lora_dropout=c.lora.dropout,
                      target_modules=list(c.lora.target_modules), layers_to_transform=layers,
                      task_type="CAUSAL_LM")
