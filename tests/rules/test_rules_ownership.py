"""Ownership: check_write, the two-owners lint, the Markdown table and `accord ownership`."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.cli import main
from accord.engine.rules import OwnershipPolicy, check_rules_text, check_write, parse_ruleset
from accord.resources import rules_dir

POLICY = OwnershipPolicy.from_file(rules_dir() / "ownership.rules")


def test_marketplace_writing_content_is_quarantined_with_owner_and_reason() -> None:
    verdict = check_write("amazon", "product", ["title", "description"], {}, policy=POLICY)
    assert not verdict.allowed
    assert verdict.quarantined
    assert verdict.owner == "pim"
    assert verdict.refused == {"title": "pim", "description": "pim"}
    assert verdict.reason == (
        "amazon may not write product.title, description: owned by pim; "
        "the PIM is the source of product content"
    )
    assert verdict.to_dict()["owner"] == "pim"


def test_owner_may_write_and_unowned_fields_are_free() -> None:
    assert check_write("erp", "inventory_level", ["available"], {}, policy=POLICY).allowed
    assert check_write("pim", "product", ["title"], {}, policy=POLICY).allowed
    assert check_write("amazon", "product", ["vendor"], {}, policy=POLICY).allowed


def test_most_specific_pattern_wins() -> None:
    verdict = check_write("pim", "product", ["variants.price"], {}, policy=POLICY)
    assert verdict.owner == "storefront"


def test_conditional_owner_follows_the_record() -> None:
    open_order = {"fulfillment_status": "unfulfilled"}
    done = {"fulfillment_status": "fulfilled"}
    assert check_write("storefront", "order", ["note"], open_order, policy=POLICY).allowed
    v = check_write("storefront", "order", ["note"], done, policy=POLICY)
    assert (v.allowed, v.owner) == (False, "erp")
    assert '(while fulfillment_status == "fulfilled")' in (v.reason or "")
    # financials belong to the ERP whatever the status
    v = check_write("storefront", "order", ["financial_status"], open_order, policy=POLICY)
    assert v.owner == "erp"


def test_two_owners_are_a_check_error() -> None:
    text = "ownership\n erp owns order.note\n pim owns order.note\nend\n"
    diags = check_rules_text(text)
    assert [(d.code, d.line) for d in diags] == [("RULE140", 3)]
    text = (
        "ownership\n"
        ' erp owns order.note when fulfillment_status == "fulfilled"\n'
        ' pim owns order.note when fulfillment_status == "fulfilled"\n'
        "end\n"
    )
    assert [d.code for d in check_rules_text(text)] == ["RULE140"]


def test_complementary_conditions_are_not_two_owners() -> None:
    text = (
        "ownership\n"
        ' erp owns order.note when fulfillment_status == "fulfilled"\n'
        ' pim owns order.note when fulfillment_status != "fulfilled"\n'
        "end\n"
    )
    assert check_rules_text(text) == []


def test_ownership_paths_are_checked() -> None:
    text = "ownership\n erp owns prodct.title\n pim owns product.titel\nend\n"
    codes = [d.code for d in check_rules_text(text)]
    assert codes == ["RULE125", "RULE102"]


def test_markdown_table() -> None:
    md = POLICY.to_markdown()
    lines = md.splitlines()
    assert lines[0] == "| entity | fields | owner | when | why |"
    assert "| product | `title` | pim | always | the PIM is the source of product content |" in md
    assert (
        '| order | `*` | storefront | fulfillment_status != "fulfilled" | the storefront owns '
        "an order until it is fulfilled |"
    ) in md
    assert lines[-1] == "Consumers (own nothing, write nothing owned): amazon, ebay, tiktok."


def test_policy_from_a_ruleset() -> None:
    rs = parse_ruleset('ownership\n threepl owns fulfillment.* because "it ships"\nend\n')
    v = OwnershipPolicy(rs).check_write("erp", "fulfillment", ["tracking_numbers"], {})
    assert (v.allowed, v.owner, v.reason) == (
        False,
        "threepl",
        "erp may not write fulfillment.tracking_numbers: owned by threepl; it ships",
    )


def test_cli_prints_the_shipped_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ownership"]) == 0
    out = capsys.readouterr().out
    assert out == POLICY.to_markdown()


def test_cli_reports_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text("ownership\n erp owns prodct.title\nend\n", encoding="utf-8")
    assert main(["ownership", "--rules", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "RULE125" in err
    assert "bad.rules:2:" in err


def test_cli_file_without_ownership(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.rules"
    f.write_text('rule r when true then approve because "x"\n', encoding="utf-8")
    assert main(["ownership", "--rules", str(f)]) == 1
    assert "has no ownership block" in capsys.readouterr().err


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ownership", "--rules", str(tmp_path / "nope.rules")]) == 3
    assert "cannot read rule file" in capsys.readouterr().err


def test_owner_is_never_guessed_when_the_condition_cannot_be_evaluated() -> None:
    v = check_write("storefront", "order", ["note"], {}, policy=POLICY)
    assert not v.allowed
    assert v.owner is None
    assert v.refused == {"note": "undecided"}
    assert v.reason == (
        "storefront may not write order.note: who owns it depends on "
        "'fulfillment_status != \"fulfilled\"', which this record cannot answer"
    )


def test_conditional_claim_after_an_unconditional_one_is_two_owners() -> None:
    text = (
        "ownership\n"
        " erp owns order.*\n"
        ' storefront owns order.* when fulfillment_status != "fulfilled"\n'
        "end\n"
    )
    assert [(d.code, d.line) for d in check_rules_text(text)] == [("RULE140", 3)]
    # the other way round, the unconditional claim is the fallback: fine
    text = (
        "ownership\n"
        ' storefront owns order.* when fulfillment_status != "fulfilled"\n'
        " erp owns order.*\n"
        "end\n"
    )
    assert check_rules_text(text) == []


def test_list_indexes_in_a_changed_path_are_ignored() -> None:
    v = check_write("pim", "product", ["variants[0].price"], {}, policy=POLICY)
    assert (v.allowed, v.owner, v.refused) == (
        False,
        "storefront",
        {"variants[0].price": "storefront"},
    )
    assert v.reason == (
        "pim may not write product.variants[0].price: owned by storefront; "
        "prices are set in the storefront"
    )
    assert POLICY.owner_of("product", "variants[12].compare_at_price.amount", {}) is not None
    assert check_write("storefront", "product", ["variants[3].price"], {}, policy=POLICY).allowed


def test_writing_a_parent_writes_the_owned_fields_inside_it() -> None:
    v = check_write("amazon", "product", ["variants"], {}, policy=POLICY)
    assert (v.allowed, v.owner, v.refused) == (False, "storefront", {"variants": "storefront"})
    assert v.reason == (
        "amazon may not write product.variants: it contains product.variants.price, owned by "
        "storefront; prices are set in the storefront"
    )
    v = check_write("pim", "product", ["variants[0]"], {}, policy=POLICY)
    assert (v.allowed, v.refused) == (False, {"variants[0]": "storefront"})
    # every owned field inside is the writer's own: allowed
    assert check_write("storefront", "product", ["variants"], {}, policy=POLICY).allowed
    assert [(inner, e.system) for inner, e in POLICY.owners_within("product", "variants", {})] == [
        ("variants.price", "storefront"),
        ("variants.compare_at_price", "storefront"),
    ]


def test_a_parent_with_nested_owners_of_several_systems() -> None:
    rs = parse_ruleset(
        "ownership\n"
        ' pim owns product.variants.* because "the PIM keeps variants"\n'
        ' storefront owns product.variants.price because "prices are set in the storefront"\n'
        "end\n"
    )
    policy = OwnershipPolicy(rs)
    # pim owns variants.* but variants.price inside it belongs to the storefront
    v = policy.check_write("pim", "product", ["variants"], {})
    assert (v.allowed, v.owner) == (False, "storefront")
    assert "it contains product.variants.price, owned by storefront" in (v.reason or "")
    v = policy.check_write("storefront", "product", ["variants"], {})
    assert (v.allowed, v.owner) == (False, "pim")
    assert v.reason == (
        "storefront may not write product.variants: it contains product.variants.*, owned by "
        "pim; the PIM keeps variants"
    )
    assert policy.check_write("pim", "product", ["variants[0].sku"], {}).allowed
    assert not policy.check_write("pim", "product", ["variants[0].price"], {}).allowed


def test_a_nested_owner_under_a_condition_follows_the_record() -> None:
    rs = parse_ruleset(
        'ownership\n erp owns order.lines.quantity when fulfillment_status == "fulfilled"\nend\n'
    )
    policy = OwnershipPolicy(rs)
    done = {"fulfillment_status": "fulfilled"}
    assert policy.check_write("storefront", "order", ["lines"], {"fulfillment_status": "x"}).allowed
    v = policy.check_write("storefront", "order", ["lines"], done)
    assert (v.allowed, v.owner, v.refused) == (False, "erp", {"lines": "erp"})
    v = policy.check_write("storefront", "order", ["lines"], {})
    assert (v.allowed, v.refused) == (False, {"lines": "undecided"})
