from collections.abc import Sequence

import pytest

from medlens.core.errors import InputError, RegistryError
from medlens.core.registry import TaskSpec
from medlens.core.types import Document, TaskResult
from medlens.notes.schema import NotesExtractResult
from medlens.pipeline import Pipeline


class CountResult(TaskResult):
    chars: int


class FragileTask:
    """Fails on any record whose text contains BOOM, with a coded error or a plain bug."""

    name = "test.task.count.v1"
    backend = "rules"
    requires = ("document.text",)
    assigns = ("tasks.count",)

    def __call__(self, batch: Sequence[Document]) -> list[TaskResult]:
        out: list[TaskResult] = []
        for doc in batch:
            if "BOOM-CODED" in doc.text:
                raise InputError("bad record", code="ML104")
            if "BOOM" in doc.text:
                raise ZeroDivisionError
            out.append(CountResult(name=self.name, backend=self.backend, chars=len(doc.text)))
        return out


SPEC = TaskSpec(name="test.task.count.v1", alias="count", description="d", backends={"rules": "x:y"})


def _pipeline() -> Pipeline:
    return Pipeline([(SPEC, FragileTask())])


def test_one_line_per_record_in_order():
    docs = [Document(id=str(i), text="x" * i) for i in range(5)]
    results = _pipeline().run_batch(docs)
    assert [r.id for r in results] == [d.id for d in docs]
    assert [r.tasks["count"].chars for r in results] == [0, 1, 2, 3, 4]


def test_a_failing_record_keeps_its_line_and_spares_the_others():
    docs = [Document(id="a", text="ok"), Document(id="b", text="BOOM"), Document(id="c", text="BOOM-CODED")]
    results = _pipeline().run_batch(docs)
    assert [r.id for r in results] == ["a", "b", "c"]
    assert results[0].tasks["count"].chars == 2
    assert not results[0].errors
    assert [e.code for e in results[1].errors] == ["ML902"]
    assert [e.code for e in results[2].errors] == ["ML104"]
    assert "BOOM" not in results[1].errors[0].message


def test_stream_batches_lazily():
    docs = (Document(id=str(i), text="t") for i in range(70))
    assert [r.id for r in _pipeline().stream(docs, batch_size=32)] == [str(i) for i in range(70)]


def test_parse_result_round_trips_typed_payload():
    nlp = medlens_pipeline()
    line = nlp.run(Document(id="n1", text="No fever.")).to_json()
    back = nlp.parse_result(line)
    assert back.to_json() == line
    # Read back as the registered result model: the rules payload plus the llm/hybrid review fields (defaults).
    assert isinstance(back.tasks["notes.extract"], NotesExtractResult)
    assert type(back.tasks["notes.extract"]).__name__ == "NotesExtractLLMResult"


def test_unknown_task_name():
    with pytest.raises(RegistryError):
        Pipeline.from_names(["nope"])


def medlens_pipeline() -> Pipeline:
    import medlens

    return medlens.load()


def test_a_task_named_twice_runs_once():
    nlp = Pipeline.from_names(["notes.extract", "medlens.task.notes.extract.v1"])
    assert nlp.task_names == ["notes.extract"]
