"""Run ``hookflow`` in-process and capture what a user would see."""

from __future__ import annotations

import pytest

from worker.cli.main import main


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def run(self, *args: str) -> tuple[int, str, str]:
        self._capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = self._capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self.run(*args)
        assert code == 0, err
        return out

    def fails(self, *args: str) -> tuple[int, str]:
        code, out, err = self.run(*args)
        assert code != 0, out
        return code, err
