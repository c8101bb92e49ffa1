"""Run ESPnet2's own unit tests against espkit and count what passes (issue 20).

    python bench/espnet2_test_pass_rate.py /tmp/espnet2_tests [--sources SOURCES.txt] [--write docs/benchmarks.md]

``TESTS_DIR`` holds ESPnet2 test files (for example ``test/espnet2/...`` fetched from the espnet
repository; they are never copied into this repository). They are copied to a temporary directory,
``espnet2`` is renamed to ``espkit`` on their import lines (nothing else changes) and pytest runs them
with this interpreter, ``--import-mode=importlib`` and this repository on ``PYTHONPATH``.

Each collected item is one of: passed, failed, error, skipped, or excluded. An item is excluded only
when it needs a third-party package that is not installed (a ``ModuleNotFoundError`` of a module that is
neither ``espkit`` nor ``espnet``):

- a failure whose error is such a ``ModuleNotFoundError`` is excluded;
- a test file whose module-level imports need such a package is run again with that package replaced by
  a stub; its items that use a name imported from the package (in the test or in a fixture of the same
  file that it requests) are excluded, the others are measured in that run.

A missing ``espkit`` module or name is an error of every item of the file: a script written against
ESPnet2 stops there too (the items are counted with the missing imports stubbed, for the count only).
A missing ``espnet`` (ESPnet1) module, which the rename rule leaves alone, is stubbed like a package and
fails the items that use it.
"""

from __future__ import annotations

import argparse
import ast
import collections
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMPORT_LINE = re.compile(r"^(\s*(?:from|import)\s+)espnet2\b")
MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
MISSING_NAME = re.compile(r"ImportError: cannot import name '(\w+)' from '([\w.]+)'")
STUB_PLUGIN = "_espnet2_pass_rate_stubs"

# Loaded by pytest with ``-p``: replaces the modules named in $PASS_RATE_STUBS before collection.
# A module that imports is wrapped so that its missing names resolve to stubs; one that does not is a stub.
STUB_PLUGIN_SOURCE = """
import importlib
import os
import sys
import types
from unittest import mock


class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = mock.MagicMock(name=f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _Wrapped(types.ModuleType):
    def __init__(self, real):
        super().__init__(real.__name__)
        self.__dict__.update(real.__dict__)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return mock.MagicMock(name=f"{self.__name__}.{name}")


def _install(name):
    try:
        real = importlib.import_module(name)
    except ImportError:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            sub = ".".join(parts[:i])
            if sub in sys.modules and not isinstance(sys.modules[sub], _Stub):
                try:
                    importlib.import_module(sub)
                    continue
                except ImportError:
                    pass
            try:
                importlib.import_module(sub)
                continue
            except ImportError:
                stub = _Stub(sub)
                stub.__path__ = []
                sys.modules[sub] = stub
                if i > 1:
                    setattr(sys.modules[".".join(parts[: i - 1])], parts[i - 1], stub)
        return
    sys.modules[name] = _Wrapped(real)


for _name in filter(None, os.environ.get("PASS_RATE_STUBS", "").split(",")):
    _install(_name)
"""


def is_own(module: str) -> bool:
    """Whether ``module`` belongs to espkit or ESPnet (not a third-party package)."""
    top = module.split(".")[0]
    return top == "espkit" or top.startswith("espnet")


def copy_renamed(tests_dir: Path, work: Path) -> list[Path]:
    """Copy the ``test_*.py`` files of ``tests_dir`` under ``work`` with ``espnet2`` renamed on import lines."""
    files = []
    for src in sorted(tests_dir.rglob("test_*.py")):
        dst = work / src.relative_to(tests_dir)
        dst.parent.mkdir(parents=True, exist_ok=True)
        lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
        dst.write_text("".join(IMPORT_LINE.sub(r"\1espkit", line) for line in lines), encoding="utf-8")
        files.append(dst.relative_to(work))
    (work / f"{STUB_PLUGIN}.py").write_text(STUB_PLUGIN_SOURCE)
    return files


def run_pytest(work: Path, files: list[Path], stubs: set[str], tag: str, timeout: int) -> list[dict]:
    """Run pytest on ``files`` in ``work``; one dict per junit test case (``file``, ``name``, ``outcome``, ``text``)."""
    xml = work / f"junit_{tag}.xml"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(work), str(REPO)]), PASS_RATE_STUBS=",".join(sorted(stubs)))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", STUB_PLUGIN]
    cmd += ["--import-mode=importlib", "--continue-on-collection-errors", "-o", "junit_family=xunit1"]
    cmd += ["--rootdir", str(work), f"--junitxml={xml}", *map(str, files)]
    subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    cases = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome, text = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                text = f"{child.get('message', '')}\n{child.text or ''}"
                if child.tag == "error" and child.get("message") == "collection failure":
                    outcome = "collection"
                break
        cases.append(dict(file=case.get("file"), name=case.get("name"), outcome=outcome, text=text))
    return cases


def first_error_line(text: str) -> str:
    """The exception line of a junit failure text (the first ``E   <Exception>: ...`` line), shortened,
    with temporary paths shown as ``<tmp>``."""
    lines = [line[4:].strip() for line in text.splitlines() if line.startswith("E   ") and line[4:].strip()]
    chosen = next(
        (line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b|^(assert|AssertionError)|^Failed", line)),
        lines[-1] if lines else (text.splitlines()[0] if text else ""),
    )
    return re.sub(r"/tmp/[\w/.-]+", "<tmp>", chosen)[:140]


def names_from(path: Path, modules: set[str]) -> set[str]:
    """Names that the module-level imports of ``path`` bind from ``modules`` (or their submodules)."""
    bound = set()

    def hit(name: str | None) -> bool:
        return name is not None and any(name == m or name.startswith(m + ".") for m in modules)

    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if hit(alias.name):
                    bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and hit(node.module):
            bound.update(alias.asname or alias.name for alias in node.names)
    return bound


def functions_using(path: Path, names: set[str]) -> set[str]:
    """Test and fixture functions of ``path`` that use one of ``names``, directly or through a same-file fixture."""
    functions = {
        node.name: node
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
    }
    direct = {
        name
        for name, node in functions.items()
        if any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))
    }
    using = set(direct)
    changed = True
    while changed:
        changed = False
        for name, node in functions.items():
            if name not in using and any(arg.arg in using for arg in node.args.args):
                using.add(name)
                changed = True
    return using


def measure(tests_dir: Path, timeout: int) -> tuple[list[dict], list[Path]]:
    """Run every test file; one record per item with ``outcome`` and ``why``."""
    work = Path(tempfile.mkdtemp(prefix="espnet2_pass_rate_"))
    try:
        files = copy_renamed(tests_dir, work)
        items = []
        cases = run_pytest(work, files, set(), "all", timeout)
        broken = {case["file"]: case["text"] for case in cases if case["outcome"] == "collection"}
        for case in cases:
            if case["outcome"] == "collection":
                continue
            items.append(classify(case))
        for rel, text in sorted(broken.items()):
            items.extend(measure_broken_file(work, Path(rel), text, timeout))
        return items, files
    finally:
        shutil.rmtree(work, ignore_errors=True)


def classify(case: dict, needs: dict[str, str] | None = None) -> dict:
    """Outcome and reason of one junit case; ``needs``: function -> the uninstalled package it uses."""
    outcome, why = case["outcome"], ""
    package = (needs or {}).get(case["name"].split("[")[0])
    if package is not None:
        if is_own(package):
            return dict(case, outcome="failed", why=f"needs {package} (not installed, not renamed by the rule)")
        return dict(case, outcome="excluded", why=f"needs {package}")
    if outcome in ("failed", "error"):
        third_party = [m for m in MISSING_MODULE.findall(case["text"]) if not is_own(m)]
        if third_party:
            return dict(case, outcome="excluded", why=f"needs {third_party[0].split('.')[0]}")
        why = first_error_line(case["text"])
    return dict(case, outcome=outcome, why=why)


def failing_import(text: str, rel: Path) -> tuple[str, str] | None:
    """``(module the test file imports, module or name that is missing)`` of a collection error."""
    statement = re.search(
        rf"^(?:\S*/)?{re.escape(rel.name)}:\d+: in <module>\n\s+(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))",
        text,
        re.M,
    )
    missing = MISSING_MODULE.findall(text)
    names = MISSING_NAME.findall(text)
    if statement is None or not (missing or names):
        return None
    module = statement.group(1) or statement.group(2)
    return module, missing[-1] if missing else f"{names[-1][1]}.{names[-1][0]}"


def measure_broken_file(work: Path, rel: Path, first_text: str, timeout: int) -> list[dict]:
    """Items of a file whose imports fail: stub what its import lines need, round by round, then classify."""
    stubs: dict[str, str] = {}  # module the test imports -> what is missing
    text = first_text
    cases: list[dict] = []
    for round_ in range(8):
        found = failing_import(text, rel)
        if found is None or found[0] in stubs:
            break
        stubs[found[0]] = found[1]
        cases = run_pytest(work, [rel], set(stubs), f"{rel.stem}_{round_}", timeout)
        collection = [c for c in cases if c["outcome"] == "collection"]
        if not collection:
            break
        text = collection[0]["text"]
    own = sorted(f"{module} ({missing} missing)" for module, missing in stubs.items() if missing.startswith("espkit"))
    if own or not cases or any(c["outcome"] == "collection" for c in cases):
        why = f"import fails: {', '.join(own) or first_error_line(text)}"
        return [dict(c, outcome="error", why=why) for c in cases if c["outcome"] != "collection"] or [
            dict(file=str(rel), name=rel.stem, outcome="error", why=why, text="")
        ]
    path = work / rel
    needs: dict[str, str] = {}  # test or fixture function -> the package it needs
    for module, missing in stubs.items():
        package = missing.split(".")[0]
        for function in functions_using(path, names_from(path, {module})):
            needs.setdefault(function, package)
    return [classify(c, needs) for c in cases]


def summarize(items: list[dict]) -> tuple[dict, dict]:
    per_file: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for item in items:
        per_file[item["file"]][item["outcome"]] += 1
    total = collections.Counter()
    for counter in per_file.values():
        total.update(counter)
    return per_file, total


def rate(counter: collections.Counter) -> tuple[int, int]:
    """``(passed, counted)``: counted = every item but the excluded ones."""
    counted = sum(n for k, n in counter.items() if k != "excluded")
    return counter["passed"], counted


def report(items: list[dict], sources: str, tests_dir: Path) -> str:
    import torch

    per_file, total = summarize(items)
    passed, counted = rate(total)
    date = datetime.date.today().isoformat()
    lines = [
        f"## ESPnet2's own unit tests against espkit (issue 20; {date}, {platform.machine()} "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
        "`bench/espnet2_test_pass_rate.py`)",
        "",
        f"**{passed} of {counted} items pass ({100 * passed / max(counted, 1):.1f} %)**; "
        f"{total['excluded']} more items excluded (they need a third-party package that is not installed). "
        f"{len(items)} items collected from {len(per_file)} files of `test/espnet2` (`espnet2` renamed to "
        "`espkit` on import lines, nothing else changed).",
        "",
        "| file | passed | failed | error | skipped | excluded |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, counter in sorted(per_file.items()):
        lines.append(
            f"| `{name}` | {counter['passed']} | {counter['failed']} | {counter['error']} | "
            f"{counter['skipped']} | {counter['excluded']} |"
        )
    lines.append(
        f"| **total** | {total['passed']} | {total['failed']} | {total['error']} | {total['skipped']} | "
        f"{total['excluded']} |"
    )
    excluded = collections.Counter((i["file"], i["why"]) for i in items if i["outcome"] == "excluded")
    if excluded:
        lines += ["", "Excluded:", ""]
        lines += [f"- `{f}`: {n} items, {why}" for (f, why), n in sorted(excluded.items())]
    failures = collections.Counter((i["file"], i["why"]) for i in items if i["outcome"] in ("failed", "error"))
    if failures:
        lines += ["", "Remaining failures by class (file: items, first error line):", ""]
        for (f, why), n in sorted(failures.items(), key=lambda kv: (kv[0][0], -kv[1])):
            lines.append(f"- `{f}`: {n} × `{why}`")
    if sources:
        lines += ["", "Test files (path in espnet/espnet, commit):", "", "```", sources.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "tests_dir", type=Path, help="A directory of ESPnet2 test files (test_*.py, searched recursively)"
    )
    parser.add_argument(
        "--sources", type=Path, default=None, help="A text file naming each test file's origin (path, commit)"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="Seconds one pytest run may take")
    parser.add_argument("--write", type=Path, default=None, help="Append a section to this markdown file")
    args = parser.parse_args()
    if not args.tests_dir.is_dir():
        parser.error(f"tests_dir: not a directory: {args.tests_dir}")

    items, _ = measure(args.tests_dir, args.timeout)
    sources = args.sources.read_text() if args.sources else ""
    text = report(items, sources, args.tests_dir)
    print(text)
    if args.write:
        with args.write.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
