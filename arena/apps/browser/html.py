"""HTML to readable text (headings, lists, tables, numbered links), and intranet URL rules."""
from __future__ import annotations

import ipaddress
import re
from html import unescape
from urllib.parse import urljoin, urlsplit

from arena.core.errors import ToolError

HOST = "intranet"
ROOT = f"http://{HOST}/"
REFUSED = "the browser only reaches the company intranet (http://intranet/)"
_SKIP = re.compile(r"<(script|style|head|template)\b.*?</\1\s*>", re.S | re.I)
_TOKEN = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']([^\"']*)[\"'][^>]*>(.*?)</a\s*>|<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>",
                    re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_BLOCK = {"p", "div", "section", "article", "br", "table", "ul", "ol", "header", "footer", "nav", "main", "tr"}


def to_text(html: str, base: str) -> tuple[str, list[dict[str, str]]]:
    """Readable text of an HTML page: headings as '#', list items as '-', table cells joined by ' | ',
    links as 'text [n]' with the n-th entry of the returned link list (absolute URLs)."""
    html = _SKIP.sub("", html)
    out: list[str] = []
    links: list[dict[str, str]] = []
    cell = 0
    pos = 0
    for m in _TOKEN.finditer(html):
        out.append(unescape(html[pos:m.start()]))
        pos = m.end()
        if m.group(1) is not None:  # a link
            text = " ".join(unescape(_TAG.sub("", m.group(2))).split())
            links.append({"text": text, "url": urljoin(base, unescape(m.group(1)))})
            out.append(f"{text} [{len(links)}]")
            continue
        closing, tag = m.group(3) == "/", m.group(4).lower()
        if tag in ("h1", "h2", "h3", "h4"):
            out.append("\n" if closing else "\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li" and not closing:
            out.append("\n- ")
        elif tag in ("td", "th") and not closing:
            out.append(" | " if cell else "")
            cell += 1
        elif tag in _BLOCK:
            out.append("\n")
            if tag == "tr":
                cell = 0
    out.append(unescape(html[pos:]))
    lines = [" ".join(line.split()) for line in "".join(out).splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return "\n".join(text).strip(), links


def canonical(url: str, current: str | None = None) -> str:
    """The intranet URL a (possibly relative) address means, or permission_denied."""
    if not isinstance(url, str) or not url.strip():
        raise ToolError("invalid_arguments", "url must be a non-empty string")
    raw = url.strip()
    if any(c in raw for c in "\x00\r\n\t\\"):
        raise ToolError("permission_denied", f"{REFUSED}; refused {url!r}", url=url)
    parts = urlsplit(raw)
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        raise ToolError("permission_denied", f"{REFUSED}; the {parts.scheme}: scheme is not allowed", url=url)
    if raw.startswith("//") or parts.netloc or parts.scheme:
        host = (parts.hostname or "").lower()
        if parts.username or parts.password or parts.port is not None or host != HOST or not parts.scheme:
            raise ToolError("permission_denied", f"{REFUSED}; refused {url!r}", url=url,
                            reason="ip address" if _is_ip(host) else "other host")
        full = urljoin(ROOT, parts.path or "/")
    elif re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?(/|$)", raw) and not raw.lower().startswith(HOST + "/"):
        # "google.com/x" or "10.0.0.1" typed without a scheme: a host, not an intranet path
        raise ToolError("permission_denied", f"{REFUSED}; refused {url!r}", url=url, reason="other host")
    elif raw == HOST or raw.startswith(HOST + "/"):
        full = urljoin(ROOT, raw[len(HOST):] or "/")  # "intranet/wiki" typed without a scheme
    else:
        full = urljoin(current or ROOT, parts.path or "/")
    path = urlsplit(full).path
    if full != ROOT and path.endswith("/"):
        full = full.rstrip("/")
    return full


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False
