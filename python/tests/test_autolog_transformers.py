"""Hugging Face transformers: the Trainer callback and its autologging, training a tiny BERT
made from a config here (nothing downloaded) on the CPU, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("transformers", reason="the framework suite runs in `make test-frameworks`")
os.environ["HF_HUB_OFFLINE"] = "1"

import torch  # noqa: E402
import transformers  # noqa: E402

import trackwire as tw  # noqa: E402
from trackwire.transformers import TrackwireCallback  # noqa: E402

STEPS = 4


@pytest.fixture
def experiment(server):
    tw.set_tracking_uri(server.tracking_uri)
    yield tw.set_experiment(f"transformers-{uuid.uuid4().hex}").experiment_id
    while tw.active_run():
        tw.end_run()
    tw.autolog(disable=True)


def tiny_bert(**config) -> transformers.BertForSequenceClassification:
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(
        transformers.BertConfig(
            vocab_size=32,
            hidden_size=8,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=16,
            max_position_embeddings=16,
            **config,
        )
    )


def trainer(tmp_path, callbacks=(), model=None, run_name="tiny-bert") -> transformers.Trainer:
    generator = torch.Generator().manual_seed(0)
    examples = [
        {
            "input_ids": torch.randint(0, 32, (8,), generator=generator),
            "attention_mask": torch.ones(8, dtype=torch.long),
            "labels": torch.tensor(i % 2),
        }
        for i in range(16)
    ]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=STEPS,
        logging_steps=1,
        per_device_train_batch_size=4,
        learning_rate=0.01,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        run_name=run_name,
    )
    return transformers.Trainer(
        model=model or tiny_bert(),
        args=args,
        train_dataset=examples,
        eval_dataset=examples[:4],
        callbacks=list(callbacks),
    )


def steps(run_id: str, key: str) -> list[int]:
    return [m.step for m in tw.get_metric_history(run_id, key)]


def runs_of(experiment_id: str) -> list:
    return tw.search_runs([experiment_id], output_format="list")


class FailAtStep(transformers.TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise RuntimeError("training broke")


def test_autolog_logs_args_config_and_each_log_on_a_run_of_its_own(experiment, tmp_path):
    tw.transformers.autolog()
    model = tiny_bert(long_note="x" * 7000)
    trainer(tmp_path, model=model).train()

    assert tw.active_run() is None
    run = tw.last_active_run()
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny-bert"
    params = run.data.params
    assert params["max_steps"] == str(STEPS) and params["learning_rate"] == "0.01"
    assert params["hidden_size"] == "8" and params["model_type"] == "bert"
    assert params["long_note"] == "x" * 6000  # cut to MLflow's param value limit
    for key in ("loss", "grad_norm", "learning_rate", "epoch"):
        assert steps(run.info.run_id, key)[:STEPS] == [1, 2, 3, 4], key
    assert steps(run.info.run_id, "train_loss") == [STEPS]
    assert run.data.metrics["train_runtime"] > 0
    assert [r.info.run_id for r in runs_of(experiment)] == [run.info.run_id]


def test_the_callback_logs_into_the_active_run_and_leaves_it_open(experiment, tmp_path):
    with tw.start_run() as run:
        logged = trainer(tmp_path, callbacks=[TrackwireCallback()])
        logged.train()
        assert tw.active_run().info.run_id == run.info.run_id
        logged.log({"odd(name)": 2.5, "note": "text, not a metric", "zero": 0})
    stored = tw.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params["num_hidden_layers"] == "2"
    assert steps(run.info.run_id, "loss") == [1, 2, 3, 4]
    assert stored.data.metrics["odd_name_"] == 2.5 and stored.data.metrics["zero"] == 0
    assert "note" not in stored.data.metrics
    assert steps(run.info.run_id, "odd_name_") == [STEPS]


def test_the_callback_alone_starts_and_ends_a_run_of_its_own(experiment, tmp_path):
    trainer(tmp_path, callbacks=[TrackwireCallback()], run_name="on-its-own").train()
    assert tw.active_run() is None
    (run,) = runs_of(experiment)
    assert run.info.status == "FINISHED" and run.info.run_name == "on-its-own"
    assert steps(run.info.run_id, "loss") == [1, 2, 3, 4]


def test_an_evaluation_before_training_opens_the_run_that_training_ends(experiment, tmp_path):
    evaluated = trainer(tmp_path, callbacks=[TrackwireCallback()])
    evaluated.evaluate()
    evaluated.train()
    assert tw.active_run() is None
    (run,) = runs_of(experiment)
    assert run.info.status == "FINISHED"
    assert steps(run.info.run_id, "eval_loss") == [0]
    assert steps(run.info.run_id, "loss") == [1, 2, 3, 4]


def test_training_that_raises_ends_its_run_failed(experiment, tmp_path):
    tw.autolog(exclude_flavors=["pytorch"])
    with pytest.raises(RuntimeError, match="training broke"):
        trainer(tmp_path, callbacks=[FailAtStep(2)]).train()
    assert tw.active_run() is None
    run = tw.last_active_run()
    assert run.info.status == "FAILED"
    assert steps(run.info.run_id, "loss") == [1]


def test_autolog_on_and_off(experiment, tmp_path):
    made_before = trainer(tmp_path)
    tw.autolog()
    on = trainer(tmp_path)
    assert sum(isinstance(c, TrackwireCallback) for c in on.callback_handler.callbacks) == 1
    made_before.train()
    (run,) = runs_of(experiment)
    assert steps(run.info.run_id, "loss") == [1, 2, 3, 4]

    tw.autolog(disable=True)
    off = trainer(tmp_path)
    assert not any(isinstance(c, TrackwireCallback) for c in off.callback_handler.callbacks)
    off.train()
    assert len(runs_of(experiment)) == 1


def test_only_the_main_process_logs(experiment, tmp_path):
    callback = TrackwireCallback()
    other = transformers.TrainerState(is_world_process_zero=False, global_step=1)
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to="none")
    control = transformers.TrainerControl()
    callback.on_train_begin(args, other, control, model=tiny_bert())
    callback.on_log(args, other, control, logs={"loss": 1.0})
    callback.on_train_end(args, other, control)
    assert tw.active_run() is None and runs_of(experiment) == []


def test_importing_trackwire_imports_no_framework():
    frameworks = "{'torch', 'transformers', 'lightning', 'pytorch_lightning'}"
    code = f"import sys, trackwire; print(sorted({frameworks} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
