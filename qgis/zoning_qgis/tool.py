"""Running the zoning command-line tool as a subprocess; no QGIS import here.

:func:`run` streams the tool's stderr lines into a Processing feedback object as they come,
kills the tool when the feedback says the user cancelled, and turns a failure into one
:class:`ToolError` whose message is the tool's own one-line error (exit 2, contract §4).
The feedback only needs ``isCanceled()``, ``pushInfo(text)`` and ``pushWarning(text)``, so the
module is tested without QGIS (tests/test_qgis.py).
"""

import json
import os
import queue
import signal
import subprocess
import tempfile
import threading

from .params import error_message, tool_env

__all__ = ["ToolError", "Canceled", "run", "write_project"]

#: Exit status of the tool for bad input (contract §4).
EXIT_BAD_INPUT = 2


class ToolError(RuntimeError):
    """The tool failed; ``str()`` is the message for the user, ``returncode`` its exit status."""

    def __init__(self, message, returncode):
        super().__init__(message)
        self.returncode = returncode


class Canceled(RuntimeError):
    """The user cancelled; the tool was killed."""


def write_project(project, directory):
    """Write ``project`` (contract §2 keys) as ``project.json`` in ``directory``; None when it is empty.

    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> pathlib.Path(write_project({"industry": ["2614"], "name": "化工"}, d)).read_text(encoding="utf-8")
    '{"industry": ["2614"], "name": "化工"}'
    >>> write_project({}, d) is None
    True
    """
    if not project:
        return None
    path = os.path.join(directory, "project.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(project, fh, ensure_ascii=False)
    return path


def _stop(proc):
    """Terminate the tool (and what it started), then kill it if it lingers."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=3)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()


def _push(feedback, line):
    if line.startswith("zoning: warning: "):
        feedback.pushWarning(line[len("zoning: warning: "):])
    elif line.strip() and not line.startswith("zoning: error: "):  # the error line goes into the exception
        feedback.pushInfo(line)


def run(argv, feedback, ok=(0,), env=None, cwd=None, poll=0.1):
    """Run ``argv``; returns ``(returncode, stdout text, stderr lines)``.

    stderr lines go to ``feedback`` as they come (``zoning: warning: …`` as warnings);
    stdout is collected in a temporary file (no pipe to fill). Exit statuses outside ``ok``
    raise :class:`ToolError`: exit 2 with the tool's one-line error, others with the last
    lines of stderr. ``feedback.isCanceled()`` is asked every ``poll`` seconds; when it is
    true the tool is stopped and :class:`Canceled` is raised.
    """
    kwargs = {"start_new_session": True} if os.name == "posix" else {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0)}
    lines = []
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                                    env=tool_env() if env is None else env, cwd=cwd, **kwargs)
        except OSError as exc:
            raise ToolError(f"无法启动 zoning Cannot start {argv[0]}: {exc.strerror or exc}", None) from None
        pending = queue.Queue()

        def pump():
            for raw in proc.stderr:
                pending.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
            pending.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        finished = False
        while True:
            if feedback.isCanceled():
                _stop(proc)
                raise Canceled("已取消 Cancelled: zoning 已停止 the zoning tool was stopped")
            if finished:
                try:
                    proc.wait(timeout=poll)
                    break
                except subprocess.TimeoutExpired:
                    continue
            try:
                line = pending.get(timeout=poll)
            except queue.Empty:
                continue
            if line is None:
                finished = True
                continue
            lines.append(line)
            _push(feedback, line)
        reader.join()
        proc.stderr.close()
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    if proc.returncode not in ok:
        one_line = error_message(lines)
        if proc.returncode == EXIT_BAD_INPUT and one_line:
            raise ToolError(one_line, proc.returncode)
        tail = "\n".join(line for line in lines[-8:] if line.strip()) or "(no output)"
        raise ToolError(f"zoning 异常退出 exited with status {proc.returncode}: {' '.join(map(str, argv))}\n{tail}",
                        proc.returncode)
    return proc.returncode, stdout, lines
