"""python -m pangeo_forge: the same verbs as the pangeo-forge command."""

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pangeo_forge as pf


def run(*arguments, url, **kwargs):
    env = dict(os.environ, DATABASE_URL=url, PANGEO_FORGE_API_KEY="cli-key")
    return subprocess.run([sys.executable, "-m", "pangeo_forge", *arguments], capture_output=True, text=True,
                          env=env, timeout=60, **kwargs)


def test_db_upgrade_head_replaces_alembic_upgrade_head(database_url, database):
    upgraded = run("db", "upgrade", "head", url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Running upgrade base -> 81c7d27bde71, initial migration" in upgraded.stdout
    assert pf.Migrations(database).at_head()
    current = run("db", "current", url=database_url)
    assert current.stdout.startswith("a453b710a63a (head)")
    again = run("db", "upgrade", "head", url=database_url)
    assert "Nothing to do" in again.stdout


def test_api_verb_reads_and_writes(database_url, forge):
    created = run("api", "POST", "/bakeries/", "--data", '{"region": "r", "name": "n", "description": "d"}',
                  url=database_url)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["id"] == 1
    listed = run("api", "GET", "/bakeries/", url=database_url)
    assert [bakery["name"] for bakery in json.loads(listed.stdout)] == ["n"]
    missing = run("api", "GET", "/bakeries/7", url=database_url)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr


def test_failures_exit_with_the_documented_status_and_the_reason(database_url, tmp_path):
    behind = run("api", "GET", "/bakeries/", url=database_url)
    assert behind.returncode == 1 and "db upgrade head" in behind.stderr
    bad_url = run("db", "current", url="mysql://x/y")
    assert bad_url.returncode == 2 and "(the URL came from DATABASE_URL)" in bad_url.stderr
    missing = tmp_path / "missing.db"
    absent = run("db", "current", url=f"sqlite:///{missing}")
    assert absent.returncode == 3 and f"there is no SQLite database at {missing}" in absent.stderr
    assert not missing.exists()
    assert run("db", "upgrade", "head", "--dialect", "sqlite", url=database_url).returncode == 2


def test_db_verbs_print_json(database_url, database):
    upgraded = run("db", "upgrade", "head", "--json", url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    steps = json.loads(upgraded.stdout)["steps"]
    assert [step["revision"] for step in steps][-1] == "a453b710a63a"
    current = json.loads(run("db", "current", "--json", url=database_url).stdout)
    assert current["heads"] == ["a453b710a63a"] and current["at_head"] and current["migrated"]
    checked = run("db", "check", "--json", url=database_url)
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"] is True


def test_help_and_unknown_verbs(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    helped = run("--help", url=url)
    assert helped.returncode == 0 and "serve" in helped.stdout and "db" in helped.stdout
    unknown = run("frobnicate", url=url)
    assert unknown.returncode != 0 and "frobnicate" in unknown.stderr


def test_main_is_callable_in_process(tmp_path, capfd):
    status = pf._core.main(["pangeo-forge", "db", "--url", f"sqlite:///{tmp_path / 'y.db'}", "heads"])
    assert status == 0
    assert "a453b710a63a (head)" in capfd.readouterr().out


def test_serve_stops_on_sigterm_and_gives_the_signals_back(database_url, forge):
    # Run in process, as a program embedding the command would: after serve returns,
    # SIGINT and SIGTERM must no longer be blocked.
    script = (
        "import signal, sys, pangeo_forge._core as core\n"
        "status = core.main(['pangeo-forge', 'serve', '--port', '0', '--threads', '2'])\n"
        "blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
        "print('status', status, 'blocked', sorted(int(s) for s in blocked), flush=True)\n")
    env = dict(os.environ, DATABASE_URL=database_url)
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    line = server.stderr.readline()
    assert line.startswith("serving"), line
    address = line.strip().rsplit(" on ", 1)[1]
    with urllib.request.urlopen(f"{address}/stats/bakeries", timeout=10) as answer:
        assert json.loads(answer.read()) == {"count": 0}
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=30)
    assert server.returncode == 0
    assert out.strip() == "status 0 blocked []"
    assert "GET /stats/bakeries 200 " in err and "stopping (SIGTERM)" in err
