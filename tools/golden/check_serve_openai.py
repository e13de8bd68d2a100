"""The official `openai` Python client against `mat serve` (a development-time check).

    tools/golden/.venv/bin/python tools/golden/check_serve_openai.py [build/mat]

Starts `mat serve` on the golden fixture model with the fixture adapter, then, through the
official client: lists the models, asks without and with streaming (usage included), with an
image as a data URL, four requests at once, and the adapter by its model name; checks that the
streamed text equals the non-streamed one (greedy) and that SIGTERM stops the server with exit
code 0. Prints one line per check; exits 1 on the first failure.
"""
import base64
import concurrent.futures
import pathlib
import re
import signal
import subprocess
import sys

import openai

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


def start(mat: str) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [mat, "serve", "--weights", str(GOLDEN / "model"), "--lora", f"agent={GOLDEN / 'lora'}",
         "--name", "tiny", "--port", "0", "--dtype", "f32", "--max-tokens", "12"],
        stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    match = re.search(r":(\d+)/v1", line)
    if not match:
        server.kill()
        sys.exit(f"mat serve did not start: {line}")
    return server, int(match.group(1))


def check(name: str, ok: bool, detail: str = "") -> None:
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail else ""))
    if not ok:
        sys.exit(1)


def main() -> None:
    mat = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "mat")
    server, port = start(mat)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        ids = [m.id for m in client.models.list()]
        check("models.list", ids == ["tiny", "agent"], str(ids))

        messages = [{"role": "user", "content": "Describe the picture."}]
        plain = client.chat.completions.create(model="tiny", messages=messages, temperature=0)
        check("non-streaming", plain.choices[0].finish_reason == "length"
              and plain.usage.completion_tokens == 12, repr(plain.choices[0].message.content))

        pieces, usage = [], None
        for chunk in client.chat.completions.create(
                model="tiny", messages=messages, temperature=0, stream=True,
                stream_options={"include_usage": True}):
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage:
                usage = chunk.usage
        check("streaming equals non-streaming", "".join(pieces) == plain.choices[0].message.content)
        check("streamed usage", usage is not None and usage.completion_tokens == 12)

        png = base64.b64encode((GOLDEN / "images" / "small.png").read_bytes()).decode()
        image = client.chat.completions.create(model="tiny", temperature=0, messages=[{
            "role": "user", "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                {"type": "text", "text": "What is in the image?"}]}])
        check("image data URL", image.usage.prompt_tokens > 20, str(image.usage))

        lora = client.chat.completions.create(model="agent", messages=messages, temperature=0)
        check("adapter by model name",
              lora.choices[0].message.content != plain.choices[0].message.content)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda _: client.chat.completions.create(
                model="tiny", messages=messages, temperature=0).choices[0].message.content,
                range(4)))
        check("4 concurrent requests", all(r == plain.choices[0].message.content for r in replies))

        try:
            client.chat.completions.create(model="nope", messages=messages)
            check("unknown model is refused", False)
        except openai.NotFoundError as e:
            check("unknown model is refused", "nope" in str(e))
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    check("SIGTERM stops cleanly", code == 0, f"exit code {code}")


if __name__ == "__main__":
    main()
