#!/usr/bin/env python3
"""The reference for bench/train_bench.cpp: LoRA training tokens/s of transformers + PEFT on CPU,
same decoder config (hidden 512, 4 layers, 4 heads / 2 KV heads, MLP 1376, vocabulary 8192), same
LoRA (rank 16, alpha 32, q/k/v/o), same 512-token sample (ids (i * 7919) % 8176, second half the
target), one optimizer step (forward, backward, AdamW) per iteration, in bf16 and f32.

    tools/golden/.venv/bin/python tools/golden/train_speed.py [--steps 10]

Prints one line per dtype: the median seconds per step and tokens/s. Uses torch's default thread
count, as the bench does.
"""

import argparse
import statistics
import sys
import time

import peft
import torch
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

TOKENS = 512
VOCAB = 8192


def build(dtype):
    torch.manual_seed(0)
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": VOCAB, "hidden_size": 512, "intermediate_size": 1376, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
            "tie_word_embeddings": False,
        },
        vision_config={"depth": 1, "embed_dim": 32, "hidden_size": 512, "num_heads": 2},
        image_token_id=VOCAB - 1,
        tie_word_embeddings=False,
    )
    model = Qwen2VLForConditionalGeneration._from_config(config, attn_implementation="sdpa", dtype=dtype)
    lora = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                           target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    model = peft.get_peft_model(model, lora)
    for n, p in model.named_parameters():  # fp32 adapters on a bf16 base, as mat trains
        if "lora_" in n:
            p.data = p.data.float()
    model.train()
    return model


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    ids = torch.tensor([[(i * 7919) % (VOCAB - 16) for i in range(TOKENS)]])
    labels = ids.clone()
    labels[0, : TOKENS // 2] = -100
    for name, dtype in (("bf16", torch.bfloat16), ("f32", torch.float32)):
        model = build(dtype)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
        times = []
        for step in range(args.steps + 1):
            start = time.perf_counter()
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            if step > 0:  # the first is a warm-up
                times.append(time.perf_counter() - start)
            print(f"  {name} step {step}: {time.perf_counter() - start:.2f} s", file=sys.stderr, flush=True)
        median = statistics.median(times)
        print(f"{name}: {median * 1000:.1f} ms/step, {TOKENS / median:.0f} tok/s "
              f"(torch {torch.__version__}, peft {peft.__version__}, {torch.get_num_threads()} threads)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
