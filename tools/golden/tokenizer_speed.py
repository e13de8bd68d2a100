#!/usr/bin/env python3
"""The reference speed for bench/tokenizer_bench: Hugging Face `tokenizers` on the bench's text.

The text is the one the bench generates (`tokenizer_bench --text_out=FILE`, about 1 MiB of prose,
Python code, whitespace runs, numbers, CJK, emoji and accented Latin), the tokenizers are the ones
the bench loads: the golden fixture's tokenizer.json and bench/reference/tokenizer_bpe40k.json. For
each it records the encode speed on one core, cold (a freshly loaded tokenizer, empty word cache)
and warm (the same tokenizer again), as the median of a few runs in CPU seconds of this process
(pinned to one CPU, TOKENIZERS_PARALLELISM=false and RAYON_NUM_THREADS=1), and the ids' count and
FNV-1a fingerprint, which the bench checks its own ids against. For information it also times
encode_batch_fast (no offsets, the fastest call `tokenizers` has) on the text's paragraphs. Writes
bench/reference/tokenizer_speed.json.

`--train` first (re)builds bench/reference/tokenizer_bpe40k.json: a 40,000-token byte-level BPE
trained here, with the Qwen2 normaliser and pre-tokenizer of make_fixtures.py, on the Python
standard library's sources, the Debian copyright files and the bench's text (so that it has CJK and
emoji merges); the fixture's added tokens follow its vocabulary. The fixture vocabulary has 480
tokens, which makes BPE merges cheap; Qwen2's has 151,643. Development-time only, like the rest of
tools/golden/:

  make golden   # once, for the venv
  cmake --build build --target tokenizer_bench
  tools/golden/.venv/bin/python tools/golden/tokenizer_speed.py --bench build/bench/tokenizer_bench
"""

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/golden/model/tokenizer.json"
BPE40K = ROOT / "bench/reference/tokenizer_bpe40k.json"
OUT = ROOT / "bench/reference/tokenizer_speed.json"
BPE40K_VOCAB = 40_000
TRAIN_BYTES = 24 << 20


def fnv1a(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def ids_fingerprint(ids) -> str:
    return fnv1a(b"".join(i.to_bytes(4, "little", signed=True) for i in ids))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def training_texts(bench_text: str):
    """The training corpus, in a fixed order: stdlib sources, Debian copyright files, the text."""
    budget = TRAIN_BYTES
    stdlib = Path(f"/usr/lib/python{sys.version_info.major}.{sys.version_info.minor}")
    docs = sorted(Path("/usr/share/doc").glob("*/copyright"))
    for path in sorted(stdlib.rglob("*.py"))[::2] + docs:
        if budget <= 0:
            break
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        budget -= len(text)
        yield from text.splitlines(keepends=True)
    yield from bench_text.splitlines(keepends=True)


def train_bpe40k(bench_text: str) -> None:
    fixture = json.loads(FIXTURE.read_text())
    pattern = fixture["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
    base = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    base.normalizer = normalizers.NFC()
    base.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(tokenizers.Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=BPE40K_VOCAB,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    base.train_from_iterator(training_texts(bench_text), trainer=trainer)
    # The fixture's file with the new model: the same normaliser, pre-tokenizer, post-processor and
    # decoder, the added tokens renumbered after the new vocabulary.
    model = json.loads(base.to_str())["model"]
    out = dict(fixture)
    out["model"] = {**fixture["model"], "vocab": model["vocab"], "merges": model["merges"]}
    next_id = len(model["vocab"])
    out["added_tokens"] = [dict(t, id=next_id + i) for i, t in enumerate(fixture["added_tokens"])]
    BPE40K.parent.mkdir(parents=True, exist_ok=True)
    BPE40K.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n",
                      encoding="utf-8")
    size = BPE40K.stat().st_size
    print(f"{BPE40K.relative_to(ROOT)}: {len(model['merges'])} merges, {size} bytes")


def measure(path: Path, text: str, runs: int) -> dict:
    def encode(tok):
        start = time.process_time()
        ids = tok.encode(text, add_special_tokens=False).ids
        return time.process_time() - start, ids

    mb = len(text.encode("utf-8")) / 1e6
    cold = []
    ids = None
    for _ in range(runs):
        seconds, ids = encode(Tokenizer.from_file(str(path)))
        cold.append(mb / seconds)
    tok = Tokenizer.from_file(str(path))
    encode(tok)
    warm = [mb / encode(tok)[0] for _ in range(runs)]
    # For information: the fastest call `tokenizers` has (no offsets), on paragraphs.
    paragraphs = text.split("\n\n")
    fast = []
    for _ in range(runs):
        start = time.process_time()
        tok.encode_batch_fast(paragraphs, add_special_tokens=False)
        fast.append(mb / (time.process_time() - start))
    result = {
        "tokenizer": str(path.relative_to(ROOT)),
        "ids": len(ids),
        "ids_fnv1a64": ids_fingerprint(ids),
        "cold_mb_per_s": round(statistics.median(cold), 3),
        "warm_mb_per_s": round(statistics.median(warm), 3),
        "cold_runs": [round(x, 3) for x in cold],
        "warm_runs": [round(x, 3) for x in warm],
        "warm_encode_batch_fast_paragraphs_mb_per_s": round(statistics.median(fast), 3),
    }
    print(f"{path.name}: {len(ids)} ids, cold {result['cold_mb_per_s']} MB/s, "
          f"warm {result['warm_mb_per_s']} MB/s, "
          f"encode_batch_fast {result['warm_encode_batch_fast_paragraphs_mb_per_s']} MB/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", type=Path, default=ROOT / "build/bench/tokenizer_bench",
                        help="the built tokenizer_bench, which writes the text")
    parser.add_argument("--train", action="store_true",
                        help="(re)train bench/reference/tokenizer_bpe40k.json first")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    with tempfile.TemporaryDirectory() as tmp:
        text_file = Path(tmp) / "text.txt"
        subprocess.run([str(args.bench), f"--text_out={text_file}"], check=True)
        data = text_file.read_bytes()
    text = data.decode("utf-8")
    if args.train or not BPE40K.exists():
        train_bpe40k(text)

    result = {
        "about": "Hugging Face tokenizers encoding bench/tokenizer_bench's text (tokenizer.encode, "
                 "add_special_tokens=False), one core, MB = 10^6 bytes of UTF-8 per CPU second; "
                 "median of the runs. Written by tools/golden/tokenizer_speed.py.",
        "measured": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu_model(), "cpus_online": os.cpu_count()},
        "versions": {"tokenizers": tokenizers.__version__, "python": platform.python_version()},
        "text": {"bytes": len(data), "fnv1a64": fnv1a(data)},
        "tokenizers": {
            "fixture": measure(FIXTURE, text, args.runs),
            "bpe40k": measure(BPE40K, text, args.runs),
        },
    }
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
