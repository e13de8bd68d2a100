#!/usr/bin/env python3
"""The other direction of the PEFT check: an adapter written by `mat train` loads with PEFT onto
the transformers model and gives mat's logits.

    MAT_TRAIN_EXPORT=/tmp/mat-adapter build/tests/train/train_lora_test \\
        --gtest_filter='*AdapterLoadsBack*'
    tools/golden/.venv/bin/python tools/golden/check_mat_adapter.py /tmp/mat-adapter

The test trains an adapter on the tiny fixture model and keeps it, with mat's logits on the golden
training sample (tests/fixtures/golden/train/), in the folder. This script loads the fixture model
with transformers, the adapter with PeftModel.from_pretrained, computes the logits of the same
sample in float32 and prints the largest difference; exit status 1 above the tolerance.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json  # noqa: E402

import peft  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[2] / "tests/fixtures/golden"
TOLERANCE = 2e-4  # float32 on both sides, as the engine's logit fixtures


def main() -> int:
    adapter = Path(sys.argv[1])
    tok = AutoTokenizer.from_pretrained(GOLDEN / "model")
    model = Qwen2VLForConditionalGeneration.from_pretrained(
        GOLDEN / "model", dtype=torch.float32, attn_implementation="eager")
    model = peft.PeftModel.from_pretrained(model, adapter)
    model.eval()
    sample = json.loads((GOLDEN / "train/sample.json").read_text(encoding="utf-8"))
    image = load_file(GOLDEN / "train/image.safetensors")
    ids = torch.tensor([sample["ids"]])
    with torch.no_grad():
        logits = model(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            mm_token_type_ids=(ids == tok.convert_tokens_to_ids("<|image_pad|>")).to(torch.int64),
            pixel_values=image["pixel_values"],
            image_grid_thw=image["image_grid_thw"],
        ).logits[0]
    ours = load_file(adapter / "logits.safetensors")["logits"]
    diff = float((logits - ours).abs().max())
    print(f"{adapter}: PEFT vs mat logits, max |diff| {diff:.3g} over {tuple(logits.shape)} (tolerance {TOLERANCE})")
    return 0 if diff <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
