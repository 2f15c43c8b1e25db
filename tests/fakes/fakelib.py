"""What the fake `claude` and `codex` share: knobs, the record, timing.

A fake reads its knobs from `fake.json` in its configuration folder
($CLAUDE_CONFIG_DIR or ~/.claude for claude, $CODEX_HOME or ~/.codex for
codex) and appends one JSON line per run to `record.jsonl` there: first
{"started": true, ...} as soon as it runs, then the argv, the environment,
the working folder and the stdin it got.
"""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time


class Fake:
    current = None

    @staticmethod
    def record_signal(number):
        if Fake.current is not None:
            Fake.current.record({"signal": number})

    def __init__(self, config_dir):
        Fake.current = self
        self.dir = config_dir
        try:
            with open(os.path.join(self.dir, "fake.json")) as f:
                self.knobs = json.load(f)
        except FileNotFoundError:
            self.knobs = {}
        self.record({"started": True, "pid": os.getpid()})

    def knob(self, name, default=None):
        return self.knobs.get(name, default)

    def record(self, entry):
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "record.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    def record_run(self, argv, stdin):
        self.record({
            "argv": argv,
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "stdin": stdin,
        })

    def runs(self):
        """How many runs this configuration folder has seen, this one included."""
        with open(os.path.join(self.dir, "record.jsonl")) as f:
            return sum(1 for line in f if '"started"' in line)

    def mode(self):
        """The mode of this run: `modes` (one per run, the last repeats) or `mode`."""
        modes = self.knob("modes")
        if modes:
            return modes[min(self.runs(), len(modes)) - 1]
        return self.knob("mode", "success")

    def overlap_log(self, event):
        """With `overlap_log` (a path), appends `event` and this pid to it,
        under an exclusive lock, so that the file orders every run's enter
        and exit."""
        path = self.knob("overlap_log")
        if not path:
            return
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(f"{event} {os.getpid()}\n")
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)

    def linger(self):
        """With `delay`, waits that long; with `grandchild`, first starts a
        process that sleeps as long and records its pid; with `wait_for`
        (a path), first waits until that file exists (at most a minute).
        The wait is logged as `enter`/`exit` in `overlap_log`."""
        self.overlap_log("enter")
        try:
            self.wait()
        finally:
            self.overlap_log("exit")

    def wait(self):
        gate = self.knob("wait_for")
        deadline = time.time() + 60
        while gate and not os.path.exists(gate) and time.time() < deadline:
            time.sleep(0.02)
        delay = self.knob("delay", 0)
        if self.knob("grandchild"):
            child = subprocess.Popen(["sleep", str(max(delay, 1))])
            self.record({"grandchild": child.pid})
        if delay:
            time.sleep(delay)

    def noise(self):
        """Writes `stderr` (text) and `stderr_bytes` bytes of noise to stderr."""
        sys.stderr.write(self.knob("stderr", ""))
        sys.stderr.write("e" * self.knob("stderr_bytes", 0))
        sys.stderr.flush()


def on_signals(on_interrupt):
    """As the real tools do: SIGINT runs `on_interrupt` (what the tool
    prints when interrupted) and exits 130; SIGTERM exits 143 at once. Both
    are recorded first."""
    def interrupted(number, _frame):
        Fake.record_signal(number)
        on_interrupt()
        sys.exit(130)

    def terminated(number, _frame):
        Fake.record_signal(number)
        os._exit(143)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, terminated)


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)
