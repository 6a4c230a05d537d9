"""The corpus: the real files validate, every kind of bad data is named, the source is not drifted from."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.corpus import join_source_lines, load_corpus
from assistant.errors import CorpusError
from tests.conftest import CORPUS, CliRunner

IDS = [
    "health-dial-24",
    "disability-certification-board",
    "disability-consultation-center",
    "independence-support-council",
    "sign-language-training",
    "care-certification-board",
    "home-medical-care",
    "dementia-early-support",
    "family-support-center",
    "sick-child-care",
    "school-exchange",
    "school-admin-system",
    "adaptive-guidance-classroom",
    "education-research-institute",
    "sports-facilities",
    "sports-promotion",
    "community-center-classes",
    "regional-tourism",
    "bulky-waste",
    "water-emergency-aid",
    "sewerage-integration",
    "joshin-railway",
    "shared-taxi",
    "information-policy",
    "staff-training",
]


def test_real_corpus_has_exactly_the_25_ids() -> None:
    corpus = load_corpus(CORPUS)
    assert sorted(corpus.projects) == sorted(IDS)


def test_every_summary_is_verbatim_in_the_source() -> None:
    corpus = load_corpus(CORPUS)
    source = join_source_lines(corpus.source_text)
    for project in corpus.projects.values():
        assert join_source_lines(project.summary) in source, project.id
        assert join_source_lines(project.name) in source, project.id


def test_hierarchy_matches_the_zone() -> None:
    corpus = load_corpus(CORPUS)
    assert corpus.zone.members == ["富岡市", "下仁田町", "南牧村", "甘楽町"]
    assert [a.name for a in corpus.zone.policy_areas] == [
        "生活機能の強化",
        "結びつきやネットワークの強化",
        "圏域マネジメント能力の強化",
    ]
    by_id = corpus.projects
    assert by_id["sick-child-care"].category_path == ["生活機能の強化", "福祉", "子育て支援の充実"]
    assert by_id["shared-taxi"].category_path == [
        "結びつきやネットワークの強化",
        "地域公共交通",
        "地域公共交通の維持及び整備",
    ]
    assert by_id["staff-training"].category_path == [
        "圏域マネジメント能力の強化",
        "人材育成",
        "圏域市町村職員等の研修の共同実施",
    ]
    assert by_id["health-dial-24"].source.page == 1
    assert by_id["regional-tourism"].source.page == 2


def test_no_project_claims_to_be_running_and_discussion_is_said() -> None:
    """The table is a draft (案): nothing is in operation; the seed's 協議/検討 wording is honoured."""
    corpus = load_corpus(CORPUS)
    assert {p.status for p in corpus.projects.values()} <= {"planned", "under_discussion"}
    assert corpus.projects["shared-taxi"].status == "under_discussion"
    assert corpus.projects["regional-tourism"].status == "under_discussion"
    for project in corpus.projects.values():
        assert project.status_basis in project.summary.replace("\n", "")


def test_contacts_are_never_invented() -> None:
    corpus = load_corpus(CORPUS)
    for project in corpus.projects.values():
        assert project.contact == "" and project.url == "", project.id
        for text in (project.summary_en, project.summary_easy):
            assert not re.search(r"\d{2,4}-\d{2,4}-\d{3,4}", text), f"{project.id}: a phone number?"
            assert "http" not in text


def test_validate_passes_on_the_real_corpus(run_cli: CliRunner) -> None:
    result = run_cli("corpus", "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("corpus ok: 25 projects")
    assert len(result.stdout.strip().splitlines()) == 1


def test_list_json_has_every_field(run_cli: CliRunner) -> None:
    result = run_cli("corpus", "list", "--json")
    assert result.returncode == 0, result.stderr
    projects = json.loads(result.stdout)
    assert [p["id"] for p in projects] == IDS  # the order of the source table
    for project in projects:
        for field, value in project.items():
            if field in ("contact", "url"):
                continue
            assert value not in ("", [], None), f"{project['id']}.{field} is empty"
        assert len(project["examples"]) >= 5


# --------------------------------------------------------------------------- bad data


def _edit(corpus: Path, project_id: str, **changes: object) -> Path:
    path = corpus / "projects" / f"{project_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _problems(corpus: Path) -> list[str]:
    with pytest.raises(CorpusError) as caught:
        load_corpus(corpus)
    return caught.value.problems


def test_yaml_syntax_error_is_named_with_its_line(corpus_copy: Path) -> None:
    path = corpus_copy / "projects" / "bulky-waste.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("status: planned", "status: [planned"), encoding="utf-8")
    (problem,) = _problems(corpus_copy)
    assert problem.startswith("corpus/projects/bulky-waste.yaml: YAML syntax error at line")


def test_missing_and_empty_fields_are_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "shared-taxi", summary_en=None, name_en="   ")
    problems = _problems(corpus_copy)
    assert "corpus/projects/shared-taxi.yaml: field 'summary_en': missing" in problems
    assert "corpus/projects/shared-taxi.yaml: field 'name_en': is empty" in problems


def test_unknown_status_is_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "shared-taxi", status="available")
    (problem,) = _problems(corpus_copy)
    assert problem == (
        "corpus/projects/shared-taxi.yaml: field 'status': unknown status 'available' "
        "(expected one of planned, under_discussion, in_operation)"
    )


def test_duplicate_id_is_named(corpus_copy: Path) -> None:
    original = corpus_copy / "projects" / "shared-taxi.yaml"
    (corpus_copy / "projects" / "zz-copy.yaml").write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    problems = _problems(corpus_copy)
    assert any("zz-copy.yaml: field 'id': duplicate id 'shared-taxi'" in p for p in problems)


def test_id_differing_from_file_name_is_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "shared-taxi", id="demand-taxi")
    (problem,) = _problems(corpus_copy)
    assert (
        problem
        == "corpus/projects/shared-taxi.yaml: field 'id': 'demand-taxi' differs from the file name 'shared-taxi'"
    )


def test_summary_not_in_source_is_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "sick-child-care", summary="富岡総合病院で24時間365日、病児保育を実施している。")
    problems = _problems(corpus_copy)
    assert (
        "corpus/projects/sick-child-care.yaml: field 'summary': not found verbatim in the source document "
        "000_a2ea3ec3a6fa2b6e.txt" in problems
    )


def test_too_few_examples_are_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "joshin-railway", examples=["上信電鉄は？"])
    (problem,) = _problems(corpus_copy)
    assert problem.startswith("corpus/projects/joshin-railway.yaml: field 'examples':")


def test_unknown_category_is_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "joshin-railway", agreement="鉄道の充実")
    problems = _problems(corpus_copy)
    assert any("policy_area/policy_item/agreement" in p and "鉄道の充実" in p for p in problems)


def test_every_problem_is_reported_not_only_the_first(corpus_copy: Path, run_cli: CliRunner) -> None:
    _edit(corpus_copy, "shared-taxi", status="done")
    _edit(corpus_copy, "bulky-waste", id="garbage")
    _edit(corpus_copy, "water-emergency-aid", summary_easy=None)
    result = run_cli("corpus", "validate", "--path", str(corpus_copy))
    assert result.returncode == 2
    assert "shared-taxi.yaml: field 'status'" in result.stderr
    assert "bulky-waste.yaml: field 'id'" in result.stderr
    assert "water-emergency-aid.yaml: field 'summary_easy': missing" in result.stderr
    assert "corpus invalid: 3 problem(s)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "breakage",
    ["yaml", "missing", "status", "duplicate", "id", "summary"],
)
def test_each_kind_of_bad_data_exits_2_from_the_cli(breakage: str, corpus_copy: Path, run_cli: CliRunner) -> None:
    projects = corpus_copy / "projects"
    if breakage == "yaml":
        (projects / "shared-taxi.yaml").write_text("id: shared-taxi\nname: [unclosed\n", encoding="utf-8")
    elif breakage == "missing":
        _edit(corpus_copy, "shared-taxi", summary=None)
    elif breakage == "status":
        _edit(corpus_copy, "shared-taxi", status="soon")
    elif breakage == "duplicate":
        _edit(corpus_copy, "bulky-waste", id="shared-taxi")
    elif breakage == "id":
        _edit(corpus_copy, "shared-taxi", id="taxi")
    elif breakage == "summary":
        _edit(corpus_copy, "shared-taxi", summary="デマンドタクシーを毎日運行している。")
    result = run_cli("corpus", "validate", "--path", str(corpus_copy))
    assert result.returncode == 2, result.stdout
    assert "corpus/projects/" in result.stderr and "Traceback" not in result.stderr


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path, run_cli: CliRunner) -> None:
    result = run_cli("corpus", "validate", "--path", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no such corpus folder" in result.stderr


# --------------------------------------------------------------------------- which towns a project covers


def test_covers_comes_from_the_source() -> None:
    corpus = load_corpus(CORPUS)
    members = ["富岡市", "下仁田町", "南牧村", "甘楽町"]
    partial = {pid: p.covers for pid, p in corpus.projects.items() if sorted(p.covers) != sorted(members)}
    assert partial == {"bulky-waste": ["富岡市", "甘楽町"], "sewerage-integration": ["富岡市", "甘楽町"]}
    assert corpus.projects["sewerage-integration"].districts == {"富岡市": ["岡本"], "甘楽町": ["善慶寺", "国峰"]}
    for project in corpus.projects.values():
        basis = join_source_lines(project.covers_basis)
        assert basis in join_source_lines(project.summary) or project.covers_basis in project.municipalities


def test_covers_that_disagrees_with_its_phrase_is_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "bulky-waste", covers=["富岡市", "下仁田町", "南牧村", "甘楽町"])
    (problem,) = _problems(corpus_copy)
    assert problem.startswith("corpus/projects/bulky-waste.yaml: field 'covers':")
    assert "does not agree with covers_basis" in problem


def test_covers_names_only_member_municipalities(corpus_copy: Path) -> None:
    _edit(corpus_copy, "shared-taxi", covers=["富岡市", "下仁田町", "南牧村", "高崎市"])
    problems = _problems(corpus_copy)
    assert any("field 'covers': 高崎市 is not a member municipality" in p for p in problems)


def test_a_covers_basis_not_in_the_source_is_named(corpus_copy: Path) -> None:
    _edit(corpus_copy, "shared-taxi", covers_basis="全県")
    problems = _problems(corpus_copy)
    assert any("field 'covers_basis': '全県' is neither a phrase of the summary" in p for p in problems)


# --------------------------------------------------------------------------- languages


def test_every_answer_language_is_complete() -> None:
    corpus = load_corpus(CORPUS)
    assert list(corpus.languages) == ["ja", "ja-easy", "en", "vi", "pt", "es", "zh", "ko", "tl", "id", "ne", "th"]
    for code in ("vi", "pt", "es", "zh", "ko", "tl", "id", "ne", "th"):
        pack = corpus.languages[code]
        assert set(pack.projects) == set(IDS), code
        assert pack.authoritative and all(len(t.examples) >= 2 for t in pack.projects.values()), code


def _edit_language(corpus: Path, code: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = corpus / "languages" / f"{code}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_an_incomplete_language_fails_validation(corpus_copy: Path, run_cli: CliRunner) -> None:
    _edit_language(corpus_copy, "vi", lambda d: d["projects"].pop("shared-taxi"))
    _edit_language(corpus_copy, "th", lambda d: d["phrases"]["not_in_source"].pop("cost"))
    _edit_language(corpus_copy, "ko", lambda d: d["phrases"].update(covers_no="{town}은 포함되지 않습니다."))
    _edit_language(corpus_copy, "es", lambda d: d.update(called=[]))
    _edit_language(corpus_copy, "id", lambda d: d.update(called=["bahasa Indonesia", " "]))
    (corpus_copy / "languages" / "ne.yaml").unlink()
    result = run_cli("corpus", "validate", "--path", str(corpus_copy))
    assert result.returncode == 2
    err = result.stderr
    assert "corpus/languages/vi.yaml: field 'projects': incomplete, no translation of shared-taxi" in err
    assert "corpus/languages/th.yaml: field 'phrases.not_in_source.cost': missing" in err
    assert "corpus/languages/ko.yaml: field 'phrases.covers_no': placeholders must be exactly {covered, town}" in err
    assert "corpus/languages/ne.yaml: missing" in err
    assert "corpus/languages/es.yaml: field 'called'" in err
    assert "corpus/languages/id.yaml: field 'called'" in err and "blank" in err
    assert "Traceback" not in err


def test_a_bad_language_request_flag_is_named(corpus_copy: Path, run_cli: CliRunner) -> None:
    path = corpus_copy / "out_of_scope.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    n = next(i for i, t in enumerate(data["topics"]) if t.get("language_request"))
    data["topics"][n]["language_request"] = "sometimes"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = run_cli("corpus", "validate", "--path", str(corpus_copy))
    assert result.returncode == 2
    assert f"out_of_scope.yaml: field 'topics.{n}.language_request'" in result.stderr
    assert "Traceback" not in result.stderr
