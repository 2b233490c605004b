"""The conformance harness: cases, testee processes, variable substitution, central comparison."""

from __future__ import annotations

import json
import math
import queue
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from google.protobuf import json_format

from trackwire.conformance.v1 import conformance_pb2
from trackwire.rpc_policy import SERVICES, retry_safe

CONFORMANCE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = CONFORMANCE_DIR.parent.parent
# A step that takes longer than this is a hung testee, not a slow one.
STEP_TIMEOUT_SECONDS = 120

# ${name}: a captured value or a built-in; ${repeat:N:text}: text repeated N times.
_VARIABLE = re.compile(r"\$\{([^}]+)\}")

# Expected values computed from the schema, so that a case follows the schema as it grows.
SCHEMA_VALUES = {
    # The short names of the RPCs whose (trackwire.v1.policy) retry is SAFE or WITH_REQUEST_ID.
    "<retryable-rpcs-from-schema>": sorted(
        method.name for service in SERVICES for method in service.methods if retry_safe(method)
    ),
}


@dataclass
class Case:
    name: str
    description: str
    steps: list[dict]
    source: str


@dataclass
class Language:
    name: str
    command: list[str]
    uri: str
    requires: list[str] = field(default_factory=list)
    build: list[str] | None = None

    def missing_requirement(self) -> str | None:
        """The first required executable or file that is not there, if any."""
        for requirement in self.requires:
            if "/" in requirement:
                if not (REPO_ROOT / requirement).exists():
                    return requirement
            elif shutil.which(requirement) is None:
                return requirement
        return None


def load_cases() -> list[Case]:
    """Every case of cases/*.yaml, validated against trackwire.conformance.v1.CaseFile."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in sorted((CONFORMANCE_DIR / "cases").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        try:
            json_format.ParseDict(data, conformance_pb2.CaseFile())
        except json_format.ParseError as e:
            raise ValueError(f"{path.name}: not a valid CaseFile: {e}") from None
        for raw in data["cases"]:
            name = raw["name"]
            if name in seen:
                raise ValueError(f"case {name!r} is defined in {seen[name]} and in {path.name}")
            seen[name] = path.name
            cases.append(Case(name, raw.get("description", ""), raw["steps"], path.name))
    return cases


def load_languages() -> list[Language]:
    data = yaml.safe_load((CONFORMANCE_DIR / "testees.yaml").read_text())
    return [Language(name=name, **spec) for name, spec in data.items()]


def load_known_failing(language: str) -> dict[str, str]:
    """Case name -> reason, from known_failing/<language>.txt (`name  # reason` per line)."""
    path = CONFORMANCE_DIR / "known_failing" / f"{language}.txt"
    if not path.exists():
        return {}
    known: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            raise ValueError(f"{path}:{number}: {name.strip()!r} needs a '# reason'")
        known[name.strip()] = reason.strip()
    return known


class TesteeError(Exception):
    """The testee process broke the protocol (died, hung, or answered garbage)."""


class Testee:
    """One long-running testee process speaking NDJSON."""

    def __init__(self, language: Language, log_path: Path):
        self.language = language
        self._log = open(log_path, "ab")  # lives as long as the process
        self.process = subprocess.Popen(
            language.command,
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next_id = 0

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def call(self, action: str, args: dict, tracking_uri: str) -> dict:
        self._next_id += 1
        request = {
            "id": self._next_id,
            "action": action,
            "args": args,
            "tracking_uri": tracking_uri,
        }
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except OSError as e:
            raise TesteeError(f"cannot write to the testee: {e}") from None
        try:
            line = self._lines.get(timeout=STEP_TIMEOUT_SECONDS)
        except queue.Empty:
            raise TesteeError(f"no answer within {STEP_TIMEOUT_SECONDS}s") from None
        if line is None:
            raise TesteeError(f"the testee exited with {self.process.wait()}")
        try:
            response = json.loads(line)
            json_format.ParseDict(response, conformance_pb2.TesteeResponse())
        except (ValueError, json_format.ParseError) as e:
            raise TesteeError(f"not a TesteeResponse: {line!r} ({e})") from None
        if response.get("id") != self._next_id:
            raise TesteeError(f"answer for id {response.get('id')}, expected {self._next_id}")
        return response

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self._log.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class StepFailure(AssertionError):
    pass


def builtin_variables(case: Case, language: str) -> dict:
    return {"case": case.name, "language": language, "random": secrets.token_hex(4)}


def substitute(value, variables: dict):
    """Replaces ${name} in strings (the whole string "${x}" takes the captured value's type)."""
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if not isinstance(value, str):
        return value
    whole = _VARIABLE.fullmatch(value)
    if whole and not whole.group(1).startswith("repeat:"):
        return _lookup(whole.group(1), variables)
    return _VARIABLE.sub(lambda m: str(_lookup(m.group(1), variables)), value)


def _lookup(name: str, variables: dict):
    if name.startswith("repeat:"):
        _, count, text = name.split(":", 2)
        return text * int(count)
    if name not in variables:
        raise StepFailure(f"unknown variable ${{{name}}} (known: {sorted(variables)})")
    return variables[name]


def extract(result, dotted: str):
    value = result
    for part in dotted.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise StepFailure(f"cannot capture {dotted!r}: no {part!r} in {value!r}")
    return value


def _normal(value):
    """Non-finite floats as the protocol's strings, so NaN equals NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def mismatch(expected, actual, where: str = "result") -> str | None:
    """Why `actual` does not match `expected` (a subset match), or None when it does.

    Dicts: every expected key must match ("<absent>" requires the key to be missing, "<any>"
    only present). Lists: same length, element-wise. Numbers compare by value. A string of
    SCHEMA_VALUES stands for the value computed from the schema.
    """
    if isinstance(expected, str) and expected in SCHEMA_VALUES:
        expected = SCHEMA_VALUES[expected]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        for key, want in expected.items():
            if want == "<absent>":
                if key in actual:
                    return f"{where}.{key}: expected absent, got {actual[key]!r}"
                continue
            if key not in actual:
                return f"{where}.{key}: missing (expected {want!r})"
            problem = mismatch(want, actual[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: expected {len(expected)} items, got {actual!r}"
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problem = mismatch(want, got, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if expected == "<any>":
        return None
    want, got = _normal(expected), _normal(actual)
    numbers = (int, float)
    if isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(got, bool):
        equal = not isinstance(want, bool) and float(want) == float(got)
    else:
        equal = type(want) is type(got) and want == got
    return None if equal else f"{where}: expected {want!r}, got {got!r}"


def run_case(case: Case, language: str, testee: Testee, tracking_uri: str) -> None:
    """Runs every step of a case; raises StepFailure at the first step that does not conform."""
    variables = builtin_variables(case, language)
    for index, step in enumerate(case.steps, 1):
        action = step["action"]
        where = f"step {index} ({action})"
        args = substitute(step.get("args") or {}, variables)
        response = testee.call(action, args, tracking_uri)
        context = f"{where} args={json.dumps(args)[:500]}"
        if "expect_error" in step:
            if "error" not in response:
                result = response.get("result")
                raise StepFailure(
                    f"{context}: expected {step['expect_error']}, got result {result!r}"
                )
            if response["error"]["code"] != step["expect_error"]:
                raise StepFailure(
                    f"{context}: expected {step['expect_error']}, got {response['error']['code']}: "
                    f"{response['error'].get('message', '')}"
                )
            continue
        if "error" in response:
            raise StepFailure(
                f"{context}: unexpected error {response['error']['code']}: "
                f"{response['error'].get('message', '')}"
            )
        result = response.get("result")
        if "expect" in step:
            problem = mismatch(substitute(step["expect"], variables), result)
            if problem:
                raise StepFailure(f"{context}: {problem}\nfull result: {json.dumps(result)[:2000]}")
        for variable, dotted in (step.get("capture") or {}).items():
            variables[variable] = extract(result, dotted)
