import pytest

from medlens.core.config import load_config
from medlens.core.errors import ConfigError


def test_defaults_run_notes_extract():
    assert load_config().run.tasks == ["notes.extract"]


def test_file_then_env_then_overrides(tmp_path, monkeypatch):
    cfg_file = tmp_path / "m.toml"
    cfg_file.write_text('[run]\nbatch_size = 8\nformats = ["jsonl"]\n')
    assert load_config(cfg_file).run.batch_size == 8
    monkeypatch.setenv("MEDLENS_RUN__BATCH_SIZE", "16")
    cfg = load_config(cfg_file)
    assert cfg.run.batch_size == 16
    assert cfg.run.formats == ["jsonl"]
    assert load_config(cfg_file, {"run": {"batch_size": 4}}).run.batch_size == 4


def test_yaml_file(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("run:\n  tasks: [notes.extract]\n  progress: false\n")
    assert load_config(f).run.progress is False


@pytest.mark.parametrize(
    ("content", "suffix", "code"),
    [
        ("[run]\nbatchsize = 3\n", ".toml", "ML201"),
        ("[run\n", ".toml", "ML204"),
        ("- a\n", ".yaml", "ML204"),
        ("x", ".ini", "ML203"),
    ],
)
def test_bad_config_is_a_coded_error(tmp_path, content, suffix, code):
    f = tmp_path / f"m{suffix}"
    f.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert info.value.code == code


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.code == "ML202"
