"""mat's engine beside llama.cpp and transformers, in one run, on the same random weights.

    tools/reference/build_llama_bench.sh            # once: llama-bench from llama-cpp-python's sdist
    tools/golden/.venv/bin/python bench/engine_compare.py [--layers 28] [--prompt 1024] [--decode 64]

A development-time bench (the golden venv has torch, transformers and gguf; the product needs none
of them). It writes a Qwen2-VL checkpoint with the 2B model's language shapes and random weights
(a one-layer vision tower: the figures are the decoder's) under tools/reference/bench-model/, the
same weights as a bf16 GGUF (qwen2 architecture: for text M-RoPE is plain RoPE), then measures in
this order and prints one table with every ratio: the machine's read bandwidth and matmul rates
(from mat's bench), mat bf16 and f32 (build/bench/engine_speed), llama.cpp bf16 (llama-bench -t 2),
transformers bf16 (prefill forward and greedy generate). The JSON goes to
bench/reference/engine_compare.json.
"""
import argparse
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tools" / "reference"
FIXTURE_TOKENIZER = ROOT / "tests" / "fixtures" / "golden" / "model" / "tokenizer.json"

# Qwen2-VL-2B's language model (config.json of the released checkpoint).
TEXT_2B = {
    "vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960,
    "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
    "hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                        "mrope_section": [16, 24, 24]},
    "tie_word_embeddings": True, "use_sliding_window": False,
    "bos_token_id": 151643, "eos_token_id": 151645,
}


def make_checkpoint(folder: pathlib.Path, layers: int) -> None:
    if (folder / "config.json").exists():
        return
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    text = dict(TEXT_2B, num_hidden_layers=layers)
    config = Qwen2VLConfig(
        text_config=text,
        vision_config={"depth": 1, "embed_dim": 64, "hidden_size": 1536, "num_heads": 2,
                       "mlp_ratio": 2, "patch_size": 14, "spatial_merge_size": 2,
                       "temporal_patch_size": 2, "hidden_act": "quick_gelu"},
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
        vision_end_token_id=151653, tie_word_embeddings=True)
    torch.manual_seed(0)
    model = Qwen2VLForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "tokenizer.json").write_bytes(FIXTURE_TOKENIZER.read_bytes())


def make_gguf(folder: pathlib.Path, gguf_path: pathlib.Path) -> None:
    """The checkpoint's decoder as a llama.cpp qwen2 model, bf16, byte for byte the same weights."""
    if gguf_path.exists():
        return
    import gguf
    import numpy as np
    from safetensors import safe_open

    config = json.loads((folder / "config.json").read_text())
    text = config.get("text_config", config)
    writer = gguf.GGUFWriter(str(gguf_path), "qwen2")
    writer.add_context_length(text["max_position_embeddings"])
    writer.add_embedding_length(text["hidden_size"])
    writer.add_block_count(text["num_hidden_layers"])
    writer.add_feed_forward_length(text["intermediate_size"])
    writer.add_head_count(text["num_attention_heads"])
    writer.add_head_count_kv(text["num_key_value_heads"])
    writer.add_rope_freq_base(text["rope_parameters"]["rope_theta"])
    writer.add_layer_norm_rms_eps(text["rms_norm_eps"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    # llama-bench draws random token ids: the vocabulary only has to be well formed.
    vocab = text["vocab_size"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([f"<t{i}>" for i in range(vocab)])
    writer.add_token_types([gguf.TokenType.NORMAL] * vocab)
    writer.add_token_merges(["<t0> <t1>"])
    writer.add_bos_token_id(text["bos_token_id"])
    writer.add_eos_token_id(text["eos_token_id"])

    names = {"embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
    per_layer = {
        "input_layernorm.weight": "attn_norm.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.o_proj.weight": "attn_output.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    }
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                if "visual." in name:
                    continue
                # "model.language_model.*" (transformers 5 in memory) or "model.*" (on disk)
                short = name.split("language_model.", 1)[-1].removeprefix("model.")
                if short == "lm_head.weight":
                    target = "output.weight"
                elif short in names:
                    target = names[short]
                else:
                    _, index, rest = short.split(".", 2)
                    target = f"blk.{index}.{per_layer[rest]}"
                t = f.get_tensor(name)
                if t.dim() == 1:  # norms and biases in f32, as llama.cpp's converter writes them
                    writer.add_tensor(target, t.float().numpy())
                else:
                    raw = t.contiguous().view(__import__("torch").int16).numpy().view(np.uint16)
                    writer.add_tensor(target, raw, raw_dtype=gguf.GGMLQuantizationType.BF16)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def run_mat(folder: pathlib.Path, dtype: str, args) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [str(ROOT / "build" / "bench" / "engine_speed"), "--weights", str(folder), "--dtype", dtype,
         "--prompt", str(args.prompt), "--decode", str(args.decode), "--threads", str(args.threads),
         "--repeat", str(args.repeat), "--batch", str(args.batch)],
        check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_llama(gguf_path: pathlib.Path, args) -> dict:
    bench = REFERENCE / "llama.cpp" / "build" / "bin" / "llama-bench"
    if not bench.exists():
        return {"error": f"{bench} missing: run tools/reference/build_llama_bench.sh"}
    cmd = [str(bench), "-m", str(gguf_path), "-t", str(args.threads), "-p", str(args.prompt),
           "-n", str(args.decode), "-r", str(args.repeat), "-o", "json"]
    start = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    rows = json.loads(out.stdout)
    result = {"engine": "llama.cpp", "dtype": "bf16", "wall_s": time.time() - start,
              "build": rows[0].get("build_commit", "")}
    for row in rows:
        if row.get("n_prompt", 0) > 0 and row.get("n_gen", 0) == 0:
            result["prefill_tok_s"] = row["avg_ts"]
        if row.get("n_gen", 0) > 0 and row.get("n_prompt", 0) == 0:
            result["decode_tok_s"] = row["avg_ts"]
    return result


def run_transformers(folder: pathlib.Path, args) -> dict:
    """In a child process, so that its peak memory is its own."""
    code = f"""
import json, resource, statistics, time, torch
from transformers import Qwen2VLForConditionalGeneration
torch.set_num_threads({args.threads})
model = Qwen2VLForConditionalGeneration.from_pretrained({str(folder)!r}, dtype=torch.bfloat16)
model.eval()
g = torch.Generator().manual_seed(1)
ids = torch.randint(0, 150000, (1, {args.prompt}), generator=g)
with torch.no_grad():
    model(input_ids=ids[:, :16])
    t = []
    for _ in range({max(1, args.repeat - 1)}):
        s = time.time(); model(input_ids=ids); t.append(time.time() - s)
    prefill = {args.prompt} / statistics.median(t)
    one = ids[:, :1]
    d = []
    for _ in range({args.repeat}):
        s = time.time()
        model.generate(input_ids=one, attention_mask=torch.ones_like(one), max_new_tokens={args.decode} + 1,
                       min_new_tokens={args.decode} + 1, do_sample=False)
        d.append(time.time() - s)
print(json.dumps({{"engine": "transformers", "dtype": "bf16", "prefill_tok_s": prefill,
                  "decode_tok_s": {args.decode} / statistics.median(d),
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict) -> str:
    """The table and every ratio; stores the ratios in results["ratios"]."""
    mat = results["mat_bf16"]
    weights_gb = mat["weight_bytes"] / 1e9
    roofline_decode = mat["read_gbs"] / weights_gb
    lines = [f"read bandwidth {mat['read_gbs']:.1f} GB/s -> decode roofline "
             f"{roofline_decode:.1f} tok/s for {weights_gb:.2f} GB of bf16 weights; "
             f"matmul bf16 {mat['matmul_gflops']:.0f} GFLOP/s, f32 {mat['matmul_gflops_f32']:.0f}"]
    # Prefill multiplies every decoder weight once per token; the embedding is a lookup and the
    # tied head runs for the last position only.
    embedding = TEXT_2B["vocab_size"] * TEXT_2B["hidden_size"]
    flops_per_token = 2 * (mat["params"] - embedding)
    llama = results["llama_cpp"]
    lines.append(f"{'engine':<16}{'prefill tok/s':>14}{'decode tok/s':>14}{'peak GiB':>10}")
    for key in ("mat_bf16", "mat_f32", "llama_cpp", "transformers"):
        r = results.get(key)
        if not r or "error" in r:
            lines.append(f"{key:<16} {r.get('error') if r else 'skipped'}")
            continue
        peak = r.get("peak_rss_bytes")
        lines.append(f"{key:<16}{r['prefill_tok_s']:>14.1f}{r['decode_tok_s']:>14.2f}"
                     f"{(peak / 2**30 if peak else float('nan')):>10.2f}")
    ratios = {}
    for key in ("mat_bf16", "mat_f32"):
        r = results[key]
        # Without AVX-512 BF16, mat's bf16 prefill runs on the f32 GEMM (cpu_linear.h): the rate
        # it can reach is the f32 one, not libtorch's slow bf16 matmul.
        widened = key == "mat_bf16" and not results["avx512_bf16"]
        matmul = r["matmul_gflops_f32"] if widened else r["matmul_gflops"]
        ratios[key] = {
            "decode_vs_roofline": r["decode_tok_s"] / (r["read_gbs"] / (r["weight_bytes"] / 1e9)),
            "prefill_vs_matmul": r["prefill_tok_s"] * flops_per_token / 1e9 / matmul,
            "peak_vs_weights_plus_kv": r["peak_rss_bytes"] / (r["weight_bytes"] + r["kv_cache_bytes"]),
            "batch_decode_vs_single": r["batch_decode_tok_s"] / r["decode_tok_s"],
        }
        for peer in ("llama_cpp", "transformers"):
            p = results.get(peer)
            if p and "error" not in p:
                ratios[key][f"decode_vs_{peer}"] = r["decode_tok_s"] / p["decode_tok_s"]
                ratios[key][f"prefill_vs_{peer}"] = r["prefill_tok_s"] / p["prefill_tok_s"]
    if "decode_tok_s" in llama:
        ratios["llama_cpp"] = {"decode_vs_roofline": llama["decode_tok_s"] / roofline_decode}
    results["ratios"] = ratios
    for key, r in ratios.items():
        lines.append(key + ": " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=28)
    parser.add_argument("--prompt", type=int, default=1024)
    parser.add_argument("--decode", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--report-only", action="store_true",
                        help="recompute the table and ratios of the last run's JSON")
    args = parser.parse_args()
    out = ROOT / "bench" / "reference" / "engine_compare.json"
    if args.report_only:
        results = json.loads(out.read_text())
        print(report(results))
        out.write_text(json.dumps(results, indent=2) + "\n")
        return

    folder = REFERENCE / f"bench-model-{args.layers}l"
    make_checkpoint(folder, args.layers)
    gguf_path = folder / "model-bf16.gguf"
    make_gguf(folder, gguf_path)

    results = {"machine": platform.processor() or platform.machine(), "args": vars(args)}
    with open("/proc/cpuinfo") as f:
        flags = next((l for l in f if l.startswith("flags")), "")
    results["avx512_bf16"] = "avx512_bf16" in flags
    results["mat_bf16"] = run_mat(folder, "bf16", args)
    results["mat_f32"] = run_mat(folder, "f32", args)
    results["llama_cpp"] = run_llama(gguf_path, args)
    if not args.skip_transformers:
        results["transformers"] = run_transformers(folder, args)

    print(report(results))
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
