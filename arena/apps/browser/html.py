"""HTML to readable text (headings, lists, tables, numbered links), and intranet URL rules."""
from __future__ import annotations

import ipaddress
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from arena.core.errors import ToolError

HOST = "intranet"
ROOT = f"http://{HOST}/"
REFUSED = "the browser only reaches the company intranet (http://intranet/)"
_BLOCK = {"p", "div", "section", "article", "br", "tr", "table", "ul", "ol", "header", "footer", "nav", "main"}
_SKIP = {"script", "style", "head", "template"}


class _Text(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.links: list[dict[str, str]] = []
        self._href: str | None = None
        self._anchor: list[str] = []
        self._skip = 0
        self._cell = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self._skip += 1
        elif tag in ("h1", "h2", "h3", "h4"):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" | " if self._cell else "")
            self._cell += 1
        elif tag in _BLOCK:
            self.out.append("\n")
            if tag == "tr":
                self._cell = 0
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self._href = urljoin(self.base, href)
                self._anchor = []

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "a" and self._href is not None:
            text = " ".join("".join(self._anchor).split())
            self.links.append({"text": text, "url": self._href})
            self.out.append(f" [{len(self.links)}]")
            self._href = None
        elif tag in ("h1", "h2", "h3", "h4", "p", "ul", "ol", "table"):
            self.out.append("\n")

    def handle_data(self, data):
        if self._skip:
            return
        self.out.append(data)
        if self._href is not None:
            self._anchor.append(data)


def to_text(html: str, base: str) -> tuple[str, list[dict[str, str]]]:
    parser = _Text(base)
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return "\n".join(text).strip(), parser.links


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
