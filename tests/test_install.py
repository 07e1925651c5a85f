"""install.py on a machine that lacks OBS, Xvfb and ffmpeg: it installs them with apt when it may (root, or sudo
without a password), and otherwise stops at once with one line that gives the exact command."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from obs_deepzoom import paths

_spec = importlib.util.spec_from_file_location("deepzoom_install", paths.REPO_ROOT / "install.py")
install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install)

TOOLS = {"obs", "Xvfb", "ffmpeg"}


class Machine:
    """which() of a machine that has apt-get and sudo but none of TOOLS until apt-get installs them."""

    def __init__(self, has_apt: bool = True):
        self.tools = {"sudo"} | ({"apt-get"} if has_apt else set())
        self.commands: list[list[str]] = []

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.tools else None

    def run(self, cmd: list, **kw) -> None:
        self.commands.append([str(c) for c in cmd])
        if "install" in cmd:
            self.tools |= TOOLS


APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]


def test_as_root_the_missing_packages_are_installed_with_apt():
    m = Machine()
    got = install.ensure_system_packages("test", which=m.which, euid=0, runner=m.run)
    assert set(got) >= {"obs-studio", "xvfb", "ffmpeg"}
    assert m.commands[0] == [*APT, "update", "-q"]
    assert m.commands[1][:6] == [*APT, "install", "-y", "--no-install-recommends"]
    assert {"obs-studio", "xvfb", "ffmpeg"} <= set(m.commands[1][6:])


def test_with_passwordless_sudo_apt_runs_through_sudo_keeping_noninteractive(monkeypatch):
    m = Machine()
    monkeypatch.setattr(install.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))  # sudo -n: ok
    install.ensure_system_packages("test", which=m.which, euid=1000, runner=m.run)
    assert [c[:5] for c in m.commands] == [["sudo", "-n", *APT]] * 2


def test_without_root_or_sudo_it_stops_with_the_exact_command(monkeypatch):
    m = Machine()
    monkeypatch.setattr(install.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))  # sudo -n: no
    with pytest.raises(install.SetupError) as e:
        install.ensure_system_packages("test", which=m.which, euid=1000, runner=m.run)
    msg = str(e.value)
    assert "\n" not in msg and not m.commands
    cmd = msg.split("Run: ", 1)[1]
    assert cmd.startswith("sudo apt-get update && sudo apt-get install -y --no-install-recommends ")
    assert {"obs-studio", "xvfb", "ffmpeg"} <= set(cmd.split()[9:])


def test_empty_package_lists_are_fetched_for_the_test_data():
    """apt-get download (the evaluation speech and noise) needs package lists, which fresh images lack."""
    m = Machine()
    m.tools |= TOOLS
    assert install.ensure_system_packages("test", which=m.which, euid=0, runner=m.run,
                                          lists_empty=lambda: True) == []
    assert m.commands == [[*APT, "update", "-q"]]
    m.commands.clear()
    install.ensure_system_packages("test", which=m.which, euid=0, runner=m.run, lists_empty=lambda: False)
    install.ensure_system_packages("demo", which=m.which, euid=0, runner=m.run, lists_empty=lambda: True)
    assert m.commands == []


def test_apt_that_leaves_packages_missing_is_an_error():
    m = Machine()
    with pytest.raises(install.SetupError, match="still missing"):
        install.ensure_system_packages("test", which=m.which, euid=0, runner=lambda cmd, **kw: None)


def test_demo_needs_no_system_package_once_the_venv_exists():
    if not install.PY.exists():
        pytest.skip("no .venv yet")
    assert install.missing_packages("demo", which=Machine().which) == []


def test_fresh_machine_without_the_tools_gets_one_line(tmp_path):
    """The real script, with a PATH that has python but no obs, Xvfb, ffmpeg or apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(Path(sys.executable))
    env = {**os.environ, "PATH": str(bin_dir)}
    r = subprocess.run([str(bin_dir / "python3"), str(paths.REPO_ROOT / "install.py"), "test"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("install.py: error: missing system packages:"), r.stderr
    assert all(p in lines[0] for p in ("obs-studio", "xvfb", "ffmpeg"))


def test_pip_installs_wheels_only(monkeypatch, tmp_path):
    """No dependency is built from source (an sdist's build runs its code from PyPI, and once compiled Cython for
    minutes); the project itself is still installed, editable, with the pinned versions."""
    commands = []
    monkeypatch.setattr(install, "STAMP", tmp_path / "stamp")
    monkeypatch.setattr(install, "run", lambda cmd, **kw: commands.append([str(c) for c in cmd]))
    install.install_package(["test", "compress"])
    (cmd,) = commands
    assert cmd[1:4] == ["-m", "pip", "install"]
    assert "--only-binary=:all:" in cmd and not any(c.startswith("--no-binary") for c in cmd)
    assert cmd[cmd.index("-c") + 1] == str(install.CONSTRAINTS)
    assert cmd[-2:] == ["-e", ".[test,compress]"]
    install.install_package(["test", "compress"])
    assert len(commands) == 1, "then skipped: the stamp matches"


def test_test_run_ends_with_what_to_run_next(monkeypatch, capsys):
    monkeypatch.setattr(install, "setup", lambda action: None)
    for rc in (0, 1):
        monkeypatch.setattr(install.subprocess, "run", lambda *a, rc=rc, **k: subprocess.CompletedProcess(a, rc))
        assert install.main(["test"]) == rc
        last = capsys.readouterr().out.strip().splitlines()[-1]
        assert "Next: " in last
        if rc == 0:
            assert "python3 install.py demo" in last
        else:
            assert "DEEPZOOM_OFFLINE=1 .venv/bin/python -m pytest -q -x --lf" in last
