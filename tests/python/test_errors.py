"""The exception family: one base, the built-in exceptions a Python caller expects,
and messages that say what to do."""

import pytest

import pangeo_forge as pf


def test_the_family_shares_one_base():
    for kind in (pf.ValidationError, pf.NotFound, pf.Conflict, pf.MigrationError, pf.ConfigError, pf.DatabaseError):
        assert issubclass(kind, pf.Error) and kind.__module__ == "pangeo_forge"
    assert issubclass(pf.ValidationError, ValueError)
    assert issubclass(pf.NotFound, LookupError)


@pytest.mark.parametrize("url, words", [
    ("mysql://db/x", "scheme 'mysql' is not supported"),
    ("sqlite://host/x.db", "takes no host"),
    ("postgresql://u@h:port/db", "port"),
    ("not a url", "not a database URL"),
])
def test_unusable_urls_are_config_errors_naming_database_url(url, words):
    with pytest.raises(pf.ConfigError) as raised:
        pf.Database(url)
    assert "DATABASE_URL" in str(raised.value) and words in str(raised.value)


def test_the_url_defaults_to_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'from-env.db'}")
    assert pf.Database().url.endswith("from-env.db")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    assert pf.Database().url == pf.DEFAULT_DATABASE_URL


def test_an_unreachable_server_is_a_database_error_without_the_password():
    with pytest.raises(pf.DatabaseError) as raised:
        pf.Database("postgresql://forge:hunter2@127.0.0.1:1/forge?connect_timeout=2")
    assert "hunter2" not in str(raised.value)


def test_pool_options_are_checked():
    with pytest.raises(ValueError, match="pool_size"):
        pf.Database("sqlite://", pool_size=0)
    with pytest.raises(ValueError, match="busy_timeout"):
        pf.Database("sqlite://", busy_timeout=-1)


def test_a_broken_revision_file_is_a_migration_error_naming_the_file(tmp_path):
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "abc_broken.json").write_text('{"revision": "abc", "upgrade": 5}')
    with pytest.raises(pf.MigrationError, match="abc_broken.json"):
        pf.Migrations(folder=tmp_path)


def test_a_failing_statement_is_a_database_error(database):
    with pytest.raises(pf.DatabaseError):
        database.execute("SELECT * FROM no_such_table")


def test_errors_raised_in_a_progress_callback_stop_the_upgrade(migrations):
    def stop(step):
        raise RuntimeError("stop here")

    with pytest.raises(Exception, match="stop here"):
        migrations.upgrade("head", progress=stop)
    assert len(migrations.current()) == 1  # the first revision committed; nothing after it ran


def test_timeouts_must_be_finite():
    for bad in (float("inf"), float("nan"), 1e300):
        with pytest.raises(ValueError, match="acquire_timeout"):
            pf.Database("sqlite://", acquire_timeout=bad)
