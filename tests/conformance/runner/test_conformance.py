"""One test per (language, case); the parameters come from conftest.pytest_generate_tests."""

from __future__ import annotations

import pytest
from conftest import KNOWN_FAILING, OUTCOMES

from runner import harness


def test_case(language, conformance_case, server, testees):
    key = (conformance_case.name, language.name)
    testee = testees.get(language)
    uri = server.tracking_uri if language.uri == "grpc" else server.http_url
    known_reason = KNOWN_FAILING[language.name].get(conformance_case.name)
    try:
        harness.run_case(conformance_case, language.name, testee, uri)
        failure = None
    except (harness.StepFailure, harness.TesteeError) as e:
        failure = e
        if isinstance(e, harness.TesteeError):
            testees.discard(language)  # a fresh process for the next case
    if failure is not None:
        if known_reason:
            OUTCOMES[key] = "known"
            pytest.xfail(f"known failing ({known_reason}): {failure}")
        OUTCOMES[key] = "FAIL"
        pytest.fail(f"{conformance_case.name} [{language.name}]: {failure}", pytrace=False)
    if known_reason:
        OUTCOMES[key] = "STALE"
        pytest.fail(
            f"{conformance_case.name} passes for {language.name} but is listed in "
            f"known_failing/{language.name}.txt ({known_reason}): remove it from the list",
            pytrace=False,
        )
    OUTCOMES[key] = "pass"
