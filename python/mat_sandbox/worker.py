"""The mat sandbox worker: one persistent interpreter that runs the model's code, step by step.

The C++ host (src/mat/sandbox) starts it as `python3 -I -B -c <this file>`, inside bubblewrap
unless the user opted out. File descriptors: 0 is /dev/null, 1 and 2 are the captured output
(the host caps it), 3 is the control socket. On the control socket every message is a frame: a
4-byte little-endian length, then that many bytes of UTF-8 JSON. Keeping frames off stdout/stderr
means nothing the model's code prints can corrupt them.

  host -> worker  {"op": "init", "work_dir": str, "allowed": [...], "tools": [...],
                   "variables": {...}, "limits": {...}, "contain_processes": bool}  once, first
                  {"op": "exec", "code": str, "step": int}                         one per step
                  {"op": "tool_result", "ok", "value", "error", "ends_run"}       answers "tool"
  worker -> host  {"op": "ready", "error": str|null}                              answers "init"
                  {"op": "tool", "name": str, "args": {...}}                      during a step
                  {"op": "done", "error": str|null}                               ends a step

The import allow-list is a guard-rail that keeps the model on the documented modules; the security
boundary is the sandbox around this process (namespaces, seccomp, rlimits, an unprivileged uid).
Start-up stays cheap: heavy libraries are imported only when the model's code asks for them.
"""

import builtins
import json
import keyword
import linecache
import os
import resource
import signal
import sys
import time
import types
import _thread

_CONTROL_FD = 3
_STEP_PREFIX = "<step "
_STRAY_PROCESS_WAIT = 2.0  # seconds
_main_pid = os.getpid()
_channel = _thread.allocate_lock()  # one tool call at a time, even from the model's threads


def _read_exact(size):
    chunks = []
    while size:
        chunk = os.read(_CONTROL_FD, size)
        if not chunk:
            os._exit(0)  # the host closed the channel: it is gone or done with us
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive():
    size = int.from_bytes(_read_exact(4), "little")
    return json.loads(_read_exact(size))


def _send(message, default=None):
    payload = json.dumps(message, default=default, allow_nan=False).encode()
    data = memoryview(len(payload).to_bytes(4, "little") + payload)
    try:
        while data:
            data = data[os.write(_CONTROL_FD, data):]
    except OSError:
        os._exit(0)  # the host is gone


# --- tools ----------------------------------------------------------------------------------


class ToolError(Exception):
    """A tool reported a failure; the message says what went wrong."""


class _EndRun(BaseException):
    """Stops the step after a tool that ends the run (final_answer); `except Exception` in the
    model's code does not catch it."""


_UNSET = object()


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return list(value)
    if hasattr(value, "__fspath__"):
        return os.fspath(value)
    raise TypeError(
        f"a {type(value).__module__}.{type(value).__qualname__} cannot be passed to a tool: pass "
        "str, int, float, bool, None, lists or dicts (save images and data to a file and pass "
        "its path)")


_INT64 = range(-2**63, 2**63)


def _exact_numbers(value):
    """Integers outside 64 bits would reach the host as rounded floats: send their digits as a
    string instead, so that final_answer(2**100) keeps every digit."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value not in _INT64:
        return str(value)
    if isinstance(value, dict):
        return {key: _exact_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact_numbers(item) for item in value]
    return value


def _call_tool(name, args):
    if os.getpid() != _main_pid:
        raise RuntimeError(f"tool '{name}' can only be called from the main process, not from a "
                           "child process")
    with _channel:
        try:
            _send({"op": "tool", "name": name, "args": _exact_numbers(args)}, default=_jsonable)
        except (TypeError, ValueError) as exc:  # not JSON: objects, NaN, circular structures
            raise type(exc)(f"tool '{name}': {exc}") from None
        reply = _receive()
    if not reply["ok"]:
        raise ToolError(reply["error"])
    if reply["ends_run"]:
        raise _EndRun
    return reply["value"]


def _collect_arguments(parameters, local_values):
    args = {p: local_values[p] for p in parameters if local_values[p] is not _UNSET}
    args.update(local_values["_more"])
    return args


def _make_tool(name, parameters):
    """A function with the tool's real signature, so that positional arguments map onto the
    parameters in order and help() shows them."""
    for identifier in [name, *parameters]:
        if not identifier.isidentifier() or keyword.iskeyword(identifier) or identifier == "_more":
            raise ValueError(f"tool '{name}': '{identifier}' is not usable as a Python name; "
                             "use letters, digits and underscores")
    signature = "".join(f"{p}=_UNSET, " for p in parameters)
    source = (f"def {name}({signature}**_more):\n"
              f"    return _call_tool({name!r}, _collect_arguments({parameters!r}, locals()))\n")
    namespace = {"_UNSET": _UNSET, "_call_tool": _call_tool,
                 "_collect_arguments": _collect_arguments}
    exec(compile(source, f"<tool {name}>", "exec"), namespace)
    function = namespace[name]
    function.__doc__ = (f"{name}({', '.join(parameters)}): a tool run by the host. Call it with "
                        "keyword arguments; it raises ToolError when the tool fails.")
    return function


# --- imports ----------------------------------------------------------------------------------


def _imported_by_model(frame, model_globals):
    """True when the import comes from the model's code. The importing frame decides when it
    runs in the model's namespace or in a real module's (a library importing what it needs);
    code exec'd with other globals is judged by whoever ran it."""
    while frame is not None:
        scope = frame.f_globals
        if scope is model_globals:
            return True
        module = sys.modules.get(scope.get("__name__"))
        if module is not None and getattr(module, "__dict__", None) is scope:
            return False
        frame = frame.f_back
    return False


def _install_import_guard(allowed, model_globals):
    allowed = frozenset(allowed)
    listing = ", ".join(sorted(allowed, key=str.lower))
    real_import = builtins.__import__
    caller = sys._getframe

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        top = name.partition(".")[0]
        if level == 0 and top not in allowed and _imported_by_model(caller(1), model_globals):
            raise ImportError(f"import of '{top}' is not allowed in this sandbox. Allowed "
                              f"modules: {listing}", name=top)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded_import


# --- steps ------------------------------------------------------------------------------------


def _describe_error(exc):
    """The exception as the model should see it: only frames of its own steps, with their source
    lines; never this worker's internals."""
    import traceback  # only failing steps pay for it

    if isinstance(exc, SyntaxError) and (exc.filename or "").startswith(_STEP_PREFIX):
        return "".join(traceback.format_exception_only(exc)).rstrip()
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(_STEP_PREFIX)]
    parts = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    parts += traceback.format_exception_only(exc)
    return "".join(parts).rstrip()


def _flush_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the model may have closed or broken a stream; its problem
            pass


def _end_stray_processes():
    """Processes the step started must not outlive it (a fork bomb would keep churning). Only
    called inside the sandbox's own pid namespace, where kill(-1) reaches nothing else. Killed
    processes linger until reaped (ours by us, orphans by bwrap's init), and kill(-1) counts them
    until then, so it is repeated until nothing is left."""
    deadline = time.monotonic() + _STRAY_PROCESS_WAIT
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            return  # ESRCH: nothing else exists
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass  # the rest are orphans for bwrap's init to reap
        if time.monotonic() > deadline:
            return  # e.g. a process stuck in the kernel; the next step tries again
        time.sleep(0.001)


def _run_step(namespace, code, step, contain_processes):
    filename = f"{_STEP_PREFIX}{step}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    error = None
    try:
        exec(compile(code, filename, "exec", dont_inherit=True), namespace)
    except _EndRun:
        pass
    except BaseException as exc:  # whatever the model's code raises is reported, never fatal
        try:
            error = _describe_error(exc)
        except BaseException:  # e.g. MemoryError while formatting
            error = f"{type(exc).__name__} (details unavailable)"
    _flush_output()
    if os.getpid() != _main_pid:
        os._exit(0)  # a child the step forked ran to the end of the code: it must stay silent
    if contain_processes:
        _end_stray_processes()
    _send({"op": "done", "error": error})


def _apply_limits(limits):
    cpu = limits["cpu_seconds"]
    # SIGXCPU at the soft limit; the hard limit a little later is SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    for name, key in (("RLIMIT_AS", "address_space_bytes"), ("RLIMIT_FSIZE", "file_size_bytes")):
        value = limits[key]
        resource.setrlimit(getattr(resource, name), (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files in the work dir
    if limits.get("max_processes"):
        value = limits["max_processes"]
        resource.setrlimit(resource.RLIMIT_NPROC, (value, value))


def _model_namespace(tools, variables):
    module = types.ModuleType("__main__")
    module.__dict__["ToolError"] = ToolError
    for tool in tools:
        module.__dict__[tool["name"]] = _make_tool(tool["name"], tool["parameters"])
    for name, value in variables.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"the variable name {name!r} is not a Python identifier")
        module.__dict__[name] = value
    # The model's code is the program: `if __name__ == "__main__"` and anything resolving
    # sys.modules["__main__"] (dataclasses, typing) must see its namespace, not this worker.
    sys.modules["__main__"] = module
    return module.__dict__


def main():
    os.closerange(_CONTROL_FD + 1, os.sysconf("SC_OPEN_MAX"))
    os.set_inheritable(_CONTROL_FD, False)  # processes the model starts must not talk to the host
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, errors="backslashreplace")
    init = _receive()
    try:
        os.chdir(init["work_dir"])
        _apply_limits(init["limits"])
        namespace = _model_namespace(init["tools"], init["variables"])
        _install_import_guard(init["allowed"], namespace)
    except (ValueError, OSError) as exc:
        _send({"op": "ready", "error": str(exc)})
        return
    _send({"op": "ready", "error": None})
    contain_processes = init["contain_processes"]
    while True:
        message = _receive()
        if message["op"] == "exec":
            _run_step(namespace, message["code"], message["step"], contain_processes)


main()
