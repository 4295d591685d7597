"""The `bridgewatch` command line: imports that refuse bad files whole, exports that round-trip,
tokens shown once, and clear errors with exit code 1."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"BRIDGEWATCH_DATABASE_URL": db_url, "BRIDGEWATCH_DATA_DIR": str(tmp_path)}


def bw(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_help_from_the_installed_command() -> None:
    done = subprocess.run(
        [Path(sys.executable).with_name("bridgewatch"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    for command in ("serve", "demo", "db", "sites", "tokens"):
        assert command in done.stdout


def test_import_export_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    assert bw(env, "sites", "import", "--builtin", "cao-bang")[:2] == (
        0,
        "172 created, 0 updated, 0 unchanged\n",
    )
    exported = tmp_path / "sites.yaml"
    assert bw(env, "sites", "export", "-o", str(exported))[0] == 0
    assert "Điểm cầu trung tâm tỉnh Cao Bằng" in exported.read_text(encoding="utf-8")
    assert bw(env, "sites", "import", str(exported))[1] == "0 created, 0 updated, 172 unchanged\n"
    code, csv_text, _ = bw(env, "sites", "export", "--format", "csv")
    assert code == 0 and csv_text.count("\n") == 173


def test_a_bad_file_is_reported_line_by_line_and_nothing_is_written(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,level,parent_code\nH,Hub,hub,\nD1,District,district,H\nC1,,commune,D1\n"
        "C2,Commune,commune,NOPE\n",
        encoding="utf-8",
    )
    code, _, err = bw(env, "sites", "import", str(bad))
    assert code == 1
    assert "line 4: name" in err and "nothing was written" in err
    good_rows_only = bw(env, "sites", "export", "--format", "csv")[1]
    assert good_rows_only.count("\n") == 1  # the header: no site was written

    bad.write_text(bad.read_text().replace("C1,,", "C1,Xã,"), encoding="utf-8")
    code, _, err = bw(env, "sites", "import", str(bad))
    assert code == 1 and "line 5: parent 'NOPE' does not exist" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sites", "import", "missing.csv"), "cannot read"),
        (("sites", "import", "notes.txt"), "unknown file type"),
        (("sites", "import"), "give either a FILE or --builtin NAME"),
        (("sites", "import", "--builtin", "atlantis"), "unknown built-in topology"),
        (("tokens", "revoke", "999"), "no token with id 999"),
    ],
)
def test_mistakes_get_a_message_and_exit_1(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = bw(env, *args)
    assert code == 1 and message in err and "Traceback" not in err


def test_an_id_no_token_can_have_is_told_before_any_query(env: dict[str, str]) -> None:
    """It used to end in a 127-line traceback from the database driver."""
    code, _, err = bw(env, "tokens", "revoke", "99999999999999999999999")
    assert code == 2 and "2147483647" in err and "Traceback" not in err


def test_the_help_shows_each_default(env: dict[str, str]) -> None:
    """`[default: …]` is shown, not eaten as markup ("Address to listen on .")."""
    code, out, _ = bw(env, "serve", "--help")
    assert code == 0 and "BRIDGEWATCH_HOST, else 127.0.0.1" in out and "on ." not in out


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    env = {"BRIDGEWATCH_DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}
    code, _, err = bw(env, "db", "upgrade")
    assert code == 1 and "database not reachable" in err


def test_tokens_are_printed_once_and_listed_without_secret(env: dict[str, str]) -> None:
    code, secret, _ = bw(env, "tokens", "create", "--role", "admin", "--name", "first admin")
    assert code == 0 and secret.startswith("bw_")
    listing = bw(env, "tokens", "list")[1]
    assert "first admin" in listing and "admin" in listing and secret.strip() not in listing
    assert bw(env, "tokens", "revoke", "1")[:2] == (0, "token 1 revoked\n")
    assert "revoked" in bw(env, "tokens", "list")[1]
    code, _, err = bw(env, "tokens", "create", "--role", "root")
    assert code == 2 and "root" in err
