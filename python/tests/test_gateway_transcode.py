"""The gateway's JSON <-> protobuf transcoding in MLflow's dialect (pure functions)."""

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackwire.errors import InvalidArgument
from trackwire.server.http_gateway import transcode
from trackwire.server.http_gateway.routes import bindings
from trackwire.server.responses import ResponseFields
from trackwire.server.services import open_services
from trackwire.v1 import artifact_service_pb2 as art
from trackwire.v1 import entities_pb2 as e
from trackwire.v1 import tracking_service_pb2 as t


def to_json(message):
    return json.loads(transcode.message_to_json(message))


def from_json(body, cls):
    return transcode.json_to_message(body if isinstance(body, bytes) else body.encode(), cls)


def test_int64_are_json_numbers_and_names_are_snake_case():
    run = e.Run(info=e.RunInfo(run_id="r", start_time=1_700_000_000_123, end_time=2**53 + 1))
    out = to_json(t.GetRunResponse(run=run))
    assert out["run"]["info"]["start_time"] == 1_700_000_000_123
    assert out["run"]["info"]["end_time"] == 2**53 + 1


def test_enums_lose_their_type_prefix_and_accept_both_forms():
    out = to_json(t.UpdateRunResponse(run_info=e.RunInfo(status=e.RUN_STATUS_FINISHED)))
    assert out == {"run_info": {"status": "FINISHED", "start_time": 0}}
    for value in ("DELETED_ONLY", "VIEW_TYPE_DELETED_ONLY", 2, "2"):
        request = from_json(json.dumps({"run_view_type": value}), t.SearchRunsRequest)
        assert request.run_view_type == e.VIEW_TYPE_DELETED_ONLY


@pytest.mark.parametrize("value", ["SOME", "deleted_only", "99", ""])
def test_an_enum_string_naming_no_value_leaves_the_field_unset(value):
    """As MLflow's server does: the request is served with the field's default."""
    request = from_json(json.dumps({"run_view_type": value}), t.SearchRunsRequest)
    assert not request.run_view_type


@pytest.mark.parametrize("value", [99, -1])
def test_an_enum_number_naming_no_value_leaves_a_view_type_unset(value):
    """MLflow's run and experiment searches ignore it too."""
    request = from_json(json.dumps({"run_view_type": value}), t.SearchRunsRequest)
    assert not request.run_view_type
    request = from_json(json.dumps({"view_type": value}), t.SearchExperimentsRequest)
    assert not request.view_type


@pytest.mark.parametrize("value", [99, -1])
def test_an_enum_number_naming_no_value_is_refused_where_unset_means_no_change(value):
    message = f"Invalid value {value} for parameter 'status' supplied"
    with pytest.raises(InvalidArgument, match=message):
        from_json(json.dumps({"run_id": "r", "status": value}), t.UpdateRunRequest)


def test_non_finite_doubles_are_written_as_mlflow_reads_them():
    metrics = [e.Metric(key="m", value=v) for v in (math.nan, math.inf, -math.inf, 0.5)]
    out = to_json(t.GetMetricHistoryResponse(metrics=metrics))
    assert [m["value"] for m in out["metrics"]] == ["NaN", "Infinity", "-Infinity", 0.5]


@pytest.mark.parametrize(
    "literal", ["NaN", '"NaN"', "Infinity", '"Infinity"', "-Infinity", '"-Infinity"', "1e308"]
)
def test_non_finite_doubles_are_read_as_bare_literals_and_strings(literal):
    body = f'{{"run_id": "r", "key": "k", "value": {literal}, "timestamp": 1}}'
    request = from_json(body, t.LogMetricRequest)
    expected = float(json.loads(literal)) if literal[0] != '"' else float(literal.strip('"'))
    assert (math.isnan(request.value) and math.isnan(expected)) or request.value == expected


def test_zero_numbers_and_false_booleans_are_written_empty_strings_are_not():
    out = to_json(t.GetMetricHistoryResponse(metrics=[e.Metric(key="m")]))
    assert out == {"metrics": [{"key": "m", "value": 0.0, "timestamp": 0, "step": 0}]}
    out = to_json(art.ListArtifactsResponse(files=[e.FileInfo(path="d", is_dir=True)]))
    assert out == {"files": [{"path": "d", "is_dir": True}]}
    assert to_json(t.SearchRunsResponse()) == {}


def test_empty_responses_are_empty_objects():
    assert transcode.message_to_json(t.LogBatchResponse()) == b"{}"


def test_unknown_fields_and_nulls_are_ignored_camel_case_is_accepted():
    request = from_json(
        '{"run_id": "r", "runUuid": "u", "no_such_field": {"x": 1}, "metric_key": "m", '
        '"max_results": null}',
        t.GetMetricHistoryRequest,
    )
    assert request == t.GetMetricHistoryRequest(run_id="r", run_uuid="u", metric_key="m")


def test_int64_is_read_from_numbers_and_numeric_strings():
    body = '{"run_id": "r", "metrics": [{"key": "a", "value": 1, "timestamp": "1700000000000", '
    body += '"step": 3.0}]}'
    request = from_json(body, t.LogBatchRequest)
    assert request.metrics[0].timestamp == 1_700_000_000_000
    assert request.metrics[0].step == 3


@pytest.mark.parametrize(
    "body, message",
    [
        (
            '{"run_id": 5}',
            "^Invalid value 5 for parameter 'run_id' supplied:  Hint: Value was of "
            "type 'int'. See the API docs for more information about request parameters.$",
        ),
        ('{"metrics": {"key": "a"}}', """Invalid value {"key":"a"} for parameter 'metrics'"""),
        ('{"metrics": [{"step": "x"}]}', r"""Invalid value "x" for parameter 'metrics\[0\].step"""),
        ('{"metrics": [{"step": 1.5}]}', "Invalid value 1.5 for parameter"),
        ('{"metrics": [{"step": 9223372036854775808}]}', "Invalid value 9223372036854775808 "),
        ('{"metrics": [{"value": true}]}', "Invalid value true .* type 'bool'"),
        ('{"metrics": ["a"]}', r"""Invalid value "a" for parameter 'metrics\[0\]'"""),
        ('{"metrics": [{"value": 1, "timestamp": 0}]}', r"required parameter 'run_id'"),
        (
            '{"run_id": "r", "metrics": [{"key": "m", "value": 1}]}',
            r"^Missing value for required parameter 'metrics\[0\].timestamp'\. See the API docs",
        ),
        (
            '{"run_id": "r", "params": [{"key": "", "value": "v"}]}',
            r"Missing value for required parameter 'params\[0\].key'",
        ),
        ("[1, 2]", "the request body: expected a JSON object"),
        ("{bad json", "Malformed JSON"),
    ],
)
def test_bad_input_names_the_field(body, message):
    with pytest.raises(InvalidArgument, match=message):
        from_json(body, t.LogBatchRequest)


def test_double_encoded_bodies_of_old_clients_are_accepted():
    request = from_json(json.dumps(json.dumps({"name": "x"})), t.CreateExperimentRequest)
    assert request.name == "x"


def test_empty_body_is_an_empty_message():
    assert from_json(b"", t.SearchExperimentsRequest) == t.SearchExperimentsRequest()


def test_query_parameters_repeat_for_repeated_fields():
    codec = transcode.codec_for(t.SearchRunsRequest.DESCRIPTOR)
    request = codec.from_query(
        [
            ("experiment_ids", "1"),
            ("experiment_ids", "2"),
            ("max_results", "10"),
            ("run_view_type", "ALL"),
            ("ignored", "x"),
            ("filter", "a"),
            ("filter", "b"),
        ]
    )
    assert list(request.experiment_ids) == ["1", "2"]
    assert request.max_results == 10
    assert request.run_view_type == e.VIEW_TYPE_ALL
    assert request.filter == "a"
    with pytest.raises(InvalidArgument, match="max_results"):
        codec.from_query([("max_results", "ten")])


def test_bytes_fields_are_base64():
    out = to_json(art.DownloadArtifactResponse(data=b"\x00\xff"))
    assert out == {"data": "AP8="}
    assert from_json('{"data": "AP8="}', art.DownloadArtifactResponse).data == b"\x00\xff"


def test_routes_come_from_the_annotations_with_additional_bindings():
    service = t.DESCRIPTOR.services_by_name["TrackingService"]
    found = {(b.verb, b.path) for b in bindings(service)}
    assert ("POST", "/api/2.0/mlflow/experiments/search") in found
    assert ("GET", "/api/2.0/mlflow/experiments/search") in found
    # Every RPC has one binding, but the bidirectional LogBatchStream, which has none.
    bidirectional = [m for m in service.methods if m.client_streaming and m.server_streaming]
    assert [m.name for m in bidirectional] == ["LogBatchStream"]
    assert len(found) == len(service.methods) - 1 + 1


# --- the fast input path (orjson, exact JSON types) must agree with the generic walk ----------


def generic(body: bytes, cls):
    """The reference: the json module's decoding walked by the generic, error-reporting path."""
    codec = transcode.codec_for(cls.DESCRIPTOR)
    kwargs = codec._kwargs(transcode.loads_body(body), "")
    codec.check_required(kwargs, "")
    return codec.message_class(**kwargs)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(["NaN", "-Infinity", "12", "1e3", "RUNNING", "RUN_STATUS_FAILED"])
)
int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Each field is well typed about half the time, so whole requests often take the fast path.
metric_objects = st.fixed_dictionaries(
    {},
    optional={
        "key": st.text(max_size=5) | json_scalars,
        "value": st.floats() | int64s | json_scalars,
        "timestamp": int64s | json_scalars,
        "step": int64s | json_scalars,
        "runId": json_scalars,
        "unknown": json_scalars,
    },
)
log_batch_bodies = st.fixed_dictionaries(
    {"run_id": st.text(max_size=5) | json_scalars, "metrics": st.lists(metric_objects, max_size=3)},
    optional={"tags": st.lists(st.fixed_dictionaries({"key": json_scalars}), max_size=2)},
)


@settings(max_examples=500, deadline=None)
@given(log_batch_bodies)
def test_fast_path_agrees_with_the_generic_walk(data):
    body = json.dumps(data).encode()
    try:
        expected = generic(body, t.LogBatchRequest)
    except InvalidArgument as e:
        with pytest.raises(InvalidArgument) as raised:
            from_json(body, t.LogBatchRequest)
        assert raised.value.message == e.message
    else:
        assert from_json(body, t.LogBatchRequest) == expected


@pytest.mark.parametrize(
    "body",
    [
        '{"run_id": "r", "metrics": [{"key": "m", "value": 18446744073709551616, "timestamp": 2}]}',
        '{"run_id": "r", "metrics": [{"key": "m", "value": 1e19, "timestamp": 2}]}',
        '{"run_id": "r", "metrics": [{"key": "m", "value": NaN, "timestamp": "5"}]}',
        '{"runId": "r", "metrics": [{"key": "\\u00e9\\u2713", "value": -0.0, "timestamp": 0}]}',
        '"{\\"run_id\\": \\"double-encoded\\"}"',
    ],
)
def test_bodies_off_the_fast_path_decode_as_before(body):
    assert from_json(body, t.LogBatchRequest) == generic(body.encode(), t.LogBatchRequest)


def test_integers_beyond_64_bits_are_reported_exactly():
    with pytest.raises(InvalidArgument, match="Invalid value 18446744073709551616 for"):
        from_json('{"metrics": [{"step": 18446744073709551616}]}', t.LogBatchRequest)


def test_bodies_in_other_unicode_encodings_are_still_accepted():
    body = json.dumps({"name": "é"}).encode("utf-16")
    assert transcode.json_to_message(body, t.CreateExperimentRequest).name == "é"


def test_output_is_utf8_and_survives_lone_surrogates():
    out = transcode.message_to_json(t.GetRunResponse(run=e.Run(info=e.RunInfo(run_name="é✓"))))
    assert json.loads(out)["run"]["info"]["run_name"] == "é✓"
    assert json.loads(transcode.dumps({"message": "bad \ud800"})) == {"message": "bad \ud800"}


def _run_fields(value: float, text: str, end_time, status: int) -> dict:
    """A Run's constructor fields in the schema's order, as the store writes them."""
    return {
        "info": {
            "run_id": "r",
            "run_uuid": "r",
            "run_name": text,
            "experiment_id": "1",
            "user_id": text,
            "status": status,
            "start_time": 5,
            "end_time": end_time,
            "artifact_uri": "a",
            "lifecycle_stage": "active",
        },
        "data": {
            "metrics": [{"key": "m", "value": value, "timestamp": 1, "step": 2}],
            "params": [{"key": "p", "value": text}],
            "tags": [{"key": "t", "value": text}],
        },
        "inputs": {
            "dataset_inputs": [
                {
                    "tags": [{"key": "k", "value": text}],
                    "dataset": {"name": "d", "digest": "x", "source_type": "s", "source": "o"},
                }
            ]
        },
    }


@settings(max_examples=60)
@given(
    value=st.floats(),
    text=st.sampled_from(["", "v", 'é\n"x"']),
    end_time=st.sampled_from([None, 0, 7]),
    status=st.sampled_from(list(e.RunStatus.values())),
    token=st.sampled_from(["", "next"]),
)
def test_fields_as_json_writes_what_the_message_they_build_writes(
    value, text, end_time, status, token
):
    fields = {"runs": [_run_fields(value, text, end_time, status)], "next_page_token": token}
    message = t.SearchRunsResponse(**copy.deepcopy(fields))
    codec = transcode.codec_for(t.SearchRunsResponse.DESCRIPTOR)
    assert transcode.dumps(codec.fields_as_json(fields)) == transcode.message_to_json(message)


_ODD = [0.5, math.nan, math.inf, -math.inf, 0.0, -0.0]


@settings(max_examples=60)
@given(
    values=st.lists(st.floats(), max_size=5),
    token=st.sampled_from(["", "next"]),
)
def test_set_only_entries_are_written_as_the_message_they_build_writes(values, token):
    # What a history page holds (ResponseFields.set_only): each entry's set fields only.
    entries = [{"key": "m", "value": v, "timestamp": 1, "step": i} for i, v in enumerate(values)]
    entries.append({"key": "m", "value": 0.5, "timestamp": 0, "step": 0, "run_id": "r"})
    answer = ResponseFields(
        t.GetMetricHistoryResponse, set_only=True, metrics=entries, next_page_token=token
    )
    message = answer.message_type(**copy.deepcopy(answer.fields))
    codec = transcode.codec_for(t.GetMetricHistoryResponse.DESCRIPTOR)
    written = transcode.dumps(codec.fields_as_json(answer.fields, set_only=True))
    assert written == transcode.message_to_json(message)


def test_what_the_store_answers_for_runs_and_history_is_written_as_its_message(tmp_path):
    # The store's pages are set_only (ResponseFields): runs lacking what a run may lack, empty
    # param and tag values, NaN, dataset inputs without schema or profile.
    services = open_services(f"sqlite:///{tmp_path / 'store.db'}", str(tmp_path / "artifacts"))
    try:
        tracking = services.tracking_fields
        bare = tracking.CreateRun(t.CreateRunRequest(experiment_id="0")).run.info.run_id
        full = tracking.CreateRun(
            t.CreateRunRequest(experiment_id="0", user_id="u", start_time=3)
        ).run.info.run_id
        metrics = [e.Metric(key="m", value=v, timestamp=1, step=i) for i, v in enumerate(_ODD)]
        tracking.LogBatch(
            t.LogBatchRequest(
                run_id=full,
                metrics=metrics,
                params=[e.Param(key="empty", value=""), e.Param(key="p", value="v")],
                tags=[e.RunTag(key="t", value="")],
            )
        )
        dataset = e.Dataset(name="d", digest="x", source_type="s", source="o")
        tracking.LogInputs(
            t.LogInputsRequest(
                run_id=full,
                datasets=[
                    e.DatasetInput(dataset=dataset, tags=[e.InputTag(key="k", value="")]),
                    e.DatasetInput(
                        dataset=e.Dataset(name="d2", digest="y", source_type="s", source="p")
                    ),
                ],
            )
        )
        tracking.UpdateRun(
            t.UpdateRunRequest(run_id=bare, status=e.RUN_STATUS_FINISHED, end_time=0)
        )
        answers = [
            tracking.SearchRuns(t.SearchRunsRequest(experiment_ids=["0"])),
            tracking.GetMetricHistory(t.GetMetricHistoryRequest(run_id=full, metric_key="m")),
        ]
    finally:
        services.close()
    for answer in answers:
        assert answer.set_only
        message = answer.message_type(**copy.deepcopy(answer.fields))
        codec = transcode.codec_for(answer.message_type.DESCRIPTOR)
        written = transcode.dumps(codec.fields_as_json(answer.fields, set_only=True))
        assert written == transcode.message_to_json(message)
