from __future__ import annotations

import re
import shlex
from pathlib import Path

from accord.cli import build_parser
from accord.engine.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hooks_run_real_commands_on_the_right_files() -> None:
    hooks = load_yaml(ROOT / ".pre-commit-hooks.yaml").data
    assert [h["id"] for h in hooks] == ["accord-validate", "accord-test"]
    parser = build_parser()
    for hook in hooks:
        assert set(hook) >= {"id", "name", "entry", "language"}
        argv = shlex.split(hook["entry"])
        assert argv[0] == "accord"
        args = parser.parse_args(argv[1:])
        assert callable(args.func)
    files = re.compile(hooks[0]["files"])
    for path in (
        "mappings/shopify/order.inbound.yaml",
        "rules/refunds.rules",
        "accord.yaml",
        "mappings/shopify/order.inbound.cases.yaml",
        "shop/accord.yml",
    ):
        assert files.search(path), path
    for path in (".github/workflows/ci.yaml", "docs/index.md", "pyproject.toml"):
        assert not files.search(path), path
    assert hooks[1]["pass_filenames"] is False
