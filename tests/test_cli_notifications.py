"""`bridgewatch notifications channels|rules`: made from a terminal, checked as the API checks,
the secret read from stdin and never shown, every mistake a message with exit code 1."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.receivers import SECRET
from tests.test_cli import bw


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        "BRIDGEWATCH_DATABASE_URL": db_url,
        "BRIDGEWATCH_DATA_DIR": str(tmp_path),
        "BRIDGEWATCH_NOTIFY_SECRET_KEY": "a key for the tests",
    }
    assert bw(env, "sites", "import", "--builtin", "cao-bang")[0] == 0
    return env


def test_channels_and_rules_are_added_listed_and_removed(env: dict[str, str]) -> None:
    added = CliRunner().invoke(
        cli,
        [
            "notifications", "channels", "add", "hook", "--type", "webhook",
            "--config", '{"url": "https://hooks.tinh.vn/bw"}', "--secret-stdin",
        ],
        env=env,
        input=f"{SECRET}\n",
    )  # fmt: skip
    assert (added.exit_code, added.stdout) == (0, "notification channel 1 added\n"), added.stderr
    code, out, err = bw(env, "notifications", "channels", "list")
    assert code == 0, err
    assert out == (
        '1\thook\twebhook\t{"url": "https://hooks.tinh.vn/bw"}\tsecret=encrypted\tenabled\n'
    )
    assert SECRET not in out
    code, out, err = bw(
        env, "notifications", "rules", "add", "Thành phố", "--channel", "1", "--site", "040",
        "--status", "down", "--status", "degraded", "--remind-minutes", "15",
    )  # fmt: skip
    assert (code, out) == (0, "notification rule 1 added\n"), err
    rule = "1\tThành phố\tchannel=1\tdegraded,down\tsite=040\tconference=*\tvi\tremind=15\tresolved"
    assert bw(env, "notifications", "rules", "list")[1] == f"{rule}\tenabled\n"
    # Switched off while the district's technician is on leave, and on again; kept meanwhile.
    assert bw(env, "notifications", "rules", "disable", "1")[:2] == (
        0,
        "notification rule 1 disabled\n",
    )
    assert bw(env, "notifications", "rules", "list")[1] == f"{rule}\tdisabled\n"
    assert bw(env, "notifications", "channels", "disable", "1")[1].endswith("1 disabled\n")
    assert bw(env, "notifications", "channels", "list")[1].endswith("\tdisabled\n")
    assert bw(env, "notifications", "rules", "enable", "1")[1].endswith("1 enabled\n")
    assert bw(env, "notifications", "channels", "enable", "1")[1].endswith("1 enabled\n")
    assert bw(env, "notifications", "rules", "list")[1] == f"{rule}\tenabled\n"
    assert bw(env, "notifications", "channels", "remove", "1")[:2] == (
        0,
        "notification channel 1 removed\n",
    )
    assert bw(env, "notifications", "rules", "list")[1] == ""  # its rules went with it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["channels", "add", "h", "--type", "webhook", "--config", '{"url": "ftp://x"}'],
            "not an http(s) URL",
        ),
        (["channels", "add", "h", "--type", "webhook", "--config", "{"], "--config is not JSON"),
        (
            ["channels", "add", "h", "--type", "telegram", "--config", '{"chat_id": "1"}'],
            "needs a bot token",
        ),
        (["rules", "add", "r", "--channel", "7"], "no notification channel with id 7"),
        (["channels", "remove", "7"], "no notification channel with id 7"),
        (["channels", "test", "7"], "no notification channel with id 7"),
        (["channels", "disable", "7"], "no notification channel with id 7"),
        (["rules", "enable", "7"], "no notification rule with id 7"),
        (["rules", "add", "r", "--channel", "1", "--status", "up"], "--status is down or degraded"),
    ],
)
def test_mistakes_are_told_with_exit_code_1(
    env: dict[str, str], args: list[str], message: str
) -> None:
    code, out, err = bw(env, "notifications", *args)
    assert code == 1 and out == ""
    assert message in err
    assert bw(env, "notifications", "channels", "list")[1] == ""
