import pytest
from pydantic import BaseModel, ConfigDict

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon, read_lexicon_text


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str


@pytest.fixture
def package(tmp_path, monkeypatch):
    pkg = tmp_path / "lexpkg"
    (pkg / "lexicon").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "lexicon" / "good.yaml").write_text("source: a test\n")
    (pkg / "lexicon" / "typo.yaml").write_text("source: a test\nsorce: oops\n")
    (pkg / "lexicon" / "broken.yaml").write_text("source: [unclosed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "lexpkg"


def test_packaged_yaml_is_validated(package):
    assert load_yaml_lexicon(package, "good.yaml", Table).source == "a test"


@pytest.mark.parametrize("name", ["typo.yaml", "broken.yaml", "missing.yaml"])
def test_bad_lexicon_is_ml205_naming_the_file(package, name):
    with pytest.raises(ConfigError) as info:
        load_yaml_lexicon(package, name, Table)
    assert info.value.code == "ML205"
    assert name in str(info.value)


def test_missing_package_is_ml205():
    with pytest.raises(ConfigError) as info:
        read_lexicon_text("no_such_medlens_package", "x.yaml")
    assert info.value.code == "ML205"
