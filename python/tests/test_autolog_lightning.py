"""PyTorch Lightning: `TrackwireLogger` and its autologging, training a tiny module on random
tensors on the CPU, against a real server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest

pytest.importorskip("lightning", reason="the framework suite runs in `make test-frameworks`")

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import trackwire as tw  # noqa: E402
from trackwire.pytorch import TrackwireLogger  # noqa: E402

BATCHES = 4  # per epoch


@pytest.fixture
def experiment(server):
    tw.set_tracking_uri(server.tracking_uri)
    yield tw.set_experiment(f"lightning-{uuid.uuid4().hex}").experiment_id
    while tw.active_run():
        tw.end_run()
    tw.autolog(disable=True)


class Tiny(pl.LightningModule):
    def __init__(self, lr: float = 0.1, optimizer: dict | None = None, fail_at: int = -1):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, index):
        if self.global_step == self.hparams.fail_at:
            raise RuntimeError("training broke")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def test_step(self, batch, index):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def data() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4 * BATCHES, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=4)


def trainer(tmp_path, **kwargs) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=2,
        log_every_n_steps=1,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        **kwargs,
    )


def steps(run_id: str, key: str) -> list[int]:
    return [m.step for m in tw.get_metric_history(run_id, key)]


def runs_of(experiment_id: str) -> list:
    return tw.search_runs([experiment_id], output_format="list")


def test_a_run_of_its_own_gets_hyperparams_metrics_and_finished(experiment, tmp_path):
    logger = TrackwireLogger(run_name="tiny", tags={"team": "vision"})
    trainer(tmp_path, logger=logger).fit(Tiny(optimizer={"name": "sgd", "nesterov": False}), data())

    assert tw.active_run() is None
    run = tw.get_run(logger.version)
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    assert run.data.tags["team"] == "vision"
    assert run.data.params == {
        "lr": "0.1",
        "optimizer/name": "sgd",
        "optimizer/nesterov": "False",
        "fail_at": "-1",
    }
    assert steps(run.info.run_id, "train_loss") == list(range(2 * BATCHES))
    assert logger.name == experiment == run.info.experiment_id
    assert logger.experiment.get_run(logger.version).info.run_id == run.info.run_id


def test_a_later_stage_logs_into_the_same_run(experiment, tmp_path):
    logger = TrackwireLogger()
    fitted = trainer(tmp_path, logger=logger)
    model = Tiny()
    fitted.fit(model, data())
    fitted.test(model, data(), verbose=False)
    (run,) = runs_of(experiment)
    assert run.info.run_id == logger.version and run.info.status == "FINISHED"
    assert "test_loss" in run.data.metrics and "train_loss" in run.data.metrics


def test_the_logger_logs_into_the_active_run_and_leaves_it_open(experiment, tmp_path):
    with tw.start_run() as run:
        logger = TrackwireLogger()
        trainer(tmp_path, logger=logger).fit(Tiny(lr=0.05), data())
        assert tw.active_run().info.run_id == run.info.run_id == logger.version
    stored = tw.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED" and stored.data.params["lr"] == "0.05"
    assert len(steps(run.info.run_id, "train_loss")) == 2 * BATCHES


def test_training_that_raises_ends_its_run_failed(experiment, tmp_path):
    logger = TrackwireLogger()
    with pytest.raises(RuntimeError, match="training broke"):
        trainer(tmp_path, logger=logger).fit(Tiny(fail_at=3), data())
    assert tw.active_run() is None
    run = tw.get_run(logger.version)
    assert run.info.status == "FAILED"
    assert steps(run.info.run_id, "train_loss") == [0, 1, 2]


def test_autolog_gives_trainers_without_a_logger_this_one(experiment, tmp_path):
    tw.autolog()
    default = trainer(tmp_path)
    assert isinstance(default.logger, TrackwireLogger)
    assert isinstance(trainer(tmp_path, logger=True).logger, TrackwireLogger)
    assert trainer(tmp_path, logger=False).logger is None
    csv = pl.loggers.CSVLogger(tmp_path)
    assert trainer(tmp_path, logger=csv).logger is csv
    default.fit(Tiny(), data())
    (run,) = runs_of(experiment)
    assert run.info.status == "FINISHED" and run.data.params["lr"] == "0.1"

    tw.autolog(disable=True)
    assert not isinstance(trainer(tmp_path).logger, TrackwireLogger)


def test_other_ranks_log_nothing(experiment, tmp_path, monkeypatch):
    monkeypatch.setattr(pl.utilities.rank_zero_only, "rank", 1)
    logger = TrackwireLogger()
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"loss": 1.0}, step=0)
    logger.finalize("success")
    assert logger.version is None and runs_of(experiment) == []


def test_the_older_pytorch_lightning_package_works_too(experiment, server):
    """With only `pytorch_lightning` importable, its Trainer logs through the logger."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["lightning"] = None  # as if only pytorch_lightning were installed
        import pytorch_lightning as pl, torch
        import trackwire as tw
        from trackwire.pytorch import TrackwireLogger

        class Tiny(pl.LightningModule):
            def __init__(self, lr=0.1):
                super().__init__()
                self.save_hyperparameters()
                self.layer = torch.nn.Linear(2, 1)
            def training_step(self, batch, index):
                loss = self.layer(batch[0]).pow(2).mean()
                self.log("train_loss", loss)
                return loss
            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

        tw.set_tracking_uri({server.tracking_uri!r})
        tw.set_experiment(experiment_id={experiment!r})
        logger = TrackwireLogger()
        ones = torch.utils.data.TensorDataset(torch.ones(8, 2))
        data = torch.utils.data.DataLoader(ones, batch_size=4)
        pl.Trainer(max_epochs=1, log_every_n_steps=1, logger=logger, accelerator="cpu",
                   enable_checkpointing=False, enable_progress_bar=False,
                   enable_model_summary=False).fit(Tiny(), data)
        assert "lightning" not in {{m.split(".")[0] for m, v in sys.modules.items() if v}}
        print(logger.version)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    run = tw.get_run(out.stdout.split()[-1])
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.1"}
    assert steps(run.info.run_id, "train_loss") == [0, 1]
