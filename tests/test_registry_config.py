from dataclasses import dataclass

import pytest

from assay.core.config import from_dict, override, to_dict
from assay.core.errors import UnknownNameError
from assay.core.registry import Registry


def test_registry_register_list_and_errors():
    reg: Registry = Registry("widget")

    @reg.register("alpha", family="a")
    def alpha():
        return 1

    @reg.register()
    def beta_two():
        return 2

    assert reg.names() == ["alpha", "beta_two"]
    assert reg.names("b*") == ["beta_two"]
    assert reg.create("alpha") == 1 and reg.meta("alpha") == {"family": "a"}
    with pytest.raises(UnknownNameError, match="unknown widget 'gamma'; known: alpha, beta_two"):
        reg.get("gamma")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("alpha")(lambda: 3)


@dataclass
class Cfg:
    lr: float = 1e-3
    steps: int = 10
    ema: bool = False
    name: str = "dcgan"
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int | None = None


def test_override_parses_by_field_type():
    cfg = override(Cfg(), ["lr=2e-4", "steps=5", "ema=true", "betas=0.0,0.9", "seed=none", "name=wgan"])
    assert cfg == Cfg(2e-4, 5, True, "wgan", (0.0, 0.9), None)
    assert override(Cfg(), ["seed=3"]).seed == 3
    with pytest.raises(ValueError, match="unknown setting 'lrr'"):
        override(Cfg(), ["lrr=1"])
    with pytest.raises(ValueError, match="steps: expected int"):
        override(Cfg(), ["steps=many"])
    with pytest.raises(ValueError, match="expected key=value"):
        override(Cfg(), ["steps"])


def test_config_round_trip_ignores_unknown_keys():
    cfg = Cfg(steps=3, betas=(0.1, 0.2))
    data = {**to_dict(cfg), "removed_option": 1}
    data["betas"] = list(data["betas"])
    assert from_dict(Cfg, data) == cfg


def test_registry_imports_its_modules_on_first_lookup(tmp_path, monkeypatch):
    import sys

    (tmp_path / "lazy_widgets.py").write_text(
        "from assay.core.registry import Registry\nWIDGETS = Registry('widget', modules=['lazy_widget_parts'])\n")
    (tmp_path / "lazy_widget_parts").mkdir()
    (tmp_path / "lazy_widget_parts" / "__init__.py").write_text("")
    (tmp_path / "lazy_widget_parts" / "gear.py").write_text(
        "from lazy_widgets import WIDGETS\n\n@WIDGETS.register('gear')\ndef gear():\n    return 'gear'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        from lazy_widgets import WIDGETS

        assert "lazy_widget_parts.gear" not in sys.modules
        assert WIDGETS.create("gear") == "gear" and WIDGETS.names() == ["gear"]
    finally:
        for name in ("lazy_widgets", "lazy_widget_parts", "lazy_widget_parts.gear"):
            sys.modules.pop(name, None)


def test_a_module_that_fails_to_import_fails_every_lookup():
    reg: Registry = Registry("widget", modules=["no_such_widget_module"])
    for _ in range(2):
        with pytest.raises(ModuleNotFoundError, match="no_such_widget_module"):
            reg.names()
