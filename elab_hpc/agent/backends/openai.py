"""Any OpenAI-compatible chat endpoint (`vllm serve`, `transformers serve`, hosted APIs) over httpx.

A batch fans out over a thread pool of `concurrency` requests. Each request has its own timeout
and is retried with exponential backoff (honouring `Retry-After`) on 429, 5xx, timeouts and
dropped connections; other 4xx fail at once. The API key comes only from the environment
variable named by `api_key_env`.
"""
from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import httpx

from elab_hpc.agent import fc
from elab_hpc.agent.backends.base import (AssistantMessage, Backend, Conversation, GenParams, ToolSchema,
                                          Usage, cut_at_stop)
from elab_hpc.agent.config import TINY, BackendConfig, _is_local
from elab_hpc.errors import ConfigError, UserError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0


class BackendError(RuntimeError):
    """The endpoint kept failing (after retries) or answered something unusable."""


def api_key(cfg: BackendConfig) -> Optional[str]:
    if not cfg.api_key_env:
        if cfg.base_url and not _is_local(cfg.base_url):
            raise ConfigError(f"backend.api_key_env: {cfg.base_url} is not local; name the environment "
                              "variable holding its API key")
        return None
    key = os.environ.get(cfg.api_key_env)
    if not key and cfg.base_url and _is_local(cfg.base_url):
        return None  # a local server started without a key; a 401 would name the variable
    if not key:
        raise ConfigError(f"backend.api_key_env: environment variable {cfg.api_key_env} is not set "
                          f"(it must hold the API key for {cfg.base_url})")
    return key


def served_model_name(model: str) -> str:
    """`tiny` means the bundled model, which `transformers serve` knows by its folder path."""
    if model == TINY:
        from elab_hpc.agent import tiny_model

        return str(tiny_model.model_dir())
    return model


class OpenAIBackend(Backend):
    def __init__(self, cfg: BackendConfig):
        self.cfg = cfg
        self.model_id = cfg.model
        self.model_name = served_model_name(cfg.model)
        headers = {"Content-Type": "application/json"}
        key = api_key(cfg)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(cfg.timeout_s))
        self.pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="openai-backend")
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def payload(self, conv: Conversation, tools: Optional[List[ToolSchema]], params: GenParams) -> Dict[str, Any]:
        body: Dict[str, Any] = {"model": self.model_name, "messages": conv, "max_tokens": params.max_new_tokens,
                                "temperature": params.temperature, "top_p": params.top_p}
        if tools:
            body["tools"] = tools
        if params.stop:
            body["stop"] = list(params.stop)[:4]  # the OpenAI API takes at most four
        if params.seed is not None:
            body["seed"] = params.seed
        return body

    def generate(self, batch: List[Conversation], tools: Optional[List[ToolSchema]] = None,
                 params: Optional[GenParams] = None) -> List[AssistantMessage]:
        params = params or self.default_params()
        futures = [self.pool.submit(self._one, conv, tools, params) for conv in batch]
        return [f.result() for f in futures]

    def _post(self, body: Dict[str, Any]) -> Dict[str, Any]:
        last = ""
        for attempt in range(self.cfg.max_retries + 1):
            if attempt:
                with self.lock:
                    self.stats["retries"] += 1
            with self.lock:
                self.stats["requests"] += 1
            retry_after: Optional[float] = None
            try:
                resp = self.client.post(self.url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        raise BackendError(f"{self.url}: 200 with a body that is not JSON: {resp.text[:200]}")
                last = f"HTTP {resp.status_code}: {resp.text[:300]}"
                if resp.status_code in (401, 403):
                    raise UserError(f"{self.url} refused the credentials ({last}); check the variable "
                                    f"{self.cfg.api_key_env or '(api_key_env not set)'}")
                if resp.status_code not in RETRY_STATUS:
                    raise BackendError(f"{self.url}: {last}")
                retry_after = _retry_after(resp.headers.get("retry-after"))
            if attempt < self.cfg.max_retries:
                delay = retry_after if retry_after is not None else BACKOFF_BASE_S * 2 ** attempt
                time.sleep(min(BACKOFF_MAX_S, delay) * (1 + 0.1 * random.random()))
        raise BackendError(f"{self.url}: gave up after {self.cfg.max_retries + 1} attempts; last: {last}")

    def _one(self, conv: Conversation, tools: Optional[List[ToolSchema]], params: GenParams) -> AssistantMessage:
        data = self._post(self.payload(conv, tools, params))
        try:
            choice = data["choices"][0]
            msg = choice.get("message") or {}
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"{self.url}: response without choices[0].message: {str(data)[:200]}") from None
        usage_d = data.get("usage") or {}
        usage = Usage(prompt_tokens=int(usage_d.get("prompt_tokens") or 0),
                      completion_tokens=int(usage_d.get("completion_tokens") or 0))
        content = msg.get("content") or ""
        finish = choice.get("finish_reason") or "stop"
        content, stopped = cut_at_stop(content, params.stop)  # servers that ignore `stop`
        if stopped and finish == "length":
            finish = "stop"
        calls, error = fc.parse_openai(msg.get("tool_calls"))
        if tools and not calls and not error and "<tool_call>" in content:
            # servers without a tool parser for this model hand back the raw markup
            content, calls, error = fc.parse_text(content)
        return AssistantMessage(content=content.strip() if tools else content, tool_calls=calls, usage=usage,
                                finish_reason="tool_calls" if calls else finish, format_error=error)


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
