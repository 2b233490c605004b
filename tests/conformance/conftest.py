"""The conformance runner: one server, one testee process per language, one test per (language,
case), and a case x language matrix at the end. See README.md."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from runner import harness

sys.path.insert(0, str(harness.REPO_ROOT / "python" / "tests"))
from server_process import LiveServer, backend_for_tests

CASES = harness.load_cases()
_ONLY = {n.strip() for n in os.environ.get("CONFORMANCE_LANGUAGES", "").split(",") if n.strip()}
LANGUAGES = [lang for lang in harness.load_languages() if not _ONLY or lang.name in _ONLY]
KNOWN_FAILING = {lang.name: harness.load_known_failing(lang.name) for lang in LANGUAGES}
# (case, language) -> "pass" | "FAIL" | "known" | "STALE" | "skip"; filled by the test.
OUTCOMES: dict[tuple[str, str], str] = {}
SKIPPED_LANGUAGES: dict[str, str] = {}
ALWAYS_RUN = "python"

for _language, _known in KNOWN_FAILING.items():
    _unknown = set(_known) - {case.name for case in CASES}
    if _unknown:
        raise ValueError(f"known_failing/{_language}.txt names no such case: {sorted(_unknown)}")


def pytest_generate_tests(metafunc):
    if "conformance_case" in metafunc.fixturenames:
        metafunc.parametrize(
            ("language", "conformance_case"),
            [
                pytest.param(lang, case, id=f"{lang.name}:{case.name}")
                for lang in LANGUAGES
                for case in CASES
            ],
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for every case: SQLite, or PostgreSQL when TRACKWIRE_TEST_POSTGRES_URI is set."""
    with LiveServer(tmp_path_factory.mktemp("server"), backend_for_tests()) as process:
        yield process


class Testees:
    """Starts each language's testee on first use (building it first if asked) and restarts
    one that broke the protocol."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.running: dict[str, harness.Testee] = {}
        self.unusable: dict[str, str] = {}  # language -> why its cases cannot run

    def get(self, language: harness.Language) -> harness.Testee:
        name = language.name
        if name in SKIPPED_LANGUAGES:
            pytest.skip(f"{name}: {SKIPPED_LANGUAGES[name]}")
        if name in self.unusable:
            pytest.fail(self.unusable[name], pytrace=False)
        testee = self.running.get(name)
        if testee is not None and testee.alive:
            return testee
        if testee is None:
            missing = language.missing_requirement()
            if missing:
                reason = f"toolchain missing: {missing!r} not found"
                if name == ALWAYS_RUN:
                    self.unusable[name] = f"{name} must always run, but {reason}"
                    pytest.fail(self.unusable[name], pytrace=False)
                SKIPPED_LANGUAGES[name] = reason
                pytest.skip(f"{name}: {reason}")
            if language.build:
                self._build(language)
        self.running[name] = harness.Testee(language, self.log_dir / f"{name}.stderr.log")
        return self.running[name]

    def _build(self, language: harness.Language) -> None:
        result = subprocess.run(
            language.build, cwd=harness.REPO_ROOT, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr)[-3000:]
            self.unusable[language.name] = (
                f"building the {language.name} testee failed ({' '.join(language.build)}):\n{tail}"
            )
            pytest.fail(self.unusable[language.name], pytrace=False)

    def discard(self, language: harness.Language) -> None:
        testee = self.running.pop(language.name, None)
        if testee is not None:
            testee.close()

    def close(self) -> None:
        for testee in self.running.values():
            testee.close()


@pytest.fixture(scope="session")
def testees(tmp_path_factory):
    pool = Testees(tmp_path_factory.mktemp("testees"))
    yield pool
    pool.close()


def pytest_runtest_logreport(report):
    # Skips raised before the test body (e.g. a missing toolchain) still belong in the matrix.
    if report.when == "call" or not report.skipped:
        return
    language, _, case = report.nodeid.partition("[")[2].rstrip("]").partition(":")
    OUTCOMES.setdefault((case, language), "skip")


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    write = terminalreporter.write_line
    names = [lang.name for lang in LANGUAGES]
    width = max(len(case.name) for case in CASES)
    terminalreporter.write_sep("=", "conformance: case x language")
    widths = [max(len(n), 5) for n in names]
    write(
        f"{'case':<{width}}  " + "  ".join(f"{n:<{w}}" for n, w in zip(names, widths, strict=True))
    )
    for case in CASES:
        cells = [OUTCOMES.get((case.name, n), "-") for n in names]
        if all(c == "-" for c in cells):
            continue
        write(
            f"{case.name:<{width}}  "
            + "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))
        )
    for name in names:
        counts: dict[str, int] = {}
        for (_, language), outcome in OUTCOMES.items():
            if language == name:
                counts[outcome] = counts.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
        write(f"{name}: {summary}")
    for name, reason in SKIPPED_LANGUAGES.items():
        terminalreporter.write_sep(
            "!",
            f"LANGUAGE {name} SKIPPED ({reason}): its cases did NOT run",
            yellow=True,
            bold=True,
        )
