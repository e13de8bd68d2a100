#!/usr/bin/env python3
"""The tiny controller made by `mat tokenizer train` + `mat model init` (+ `mat pretrain`) against
the Hugging Face stack: the tokenizer.json loads in `tokenizers` with the same ids for the special
tokens and lossless round trips, the chat template renders what mat renders, and transformers'
greedy generation equals `mat generate`'s.

    build/mat tokenizer train --corpus prompts --corpus /usr/lib/python3.11 --vocab-size 4096 \\
        --max-bytes 2000000 --out /tmp/ctl/tokenizer.json
    build/mat model init --tokenizer /tmp/ctl/tokenizer.json --out /tmp/ctl/init
    tools/golden/.venv/bin/python tools/golden/check_controller.py /tmp/ctl/init [build/mat]

Exit status 1 on any difference.
"""

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration  # noqa: E402

TEXTS = [
    "def count_faces(image):\n    return len(face_detector(image))  # café\n",
    "Zebra quokka 漢字 مرحبا 🙂\t\r\n  x = {'k': [1, 2.5e-3]} e\u0301",
    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is the total?<|im_end|>\n",
]
PROMPT = "Write Python that prints the total."
NEW_TOKENS = 16


def main() -> int:
    model_dir = Path(sys.argv[1])
    mat = sys.argv[2] if len(sys.argv) > 2 else "build/mat"
    failures = []

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    added = json.loads((model_dir / "tokenizer.json").read_text())["added_tokens"]
    for token in added:
        ids = tok.encode("a" + token["content"] + "b").ids
        if len(ids) != 3 or ids[1] != token["id"]:
            failures.append(f"{token['content']}: ids {ids}, expected the single id {token['id']}")
    for text in TEXTS:
        ids = tok.encode(text).ids
        back = tok.decode(ids, skip_special_tokens=False)
        if back != unicodedata.normalize("NFC", text):
            failures.append(f"round trip of {text!r} gave {back!r}")
        print(json.dumps({"text": text, "ids": ids}, ensure_ascii=False))

    processor_tok = AutoTokenizer.from_pretrained(model_dir)
    messages = [{"role": "user", "content": PROMPT}]
    rendered = processor_tok.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=True)
    expected = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n")
    if rendered != expected:
        failures.append(f"chat template rendered {rendered!r}")

    model = Qwen2VLForConditionalGeneration.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    ids = torch.tensor([tok.encode(expected).ids])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False,
                             eos_token_id=[], pad_token_id=0)
    hf_ids = out[0, ids.shape[1]:].tolist()
    hf_text = tok.decode(hf_ids, skip_special_tokens=True)
    mat_text = subprocess.run(
        [mat, "generate", "--weights", str(model_dir), "--dtype", "f32", "--max-tokens",
         str(NEW_TOKENS), PROMPT], capture_output=True, text=True, check=True).stdout[:-1]
    print(json.dumps({"transformers": hf_text, "hf_ids": hf_ids, "mat": mat_text},
                     ensure_ascii=False))
    specials = {t["id"] for t in added}
    if any(i in specials for i in hf_ids):
        print("note: the generation holds a special token; mat stops there", file=sys.stderr)
    elif hf_text != mat_text:
        failures.append("greedy generations differ")

    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print("ok" if not failures else f"{len(failures)} failures", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
