import json
from pathlib import Path

import pytest

from medlens.core.errors import RegistryError
from medlens.core.registry import Registry, TaskSpec, load_object, readers, tasks, writers
from medlens.registrations import register_all

SNAPSHOT = Path(__file__).parent / "registry_contents.json"


def test_registry_snapshot_has_no_vanished_names():
    """A registered name must never disappear or change; new names are added to the snapshot on purpose."""
    register_all()
    current = {"tasks": tasks.names(), "readers": readers.names(), "writers": writers.names()}
    expected = json.loads(SNAPSHOT.read_text())
    for kind, names in expected.items():
        missing = sorted(set(names) - set(current[kind]))
        assert not missing, f"{kind} vanished from the registry: {missing}"


def test_every_registered_dotted_path_imports():
    register_all()
    for registry in (readers, writers):
        for name in registry.names():
            assert registry.get(name) is not None
    for name in tasks.names():
        spec = tasks.get(name)
        for path in spec.backends.values():
            assert callable(load_object(path))
        load_object(spec.result)


def test_alias_and_full_name_resolve_to_the_same_task():
    register_all()
    assert tasks.get("notes.extract") is tasks.get("medlens.task.notes.extract.v1")


def test_unknown_name_lists_available_ones():
    register_all()
    with pytest.raises(RegistryError) as info:
        tasks.get("notes.extrakt")
    assert info.value.code == "ML301"
    assert "notes.extract" in str(info.value)


def test_unknown_backend_lists_backends():
    register_all()
    with pytest.raises(RegistryError) as info:
        tasks.get("notes.extract").create("lama")
    assert info.value.code == "ML303"
    assert "rules" in str(info.value)


def test_double_registration_is_refused():
    reg: Registry[object] = Registry("thing", "medlens.test-nothing")
    reg.register("a.v1", object())
    with pytest.raises(RegistryError):
        reg.register("a.v1", object())


def test_bad_dotted_path():
    with pytest.raises(RegistryError):
        load_object("medlens.core")


def test_entry_point_task_is_loaded(tmp_path, monkeypatch):
    """A third-party package registers a task through the real entry-point machinery (a dist-info on sys.path)."""
    (tmp_path / "acme_plugin.py").write_text(
        "from medlens.core.registry import TaskSpec\n"
        "SPEC = TaskSpec(name='acme.task.x.v1', alias='acme.x', description='d', backends={'rules': 'acme_plugin:X'})\n"
    )
    dist = tmp_path / "acme_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[medlens.test_tasks]\nacme.task.x.v1 = acme_plugin:SPEC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[TaskSpec] = Registry("task", "medlens.test_tasks")
    spec = reg.get("acme.x")
    assert spec.name == "acme.task.x.v1"
    assert "acme.task.x.v1" in reg.names()


def test_backend_given_an_option_it_does_not_take_is_a_config_error():
    from medlens.core.errors import ConfigError

    register_all()
    with pytest.raises(ConfigError) as info:
        tasks.get("radiology.labels").create("rules", endpoint={"base_url": "http://127.0.0.1:1/v1"})
    assert info.value.code == "ML201"
    assert "endpoint" in str(info.value)
