"""One-line messages: brackets printed as is, line breaks in file names escaped, empty inputs refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import assay.core.catalog_postgres as catalog_postgres
from assay.cli import app
from assay.core.clitools import fail, print_table
from assay.core.text import one_line

runner = CliRunner()


def test_one_line_escapes_line_breaks_and_control_characters() -> None:
    assert one_line("plain [x].png") == "plain [x].png"
    assert one_line("a\nb\rc\td\x1b[31m") == "a\\nb\\rc\\td\\x1b[31m"
    assert "\n" not in one_line("x\u2028y") and one_line("é ü") == "é ü"


def test_fail_prints_brackets_and_escapes_newlines(capsys) -> None:
    with pytest.raises(typer.Exit) as exc:
        fail("bad file evil\nname[bold].png: install 'assay[postgres]'")
    err = capsys.readouterr().err
    assert exc.value.exit_code == 2
    assert err.count("\n") == 1 and "evil\\nname[bold].png" in err and "'assay[postgres]'" in err


def test_table_cells_keep_one_line_per_row(capsys) -> None:
    print_table([{"file": "two\nlines[red].png", "status": "ok"}], ["file", "status"])
    out = capsys.readouterr().out
    assert "two\\nlines[red].png" in out and not any(line.strip() == "lines[red].png" for line in out.splitlines())


def test_postgres_hint_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(catalog_postgres, "psycopg", None)
    res = runner.invoke(app, ["-w", str(tmp_path / "ws"), "--catalog-url", "postgresql://localhost/x",
                              "catalog", "list"])
    assert res.exit_code == 2 and "install 'assay[postgres]'" in res.output


@pytest.mark.parametrize("command", [["provenance", "verify", "--require", "c2pa"],
                                     ["provenance", "comply", "--profile", "all"],
                                     ["provenance", "stamp", "--out"]])
def test_verify_comply_and_stamp_of_an_empty_folder_exit_2(tmp_path: Path, ws, command: list[str]) -> None:
    assert runner.invoke(app, ["-w", str(ws.root), "provenance", "keygen"]).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no picture here")
    args = [*command, str(tmp_path / "out")] if command[-1] == "--out" else command
    res = runner.invoke(app, ["-w", str(ws.root), *args, str(empty)])
    assert res.exit_code == 2, res.output
    assert "no images or videos found" in res.output
    assert not (tmp_path / "out").exists()
