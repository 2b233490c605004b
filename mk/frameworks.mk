# Framework integrations on PyTorch (issue 18): trackwire.transformers and trackwire.pytorch.
# They get their own virtualenv: PyPI's torch brings its CUDA wheels (~5 GB), and the other
# suites need none of it (run there, these tests skip themselves for want of transformers and
# lightning). Training is on the CPU, on tiny models built in the tests; nothing may reach the
# Hugging Face hub.
FRAMEWORKS_VENV  := .venv-frameworks
FRAMEWORKS_PY    := $(FRAMEWORKS_VENV)/bin/python
FRAMEWORKS_TESTS := tests/test_autolog_transformers.py tests/test_autolog_lightning.py
FRAMEWORKS_ENV   := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
                    HF_HUB_DISABLE_TELEMETRY=1 WANDB_DISABLED=true TOKENIZERS_PARALLELISM=false \
                    CUDA_VISIBLE_DEVICES=

.PHONY: frameworks-deps test-frameworks

CI_DEPS      += frameworks-deps
TEST_TARGETS += test-frameworks

frameworks-deps: $(FRAMEWORKS_VENV)/.installed ## virtualenv with torch, transformers and lightning

$(FRAMEWORKS_VENV)/.installed: python/pyproject.toml mk/frameworks.mk
	test -x $(FRAMEWORKS_PY) || python3 -m venv $(FRAMEWORKS_VENV)
	$(FRAMEWORKS_PY) -m pip install -q --upgrade pip
	$(FRAMEWORKS_PY) -m pip install -q -e 'python[server,transformers,lightning]' \
	  'torch==2.15.0' 'transformers==5.23.0' 'accelerate==1.15.0' 'lightning==2.6.6' \
	  'pytorch-lightning==2.6.6' 'pytest>=8'
	touch $@

# A skipped test here is a failure: it would mean the integrations went untested.
test-frameworks: frameworks-deps ## Hugging Face and Lightning integrations against a real server
	@mkdir -p build; set -o pipefail; cd python && $(FRAMEWORKS_ENV) \
	  ../$(FRAMEWORKS_PY) -m pytest -q -rs $(FRAMEWORKS_TESTS) | tee ../build/test-frameworks.log || exit 1; \
	if grep -q ' skipped' ../build/test-frameworks.log; then echo "framework tests were skipped"; exit 1; fi
