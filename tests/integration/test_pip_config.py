"""pip's configuration files: what would install elsewhere never reaches pip, the rest does.

peep's pip reads no file (PIP_CONFIG_FILE=os.devnull) and gets each setting as the
variable pip would read for it, with pip's precedence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.builders import installed, make_venv


def _where(peep, venv: Path, tmp_path: Path, place: str) -> Path:
    """The configuration file pip reads from ``place``, pip's search set up to find it."""
    peep.env["HOME"] = str(tmp_path / "home")
    peep.env["XDG_CONFIG_DIRS"] = str(tmp_path / "no-xdg")  # not this machine's /etc/xdg
    if place == "PIP_CONFIG_FILE":
        peep.env["PIP_CONFIG_FILE"] = str(tmp_path / "pip-config-file.conf")
        return Path(peep.env["PIP_CONFIG_FILE"])
    del peep.env["PIP_CONFIG_FILE"]
    if place == "site":  # the target venv's own pip.conf
        return venv.parent.parent / "pip.conf"
    peep.env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    return tmp_path / "xdg-config" / "pip" / "pip.conf"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("place", ["PIP_CONFIG_FILE", "site", "user"])
@pytest.mark.parametrize("section", ["global", "install"])
def test_settings_that_install_elsewhere_do_not_reach_pip(
    peep, venv, write, packages, tmp_path, place, section
):
    elsewhere = tmp_path / "elsewhere"
    conf = _where(peep, venv, tmp_path, place)
    # pip alone refuses these together, or installs elsewhere than the checked target
    _write(
        conf,
        f"[{section}]\ntarget = {elsewhere}/t\nuser = true\nprefix = {elsewhere}/p\n"
        f"root = {elsewhere}/r\n",
    )
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv)["alpha"] == "1.0"
    for folder in (elsewhere, tmp_path / "home"):
        assert not list(folder.rglob("alpha*")), list(folder.rglob("alpha*"))


@pytest.mark.parametrize("setting", ["target", "user", "no-user", "prefix", "root", "python"])
def test_each_setting_that_installs_elsewhere_alone(peep, venv, write, packages, tmp_path, setting):
    elsewhere = tmp_path / "elsewhere"
    value = {"user": "yes", "no-user": "yes"}.get(setting, str(elsewhere))  # no-user=yes: --user
    if setting == "python":
        value = str(make_venv(elsewhere))
    _write(_where(peep, venv, tmp_path, "PIP_CONFIG_FILE"), f"[global]\n{setting} = {value}\n")
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv)["alpha"] == "1.0"
    for folder in (elsewhere, tmp_path / "home"):
        assert not list(folder.rglob("alpha*")), list(folder.rglob("alpha*"))


def _report(path: Path) -> list[str]:
    return [item["metadata"]["name"] for item in json.loads(path.read_text())["install"]]


def test_other_settings_take_effect_with_pips_precedence(peep, venv, write, packages, tmp_path):
    # pip's --report: harmless, and it shows which value pip took. The user's file comes
    # before the site file, yet its [install] beats the site file's [global].
    reports = tmp_path / "reports"
    _where(peep, venv, tmp_path, "user")
    user = tmp_path / "xdg-config" / "pip" / "pip.conf"
    _write(user, f"[install]\nreport = {reports}/install.json\n")
    _write(venv.parent.parent / "pip.conf", f"[global]\nreport = {reports}/global.json\n")
    reports.mkdir()
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert sorted(p.name for p in reports.iterdir()) == ["install.json"]
    assert _report(reports / "install.json") == ["alpha"]
    # pip's variable beats both files; an empty one pip ignores (the file's then applies)
    peep.env["PIP_REPORT"] = str(reports / "env.json")
    peep.install(reqs, "--no-index", check=0)
    assert sorted(p.name for p in reports.iterdir()) == ["env.json", "install.json"]
    (reports / "install.json").unlink()
    peep.env["PIP_REPORT"] = ""
    peep.install(reqs, "--no-index", check=0)
    assert sorted(p.name for p in reports.iterdir()) == ["env.json", "install.json"]
    # the target's site file alone (pip's sys.prefix is the target's, not peep's)
    user.unlink()
    peep.install(reqs, "--no-index", check=0)
    assert _report(reports / "global.json") == ["alpha"]


def test_a_setting_pip_refuses_is_refused(peep, venv, write, packages, tmp_path):
    conf = _where(peep, venv, tmp_path, "PIP_CONFIG_FILE")
    _write(conf, "[install]\nno-warn-script-location = maybe\n")
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "--no-index", check=1)
    assert "maybe is not a valid value for no-warn-script-location" in done.stdout + done.stderr
    assert "alpha" not in installed(venv)


def test_peep_reads_the_index_of_the_targets_site_file(
    peep, venv, write, packages, index, tmp_path
):
    # the file pip would read there (its sys.prefix), not the one of peep's own environment
    _where(peep, venv, tmp_path, "site")
    _write(venv.parent.parent / "pip.conf", f"[global]\nindex-url = {index.index_url}\n")
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, check=0)
    assert installed(venv)["alpha"] == "1.0"


@pytest.mark.parametrize("how", ["file", "variable"])
@pytest.mark.parametrize("setting", ["requirement", "requirements-from-script", "group"])
def test_a_requirement_in_pips_configuration_installs_nothing_more(
    peep, venv, write, packages, tmp_path, how, setting
):
    # pip adds the configuration's requirements (a requirements file's, a script's inline
    # metadata's, a pyproject.toml's dependency group's) to the command line's: delta,
    # pinned there by its own hash and nowhere in ours, would reach the target unchecked
    wheel, digest = packages["delta-1.0"], packages.sha256("delta-1.0").hex
    if setting == "requirement":
        value = write("extra.txt", f"delta @ file://{wheel} {packages.pip('delta-1.0')}\n")
    elif setting == "requirements-from-script":
        script = (
            f'# /// script\n# dependencies = ["delta @ file://{wheel}#sha256={digest}"]\n# ///\n'
        )
        value = write("script.py", script)
    else:
        group = f'[dependency-groups]\ndev = ["delta @ file://{wheel}#sha256={digest}"]\n'
        value = write("pyproject.toml", group) + ":dev"
    if how == "file":
        _write(_where(peep, venv, tmp_path, "PIP_CONFIG_FILE"), f"[install]\n{setting} = {value}\n")
    else:
        peep.env["PIP_" + setting.upper().replace("-", "_")] = value
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv) == {"alpha": "1.0"}


def test_a_constraints_file_in_pips_configuration_installs_nothing_more(
    peep, venv, write, packages, tmp_path
):
    # a -r line in a constraints file names requirements, not constraints, to pip
    pinned = f"delta @ file://{packages['delta-1.0']} {packages.pip('delta-1.0')}\n"
    extra = write("extra.txt", pinned)
    constraints = write("constraints.txt", f"-r {extra}\n")
    _write(
        _where(peep, venv, tmp_path, "PIP_CONFIG_FILE"), f"[global]\nconstraint = {constraints}\n"
    )
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv) == {"alpha": "1.0"}


@pytest.mark.parametrize("how", ["file", "variable"])
def test_a_dry_run_in_pips_configuration_does_not_pass_for_an_install(
    peep, venv, write, packages, tmp_path, how
):
    # pip would install nothing and succeed: peep's exit 0 would say alpha 1.0 is there
    if how == "file":
        _write(_where(peep, venv, tmp_path, "PIP_CONFIG_FILE"), "[install]\ndry-run = yes\n")
    else:
        peep.env["PIP_DRY_RUN"] = "yes"
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv) == {"alpha": "1.0"}


def test_a_file_pip_cannot_decode_in_the_locale_is_refused(peep, venv, write, packages, tmp_path):
    # pip reads its files in the locale's encoding (ASCII here, as the environment's), so
    # it refuses a UTF-8 key; passed on, that key could not even be put in pip's environment
    _write(_where(peep, venv, tmp_path, "PIP_CONFIG_FILE"), "[install]\n\u20ac = 1\n")
    peep.env.update(LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "--no-index", check=2)
    assert "pip-config-file.conf: cannot read pip configuration: 'ascii' codec" in done.stderr
    assert "alpha" not in installed(venv)
