"""Settings: environment variables, overrides, and the tiles' coordinate system."""

import pytest

from o2o import config


def test_defaults_match_the_contract():
    cfg = config.load({}, environ={})
    assert cfg["DATABASE_URL"] == "sqlite:///instance/o2o.db"
    assert cfg["SEED_STORES"] == 30000 and cfg["SEED_SCANS"] == 200000
    assert "openstreetmap" in cfg["TILES"] and cfg["TILES_CRS"] == "wgs84"


def test_environment_then_mapping_override():
    env = {"O2O_SEED_STORES": "50", "O2O_TILES": "none", "O2O_PUBLIC_URL": "https://o2o.example.org"}
    cfg = config.load({"SEED_STORES": 7}, environ=env)
    assert cfg["SEED_STORES"] == 7 and cfg["TILES"] == "none"
    assert cfg["PUBLIC_URL"] == "https://o2o.example.org"


def test_amap_tiles_are_gcj02():
    cfg = config.load({}, environ={"O2O_TILES": "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8"})
    assert cfg["TILES_CRS"] == "gcj02"


def test_bad_numbers_are_refused():
    with pytest.raises(config.ConfigError):
        config.load({}, environ={"O2O_SEED_STORES": "many"})
    with pytest.raises(config.ConfigError):
        config.load({"SEED_SCANS": -1}, environ={})


def test_secret_key_is_generated_once(tmp_path):
    a = config.secret_key(tmp_path)
    assert len(a) >= 32 and config.secret_key(tmp_path) == a
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_every_backend_implements_the_whole_repository_interface():
    from o2o.storage.base import interface_methods
    from o2o.storage.memory import MemoryRepository
    from o2o.storage.postgis import PostgisRepository
    from o2o.storage.sqlite import SqliteRepository

    wanted = interface_methods()
    assert len(wanted) > 40
    for backend in (SqliteRepository, PostgisRepository, MemoryRepository):
        missing = {n for n in wanted if not callable(getattr(backend, n, None))}
        assert not missing, (backend, missing)
