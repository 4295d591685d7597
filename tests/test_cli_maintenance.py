"""`bridgewatch maintenance add|list|remove`: windows planned from a terminal, checked as the API
checks them, and every mistake a message on stderr with exit code 1 and nothing saved."""

from pathlib import Path

import pytest

from tests.test_cli import bw


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {"BRIDGEWATCH_DATABASE_URL": db_url, "BRIDGEWATCH_DATA_DIR": str(tmp_path)}
    assert bw(env, "sites", "import", "--builtin", "cao-bang")[0] == 0
    return env


def test_windows_are_added_listed_and_removed(env: dict[str, str]) -> None:
    code, out, err = bw(
        env,
        "maintenance",
        "add",
        "040",
        "--subtree",
        "--from",
        "2099-01-04 22:00",
        "--rrule",
        "FREQ=WEEKLY;BYDAY=SU",
        "--minutes",
        "120",
        "--note",
        "Bảo trì định kỳ",
    )
    assert (code, err) == (0, ""), err
    assert out == "maintenance window 1 planned at site '040'\n"
    once = ("--from", "2099-02-01T08:00+07:00", "--to", "2099-02-01T09:30+07:00")
    assert bw(env, "maintenance", "add", "01267", *once)[0] == 0
    code, out, err = bw(env, "maintenance", "list")
    assert code == 0, err
    weekly, one_off = out.splitlines()
    assert weekly.split("\t") == [
        "1",
        "040+subtree",
        "next 2099-01-04 22:00 to 2099-01-05 00:00 Asia/Ho_Chi_Minh",
        "FREQ=WEEKLY;BYDAY=SU",
        "command line",
        "Bảo trì định kỳ",
    ]
    assert one_off.split("\t")[:4] == [
        "2",
        "01267",
        "next 2099-02-01 08:00 to 2099-02-01 09:30 Asia/Ho_Chi_Minh",
        "once",
    ]
    assert bw(env, "maintenance", "list", "--site", "01267")[1].startswith("2\t")
    assert bw(env, "maintenance", "remove", "1")[:2] == (0, "maintenance window 1 removed\n")
    assert bw(env, "maintenance", "list")[1].startswith("2\t")
    assert bw(env, "maintenance", "list", "--site", "040")[1] == ""


def test_past_windows_are_listed_only_when_asked(env: dict[str, str]) -> None:
    past = ("--from", "2020-01-01 08:00", "--to", "2020-01-01 09:00")
    assert bw(env, "maintenance", "add", "01267", *past)[0] == 0
    assert bw(env, "maintenance", "list")[1] == ""
    assert "\tover\t" in bw(env, "maintenance", "list", "--past")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2099-01-01 09:00", "--to", "2099-01-01 08:00"), "end after it starts"),
        (("--from", "2099-01-01 09:00"), "a one-off window needs an end"),
        (("--from", "2099-01-01 09:00", "--rrule", "FREQ=DAILY"), "needs a duration"),
        (("--from", "soon", "--to", "2099-01-01 08:00"), "--from: "),
        (("--from", "2099-01-01 09:00", "--to", "later"), "--to: "),
        (("--from", "2099-01-01 09:00", "--rrule", "FREQ=DAILY;X=1", "--minutes", "5"), "RRULE"),
        (("--from", "2099-01-01 09:00", "--rrule", "FREQ=SECONDLY", "--minutes", "5"), "FREQ"),
        (("--from", "2099-01-01", "--to", "2099-03-01"), "at most 31 days"),
        (("--from", "2099-01-01 09:00", "--to", "2099-01-01 10:00", "--time-zone", "Mars"), "zone"),
    ],
)
def test_bad_windows_get_a_message_exit_1_and_nothing_saved(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = bw(env, "maintenance", "add", "01267", *args)
    assert code == 1 and out == "" and message in err, err
    assert bw(env, "maintenance", "list", "--past")[1] == ""


def test_other_mistakes_get_a_message_and_a_non_zero_exit(env: dict[str, str]) -> None:
    unknown = bw(
        env, "maintenance", "add", "99999", "--from", "2099-01-01 09:00", "--to", "2099-01-01 10:00"
    )
    assert unknown[0] == 1 and "no site with code '99999'" in unknown[2]
    assert bw(env, "maintenance", "remove", "7")[::2] == (
        1,
        "error: no maintenance window with id 7\n",
    )
    assert bw(env, "maintenance", "remove", "0")[0] == 2  # refused before any query
    assert bw(env, "maintenance", "add", "01267", "--minutes", "0", "--from", "x")[0] == 2
    assert bw(env, "maintenance", "add", "01267")[0] == 2  # --from is required
    code, out, _ = bw(env, "maintenance", "--help")
    assert code == 0 and all(c in out for c in ("add", "list", "remove"))
    assert "--rrule" in bw(env, "maintenance", "add", "--help")[1]
