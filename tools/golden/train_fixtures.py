#!/usr/bin/env python3
"""Builds tests/fixtures/golden/train/: one LoRA training step of the reference (transformers + PEFT).

On the tiny fixture model (tests/fixtures/golden/model, made by make_fixtures.py), with a PEFT
LoraConfig (r=4, alpha=8, q/k/v/o projections, no dropout) whose A and B are set to fixed non-zero
values (saved as adapter_init/, so that mat starts from the same adapter), and one agent-style
sample (system prompt, a task turn with one image, two assistant turns and an observation between
them; token ids and the target mask written to sample.json), it records:

  - the loss: mean cross-entropy over the target tokens, labels shifted as Hugging Face does
    (the logits at position i predict token i + 1, counted when token i + 1 is a target);
  - the gradient of every LoRA tensor (grads.safetensors, PEFT's tensor names);
  - the adapter after three torch.optim.AdamW steps on that sample (adapter_step3.safetensors) and
    the loss before each step.

The sample's ids are built here from the fixture tokenizer, segment by segment (a fixed list with
a mask: each assistant turn's content and its <|im_end|> are targets, everything else context).
Everything in float32 on one CPU thread; running it twice gives identical outputs.

Run through `make golden` after make_fixtures.py.
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import peft  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration  # noqa: E402

SEED = 20250101
LR = 1e-2
BETAS = (0.9, 0.95)
EPS = 1e-8
WEIGHT_DECAY = 0.1
STEPS = 3
TARGETS = ["k_proj", "o_proj", "q_proj", "v_proj"]

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests/fixtures/golden"


def build_sample(tok, image_tokens: int) -> tuple[list[int], list[int]]:
    """(ids, is_target) of a chat in Qwen2-VL's template with one image of `image_tokens` pads."""
    special = {t: tok.convert_tokens_to_ids(t) for t in
               ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"]}
    ids: list[int] = []
    mask: list[int] = []

    def add(piece, target: bool = False):
        new = [special[piece]] if piece in special else tok.encode(piece, add_special_tokens=False)
        ids.extend(new)
        mask.extend([1 if target else 0] * len(new))

    def turn(role: str, parts: list, target: bool = False):
        add("<|im_start|>")
        add(role + "\n")
        for p in parts:
            add(p, target)
        add("<|im_end|>", target)
        add("\n")

    turn("system", ["You are an agent. Answer with Thought: and Code:."])
    add("<|im_start|>")
    add("user\n")
    add("<|vision_start|>")
    for _ in range(image_tokens):
        add("<|image_pad|>")
    add("<|vision_end|>")
    add("Task: What is the count in the image?")
    add("<|im_end|>")
    add("\n")
    turn("assistant", ["Thought: I need the count first.\nCode:\n```py\nprint(count)\n```"], True)
    turn("user", ["[OUTPUT OF STEP 0] Observation:\n42"])
    turn("assistant", ["Thought: done.\nCode:\n```py\nfinal_answer(answer=42)\n```"], True)
    return ids, mask


def loss_of(model, inputs, labels) -> torch.Tensor:
    logits = model(**inputs, return_dict=True).logits[0].float()
    return torch.nn.functional.cross_entropy(logits[:-1], labels[1:], ignore_index=-100)


def lora_tensors(model) -> dict[str, torch.Tensor]:
    return {n: p for n, p in model.named_parameters() if "lora_" in n}


def peft_name(param_name: str) -> str:
    # named_parameters: base_model.model.<module>.lora_A.default.weight -> the saved name.
    return param_name.replace(".default.", ".")


def main() -> int:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    out = GOLDEN / "train"
    out.mkdir(parents=True, exist_ok=True)

    tok = AutoTokenizer.from_pretrained(GOLDEN / "model")
    model = Qwen2VLForConditionalGeneration.from_pretrained(
        GOLDEN / "model", dtype=torch.float32, attn_implementation="eager")
    image = load_file(GOLDEN / "prompts/one_image.safetensors")
    grid = image["image_grid_thw"]
    merge = model.config.vision_config.spatial_merge_size
    image_tokens = int(grid.prod()) // (merge * merge)
    ids, is_target = build_sample(tok, image_tokens)

    config = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, bias="none")
    model = peft.get_peft_model(model, config)
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in sorted(lora_tensors(model).items()):
            p.copy_(0.2 * torch.randn(p.shape, generator=gen))
    model.save_pretrained(out / "adapter_init")
    (out / "adapter_init/README.md").unlink(missing_ok=True)
    ac_path = out / "adapter_init/adapter_config.json"
    ac = json.loads(ac_path.read_text(encoding="utf-8"))
    ac["target_modules"] = sorted(ac["target_modules"])
    ac_path.write_text(json.dumps(ac, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    input_ids = torch.tensor([ids])
    image_pad = tok.convert_tokens_to_ids("<|image_pad|>")
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "mm_token_type_ids": (input_ids == image_pad).to(torch.int64),
        "pixel_values": image["pixel_values"],
        "image_grid_thw": grid,
    }
    labels = torch.tensor([t if m else -100 for t, m in zip(ids, is_target)])

    model.train()
    params = lora_tensors(model)
    optimizer = torch.optim.AdamW(list(params.values()), lr=LR, betas=BETAS, eps=EPS,
                                  weight_decay=WEIGHT_DECAY)
    losses = []
    grads = {}
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = loss_of(model, inputs, labels)
        loss.backward()
        losses.append(float(loss))
        if step == 0:
            grads = {peft_name(n): p.grad.detach().clone().contiguous() for n, p in params.items()}
        optimizer.step()
    save_file(dict(sorted(grads.items())), out / "grads.safetensors", metadata={"format": "pt"})
    final = {peft_name(n): p.detach().clone().contiguous() for n, p in params.items()}
    save_file(dict(sorted(final.items())), out / "adapter_step3.safetensors", metadata={"format": "pt"})
    save_file({"pixel_values": image["pixel_values"].contiguous(), "image_grid_thw": grid.contiguous()},
              out / "image.safetensors", metadata={"format": "pt"})

    record = {
        "ids": ids,
        "is_target": is_target,
        "targets": int(sum(is_target)),
        "image": "image.safetensors",
        "loss": losses[0],
        "losses": losses,
        "optimizer": {"lr": LR, "beta1": BETAS[0], "beta2": BETAS[1], "eps": EPS,
                      "weight_decay": WEIGHT_DECAY, "steps": STEPS},
        "lora": {"r": 4, "alpha": 8, "targets": TARGETS},
        "versions": {"torch": torch.__version__, "peft": peft.__version__},
    }
    (out / "sample.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"loss {losses}; {len(grads)} LoRA tensors; {len(ids)} tokens, {sum(is_target)} targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
