"""Checks on a definition file before anyone waits an hour for `apptainer build` to fail.

Two layers: spython's own Singularity-recipe parser (which handles the docker-bootstrap subset
and must be able to turn the recipe into a Dockerfile), and our rules: a `Bootstrap: docker`
header with a pinned `From:`, only known sections, the sections each image needs, no `%setup`
(it runs as the builder on the host), `%files` sources inside the build context, no host paths,
no template placeholders left over.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from elab_hpc.config import REPO_ROOT
from elab_hpc.hpc.containers.spec import KNOWN_SECTIONS

HEADER_KEYS = ("bootstrap", "from", "stage", "fingerprints", "includecmd")
# Absolute paths that only exist on a host (home and shared cluster file systems); a definition
# file that mentions one builds on one machine only.
HOST_ROOTS = ("/home/", "/Users/", "/scratch/", "/work/", "/gpfs/", "/lustre/", "/nfs/", "/net/")
APP_SECTIONS = tuple(s for s in KNOWN_SECTIONS if s.startswith("app"))
_SECTION = re.compile(r"^%(\S+)(?:\s+(.*?))?\s*$")
_HEADER = re.compile(r"^([A-Za-z]+)\s*:\s*(.*?)\s*$")
_ABS_PATH = re.compile(r"(?<![\w.$}])(/[A-Za-z0-9_.@+-]+(?:/[A-Za-z0-9_.@+*-]*)*)")


@dataclass
class Problem:
    line: Optional[int]  # 1-based line in the definition file, None for whole-file problems
    message: str

    def render(self, where: str) -> str:
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


@dataclass
class Section:
    name: str
    arg: str  # app name of %app* sections, `from <stage>` of %files
    line: int
    body: List[Tuple[int, str]] = field(default_factory=list)  # (line number, text)

    def content(self) -> List[Tuple[int, str]]:
        """Lines that do something (not blank, not comments)."""
        return [(n, t) for n, t in self.body if t.strip() and not t.strip().startswith("#")]


@dataclass
class Definition:
    header: Dict[str, Tuple[int, str]] = field(default_factory=dict)  # key -> (line, value)
    sections: List[Section] = field(default_factory=list)


def split(text: str, problems: List[Problem]) -> Definition:
    """Header keywords and sections, with line numbers; stray header lines become problems."""
    d = Definition()
    current: Optional[Section] = None
    for n, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        m = _SECTION.match(stripped) if raw.startswith("%") else None
        if m:
            current = Section(m.group(1).lower(), m.group(2) or "", n)
            d.sections.append(current)
        elif current is not None:
            current.body.append((n, raw))
        elif stripped and not stripped.startswith("#"):
            h = _HEADER.match(stripped)
            if not h:
                problems.append(Problem(n, f"'{stripped}' is neither a header keyword nor a %section"))
                continue
            key = h.group(1).lower()
            if key not in HEADER_KEYS:
                problems.append(Problem(n, f"unknown header keyword '{h.group(1)}' "
                                           f"(known: {', '.join(HEADER_KEYS)})"))
            elif key in d.header:
                problems.append(Problem(n, f"header keyword '{h.group(1)}' given twice "
                                           f"(multi-stage builds are not used here)"))
            else:
                d.header[key] = (n, h.group(2))
    return d


def _check_header(d: Definition, problems: List[Problem]) -> None:
    if "bootstrap" not in d.header:
        problems.append(Problem(1, "no 'Bootstrap:' header; these images start with 'Bootstrap: docker'"))
    else:
        line, agent = d.header["bootstrap"]
        first = min(n for n, _ in d.header.values())
        if line != first:
            problems.append(Problem(line, "'Bootstrap:' must be the first header keyword"))
        if agent.lower() != "docker":
            problems.append(Problem(line, f"Bootstrap '{agent}' is not supported; use 'Bootstrap: docker'"))
    if "from" not in d.header:
        problems.append(Problem(None, "no 'From:' header naming the base docker image"))
        return
    line, ref = d.header["from"]
    if not ref:
        problems.append(Problem(line, "'From:' is empty"))
    elif "@sha256:" not in ref:
        tag = ref.rsplit("/", 1)[-1].partition(":")[2]
        if not tag:
            problems.append(Problem(line, f"base image '{ref}' has no tag; pin one (e.g. {ref}:<version>)"))
        elif tag == "latest":
            problems.append(Problem(line, f"base image '{ref}' uses ':latest'; pin a version"))


def _host_roots() -> Tuple[str, ...]:
    roots = list(HOST_ROOTS) + [str(REPO_ROOT) + "/"]
    home = str(Path.home())
    if home not in ("/", "/root"):  # /root is also root's home inside the image
        roots.append(home.rstrip("/") + "/")
    return tuple(roots)


def _check_sections(d: Definition, required: List[str], problems: List[Problem]) -> None:
    present = set()
    for s in d.sections:
        if s.name not in KNOWN_SECTIONS:
            problems.append(Problem(s.line, f"unknown section '%{s.name}' (known: {', '.join(KNOWN_SECTIONS)})"))
            continue
        present.add(s.name)
        if s.name in APP_SECTIONS and not s.arg:
            problems.append(Problem(s.line, f"'%{s.name}' needs an app name, e.g. '%{s.name} gitlab'"))
        if s.name == "setup":
            problems.append(Problem(s.line, "'%setup' runs on the build host; copy files with %files instead"))
        if s.name == "files" and not s.arg:
            for n, text in s.content():
                src = text.split()[0]
                if src.startswith("/"):
                    problems.append(Problem(n, f"%files source '{src}' is a host path; use a path "
                                               "relative to the build context"))
                elif ".." in Path(src).parts:
                    problems.append(Problem(n, f"%files source '{src}' leaves the build context"))
    for name in required:
        if name not in present:
            problems.append(Problem(None, f"required section '%{name}' is missing"))
        elif not any(s.content() for s in d.sections if s.name == name):
            line = next(s.line for s in d.sections if s.name == name)
            problems.append(Problem(line, f"required section '%{name}' is empty"))


def _check_text(text: str, problems: List[Problem]) -> None:
    roots = _host_roots()
    for n, raw in enumerate(text.splitlines(), start=1):
        if re.search(r"\{\{|\}\}|\{%|%\}", raw):
            problems.append(Problem(n, "template placeholder left unrendered"))
        if raw.lstrip().startswith("#"):
            continue
        for path in _ABS_PATH.findall(raw):
            if (path + "/").startswith(roots):
                problems.append(Problem(n, f"host path '{path}' in the definition; images must not "
                                           "depend on this machine's files"))


def check_with_spython(text: str, from_ref: Optional[str]) -> List[Problem]:
    """spython's recipe parser (docker-bootstrap subset) must read the file, agree on the base
    image, and be able to write it out as a Dockerfile."""
    from spython.logger import bot
    from spython.logger.message import QUIET
    from spython.main.parse.parsers import SingularityParser
    from spython.main.parse.writers import DockerWriter

    problems: List[Problem] = []
    level = bot.level
    bot.level = QUIET  # its warnings go to our report, not to the terminal
    try:
        parser = SingularityParser(filename=None, load=False)
        parser.lines = text.splitlines(keepends=True)
        recipe = parser.parse()
        base = recipe["spython-base"]
        if from_ref and (base.fromHeader or "").lower() != from_ref.lower():
            problems.append(Problem(None, f"spython reads the base image as '{base.fromHeader}', "
                                          f"not '{from_ref}'"))
        if not base.install:
            problems.append(Problem(None, "spython finds no build commands (%post)"))
        DockerWriter(recipe).convert()
    except NotImplementedError as exc:  # spython: a non-docker bootstrap agent
        problems.append(Problem(None, f"spython cannot parse it: {exc}"))
    except SystemExit:  # spython's logger exits the process on some malformed recipes
        problems.append(Problem(None, "spython cannot parse it: " + _last_spython_message(bot)))
    except Exception as exc:  # spython raises bare errors on malformed recipes
        problems.append(Problem(None, f"spython cannot parse it: {type(exc).__name__}: {exc}"))
    finally:
        bot.level = level
    return problems


def _last_spython_message(bot) -> str:
    return bot.history[-1].strip() if bot.history else "it gave up without a message"


def check_definition(text: str, required_sections: List[str]) -> List[Problem]:
    """All problems of one definition file; an empty list means it is valid."""
    problems: List[Problem] = []
    d = split(text, problems)
    _check_header(d, problems)
    _check_sections(d, required_sections, problems)
    _check_text(text, problems)
    from_ref = d.header.get("from", (0, ""))[1] or None
    problems.extend(check_with_spython(text, from_ref))
    return sorted(problems, key=lambda p: (p.line or 0))
