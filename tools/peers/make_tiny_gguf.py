"""Writes a tiny random-weight llama GGUF that llama.cpp can serve, for mat's peer test.

The weights are noise, so the replies are nonsense; what the test needs is a real server on the
other end of mat's HTTP client. The model has what a real one has on the wire: a byte-level BPE
vocabulary (trained here on a small corpus) that tokenizes English and Python, a ChatML template,
and replies that are always valid UTF-8 because no token that could break a character is ever
sampled. The file is the same bytes on every run.

Usage: make_tiny_gguf.py OUT.gguf
"""

import re
import sys
from collections import Counter

import gguf
import numpy as np

SEED = 20250117
N_EMBD = 64
N_HEAD = 4
N_LAYER = 2
N_FF = 128
N_CTX_TRAIN = 16384  # above any --n_ctx the test serves it with
N_MERGES = 1200      # a ceiling: training stops when no pair occurs twice (about 280 merges here)

BOS, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

# ChatML, except that a message whose content is not plain text (an image part) is refused with
# the reason, as llama.cpp's own server does for a model loaded without a vision projector.
# llama-cpp-python's built-in `chatml` format would instead drop such a message without a word.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['content'] is not string %}"
    "{{ raise_exception('image input is not supported: this is a text-only model, no "
    "multimodal projector (mmproj) is loaded') }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Text to learn merges from: the kind of English and Python an agent's prompts and replies hold.
CORPUS = '''
The agent reads the task, thinks about what to do, and writes a short piece of Python code.
The code runs in a sandbox and prints what the agent needs to see in the next step. When the
agent knows the answer, it calls the final_answer tool with the result. Each step has a thought,
some code and an observation. If the code fails, the error is shown instead, and the agent can
try again with a different approach. The table in the image has three columns and four rows;
the numbers in the last column add up to the total that the question asks for.
Thought: I need to read the table first, then sum the numbers in the second column.
Code:
```py
import pandas as pd
table = pd.read_csv("table.csv")
total = table["value"].sum()
print(f"The total is {total}")
```<end_action>
Observation: The total is 42
Thought: The total is 42, so I can give the final answer now.
Code:
```py
final_answer(42)
```<end_action>
def add(a, b):
    """Return the sum of a and b."""
    return a + b

def mean(values):
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)

for index, name in enumerate(["alpha", "beta", "gamma"]):
    print(index, name.upper())

class Counter:
    def __init__(self, start=0):
        self.count = start

    def increment(self, step=1):
        self.count += step
        return self.count

with open("notes.txt", "w", encoding="utf-8") as handle:
    handle.write("hello world\\n")

result = {key: value * 2 for key, value in data.items() if value is not None}
numbers = [int(x) for x in line.split(",")]
import json, math, os, re
from pathlib import Path
path = Path("output") / "image.png"
print(json.dumps(result, indent=2), math.sqrt(16), os.path.exists(path))
The quick brown fox jumps over the lazy dog. She said that it would rain in the afternoon, but
the sky stayed clear and the children played outside until dinner. We have been working on this
problem for a while, and we think we finally understand why the numbers do not match: the second
file was written with a different version of the program. Please check the results again and
tell me if anything looks wrong. There are many ways to solve this, and some of them are faster
than others. It is not always easy to know which one to choose, so we try a few and compare.
What is the capital of France? Paris is the capital and largest city of France.
How many people live in the city? About two million people live there, and many more visit.
'''

# The split of llama.cpp's `gpt-2` pre-tokenizer, for ASCII (all the corpus holds; Python's re has
# no \p{L}), so that merges are learnt within the pieces that llama.cpp will merge.
PRETOKENIZE = re.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def byte_symbols():
    """GPT-2's byte-to-character map: every byte becomes one printable character, as llama.cpp's
    byte-level BPE expects the vocabulary to be written."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) +
                 list(range(ord("®"), ord("ÿ") + 1)))
    symbols, extra = {}, 0
    for b in range(256):
        if b in printable:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return symbols


def train_bpe(text, symbols, n_merges):
    """Greedy byte-pair merges over the pre-tokenized corpus; ties go to the smaller pair so the
    result does not depend on hash order."""
    words = Counter(tuple(symbols[b] for b in piece.encode("utf-8"))
                    for piece in PRETOKENIZE.findall(text))
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        merged = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return merges


def build_vocab():
    symbols = byte_symbols()
    merges = train_bpe(CORPUS, symbols, N_MERGES)
    tokens = [symbols[b] for b in range(256)]
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    # Tokens that must never be sampled: a lone non-ASCII byte is half a character, other ASCII
    # control bytes are noise, and the special tokens would end or garble the reply.
    banned = [b for b in range(256) if b >= 0x80 or (b < 0x20 and b not in (0x09, 0x0A)) or
              b == 0x7F]
    types = [gguf.TokenType.NORMAL] * len(tokens)
    for special in (BOS, IM_START, IM_END):
        banned.append(len(tokens))
        tokens.append(special)
        types.append(gguf.TokenType.CONTROL)
    return tokens, types, [f"{a} {b}" for a, b in merges], banned


def build_weights(n_vocab, banned, rng):
    """Random llama weights, with dimension 0 of the residual stream held at a constant so the
    output layer can give the banned tokens a large negative logit: a bias, in a model that has
    none. The layers neither read nor write that dimension, and write only a little into the
    others, so the constant dominates the final RMS norm and the bias stays large (about -800)
    at every position."""
    def noise(*shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    tensors = {}
    embd = noise(n_vocab, N_EMBD, scale=0.05)
    embd[:, 0] = 1.0
    tensors["token_embd.weight"] = embd
    for layer in range(N_LAYER):
        blk = f"blk.{layer}."
        tensors[blk + "attn_norm.weight"] = np.ones(N_EMBD, np.float32)
        tensors[blk + "ffn_norm.weight"] = np.ones(N_EMBD, np.float32)
        for name, rows in (("attn_q", N_EMBD), ("attn_k", N_EMBD), ("attn_v", N_EMBD),
                           ("ffn_gate", N_FF), ("ffn_up", N_FF)):
            w = noise(rows, N_EMBD, scale=N_EMBD ** -0.5)
            w[:, 0] = 0.0
            tensors[blk + name + ".weight"] = w
        for name, cols in (("attn_output", N_EMBD), ("ffn_down", N_FF)):
            w = noise(N_EMBD, cols, scale=0.1 * cols ** -0.5)
            w[0, :] = 0.0
            tensors[blk + name + ".weight"] = w
    tensors["output_norm.weight"] = np.ones(N_EMBD, np.float32)
    output = noise(n_vocab, N_EMBD, scale=1.0)
    output[:, 0] = 0.0
    output[banned, 0] = -100.0
    tensors["output.weight"] = output
    return tensors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    tokens, types, merges, banned = build_vocab()
    rng = np.random.default_rng(SEED)
    writer = gguf.GGUFWriter(sys.argv[1], "llama")
    writer.add_name("mat-peer-tiny")
    writer.add_vocab_size(len(tokens))
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index(BOS))
    writer.add_eos_token_id(tokens.index(IM_END))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    for name, array in build_weights(len(tokens), banned, rng).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{sys.argv[1]}: {len(tokens)} tokens ({len(merges)} merges), {N_LAYER} layers, "
          f"width {N_EMBD}")


if __name__ == "__main__":
    main()
