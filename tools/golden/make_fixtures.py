#!/usr/bin/env python3
"""Builds the golden fixtures in tests/fixtures/golden/ with the real Hugging Face stack.

A tiny, randomly initialised Qwen2-VL (fixed seeds) with a byte-level BPE vocabulary trained here on
text this script generates, saved with save_pretrained; then, for a fixed set of prompts, what the
reference processor and model make of them: chat text, input ids, pixel values, grids, 3D position
ids, vision tower output, hidden states, logits and a greedy continuation, with and without a PEFT
LoRA adapter. Also a tokenizer table (strings -> ids). Development-time only: mat's tests read the
committed outputs and never need Python.

Run through `make golden` (creates tools/golden/.venv from requirements.txt). Running it twice gives
byte-identical outputs (CPU, one thread, fixed seeds).
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import peft  # noqa: E402
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402
from transformers import (  # noqa: E402
    Qwen2Tokenizer,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLProcessor,
    Qwen2VLVideoProcessor,
)
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX  # noqa: E402
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (  # noqa: E402
    Qwen2VLImageProcessorPil,
    smart_resize,
)

SEED = 20240917
BPE_VOCAB = 480  # 256 byte symbols + 224 merges
MODEL_VOCAB = 512  # padded like the real checkpoints (tokenizer vocabulary < embedding rows)
MIN_PIXELS = 56 * 56
MAX_PIXELS = 28 * 28 * 16
GREEDY_TOKENS = 16

# Qwen2-VL's special tokens, in the order of their ids in the real vocabulary (151643...).
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# The chat template of Qwen2-VL-*-Instruct.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# ----------------------------------------------------------------------------------------------
# Deterministic text for the BPE vocabulary and the tokenizer table


WORDS = (
    "the of and to in is that for it as with was on be at by this had not are but from or have an "
    "they which one you were her all she there would their we him been has when who will more no "
    "if out so said what up its about into than them can only other new some could time these two "
    "may then do first any my now such like our over man me even most made after also did many "
    "image picture photo chart table answer question task tool code print result final step value "
    "number count total sum average width height pixel color red green blue text file path read "
    "write open python import numpy pandas return def class self list dict string float int true "
    "false none error output observation thought agent model token vision language"
).split()
CJK = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长"
EMOJI = ["😀", "😂", "👍", "🎉", "🚀", "❤️", "👍🏽", "🇯🇵", "👨\u200d👩\u200d👧", "✅", "🤖", "📈"]
SYMBOLS = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def corpus_lines(rng: random.Random) -> list[str]:
    lines = []
    for _ in range(1500):
        n = rng.randint(3, 14)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        line = " ".join(words)
        if rng.random() < 0.3:
            line += rng.choice([".", "?", "!", ":", ","])
        if rng.random() < 0.2:
            line += " " + str(rng.randint(0, 10**rng.randint(1, 7)))
        lines.append(line)
    for _ in range(300):
        var = rng.choice(["x", "y", "result", "img", "df", "total", "count", "value"])
        lines.append(
            rng.choice(
                [
                    f"{var} = {rng.randint(0, 999)}",
                    f"print({var})",
                    f"for i in range({rng.randint(1, 50)}):\n    {var} += i",
                    f"def f({var}):\n    return {var} * {rng.randint(2, 9)}",
                    f'result = ocr(image_path="{var}.png")\nprint(result["text"])',
                    f"final_answer(answer={var})",
                    f"Thought: I need the {var} first.\nCode:\n```py\nprint({var})\n```<end_action>",
                    f"[OUTPUT OF STEP {rng.randint(0, 9)}] Observation:\n{rng.randint(0, 9999)}",
                    f"Task: What is the {var} in the image?",
                ]
            )
        )
    for _ in range(200):
        lines.append("".join(rng.choice(CJK) for _ in range(rng.randint(2, 12))))
    for _ in range(100):
        lines.append(" ".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4))))
    for _ in range(100):
        lines.append("".join(rng.choice(SYMBOLS) for _ in range(rng.randint(1, 6))))
    for _ in range(100):
        lines.append(" " * rng.randint(1, 8) + rng.choice(WORDS) + "\t" * rng.randint(0, 2))
    return lines


def table_strings(rng: random.Random) -> list[str]:
    fixed = [
        "", " ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", " \t\n", "a", "A", "hello", "Hello world",
        "HELLO WORLD", "hello  world", "hello\tworld", "hello\nworld", " leading", "trailing ",
        "   leading spaces", "trailing spaces   ", "don't", "DON'T", "I'll", "we're", "they've",
        "I'm", "he'd", "it's", "'s", "'S", "cat's toy's", "12345", "3.14159", "1,000,000", "-42",
        "$100.00", "2024-09-17", "0x1F", "1e-6", "x86_64", "C++", "e.g.", "i.e.,", "a+b=c",
        "print('hello')", 'print("hello")', "def f(x):\n    return x * 2\n",
        "for i in range(10):\n\tprint(i)", "if x == 1: y = 2", "```py\nprint(1)\n```<end_action>",
        "Thought: I will use ocr.\nCode:\n```py\nresult = ocr(image_path=\"a.png\")\n```<end_action>",
        "[OUTPUT OF STEP 0] Observation:\n42", "Task: How many words are on the sign?",
        "https://example.com/a/b?c=d&e=f", "user@example.com", "#include <vector>", "x->y::z",
        "a\u00a0b", "a\u2028b", "a\u0085b", "a\u3000b", "a\u200bb", "a\u200db", "\u00a0\u00a0",
        "你好，世界", "日本語のテキスト", "안녕하세요", "中文English混合", "全角　スペース", "مرحبا بالعالم",
        "שלום", "สวัสดีครับ", "नमस्ते", "Ελληνικά", "Привет, мир!", "∑∫√∞≈≠", "½¾⅓", "①②③",
        "😀", "😀😀😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇯🇵🇫🇷", "❤️", "I ❤️ NY", "🤖 agent",
        "e\u0301", "caf\u00e9", "cafe\u0301", "A\u030a", "\u212b", "\uff21\uff22", "\ufb01", "n\u0303",
        "\ufffd", "\x00", "\x01\x02\x7f", "\\x80\\xff", "\u0000abc", "\ud7ff", "\ue000", "\U0010ffff",
        "aaaaaaaaaaaaaaaaaaaaaaaa", "!!!???", "...", "—–-", "«»“”‘’", "\"quoted\"", "(parens)",
        "<|im_start|>user\nhi<|im_end|>", "<|image_pad|><|image_pad|>", "<|im_start", "<|im_end|>x",
        "x<|endoftext|>y", "<|vision_start|><|image_pad|><|vision_end|>", "< |im_start| >",
        "<|unknown|>", "<|IM_START|>", "line1\r\nline2\r\n", "\n\n\n\n", " \n \n", "a\n\n  b",
        "    indented", "\t\tdouble tab", "tab\tseparated\tvalues", "MiXeD CaSe", "ALLCAPS", "snake_case",
        "camelCaseWord", "kebab-case-word", "ends with space ", "a" * 200, "ab" * 50, "1" * 40,
    ]
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n\r",
        "".join(SYMBOLS),
        CJK,
        "éèêëàâäôöüçñßøåæ",
        "".join(EMOJI),
        "\u00a0\u2028\u3000\u200b\u0301\u0308",
    ]
    generated = []
    for _ in range(220):
        n = rng.randint(1, 40)
        weights = [rng.random() for _ in pools]
        chars = []
        for _ in range(n):
            pool = rng.choices(pools, weights=weights)[0]
            chars.append(rng.choice(pool))
        generated.append("".join(chars))
    for _ in range(60):
        generated.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))))
    return fixed + generated


def train_tokenizer(rng: random.Random) -> Qwen2Tokenizer:
    base = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    base.normalizer = normalizers.NFC()
    base.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    base.train_from_iterator(corpus_lines(rng), trainer=trainer)
    model = json.loads(base.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    # The special tokens follow the BPE vocabulary in Qwen2-VL's order (<|endoftext|> first).
    vocab = dict(model["vocab"])
    for t in SPECIAL_TOKENS:
        vocab[t] = len(vocab)
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS,
        errors="replace",
        model_max_length=32768,
        split_special_tokens=False,
        clean_up_tokenization_spaces=False,
    )
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    tok.chat_template = CHAT_TEMPLATE
    return tok


# ----------------------------------------------------------------------------------------------
# Images


def make_image(width: int, height: int, seed: int) -> Image.Image:
    """Smooth gradients, hard edges and a little noise: exercises every part of the resampler."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3), dtype=np.float64)
    img[..., 0] = 255 * x / max(width - 1, 1)
    img[..., 1] = 255 * y / max(height - 1, 1)
    img[..., 2] = 127 + 120 * np.sin(x / 3.0 + seed) * np.cos(y / 5.0)
    for _ in range(4):
        x0, y0 = r.integers(0, width), r.integers(0, height)
        w0, h0 = r.integers(2, max(3, width // 2)), r.integers(2, max(3, height // 2))
        img[y0 : y0 + h0, x0 : x0 + w0] = r.integers(0, 256, size=3)
    img += r.normal(0, 12, size=img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), mode="RGB")


# name -> (width, height, PNG mode): within the pixel budget; over it (downscaled); under it
# (upscaled); tall; exactly on the grid (no resize at all); with transparency (composited onto
# white by the processor); greyscale.
IMAGES = {
    "landscape": (90, 60, "RGB"),
    "wide": (200, 80, "RGB"),
    "small": (30, 45, "RGB"),
    "tall": (40, 150, "RGB"),
    "exact": (56, 84, "RGB"),
    "rgba": (50, 40, "RGBA"),
    "gray": (64, 32, "L"),
}


def make_png(width: int, height: int, mode: str, seed: int) -> Image.Image:
    img = make_image(width, height, seed)
    if mode == "RGBA":
        alpha = np.tile(np.linspace(0, 255, width).round().astype(np.uint8), (height, 1))
        alpha[: height // 4] = 0
        alpha[-(height // 4) :] = 255
        img = Image.fromarray(np.dstack([np.asarray(img), alpha]), mode="RGBA")
    elif mode == "L":
        img = img.convert("L")
    return img


# ----------------------------------------------------------------------------------------------
# Prompts


def agent_system_prompt() -> str:
    return (
        "You are an agent that solves tasks by writing Python code. Work in steps. In each step, "
        "write:\n\nThought: what you know so far and what you need next.\nCode:\n```py\n"
        "# Python that calls the tools below\n```<end_action>\n\nTools:\n- ocr(image_path: str) -> "
        "dict: the text in an image.\n- final_answer(answer: any): ends the task."
    )


def prompts():
    """(name, messages, image names in order of appearance, add_generation_prompt)."""
    img = {"type": "image"}
    return [
        ("text_only", [{"role": "user", "content": "Hello! What is 2+2?"}], [], True),
        (
            "text_system",
            [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [{"type": "text", "text": "Name three colours."}]},
            ],
            [],
            True,
        ),
        (
            "one_image",
            [{"role": "user", "content": [img, {"type": "text", "text": "Describe this image."}]}],
            ["landscape"],
            True,
        ),
        (
            "two_images",
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Compare "},
                        img,
                        {"type": "text", "text": " with "},
                        img,
                        {"type": "text", "text": ". Which one is wider?"},
                    ],
                }
            ],
            ["wide", "small"],
            True,
        ),
        (
            "agent_multiturn",
            [
                {"role": "system", "content": [{"type": "text", "text": agent_system_prompt()}]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Task: What is the total in the table?\n\nAttached files (in your "
                            "working directory):\n- table.png",
                        },
                        img,
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "text",
                            "text": "Thought: I will read the table with ocr.\nCode:\n```py\n"
                            'result = ocr(image_path="table.png")\nprint(result["text"])\n'
                            "```<end_action>",
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "[OUTPUT OF STEP 0] Observation:\nItem  Cost\nTea 3\nCake 4\n"},
                        img,
                    ],
                },
            ],
            ["tall", "exact"],
            True,
        ),
    ]


# ----------------------------------------------------------------------------------------------
# Model


def build_model(tok: Qwen2Tokenizer) -> Qwen2VLForConditionalGeneration:
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": MODEL_VOCAB,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "hidden_act": "silu",
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6,
            "initializer_range": 0.2,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "use_sliding_window": False,
            "tie_word_embeddings": False,
        },
        vision_config={
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": 64,
            "hidden_act": "quick_gelu",
            "mlp_ratio": 2,
            "num_heads": 2,
            "in_channels": 3,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "initializer_range": 0.05,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(SEED)
    model = Qwen2VLForConditionalGeneration._from_config(
        config, attn_implementation="eager", dtype=torch.float32
    )
    # RMSNorm and LayerNorm weights start at exactly 1 and biases at 0: perturb them so that a
    # reimplementation that forgets one is caught.
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith(".bias") or "ln_q" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.do_sample = False
    model.eval()
    return model


def forward(model, inputs):
    with torch.no_grad():
        return model(**inputs, output_hidden_states=True, return_dict=True)


def greedy(model, inputs, n: int):
    """Greedy decoding by full forward passes (no cache): the unambiguous reference. Also returns
    the smallest gap between the best and second-best logit (how robust the argmax is)."""
    ids = inputs["input_ids"]
    mm = inputs.get("mm_token_type_ids")
    out, gaps = [], []
    for _ in range(n):
        step = dict(inputs)
        step["input_ids"] = ids
        step["attention_mask"] = torch.ones_like(ids)
        if mm is not None:
            step["mm_token_type_ids"] = torch.cat([mm, torch.zeros(1, ids.shape[1] - mm.shape[1], dtype=mm.dtype)], 1)
        with torch.no_grad():
            logits = model(**step, return_dict=True).logits[0, -1]
        top = torch.topk(logits, 2)
        gaps.append(float(top.values[0] - top.values[1]))
        nxt = int(top.indices[0])
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], 1)
    return out, min(gaps)


def generate_with_cache(model, inputs, n: int):
    with torch.no_grad():
        seq = model.generate(**inputs, max_new_tokens=n, min_new_tokens=0, do_sample=False, eos_token_id=None)
    return seq[0, inputs["input_ids"].shape[1] :].tolist()


def logit_positions(input_ids: list[int], image_token: int) -> list[int]:
    n = len(input_ids)
    pos = {0, n // 2, n - 1}
    pads = [i for i, t in enumerate(input_ids) if t == image_token]
    if pads:
        pos |= {pads[0], pads[-1], min(pads[-1] + 1, n - 1)}
    return sorted(pos)


# ----------------------------------------------------------------------------------------------
# Output helpers


def dump_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def legacy_key(new_key: str) -> str:
    """transformers >= 4.52 names (model.language_model.*, model.visual.*) -> the original ones."""
    if new_key.startswith("model.language_model."):
        return "model." + new_key[len("model.language_model.") :]
    if new_key.startswith("model.visual."):
        return "visual." + new_key[len("model.visual.") :]
    return new_key


def modern_key(key: str) -> str:
    if key.startswith("visual."):
        return "model." + key
    if key.startswith("model.") and not key.startswith(("model.language_model.", "model.visual.")):
        return "model.language_model." + key[len("model.") :]
    return key


def legacy_config(config: dict) -> dict:
    """config.json as Qwen2-VL shipped it (flat text fields, rope_scaling, in_chans)."""
    text = dict(config["text_config"])
    vision = dict(config["vision_config"])
    rope = dict(text.pop("rope_parameters"))
    flat = {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        "torch_dtype": "float32",
        "transformers_version": "4.41.2",
    }
    for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps", "bos_token_id",
              "eos_token_id", "use_sliding_window", "sliding_window", "max_window_layers", "attention_dropout",
              "initializer_range", "use_cache"):
        if k in text:
            flat[k] = text[k]
    flat["tie_word_embeddings"] = config.get("tie_word_embeddings", False)
    flat["rope_theta"] = rope["rope_theta"]
    flat["rope_scaling"] = {"type": "mrope", "mrope_section": rope["mrope_section"]}
    for k in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"):
        flat[k] = config[k]
    flat["vision_config"] = {
        "depth": vision["depth"],
        "embed_dim": vision["embed_dim"],
        "mlp_ratio": vision["mlp_ratio"],
        "num_heads": vision["num_heads"],
        "in_chans": vision["in_channels"],
        "hidden_size": vision["hidden_size"],
        "hidden_act": vision["hidden_act"],
        "patch_size": vision["patch_size"],
        "spatial_merge_size": vision["spatial_merge_size"],
        "spatial_patch_size": vision["patch_size"],
        "temporal_patch_size": vision["temporal_patch_size"],
    }
    return flat


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "tests/fixtures/golden"))
    args = parser.parse_args()
    out = Path(args.out)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    if out.exists():
        shutil.rmtree(out)
    for sub in ("model", "model_alt", "lora", "lora_alt", "images", "prompts"):
        (out / sub).mkdir(parents=True)

    rng = random.Random(SEED)
    tok = train_tokenizer(rng)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    video_processor = Qwen2VLVideoProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    processor = Qwen2VLProcessor(
        image_processor=image_processor, tokenizer=tok, video_processor=video_processor, chat_template=CHAT_TEMPLATE
    )

    model = build_model(tok)
    model.save_pretrained(out / "model", safe_serialization=True)
    processor.save_pretrained(out / "model")
    # transformers 5 keeps the image processor's settings inside processor_config.json; the
    # released checkpoints (and mat) also read them from preprocessor_config.json.
    image_processor.to_json_file(out / "model/preprocessor_config.json")
    # The tokenizer's own copy of the template, as the released checkpoints have it.
    tc_path = out / "model/tokenizer_config.json"
    tc = json.loads(tc_path.read_text(encoding="utf-8"))
    tc.setdefault("chat_template", CHAT_TEMPLATE)
    dump_json(tc_path, tc)

    # The other tensor naming scheme and the flat config.json of the original release.
    saved = load_file(out / "model/model.safetensors")
    saved_scheme = "legacy" if any(k.startswith("visual.") for k in saved) else "modern"
    other = {(modern_key(k) if saved_scheme == "legacy" else legacy_key(k)): v for k, v in saved.items()}
    save_file(dict(sorted(other.items())), out / "model_alt/model.safetensors", metadata={"format": "pt"})
    config = json.loads((out / "model/config.json").read_text(encoding="utf-8"))
    dump_json(out / "model_alt/config.json", legacy_config(config))

    # Images, decoded back from the PNG files so that the reference sees exactly what mat reads.
    images = {}
    for i, (name, (w, h, mode)) in enumerate(IMAGES.items()):
        make_png(w, h, mode, SEED + 10 + i).save(out / f"images/{name}.png", optimize=False, compress_level=6)
        images[name] = Image.open(out / f"images/{name}.png")
        images[name].load()

    # Image processor alone, on every image.
    image_records = {}
    tensors = {}
    for name, im in images.items():
        feats = image_processor(images=[im], return_tensors="pt")
        tensors[f"{name}.pixel_values"] = feats["pixel_values"].contiguous()
        tensors[f"{name}.image_grid_thw"] = feats["image_grid_thw"].contiguous()
        image_records[name] = {
            "file": f"images/{name}.png",
            "width": im.width,
            "height": im.height,
            "mode": im.mode,
            "image_grid_thw": feats["image_grid_thw"][0].tolist(),
        }
    save_file(tensors, out / "images/processed.safetensors")
    dump_json(out / "images/images.json", image_records)

    # Prompts through processor and model.
    image_token = tok.convert_tokens_to_ids("<|image_pad|>")
    prompt_records = []
    margins = {}
    for name, messages, image_names, add_gen in prompts():
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_gen)
        imgs = [images[n] for n in image_names]
        inputs = processor(text=[text], images=imgs or None, return_tensors="pt")
        input_ids = inputs["input_ids"][0].tolist()
        mm = inputs.get("mm_token_type_ids")
        if mm is None:
            mm = torch.zeros_like(inputs["input_ids"])
        grid = inputs.get("image_grid_thw")
        position_ids, rope_deltas = model.model.get_rope_index(
            inputs["input_ids"], mm_token_type_ids=mm, image_grid_thw=grid, attention_mask=inputs["attention_mask"]
        )
        t = {
            "input_ids": inputs["input_ids"][0].contiguous(),
            "mm_token_type_ids": mm[0].to(torch.int64).contiguous(),
            "position_ids": position_ids[:, 0, :].contiguous(),
            "rope_deltas": rope_deltas.reshape(-1).contiguous(),
        }
        if imgs:
            t["pixel_values"] = inputs["pixel_values"].contiguous()
            t["image_grid_thw"] = grid.contiguous()
            with torch.no_grad():
                vis = model.model.visual(inputs["pixel_values"], grid_thw=grid, output_hidden_states=True)
            t["vision_patch_embed"] = model.model.visual.patch_embed(inputs["pixel_values"]).detach().contiguous()
            t["vision_last_hidden_state"] = vis.last_hidden_state.contiguous()
            t["vision_merged"] = vis.pooler_output.contiguous()
        res = forward(model, inputs)
        positions = logit_positions(input_ids, image_token)
        t["logits_positions"] = torch.tensor(positions, dtype=torch.int64)
        t["logits"] = res.logits[0, positions].contiguous()
        t["hidden_states"] = torch.stack([h[0] for h in res.hidden_states]).contiguous()
        ids, gap = greedy(model, inputs, GREEDY_TOKENS)
        cached = generate_with_cache(model, inputs, GREEDY_TOKENS)
        t["greedy_ids"] = torch.tensor(ids, dtype=torch.int64)
        margins[name] = {"base": gap}
        prompt_records.append(
            {
                "name": name,
                "messages": messages,
                "images": [f"images/{n}.png" for n in image_names],
                "add_generation_prompt": add_gen,
                "text": text,
                "input_ids": input_ids,
                "image_grid_thw": grid.tolist() if grid is not None else [],
                "position_ids": t["position_ids"].tolist(),
                "rope_delta": int(rope_deltas.reshape(-1)[0]),
                "logits_positions": positions,
                "greedy_ids": ids,
                "greedy_text": tok.decode(ids, skip_special_tokens=False),
                "greedy_matches_cached_generate": ids == cached,
                "tensors": f"prompts/{name}.safetensors",
            }
        )
        tensors_by_prompt = t
        save_file(tensors_by_prompt, out / f"prompts/{name}.safetensors")

    # LoRA on q/k/v of the decoder, with non-zero B, saved with PEFT; the same outputs through it.
    lora_config = peft.LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj"], bias="none"
    )
    peft_model = peft.get_peft_model(model, lora_config)
    gen = torch.Generator().manual_seed(SEED + 2)
    with torch.no_grad():
        for pname, p in peft_model.named_parameters():
            if "lora_B" in pname or "lora_A" in pname:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
    peft_model.eval()
    peft_model.save_pretrained(out / "lora")
    (out / "lora/README.md").unlink(missing_ok=True)  # a generated model card, not needed
    # PEFT writes target_modules from a set, in hash order: sort it so that runs are byte-identical.
    ac_path = out / "lora/adapter_config.json"
    ac = json.loads(ac_path.read_text(encoding="utf-8"))
    ac["target_modules"] = sorted(ac["target_modules"])
    ac_path.write_text(json.dumps(ac, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    adapter = load_file(out / "lora/adapter_model.safetensors")
    adapter_scheme = "modern" if any(".language_model." in k for k in adapter) else "legacy"
    renamed = {}
    for k, v in adapter.items():
        inner = k[len("base_model.model.") :]
        inner = legacy_key(inner) if adapter_scheme == "modern" else modern_key(inner)
        renamed["base_model.model." + inner] = v
    save_file(dict(sorted(renamed.items())), out / "lora_alt/adapter_model.safetensors", metadata={"format": "pt"})
    shutil.copy(out / "lora/adapter_config.json", out / "lora_alt/adapter_config.json")
    for rec in prompt_records:
        name = rec["name"]
        messages = next(m for n, m, _, _ in prompts() if n == name)
        imgs = [images[Path(p).stem] for p in rec["images"]]
        inputs = processor(text=[rec["text"]], images=imgs or None, return_tensors="pt")
        with torch.no_grad():
            res = peft_model(**inputs, return_dict=True)
        t = load_file(out / rec["tensors"])
        t["lora_logits"] = res.logits[0, rec["logits_positions"]].contiguous()
        ids, gap = greedy(peft_model, inputs, GREEDY_TOKENS)
        t["lora_greedy_ids"] = torch.tensor(ids, dtype=torch.int64)
        rec["lora_greedy_ids"] = ids
        rec["lora_greedy_text"] = tok.decode(ids, skip_special_tokens=False)
        margins[name]["lora"] = gap
        save_file(t, out / rec["tensors"])
        del messages
    dump_json(out / "prompts/prompts.json", prompt_records)

    # smart_resize on many sizes, rounding ties included (Python rounds half to even).
    cases = []
    sizes = [(h, w) for h in (1, 14, 27, 28, 29, 42, 45, 60, 70, 98, 126, 150, 333, 1000) for w in (1, 28, 42, 70, 90, 200, 640)]
    sizes += [(1, 201), (201, 1), (1, 200), (3, 700), (5000, 30), (4000, 3000), (1080, 1920)]
    for mn, mx in ((MIN_PIXELS, MAX_PIXELS), (56 * 56, 28 * 28 * 1280)):
        for h, w in sizes:
            try:
                result = list(smart_resize(h, w, factor=28, min_pixels=mn, max_pixels=mx))
            except ValueError as e:
                result = str(e)
            cases.append({"height": h, "width": w, "min_pixels": mn, "max_pixels": mx, "result": result})
    dump_json(out / "smart_resize.json", cases)

    # PIL's bicubic on its own: both pass orders, one pass, none, up and down.
    resize_sizes = [(30, 20, 10, 25), (20, 30, 25, 10), (17, 23, 17, 40), (40, 9, 13, 9), (33, 33, 33, 33),
                    (50, 60, 12, 55), (64, 48, 20, 30), (64, 48, 30, 20), (5, 7, 60, 3), (1, 1, 4, 4), (2, 90, 28, 56)]
    resize_tensors = {}
    r = np.random.default_rng(SEED + 4)
    for i, (H, W, h, w) in enumerate(resize_sizes):
        a = r.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
        if i % 2:
            a = np.asarray(make_image(W, H, SEED + 100 + i))
        resize_tensors[f"{i}.input"] = torch.from_numpy(a.copy())
        resize_tensors[f"{i}.output"] = torch.from_numpy(
            np.asarray(Image.fromarray(a).resize((w, h), resample=Image.BICUBIC)).copy()
        )
    save_file(resize_tensors, out / "images/resize_cases.safetensors")
    dump_json(out / "images/resize_cases.json", [{"in": [H, W], "out": [h, w]} for H, W, h, w in resize_sizes])

    # Tokenizer table through the real tokenizers library.
    table = []
    for s in table_strings(random.Random(SEED + 3)):
        enc = tok.backend_tokenizer.encode(s, add_special_tokens=False)
        table.append(
            {
                "text": s,
                "ids": enc.ids,
                "tokens": enc.tokens,
                "decoded": tok.backend_tokenizer.decode(enc.ids, skip_special_tokens=False),
            }
        )
    dump_json(out / "tokenizer_table.json", table)

    files = sorted(p for p in out.rglob("*") if p.is_file())
    manifest = {
        "generator": "tools/golden/make_fixtures.py",
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__,
            "peft": peft.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
        },
        "seed": SEED,
        "reference": {
            "image_processor": type(image_processor).__name__
            + " (the PIL backend, chosen explicitly: PIL bicubic resize on uint8, then rescale in float64"
            " -> float32, then normalize in float32. transformers 5 would otherwise pick its torchvision"
            " backend, whose float bicubic differs from PIL's by up to one uint8 level on these images"
            " (measured: max |difference| 0.015 in pixel_values); Qwen2-VL was trained on PIL-resized"
            " images)",
            "attn_implementation": "eager",
            "dtype": "float32",
            "threads": 1,
            "greedy": "full forward per token, no KV cache, no stop at EOS; greedy_matches_cached_generate"
            " says whether model.generate (KV cache) agrees",
            "greedy_min_top2_margin": margins,
            "tensor_names": {
                "legacy": "model.layers.*, model.embed_tokens, model.norm, visual.*, lm_head",
                "modern": "model.language_model.*, model.visual.*, lm_head",
                "model/ (save_pretrained)": saved_scheme,
                "lora/ (PEFT save_pretrained)": adapter_scheme,
                "model_alt/ and lora_alt/": "the other scheme, renamed by this script",
            },
            "model_alt/config.json": "the flat layout of the original Qwen2-VL release (text fields at the"
            " top level, rope_theta + rope_scaling {type: mrope}, vision in_chans), written by this script",
        },
        "contents": {
            "model/": "tiny Qwen2-VL saved with save_pretrained / processor.save_pretrained",
            "model_alt/": "the same weights under the other tensor naming scheme; the legacy config.json layout",
            "lora/": "PEFT LoRA (r=4, alpha=8, q/k/v of the decoder, non-zero A and B)",
            "lora_alt/": "the same adapter under the other naming scheme",
            "smart_resize.json": "(height, width) -> the reference smart_resize (or its error) for many sizes",
            "images/resize_cases.safetensors": "<i>.input (U8 [h,w,3]) and <i>.output: PIL bicubic resizes,"
            " both pass orders; resize_cases.json lists the sizes",
            "images/*.png": "generated test images; images.json: their sizes and grids",
            "images/processed.safetensors": "<name>.pixel_values (F32 [patches, 1176]), <name>.image_grid_thw (I64 [1,3])",
            "prompts/prompts.json": "per prompt: messages, chat text, input ids, grids, position ids, greedy ids",
            "prompts/<name>.safetensors": "input_ids, mm_token_type_ids, position_ids [3,L], rope_deltas,"
            " pixel_values, image_grid_thw, vision_patch_embed, vision_last_hidden_state (pre-merger),"
            " vision_merged (what replaces <|image_pad|>), hidden_states [layers+1, L, hidden],"
            " logits_positions, logits [P, vocab], greedy_ids, lora_logits, lora_greedy_ids",
            "tokenizer_table.json": "strings with ids, tokens and decoded text from the real tokenizers",
        },
        "sha256": {str(p.relative_to(out)): sha256(p) for p in files},
    }
    dump_json(out / "manifest.json", manifest)
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files, {total / 1e6:.2f} MB, to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
