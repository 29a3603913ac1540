"""Everyday CLI friction: help text on every option, no ``<bool>`` metavars, catalog JSON shapes,
provenance rows grouped in ``catalog list``, tables at full width off a terminal."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

from assay.cli import app, group_rows
from assay.core.clitools import commands, print_table
from assay.core.workspace import Workspace

ROOT = typer.main.get_command(app)
LEAVES = [(path, cmd) for path, cmd in commands(ROOT) if not getattr(cmd, "commands", None)]


def test_every_parameter_of_every_command_has_help() -> None:
    assert len(LEAVES) > 20
    missing = [f"{path} {param.name}" for path, cmd in LEAVES for param in cmd.params
               if not (getattr(param, "help", None) or "").strip()]
    assert missing == []


@pytest.mark.parametrize("path", [path for path, _ in LEAVES][::3] + ["", "catalog"])
def test_help_shows_no_bool_metavar(path: str) -> None:
    res = CliRunner().invoke(app, [*path.split(), "--help"], terminal_width=200)
    assert res.exit_code == 0 and "Usage" in res.output
    assert "<bool>" not in res.output


def test_catalog_show_json_is_an_object_and_list_groups_provenance(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws")
    ds = ws.catalog.add("datasets", "faces")
    for i in range(3):
        ws.catalog.add("provenance", None, {"source": f"/in/batch/{i}.png"})
    ws.catalog.add("provenance", None, {"source": "/elsewhere/x.png"})
    ws.catalog.add("provenance", None, {}, [ds.id])
    env = {"ASSAY_WORKSPACE": str(ws.root)}
    shown = CliRunner().invoke(app, ["catalog", "show", "faces", "--json"], env=env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == ds.id
    rows = [r.to_dict() for r in ws.catalog.list()]
    grouped = group_rows(rows)
    assert [(r["kind"], r.get("count")) for r in grouped] == [("datasets", None), ("provenance", 3),
                                                              ("provenance", 1), ("provenance", 1)]
    assert grouped[1]["name"] == "3 record(s) from /in/batch"
    table = CliRunner().invoke(app, ["catalog", "list"], env=env).stdout.splitlines()
    assert sum(line.startswith("│ prov-") for line in table) == 3
    every = CliRunner().invoke(app, ["catalog", "list", "--all"], env=env).stdout.splitlines()
    assert sum(line.startswith("│ prov-") for line in every) == 5


def test_tables_off_a_terminal_are_not_folded(capsys) -> None:
    long = "a-value-that-is-much-longer-than-eighty-columns-" * 3
    print_table([{"condition": "yes", "value": long}], ["condition", "value"])
    out = capsys.readouterr().out
    assert long in out and "conditio\n" not in out
    assert max(len(line) for line in out.splitlines()) > 150
